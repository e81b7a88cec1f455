//go:build linux

package netpoll

// The loop serves its connections with a fixed set of goroutines:
//
//   - a poller waits on one epoll instance for input on any connection and
//     starts a short-lived goroutine to read it and hand it to the
//     connection's Handler (readable); an idle connection has no goroutine
//     and no buffer;
//   - about GOMAXPROCS flushers write the queues of connections whose
//     Handler has frames (flush_linux.go): everything queued goes out with
//     one non-blocking sendmsg. A socket that cannot take it all is
//     finished by a goroutine of its own (finishWrite), which waits for the
//     socket in the runtime's poller under the write timeout; the flusher
//     moves on;
//   - a sweeper pings connections and hangs up those that went silent or
//     that linger after their last frame.
//
// The epoll descriptor is itself registered with the runtime's poller, so
// waiting for events parks a goroutine like any network read, instead of
// blocking a thread in epoll_wait. Connections stay *net.TCPConn: reads and
// writes go through their RawConn, so Close, deadlines and CloseWrite keep
// working and a descriptor is never used after it was closed.
//
// Nothing starts until the first connection is attached, so a server that
// never sees a WebSocket costs nothing. Close ends the loop once its last
// connection is gone: the epoll descriptor is closed only when no
// connection can use it any more.

import (
	"net"
	"os"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

const (
	// readBufferSize is the size of the pooled buffers input is read into:
	// a few frames usually, many when a client sends in bursts.
	readBufferSize = 16 << 10
	// The sweeper runs every quarter of the ping interval, within these
	// bounds.
	minSweep = 10 * time.Millisecond
	maxSweep = time.Second
)

// Loop is an event loop; see the top of this file. It is safe for
// concurrent use.
type Loop struct {
	cfg   Config
	sweep time.Duration // how often the sweeper runs

	// Set by start, under mu, then only read.
	started  bool
	epfd     int
	ep       syscall.RawConn // epfd, for waiting in the runtime's poller
	epFile   *os.File        // epfd, closed by end
	epoch    time.Time       // of clock
	flushers []*flusher
	done     chan struct{} // closed by end: the flushers stop
	next     atomic.Uint32 // round-robin over flushers
	readBufs sync.Pool     // *[]byte of readBufferSize

	mu       sync.Mutex
	startErr error   // epoll could not be set up: Attach always fails
	byFD     []*Conn // registered connections by descriptor
	conns    []*Conn // the same, for the sweeper; Conn.index is the position
	gen      uint32  // tells a descriptor's successive connections apart
	sweeping bool    // the sweeper goroutine runs
	closed   bool    // Close was called: no new connection
	ended    bool    // the epoll descriptor is closed
}

// New returns a loop; it starts when the first connection is attached.
func New(cfg Config) *Loop {
	cfg = cfg.withDefaults()
	if cfg.Flushers <= 0 {
		cfg.Flushers = runtime.GOMAXPROCS(0)
	}
	return &Loop{cfg: cfg, sweep: min(max(cfg.PingInterval/4, minSweep), maxSweep)}
}

// start sets up epoll and starts the poller and the flushers; l.mu is held.
func (l *Loop) start() error {
	epfd, err := syscall.EpollCreate1(syscall.EPOLL_CLOEXEC)
	if err != nil {
		return os.NewSyscallError("epoll_create1", err)
	}
	// Non-blocking, so that os.NewFile registers it with the poller.
	if err := syscall.SetNonblock(epfd, true); err != nil {
		syscall.Close(epfd)
		return os.NewSyscallError("fcntl", err)
	}
	f := os.NewFile(uintptr(epfd), "epoll")
	ep, err := f.SyscallConn()
	if err != nil {
		f.Close()
		return err
	}
	l.started, l.epfd, l.ep, l.epFile, l.epoch = true, epfd, ep, f, time.Now()
	l.done = make(chan struct{})
	l.readBufs.New = func() any {
		b := make([]byte, readBufferSize)
		return &b
	}
	for range max(l.cfg.Flushers, 1) {
		fl := newFlusher(l.cfg.FlushPeriod, l.done)
		l.flushers = append(l.flushers, fl)
		go fl.run()
	}
	go l.poll()
	return nil
}

// Close ends the loop: it takes no new connection, and its goroutines and
// epoll descriptor go once the connections it serves are torn down (the
// server closes them first). It does not wait.
func (l *Loop) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.closed = true
	if len(l.conns) == 0 {
		l.end()
	}
	return nil
}

// end stops the poller and the flushers; l.mu is held, and no connection
// is registered.
func (l *Loop) end() {
	if !l.started || l.ended {
		return
	}
	l.ended = true
	close(l.done)
	l.epFile.Close() // wakes the poller, which returns
}

// Conn is a connection's state in the loop, kept inside the connection
// that the Handler is (one allocation; the flusher finds the connection's
// state in a few cache lines). Idle connections are many: it is kept
// small. The zero value is ready for Attach.
type Conn struct {
	loop *Loop
	f    *flusher // the one flusher that writes this connection
	h    Handler
	tc   *net.TCPConn
	rc   syscall.RawConn
	fd   int32
	gen  uint32 // tells a descriptor's successive connections apart
	// In loop.conns, guarded by loop.mu.
	index int32

	// Guarded by f.mu: waiting for the flusher (see flusher.schedule), in
	// which slot of the period, and the flusher's tick when it was last
	// written.
	queued   bool
	hurried  bool // queued, and moved to the next step
	slot     uint8
	lastTick int64

	// Write state, owned by the flusher (or finishWrite while stalled).
	closing bool     // Output said last: after out, half-close
	shut    bool     // half-closed: nothing more is written
	out     [][]byte // frames taken from Output and not yet written
	off     int      // bytes of out[0] already written
	// stalled: the socket could not take a whole batch, and finishWrite
	// owns the write state until it clears this.
	stalled atomic.Bool

	// Read state, owned by whoever holds rmu: one readable at a time.
	active   atomic.Bool // input arrived since the last sweep
	stopRead bool        // closing: input is read and dropped until EOF
	rmu      sync.Mutex

	// Sweeper state, owned by the sweeper: times on the loop's clock.
	lastActive int64
	nextPing   int64

	// Lifecycle, guarded by mu.
	mu          sync.Mutex
	readDone    bool // EOF or a read error
	writeDone   bool // half-closed or failed
	torn        bool // torn down: deregistered and closed
	lingerUntil int64
}

// Attach readies c to serve tc with h, and assigns it a flusher: from now
// on c.Wake may be called. Every write and read goes through tc's RawConn,
// so that a descriptor is never used after Close. An error says the loop
// cannot serve tc (it is closed, or epoll is not available), and nothing
// was done.
func (l *Loop) Attach(c *Conn, tc *net.TCPConn, h Handler) error {
	l.mu.Lock()
	switch {
	case l.closed:
		l.mu.Unlock()
		return ErrClosed
	case l.startErr != nil:
		l.mu.Unlock()
		return l.startErr
	case !l.started:
		if err := l.start(); err != nil {
			l.startErr = err
			l.mu.Unlock()
			return err
		}
	}
	l.mu.Unlock()
	rc, err := tc.SyscallConn()
	if err != nil {
		return err
	}
	fd := -1
	if err := rc.Control(func(p uintptr) { fd = int(p) }); err != nil {
		return err
	}
	c.loop, c.h, c.tc, c.rc, c.fd = l, h, tc, rc, int32(fd)
	c.f = l.flushers[int(l.next.Add(1))%len(l.flushers)]
	c.f.assign(c)
	return nil
}

// Start registers an attached connection with epoll and the sweeper.
// pending says its Handler already holds input (what arrived behind the
// WebSocket handshake): Input(nil) is called at once to handle it, and
// before any later input, which the Handler is to append to it. If Start
// fails, the connection has been ended (Hangup, then Closed).
func (c *Conn) Start(pending bool) error {
	l := c.loop
	now := l.clock()
	c.lastActive = now
	c.nextPing = now + int64(l.cfg.PingInterval)
	if err := l.add(c); err != nil {
		c.h.Hangup()
		c.teardown()
		return err
	}
	if pending {
		go c.readable(true)
	}
	return nil
}

// Wake says the connection's Handler has frames for Output: it is the
// ready function of web's hub client.
func (c *Conn) Wake() { c.f.schedule(c) }

// clock is the loop's monotonic time in nanoseconds.
func (l *Loop) clock() int64 { return int64(time.Since(l.epoch)) }

// add registers c with epoll and the sweeper.
func (l *Loop) add(c *Conn) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return ErrClosed
	}
	l.gen++
	c.gen = l.gen
	fd := int(c.fd)
	if fd >= len(l.byFD) {
		l.byFD = slices.Grow(l.byFD, fd+1-len(l.byFD))[:fd+1]
	}
	e := syscall.EpollEvent{Events: readEvents, Fd: c.fd, Pad: int32(c.gen)}
	if err := syscall.EpollCtl(l.epfd, syscall.EPOLL_CTL_ADD, fd, &e); err != nil {
		return os.NewSyscallError("epoll_ctl", err)
	}
	l.byFD[fd] = c
	c.index = int32(len(l.conns))
	l.conns = append(l.conns, c)
	if !l.sweeping {
		l.sweeping = true
		go l.sweeper()
	}
	return nil
}

// readEvents is what a connection waits for: input or its end, reported
// once until readable re-arms it, so that one goroutine reads at a time.
const readEvents = syscall.EPOLLIN | syscall.EPOLLRDHUP | syscall.EPOLLONESHOT

// remove deregisters c. c.mu is held, so no re-arm can race with it, and
// the descriptor is still open: it is closed only afterwards. The last
// connection of a closed loop ends it.
func (l *Loop) remove(c *Conn) {
	fd := int(c.fd)
	l.mu.Lock()
	defer l.mu.Unlock()
	if int(c.index) >= len(l.conns) || l.conns[c.index] != c {
		return // never added
	}
	syscall.EpollCtl(l.epfd, syscall.EPOLL_CTL_DEL, fd, nil)
	if fd < len(l.byFD) && l.byFD[fd] == c {
		l.byFD[fd] = nil
	}
	last := l.conns[len(l.conns)-1]
	l.conns[c.index] = last
	last.index = c.index
	l.conns[len(l.conns)-1] = nil
	l.conns = l.conns[:len(l.conns)-1]
	if l.closed && len(l.conns) == 0 {
		l.end()
	}
}

// poll waits for epoll events and starts a reader for each, until the
// loop ends.
func (l *Loop) poll() {
	events := make([]syscall.EpollEvent, 256)
	for {
		var n int
		err := l.ep.Read(func(fd uintptr) bool {
			var err error
			n, err = syscall.EpollWait(int(fd), events, 0)
			if err != nil {
				n = 0
				return true // EINTR: look again
			}
			return n > 0 // none: park until the epoll descriptor is readable
		})
		if err != nil {
			return // end closed the descriptor
		}
		l.mu.Lock()
		for i := range events[:n] {
			e := &events[i]
			fd := int(e.Fd)
			if fd < len(l.byFD) {
				if c := l.byFD[fd]; c != nil && c.gen == uint32(e.Pad) {
					go c.readable(false)
				}
			}
		}
		l.mu.Unlock()
	}
}

// readable hands what the connection has sent to its Handler; pending
// says the Handler holds input already (see Start). It runs on a goroutine
// of its own for each epoll event; rmu lets one run at a time.
func (c *Conn) readable(pending bool) {
	c.rmu.Lock()
	defer c.rmu.Unlock()
	if pending && !c.stopRead {
		c.stopRead = !c.h.Input(nil)
	}
	l := c.loop
	bp := l.readBufs.Get().(*[]byte)
	defer l.readBufs.Put(bp)
	buf := *bp
	for {
		n, err := c.read(buf)
		if err == syscall.EAGAIN {
			break
		}
		if err != nil || n == 0 {
			// EOF or a failed connection: whatever was said is said.
			c.h.Hangup()
			c.readEnded()
			return
		}
		c.active.Store(true)
		if !c.stopRead {
			c.stopRead = !c.h.Input(buf[:n])
		}
		if n < len(buf) {
			break // drained, most likely; epoll says otherwise if not
		}
	}
	c.mu.Lock()
	if !c.torn {
		e := syscall.EpollEvent{Events: readEvents, Fd: c.fd, Pad: int32(c.gen)}
		syscall.EpollCtl(l.epfd, syscall.EPOLL_CTL_MOD, int(c.fd), &e)
	}
	c.mu.Unlock()
}

// read reads without waiting; EAGAIN says there is nothing to read.
func (c *Conn) read(buf []byte) (int, error) {
	var n int
	var errno error
	err := c.rc.Read(func(fd uintptr) bool {
		for {
			n, errno = syscall.Read(int(fd), buf)
			if errno != syscall.EINTR {
				return true
			}
		}
	})
	if err != nil {
		return 0, err // closed
	}
	if errno != nil {
		return 0, errno
	}
	return n, nil
}

// readEnded records that no more input will come, and tears down once the
// writing side is done too.
func (c *Conn) readEnded() {
	c.mu.Lock()
	c.readDone = true
	done := c.writeDone
	c.mu.Unlock()
	if done {
		c.teardown()
	}
}

// halfClose ends the writing side once the last frames are out; the
// connection lingers until the peer closes too or Linger passes, since
// closing a socket with unread input resets it and the peer would lose
// the last frames.
func (c *Conn) halfClose() {
	c.shut = true
	c.tc.CloseWrite()
	c.mu.Lock()
	c.writeDone = true
	c.lingerUntil = c.loop.clock() + int64(c.loop.cfg.Linger)
	done := c.readDone
	c.mu.Unlock()
	if done {
		c.teardown()
	}
}

// abort ends a connection whose socket failed.
func (c *Conn) abort() {
	c.shut = true
	c.h.Hangup()
	c.teardown()
}

// teardown deregisters and closes the connection, once.
func (c *Conn) teardown() {
	c.mu.Lock()
	if c.torn {
		c.mu.Unlock()
		return
	}
	c.torn = true
	c.loop.remove(c)
	c.mu.Unlock()
	c.tc.Close()
	c.h.Closed()
}

// sweeper pings the connections, and hangs up those that went silent and
// those that linger past Linger. It stops when there are none.
func (l *Loop) sweeper() {
	var batch []*Conn
	for {
		time.Sleep(l.sweep)
		l.mu.Lock()
		if len(l.conns) == 0 {
			l.sweeping = false
			l.mu.Unlock()
			return
		}
		batch = append(batch[:0], l.conns...)
		l.mu.Unlock()
		now := l.clock()
		for _, c := range batch {
			c.sweep(now)
		}
		clear(batch)
	}
}

// sweep does what is due for c at now, on the loop's clock.
func (c *Conn) sweep(now int64) {
	if c.active.Swap(false) {
		c.lastActive = now
	}
	c.mu.Lock()
	writeDone, torn, until := c.writeDone, c.torn, c.lingerUntil
	c.mu.Unlock()
	ping := int64(c.loop.cfg.PingInterval)
	switch {
	case torn:
	case writeDone:
		if now > until {
			c.teardown()
		}
	case now-c.lastActive > ping*2+ping/2:
		// Silent for about a minute, pong included: the flusher
		// half-closes it, and it lingers like any other.
		c.h.Hangup()
	case now >= c.nextPing:
		c.h.Ping()
		c.nextPing = now + ping
	default:
		c.h.Idle()
	}
}
