package health

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// waitFor polls cond until it holds or 5 s pass.
func waitFor(t *testing.T, what string, cond func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for !cond() {
		if time.Since(start) > 5*time.Second {
			t.Fatalf("%s: not within 5s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
	return time.Since(start)
}

func TestMonitor(t *testing.T) {
	var dbErr atomic.Pointer[error]
	var hang atomic.Bool
	db := func(ctx context.Context) error {
		if hang.Load() {
			<-ctx.Done() // a database behind a partition
			return ctx.Err()
		}
		if err := dbErr.Load(); err != nil {
			return *err
		}
		return nil
	}
	m := Start(Config{
		Checks: []Check{
			{Name: "database", Probe: db},
			{Name: "redis", Probe: func(context.Context) error { return nil }},
		},
		Interval: 20 * time.Millisecond,
		Timeout:  100 * time.Millisecond,
	})
	defer m.Close()
	ctx := t.Context()
	waitFor(t, "ready at start", func() bool { return m.Ready(ctx) == nil })

	down := errors.New("connection refused")
	dbErr.Store(&down)
	waitFor(t, "a failing probe fails readiness", func() bool { return m.Ready(ctx) != nil })
	if err := m.Ready(ctx); !errors.Is(err, down) || !strings.HasPrefix(err.Error(), "database: ") {
		t.Errorf("Ready = %v, want the database's error", err)
	}
	dbErr.Store(nil)
	waitFor(t, "ready again", func() bool { return m.Ready(ctx) == nil })

	hang.Store(true)
	took := waitFor(t, "a hanging probe fails readiness", func() bool { return m.Ready(ctx) != nil })
	if took > 500*time.Millisecond {
		t.Errorf("a hanging probe failed readiness after %v, want about Interval+Timeout (120ms)", took)
	}
	if err := m.Ready(ctx); !strings.Contains(err.Error(), "no answer within 100ms") {
		t.Errorf("Ready = %v, want it to say the probe did not answer", err)
	}
	hang.Store(false)
	waitFor(t, "ready after the hang", func() bool { return m.Ready(ctx) == nil })
}

func TestMonitorNotReadyBeforeFirstProbe(t *testing.T) {
	release := make(chan struct{})
	m := Start(Config{Checks: []Check{{Name: "database", Probe: func(ctx context.Context) error {
		select {
		case <-release:
		case <-ctx.Done():
		}
		return nil
	}}}, Timeout: time.Hour})
	if err := m.Ready(t.Context()); err == nil || !strings.Contains(err.Error(), "not checked yet") {
		t.Errorf("Ready before the first probe answered = %v, want not ready", err)
	}
	close(release)
	waitFor(t, "ready", func() bool { return m.Ready(t.Context()) == nil })
	m.Close()
}
