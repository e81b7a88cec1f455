package outage

import (
	"bytes"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"
)

func TestLog(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{
		ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey {
				return slog.Attr{}
			}
			return a
		},
	}))
	now := time.Unix(1000, 0)
	l := New(log, "commits", 10*time.Second)
	l.now = func() time.Time { return now }
	lines := func() []string {
		s := strings.TrimSpace(buf.String())
		buf.Reset()
		if s == "" {
			return nil
		}
		return strings.Split(s, "\n")
	}

	l.OK()
	if got := lines(); got != nil || l.Down() {
		t.Fatalf("a success while all is well logged %q (down %v)", got, l.Down())
	}
	boom := errors.New("boom")
	l.Fail(3, boom)
	if got := lines(); len(got) != 1 || !strings.Contains(got[0], `msg="commits failing" failures=3 down_for=0s err=boom`) || !l.Down() {
		t.Fatalf("first failure: %q, down %v", got, l.Down())
	}
	// Failures within the summary period say nothing...
	for range 100 {
		now = now.Add(50 * time.Millisecond)
		l.Fail(1, boom)
	}
	if got := lines(); got != nil {
		t.Fatalf("100 failures within 5 s logged %d lines: %q", len(got), got)
	}
	// ...until a summary is due, which counts them.
	now = now.Add(5 * time.Second)
	l.Fail(2, boom, "room", 7)
	if got := lines(); len(got) != 1 || !strings.Contains(got[0], `msg="commits still failing" failures=102 down_for=10s err=boom room=7`) {
		t.Fatalf("summary: %q", got)
	}
	now = now.Add(time.Second)
	l.OK()
	if got := lines(); len(got) != 1 || !strings.Contains(got[0], `msg="commits working again" failures=105 down_for=11s`) || l.Down() {
		t.Fatalf("recovery: %q, down %v", got, l.Down())
	}
	l.OK()
	l.Fail(1, boom)
	if got := lines(); len(got) != 1 || !strings.Contains(got[0], `msg="commits failing" failures=1`) {
		t.Fatalf("a new outage: %q", got)
	}
}
