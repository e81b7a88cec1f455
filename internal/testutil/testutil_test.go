package testutil

import (
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// fakeTB records what Eventually reports instead of ending a test.
type fakeTB struct {
	testing.TB // nil: calling anything not overridden panics
	fatal      string
}

func (f *fakeTB) Helper() {}

func (f *fakeTB) Fatalf(format string, args ...any) { f.fatal = fmt.Sprintf(format, args...) }

func TestEventuallyComesTrue(t *testing.T) {
	var calls int
	start := time.Now()
	Eventually(t, 5*time.Second, "the fifth call", func() bool {
		calls++
		return calls == 5
	})
	if calls != 5 {
		t.Errorf("cond called %d times, want 5: Eventually returns as soon as it holds", calls)
	}
	// Pauses of 1, 2, 4 and 8ms: a growing pause, not a fixed long one.
	if took := time.Since(start); took > time.Second {
		t.Errorf("took %v for a condition true at the fifth call", took)
	}
}

func TestEventuallyTimesOut(t *testing.T) {
	var f fakeTB
	var calls int
	start := time.Now()
	Eventually(&f, 100*time.Millisecond, "the impossible", func() bool {
		calls++
		return false
	})
	took := time.Since(start)
	if !strings.Contains(f.fatal, "the impossible") || !strings.Contains(f.fatal, "100ms") {
		t.Errorf("Fatalf(%q); want it to name what and the timeout", f.fatal)
	}
	if took < 100*time.Millisecond {
		t.Errorf("gave up after %v, before the timeout", took)
	}
	if calls < 5 {
		t.Errorf("cond called %d times in 100ms; want it polled", calls)
	}
}

func TestEventuallyNil(t *testing.T) {
	var calls int
	EventuallyNil(t, 5*time.Second, "the third call", func() error {
		if calls++; calls < 3 {
			return errors.New("not yet")
		}
		return nil
	})

	var f fakeTB
	EventuallyNil(&f, 20*time.Millisecond, "a ready peer", func() error { return errors.New("connection refused") })
	if !strings.Contains(f.fatal, "a ready peer") || !strings.Contains(f.fatal, "connection refused") {
		t.Errorf("Fatalf(%q); want it to name what and the last error", f.fatal)
	}
}

// TestNotLinkedIntoCommands checks that no command of the module links
// this package, which exists for tests only. (Being internal keeps it out
// of other modules; this keeps it out of the binaries.)
func TestNotLinkedIntoCommands(t *testing.T) {
	const self = "github.com/hanashi-chat/hanashi/internal/testutil"
	out, err := exec.Command("go", "list", "-deps", "-f", "{{.ImportPath}}: {{join .Imports \" \"}}", "github.com/hanashi-chat/hanashi/cmd/...").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	for line := range strings.Lines(string(out)) {
		pkg, imports, _ := strings.Cut(strings.TrimSpace(line), ": ")
		if pkg == self {
			continue
		}
		for _, imp := range strings.Fields(imports) {
			if imp == self {
				t.Errorf("%s imports %s, which is for tests only, and a command links it", pkg, self)
			}
		}
	}
}
