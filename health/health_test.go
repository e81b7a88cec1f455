package health

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hanashi-chat/hanashi/internal/testutil"
)

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
	testutil.Eventually(t, 5*time.Second, "ready at start", func() bool { return m.Ready(ctx) == nil })

	down := errors.New("connection refused")
	dbErr.Store(&down)
	testutil.Eventually(t, 5*time.Second, "a failing probe to fail readiness", func() bool { return m.Ready(ctx) != nil })
	if err := m.Ready(ctx); !errors.Is(err, down) || !strings.HasPrefix(err.Error(), "database: ") {
		t.Errorf("Ready = %v, want the database's error", err)
	}
	dbErr.Store(nil)
	testutil.Eventually(t, 5*time.Second, "ready again", func() bool { return m.Ready(ctx) == nil })

	hang.Store(true)
	start := time.Now()
	testutil.Eventually(t, 5*time.Second, "a hanging probe to fail readiness", func() bool { return m.Ready(ctx) != nil })
	took := time.Since(start)
	if took > 500*time.Millisecond {
		t.Errorf("a hanging probe failed readiness after %v, want about Interval+Timeout (120ms)", took)
	}
	if err := m.Ready(ctx); !strings.Contains(err.Error(), "no answer within 100ms") {
		t.Errorf("Ready = %v, want it to say the probe did not answer", err)
	}
	hang.Store(false)
	testutil.Eventually(t, 5*time.Second, "ready after the hang", func() bool { return m.Ready(ctx) == nil })
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
	testutil.Eventually(t, 5*time.Second, "ready", func() bool { return m.Ready(t.Context()) == nil })
	m.Close()
}
