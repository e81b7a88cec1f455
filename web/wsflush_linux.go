//go:build linux

package web

import (
	"sync"
	"syscall"
	"time"
)

const (
	// flushPeriod is how often a busy connection is written at most. It
	// trades CPU for latency: at 1000 subscribers and 200 messages a
	// second, 30 ms gave 0.48-0.52 cores and a p99 of 31-32 ms here, 28
	// ms 0.52-0.54 cores and 30 ms, 25 ms 0.03-0.04 cores more than 28
	// and a p99 of 27.5 ms, 20 ms about 0.1 cores more (see README,
	// Performance). A message waits at most a period for each
	// connection, so the p99 cannot go below it.
	flushPeriod = 30 * time.Millisecond
	// flushSlots is how many slots the period is cut into.
	flushSlots = 16
)

// A flusher writes the queues of the connections assigned to it, each with
// one sendmsg, and paces them.
//
// On a loopback socket in a VM, a write costs 6 to 10 µs whatever its
// size, so CPU follows the number of writes, and the number of writes is
// what coalescing buys down. A flusher writes a busy connection at most
// once per period, with everything that gathered meanwhile: at 200
// messages a second and a 30 ms period, 6 frames per write. To keep
// that wait from adding up with the time it takes to write a thousand
// sockets, the connections are spread over flushSlots slots of the
// period, each written in its own slot: a message waits for each
// connection's slot, at most a period, and the flusher works in small
// steps that leave the one core to the committer and the readers in
// between. A connection that was
// quiet for a whole period is written at once, so a lone message has no
// wait at all. A connection whose hub client has busy subscriptions (see
// hub.Client.TakeMore) is listed in its slot again: the flusher comes
// back a period later without being told, so a busy room wakes nobody
// for its messages. When the flusher falls behind, slots are
// merged and batches grow: under load the cost per delivery falls.
type flusher struct {
	tick  time.Duration // period / flushSlots
	epoch time.Time

	mu      sync.Mutex
	slots   [flushSlots][]*conn // waiting for their slot
	now     []*conn             // quiet for a period: written at the next step
	waiting int
	next    uint8 // slot of the next connection assigned
	wake    chan struct{}

	// For the write callback, which is made once (writeFn) rather than as
	// a closure per write. Used by the flusher's goroutine only.
	cur     *eventConn
	iov     []syscall.Iovec
	done    bool
	err     error
	writeFn func(fd uintptr)
}

func newFlusher(period time.Duration) *flusher {
	f := &flusher{
		tick:  max(period/flushSlots, time.Microsecond),
		epoch: time.Now(),
		wake:  make(chan struct{}, 1),
	}
	f.writeFn = f.write
	return f
}

// assign gives a new connection its slot.
func (f *flusher) assign(ev *eventConn) {
	f.mu.Lock()
	ev.slot = f.next
	f.next = (f.next + 1) % flushSlots
	ev.lastTick = -flushSlots
	f.mu.Unlock()
}

// clock is the current tick.
func (f *flusher) clock() int64 { return int64(time.Since(f.epoch) / f.tick) }

// schedule puts c in line to be written: in its slot, or at the next step
// if it was quiet for a period. Called again while c waits — its hub client
// is filling up — it moves c to the next step.
func (f *flusher) schedule(c *conn) {
	ev := &c.ev
	f.mu.Lock()
	switch {
	case ev.queued && ev.hurried:
		f.mu.Unlock()
		return
	case ev.queued:
		// Still listed in its slot too, where it will be skipped.
		ev.hurried = true
		f.now = append(f.now, c)
	case f.clock()-ev.lastTick >= flushSlots:
		ev.queued = true
		f.now = append(f.now, c)
	default:
		ev.queued = true
		f.slots[ev.slot] = append(f.slots[ev.slot], c)
	}
	f.waiting++
	first := f.waiting == 1
	f.mu.Unlock()
	if first {
		select {
		case f.wake <- struct{}{}:
		default:
		}
	}
}

// run writes connections as their slots come, a tick at a time, while
// any are waiting; then it sleeps until one is.
func (f *flusher) run() {
	var batch, later []*conn
	last := f.clock() // the last tick whose slot was written
	for range f.wake {
		for {
			t := f.clock()
			f.mu.Lock()
			batch = append(batch, f.now...)
			clear(f.now)
			f.now = f.now[:0]
			// Every slot whose time came since the last step; all of
			// them once the flusher is a period behind.
			for k := max(last+1, t-flushSlots+1); k <= t; k++ {
				s := &f.slots[k%flushSlots]
				batch = append(batch, *s...)
				clear(*s)
				*s = (*s)[:0]
			}
			last = t
			f.waiting -= len(batch)
			// A connection hurried along is listed twice: written once.
			due := batch[:0]
			for _, c := range batch {
				if c.ev.queued {
					c.ev.queued, c.ev.hurried = false, false
					due = append(due, c)
				}
			}
			clear(batch[len(due):])
			batch = due
			f.mu.Unlock()

			// Those written are paced from now; those with busy
			// subscriptions are listed again in their slots: the
			// flusher comes back for them a period later.
			written, back := batch[:0], later[:0]
			for _, c := range batch {
				wrote, again := c.flush(f)
				if wrote {
					written = append(written, c)
				}
				if again {
					back = append(back, c)
				}
			}
			f.mu.Lock()
			for _, c := range written {
				c.ev.lastTick = t
			}
			for _, c := range back {
				if ev := &c.ev; !ev.queued {
					ev.queued = true
					f.slots[ev.slot] = append(f.slots[ev.slot], c)
					f.waiting++
				}
			}
			idle := f.waiting == 0
			f.mu.Unlock()
			clear(batch)
			clear(back)
			batch, later = batch[:0], back[:0]
			if idle {
				break
			}
			time.Sleep(time.Until(f.epoch.Add(time.Duration(t+1) * f.tick)))
		}
	}
}

// write is the flusher's callback for RawConn.Control, for f.cur: it
// writes without waiting (finishWrite waits, with RawConn.Write). Control
// only holds the descriptor open for the call; Write would also ready the
// runtime poller for a wait that never comes, which costs a cache miss
// per connection and period (pollReset: 2% of the CPU at 1000 x 200
// msg/s).
func (f *flusher) write(fd uintptr) {
	f.done, f.err = f.cur.writeSome(int(fd), &f.iov)
}
