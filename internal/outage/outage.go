// Package outage logs the failures of a dependency without letting the log
// become the load: one line when it starts failing, a summary now and then
// while it keeps failing (how many failures, for how long, the latest
// error), and one line when it works again.
//
// A node that loses its database fails every commit, every gap fill and
// every poll; logged one by one, a few seconds of outage are thousands of
// lines that hide the one that matters.
package outage

import (
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
)

// DefaultSummary is how often a Log repeats itself while its dependency
// stays down, unless told otherwise.
const DefaultSummary = 30 * time.Second

// Log tracks one kind of failure (commits, gap fills, a poll). It is safe
// for concurrent use. A nil *Log records and logs nothing.
type Log struct {
	log     *slog.Logger
	what    string
	summary time.Duration
	now     func() time.Time

	down atomic.Bool // since is set: OK, called on every success, is one load

	mu       sync.Mutex
	since    time.Time // when the outage began; zero while all is well
	failures int       // in the whole outage
	unlogged int       // since the last line
	lastLine time.Time
}

// New returns a Log for failures of what ("commits", "gap fills", ...),
// logged at warning level on log, with a summary every summary (0 for
// DefaultSummary) while they go on.
func New(log *slog.Logger, what string, summary time.Duration) *Log {
	if summary <= 0 {
		summary = DefaultSummary
	}
	return &Log{log: log, what: what, summary: summary, now: time.Now}
}

// Fail records n failures (a failed batch of n commits, say) with their
// error. The first of an outage is logged at once; later ones go into the
// next summary.
func (l *Log) Fail(n int, err error, attrs ...any) {
	if l == nil {
		return
	}
	l.mu.Lock()
	now := l.now()
	l.failures += n
	l.unlogged += n
	var line string
	switch {
	case l.since.IsZero():
		l.since = now
		l.down.Store(true)
		line = l.what + " failing"
	case now.Sub(l.lastLine) >= l.summary:
		line = l.what + " still failing"
	default:
		l.mu.Unlock()
		return
	}
	count, down := l.unlogged, now.Sub(l.since)
	l.unlogged, l.lastLine = 0, now
	l.mu.Unlock()
	args := append([]any{"failures", count, "down_for", down.Round(time.Millisecond), "err", err}, attrs...)
	l.log.Warn(line, args...)
}

// OK records a success: if an outage was going on, it ends, with one line
// saying how long it lasted and how many failures it saw.
func (l *Log) OK() {
	if l == nil || !l.down.Load() {
		return
	}
	l.mu.Lock()
	if l.since.IsZero() {
		l.mu.Unlock()
		return
	}
	failures, down := l.failures, l.now().Sub(l.since)
	l.since, l.failures, l.unlogged = time.Time{}, 0, 0
	l.down.Store(false)
	l.mu.Unlock()
	l.log.Info(l.what+" working again", "failures", failures, "down_for", down.Round(time.Millisecond))
}

// Down reports whether an outage is going on: a failure was recorded and
// no success since.
func (l *Log) Down() bool { return l != nil && l.down.Load() }
