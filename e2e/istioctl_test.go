package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"time"
)

// suppressFile is the committed allow-list of istioctl findings, relative
// to the repository root.
const suppressFile = "hack/istio-analyze.suppress"

// suppression is one allow-list entry, in istioctl's --suppress form
// "CODE=Kind namespace/name".
type suppression struct {
	Line                  int
	Code, Kind, Namespace string
	Name                  string // may be a glob
	Reason                string
}

func (s suppression) flag() string {
	return fmt.Sprintf("%s=%s %s/%s", s.Code, s.Kind, s.Namespace, s.Name)
}

var (
	istioCodeRE = regexp.MustCompile(`^IST[0-9]{4}$`)
	kindRE      = regexp.MustCompile(`^[A-Z][A-Za-z0-9]*$`)
	namespaceRE = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`)
	globNameRE  = regexp.MustCompile(`^[a-z0-9.*?-]+$`)
	literalRE   = regexp.MustCompile(`[a-z0-9]`)
)

// parseSuppressions reads the allow-list. Every entry must name one kind and
// one namespace literally and carry a reason; the name may be a glob with at
// least one literal character. What it refuses is any way of switching a
// check off wholesale: a bare code, a wildcard kind, namespace or name.
func parseSuppressions(r io.Reader) ([]suppression, []error) {
	var (
		out  []suppression
		errs []error
		seen = map[string]int{}
	)
	sc := bufio.NewScanner(r)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		fail := func(format string, args ...any) {
			errs = append(errs, fmt.Errorf("%s:%d: %q: %s", suppressFile, n, line, fmt.Sprintf(format, args...)))
		}
		entry, reason, _ := strings.Cut(line, "#")
		entry, reason = strings.TrimSpace(entry), strings.TrimSpace(reason)
		if reason == "" {
			fail("no `# reason` comment")
			continue
		}
		code, target, ok := strings.Cut(entry, "=")
		code = strings.TrimSpace(code)
		if !istioCodeRE.MatchString(code) {
			fail("%q is not an istioctl code (ISTnnnn)", code)
			continue
		}
		if !ok || strings.TrimSpace(target) == "" {
			fail("a bare code would suppress %s everywhere; name one resource: %s=Kind namespace/name", code, code)
			continue
		}
		fields := strings.Fields(target)
		if len(fields) != 2 {
			fail("want %s=Kind namespace/name", code)
			continue
		}
		kind, resource := fields[0], fields[1]
		if !kindRE.MatchString(kind) {
			fail("kind %q must be one literal kind (a wildcard would suppress %s for every kind)", kind, code)
			continue
		}
		ns, name, ok := strings.Cut(resource, "/")
		if !ok {
			fail("resource %q must be namespace/name", resource)
			continue
		}
		if !namespaceRE.MatchString(ns) {
			fail("namespace %q must be one literal namespace", ns)
			continue
		}
		if !globNameRE.MatchString(name) || !literalRE.MatchString(name) {
			fail("name %q must be a name or a glob with a literal part (not only wildcards)", name)
			continue
		}
		s := suppression{Line: n, Code: code, Kind: kind, Namespace: ns, Name: name, Reason: reason}
		if prev, dup := seen[s.flag()]; dup {
			fail("duplicate of line %d", prev)
			continue
		}
		seen[s.flag()] = n
		out = append(out, s)
	}
	if err := sc.Err(); err != nil {
		errs = append(errs, err)
	}
	return out, errs
}

// loadSuppressions reads the committed allow-list and returns its entries
// as --suppress values.
func loadSuppressions(root string) ([]string, error) {
	f, err := os.Open(filepath.Join(root, suppressFile))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	entries, errs := parseSuppressions(f)
	if len(errs) > 0 {
		return nil, fmt.Errorf("%d bad entries, first: %w", len(errs), errs[0])
	}
	flags := make([]string, len(entries))
	for i, e := range entries {
		flags[i] = e.flag()
	}
	return flags, nil
}

// istioMessage is one entry of `istioctl analyze -o json`.
type istioMessage struct {
	Code      string `json:"code"`
	Level     string `json:"level"` // Error, Warning or Info
	Message   string `json:"message"`
	Origin    string `json:"origin"`    // "VirtualService shop/ratings"
	Reference string `json:"reference"` // "path/to/file.yaml:13"
}

// failing reports whether a finding fails the build. Info-level messages
// are advice, not defects.
func (m istioMessage) failing() bool { return m.Level == "Error" || m.Level == "Warning" }

// istioAnalyze runs `istioctl analyze` offline over one cluster's files.
// With -o json the exit code says nothing about findings, so the JSON is
// the only verdict; a non-zero exit means istioctl itself could not run
// (bad flags, unreadable files) and is an error. References in the
// messages are rewritten to output-relative paths.
func istioAnalyze(ctx context.Context, files []outFile, suppress []string) ([]istioMessage, error) {
	if len(files) == 0 {
		return nil, nil
	}
	dir, err := os.MkdirTemp("", "intentc-e2e-istio-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	// -A: without it istioctl analyzes only namespace "default" and finds
	// nothing wrong anywhere else.
	args := []string{"analyze", "--use-kube=false", "-A", "-o", "json"}
	for _, s := range suppress {
		args = append(args, "--suppress", s)
	}
	for _, f := range files {
		p := filepath.Join(dir, filepath.FromSlash(f.Path))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return nil, err
		}
		if err := os.WriteFile(p, f.Data, 0o644); err != nil {
			return nil, err
		}
		args = append(args, p)
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, suite.istioctl, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("istioctl analyze: %v\nstderr:\n%s\nstdout:\n%s", err, stderr.String(), stdout.String())
	}
	var msgs []istioMessage
	if err := json.Unmarshal(stdout.Bytes(), &msgs); err != nil {
		return nil, fmt.Errorf("istioctl analyze printed no JSON message list: %v\nstdout:\n%s\nstderr:\n%s", err, stdout.String(), stderr.String())
	}
	for i := range msgs {
		msgs[i].Reference = filepath.ToSlash(strings.TrimPrefix(msgs[i].Reference, dir+string(filepath.Separator)))
	}
	return msgs, nil
}

// analysisFailures turns failing findings into messages naming the
// object's intent source; objs are the cluster's objects.
func analysisFailures(msgs []istioMessage, objs []object) []string {
	byOrigin := map[string]object{}
	for _, o := range objs {
		byOrigin[o.id()] = o
	}
	var failures []string
	for _, m := range msgs {
		if !m.failing() {
			continue
		}
		where := m.Reference + ": " + m.Origin
		if o, ok := byOrigin[m.Origin]; ok {
			where = fmt.Sprintf("%s: %s (source %s)", m.Reference, o.id(), o.source())
		}
		failures = append(failures, fmt.Sprintf("%s\n\tistioctl analyze %s [%s]: %s", where, m.Level, m.Code, m.Message))
	}
	return failures
}
