package main

import (
	"bytes"
	"os"
	"runtime/debug"
	"strings"
	"testing"
)

// setMemoryLimit leaves the limit alone when told to, and says so when
// AUTOMEMLIMIT is not a ratio; GOMEMLIMIT wins over AUTOMEMLIMIT.
func TestSetMemoryLimit(t *testing.T) {
	prev := debug.SetMemoryLimit(-1)
	t.Cleanup(func() { debug.SetMemoryLimit(prev) })
	// The cases set GOMEMLIMIT themselves: one set by the environment
	// the tests run in would win over every AUTOMEMLIMIT below.
	if v, ok := os.LookupEnv("GOMEMLIMIT"); ok {
		os.Unsetenv("GOMEMLIMIT")
		t.Cleanup(func() { os.Setenv("GOMEMLIMIT", v) })
	}
	for _, c := range []struct {
		env  map[string]string
		want string // on stderr
	}{
		{env: map[string]string{"AUTOMEMLIMIT": "off"}},
		{env: map[string]string{"AUTOMEMLIMIT": "2"}, want: "intentc: AUTOMEMLIMIT: failed to set GOMEMLIMIT: invalid ratio"},
		{env: map[string]string{"AUTOMEMLIMIT": "lots"}, want: "intentc: AUTOMEMLIMIT: cannot parse AUTOMEMLIMIT: lots"},
		{env: map[string]string{"AUTOMEMLIMIT": "2", "GOMEMLIMIT": "1GiB"}},
	} {
		for k, v := range c.env {
			t.Setenv(k, v)
		}
		debug.SetMemoryLimit(123 << 20)
		var stderr bytes.Buffer
		setMemoryLimit(&stderr)
		if got := stderr.String(); c.want == "" && got != "" || !strings.HasPrefix(got, c.want) {
			t.Errorf("%v: stderr %q, want %q", c.env, got, c.want)
		}
		if got := debug.SetMemoryLimit(-1); got != 123<<20 {
			t.Errorf("%v: the limit changed to %d", c.env, got)
		}
	}
}
