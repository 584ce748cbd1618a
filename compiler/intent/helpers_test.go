package intent

import (
	"encoding/json"
	"testing"
	"time"

	_ "github.com/intentc/intentc/internal/testflags" // accept -update like every test binary
)

func jsonOf(v any) (string, error) {
	b, err := json.Marshal(v)
	return string(b), err
}

// within runs f and fails the test if it has not returned after d. Hostile
// input must be refused quickly; this bounds the wait without asserting a
// speed, so a slow CI machine does not make the test flaky. A panic in f is
// reported as a failure rather than crashing the test binary.
func within(t *testing.T, d time.Duration, f func()) {
	t.Helper()
	done := make(chan any, 1)
	go func() {
		defer func() { done <- recover() }()
		f()
	}()
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case p := <-done:
		if p != nil {
			t.Fatalf("panicked: %v", p)
		}
	case <-timer.C:
		t.Fatalf("did not return within %v", d)
	}
}
