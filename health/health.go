// Package health keeps a node's readiness: it probes what the node needs
// to serve (its store, its broker, its commits) in the background, every
// Interval, keeps the verdict for /readyz to read without waiting, and
// logs, quietly, when a dependency goes down and when it comes back.
//
// Probing in the background, not per request, bounds how stale the verdict
// is (Interval plus Timeout, under a second by default) whatever the probe
// frequency of the load balancer, and a probe that hangs (a database behind
// a partition answers nothing) counts as failed after Timeout instead of
// holding up the answer to /readyz.
package health

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hanashi-chat/hanashi/internal/outage"
)

// Check is one thing the node needs.
type Check struct {
	// Name says what is checked ("database", "redis", "commits"); it
	// starts the reason /readyz gives.
	Name string
	// Probe returns nil while the dependency works. It should return
	// when ctx ends; one that does not still counts as failed after
	// Config.Timeout, and is not run again until it returns.
	Probe func(ctx context.Context) error
}

// Config configures a Monitor.
type Config struct {
	Checks []Check
	// Interval is the time between the starts of two probes of a check.
	// Default 200ms.
	Interval time.Duration
	// Timeout bounds one probe. Default 700ms: with the default
	// Interval a dependency that stops answering fails readiness within
	// about a second.
	Timeout time.Duration
	// Logger receives a warning when a check starts failing, a summary
	// now and then while it keeps failing, and a notice when it passes
	// again.
	Logger *slog.Logger
}

// Monitor runs the checks. It is safe for concurrent use.
type Monitor struct {
	cfg    Config
	checks []*check
	stop   chan struct{}
	wg     sync.WaitGroup
}

type check struct {
	Check
	log *outage.Log
	err atomic.Pointer[error] // nil while the check passes
}

// errStarting is every check's verdict until its first probe answers.
var errStarting = errors.New("not checked yet")

// Start starts probing; Close stops it.
func Start(cfg Config) *Monitor {
	if cfg.Interval <= 0 {
		cfg.Interval = 200 * time.Millisecond
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 700 * time.Millisecond
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	m := &Monitor{cfg: cfg, stop: make(chan struct{})}
	for _, c := range cfg.Checks {
		ch := &check{Check: c, log: outage.New(cfg.Logger, c.Name+" check", 0)}
		ch.err.Store(&errStarting)
		m.checks = append(m.checks, ch)
		m.wg.Add(1)
		go m.run(ch)
	}
	return m
}

// Ready returns nil when every check passed its latest probe, and
// otherwise why not ("database: ..."). It never waits; ctx is unused, for
// the signature web.Config.Ready has.
func (m *Monitor) Ready(context.Context) error {
	for _, c := range m.checks {
		if err := c.err.Load(); err != nil {
			return fmt.Errorf("%s: %w", c.Name, *err)
		}
	}
	return nil
}

// Close stops the probes and waits for them, except for a probe that
// ignores its context.
func (m *Monitor) Close() {
	select {
	case <-m.stop:
	default:
		close(m.stop)
	}
	m.wg.Wait()
}

// run probes c every Interval until Close.
func (m *Monitor) run(c *check) {
	defer m.wg.Done()
	t := time.NewTicker(m.cfg.Interval)
	defer t.Stop()
	for {
		m.probe(c)
		select {
		case <-m.stop:
			return
		case <-t.C:
		}
	}
}

// probe runs c's probe once and records the outcome; a probe that takes
// longer than Timeout is recorded as failed at once, and waited for.
func (m *Monitor) probe(c *check) {
	ctx, cancel := context.WithTimeout(context.Background(), m.cfg.Timeout)
	defer cancel()
	result := make(chan error, 1)
	go func() { result <- c.Probe(ctx) }()
	var err error
	select {
	case err = <-result:
		if err != nil && ctx.Err() != nil {
			err = fmt.Errorf("no answer within %v", m.cfg.Timeout)
		}
	case <-ctx.Done():
		err = fmt.Errorf("no answer within %v", m.cfg.Timeout)
		m.record(c, err)
		select {
		case <-result:
		case <-m.stop:
		}
		return
	}
	m.record(c, err)
}

func (m *Monitor) record(c *check, err error) {
	if err == nil {
		c.err.Store(nil)
		c.log.OK()
		return
	}
	c.err.Store(&err)
	c.log.Fail(1, err)
}
