package hub

import (
	"slices"
	"sync/atomic"
)

// Stats are a hub's counters since it started, for monitoring. Counts
// only ever grow, except Subscriptions, which is the current number.
type Stats struct {
	// Subscriptions are the room subscriptions of this node's clients,
	// those still reading their backlog included.
	Subscriptions int64
	// Received counts the sends handed to Post, PostResult and PostAsync.
	Received uint64
	// Acked counts the sends that were committed (or found already
	// stored, for a resend) and so acknowledged to their sender.
	Acked uint64
	// Deliveries counts the messages handed to subscribers' writers: each
	// message once per subscriber that got it, live or replayed on a
	// resume.
	Deliveries uint64
	// QueueOverflows counts the clients ended with ErrTooSlow.
	QueueOverflows uint64
	// Resumes counts the subscriptions that started from a cursor.
	Resumes uint64
	// ResumeMessages is how many messages each resume replayed.
	ResumeMessages Histogram
}

// Histogram is a snapshot of a distribution of counts.
type Histogram struct {
	Count uint64 // observations
	Sum   uint64 // their total
	// Bounds are the buckets' upper bounds, in increasing order, and
	// Buckets[i] counts the observations <= Bounds[i] (cumulative, as
	// Prometheus has them); larger ones are only in Count.
	Bounds  []uint64
	Buckets []uint64
}

// resumeBounds are the upper bounds of the resume size buckets: from a
// client that missed nothing to one that was away for a long busy day.
var resumeBounds = [...]uint64{0, 1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000}

// stats are the live counters behind Stats. Every update is one atomic
// add, made once per batch or per message rather than per frame where it
// can be: they sit on the hub's hottest paths.
type stats struct {
	subscriptions atomic.Int64
	received      atomic.Uint64
	acked         atomic.Uint64
	deliveries    atomic.Uint64
	overflows     atomic.Uint64
	resumeSum     atomic.Uint64
	// resumeBuckets[i] counts the resumes of at most resumeBounds[i]
	// messages and more than resumeBounds[i-1]; the last one counts
	// the larger ones.
	resumeBuckets [len(resumeBounds) + 1]atomic.Uint64
}

// resumed records a subscription that replayed n messages before going
// live; fromCursor tells a resume from a plain subscription, whose
// replayed messages (live ones that arrived while it started) are
// deliveries but no resume.
func (s *stats) resumed(fromCursor bool, n int) {
	s.deliveries.Add(uint64(n))
	if !fromCursor {
		return
	}
	i := 0
	for i < len(resumeBounds) && uint64(n) > resumeBounds[i] {
		i++
	}
	s.resumeBuckets[i].Add(1)
	s.resumeSum.Add(uint64(n))
}

// Stats returns the hub's counters. It takes no lock: each counter is
// read on its own, so counters that move together may be a moment apart.
func (h *Hub) Stats() Stats {
	s := &h.stats
	st := Stats{
		Subscriptions:  s.subscriptions.Load(),
		Received:       s.received.Load(),
		Acked:          s.acked.Load(),
		Deliveries:     s.deliveries.Load(),
		QueueOverflows: s.overflows.Load(),
		ResumeMessages: Histogram{
			Bounds:  slices.Clone(resumeBounds[:]),
			Buckets: make([]uint64, len(resumeBounds)),
		},
	}
	var cum uint64
	for i := range resumeBounds {
		cum += s.resumeBuckets[i].Load()
		st.ResumeMessages.Buckets[i] = cum
	}
	st.ResumeMessages.Count = cum + s.resumeBuckets[len(resumeBounds)].Load()
	st.ResumeMessages.Sum = s.resumeSum.Load()
	st.Resumes = st.ResumeMessages.Count
	return st
}
