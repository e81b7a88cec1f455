//go:build linux

package netpoll

import (
	"sync"
	"syscall"
	"time"
	"unsafe"
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
	// maxIOV is IOV_MAX on Linux: the most buffers one sendmsg takes.
	maxIOV = 1024
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
// wait at all. A connection whose Handler says it is busy (web's hub
// client has busy subscriptions, see hub.Client.TakeMore) is listed in
// its slot again: the flusher comes back a period later without being
// told, so a busy room wakes nobody for its messages. When the flusher
// falls behind, slots are merged and batches grow: under load the cost
// per delivery falls.
type flusher struct {
	tick  time.Duration // period / flushSlots
	epoch time.Time
	done  <-chan struct{} // the loop has ended

	mu      sync.Mutex
	slots   [flushSlots][]*Conn // waiting for their slot
	now     []*Conn             // quiet for a period: written at the next step
	waiting int
	next    uint8 // slot of the next connection assigned
	wake    chan struct{}

	// For the write callback, which is made once (writeFn) rather than as
	// a closure per write. Used by the flusher's goroutine only.
	cur     *Conn
	iov     []syscall.Iovec
	wrote   bool // cur's frames all went
	err     error
	writeFn func(fd uintptr)
}

func newFlusher(period time.Duration, done <-chan struct{}) *flusher {
	f := &flusher{
		tick:  max(period/flushSlots, time.Microsecond),
		epoch: time.Now(),
		done:  done,
		wake:  make(chan struct{}, 1),
	}
	f.writeFn = f.write
	return f
}

// assign gives a new connection its slot.
func (f *flusher) assign(c *Conn) {
	f.mu.Lock()
	c.slot = f.next
	f.next = (f.next + 1) % flushSlots
	c.lastTick = -flushSlots
	f.mu.Unlock()
}

// clock is the current tick.
func (f *flusher) clock() int64 { return int64(time.Since(f.epoch) / f.tick) }

// schedule puts c in line to be written: in its slot, or at the next step
// if it was quiet for a period. Called again while c waits — its Handler
// is filling up — it moves c to the next step.
func (f *flusher) schedule(c *Conn) {
	f.mu.Lock()
	switch {
	case c.queued && c.hurried:
		f.mu.Unlock()
		return
	case c.queued:
		// Still listed in its slot too, where it will be skipped.
		c.hurried = true
		f.now = append(f.now, c)
	case f.clock()-c.lastTick >= flushSlots:
		c.queued = true
		f.now = append(f.now, c)
	default:
		c.queued = true
		f.slots[c.slot] = append(f.slots[c.slot], c)
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
// any are waiting; then it sleeps until one is, or the loop ends.
func (f *flusher) run() {
	var batch, later []*Conn
	last := f.clock() // the last tick whose slot was written
	for {
		select {
		case <-f.wake:
		case <-f.done:
			return
		}
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
				if c.queued {
					c.queued, c.hurried = false, false
					due = append(due, c)
				}
			}
			clear(batch[len(due):])
			batch = due
			f.mu.Unlock()

			// Those written are paced from now; those with busy
			// Handlers are listed again in their slots: the flusher
			// comes back for them a period later.
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
				c.lastTick = t
			}
			for _, c := range back {
				if !c.queued {
					c.queued = true
					f.slots[c.slot] = append(f.slots[c.slot], c)
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

// flush writes whatever the connection's Handler has, without waiting. It
// runs on the connection's flusher, and reports whether it wrote, and
// whether the flusher is to come back a period later: the Handler is busy,
// and the frames all went out (a write that stalls is finished by
// finishWrite, which reschedules the connection).
func (c *Conn) flush(f *flusher) (wrote, again bool) {
	if c.stalled.Load() || c.shut || c.closing {
		// finishWrite reschedules when it is done; after the last frames
		// nothing is asked of the Handler.
		return false, false
	}
	if len(c.out) == 0 {
		c.out, again, c.closing = c.h.Output()
	}
	if len(c.out) == 0 && !c.closing {
		return false, false
	}
	f.cur, f.wrote, f.err = c, false, nil
	err := c.rc.Control(f.writeFn)
	f.cur = nil
	if err == nil {
		err = f.err
	}
	switch {
	case err != nil:
		c.abort()
		return false, false
	case !f.wrote:
		c.stalled.Store(true)
		go c.finishWrite()
		return true, false
	case c.closing:
		c.halfClose()
		return true, false
	}
	return true, again
}

// write is the flusher's callback for RawConn.Control, for f.cur: it
// writes without waiting (finishWrite waits, with RawConn.Write). Control
// only holds the descriptor open for the call; Write would also ready the
// runtime poller for a wait that never comes, which costs a cache miss
// per connection and period (pollReset: 2% of the CPU at 1000 x 200
// msg/s).
func (f *flusher) write(fd uintptr) {
	f.wrote, f.err = f.cur.writeSome(int(fd), &f.iov)
}

// finishWrite writes what the socket could not take at once, waiting for
// it to drain within the write timeout, then gives the connection back to
// its flusher.
func (c *Conn) finishWrite() {
	timeout := c.loop.cfg.WriteTimeout
	if c.closing {
		timeout = c.loop.cfg.Linger
	}
	c.tc.SetWriteDeadline(time.Now().Add(timeout))
	var iov []syscall.Iovec
	var done bool
	var werr error
	err := c.rc.Write(func(fd uintptr) bool {
		done, werr = c.writeSome(int(fd), &iov)
		return done || werr != nil
	})
	c.tc.SetWriteDeadline(time.Time{})
	if err == nil {
		err = werr
	}
	if err != nil {
		c.abort()
		return
	}
	if c.closing {
		c.halfClose()
	}
	c.stalled.Store(false)
	c.f.schedule(c) // what was queued meanwhile
}

// writeSome writes c.out with as few sendmsg calls as it can, without
// waiting, and reports whether everything went.
func (c *Conn) writeSome(fd int, iovp *[]syscall.Iovec) (bool, error) {
	for len(c.out) > 0 {
		iov := (*iovp)[:0]
		total := 0
		for i, b := range c.out {
			if i == maxIOV {
				break
			}
			if i == 0 {
				b = b[c.off:]
			}
			v := syscall.Iovec{Base: &b[0]}
			v.SetLen(len(b))
			iov = append(iov, v)
			total += len(b)
		}
		*iovp = iov
		n, errno := sendv(fd, iov)
		clear(iov) // do not pin the frames
		switch errno {
		case 0:
		case syscall.EINTR:
			continue
		case syscall.EAGAIN:
			return false, nil
		default:
			return false, errno
		}
		c.advance(n)
		if n < total {
			return false, nil // the socket is full
		}
	}
	c.out, c.off = nil, 0
	return true, nil
}

// advance drops n written bytes from the front of c.out.
func (c *Conn) advance(n int) {
	for n > 0 {
		if k := len(c.out[0]) - c.off; n >= k {
			n -= k
			c.out[0] = nil // the batch's array stays with the Handler: do not pin the frame
			c.out = c.out[1:]
			c.off = 0
		} else {
			c.off += n
			n = 0
		}
	}
}

// sendv is writev by sendmsg: for a socket, it goes straight to the
// network stack, without the file layer's checks and notifications that
// writev passes through. Side by side over 1000 loopback sockets, 4%
// less CPU per write (7.06 vs 7.38 µs).
func sendv(fd int, iov []syscall.Iovec) (int, syscall.Errno) {
	msg := syscall.Msghdr{Iov: &iov[0], Iovlen: uint64(len(iov))}
	n, _, errno := syscall.Syscall(syscall.SYS_SENDMSG, uintptr(fd), uintptr(unsafe.Pointer(&msg)), syscall.MSG_DONTWAIT|syscall.MSG_NOSIGNAL)
	return int(n), errno
}
