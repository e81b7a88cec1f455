package main

import (
	"context"
	"fmt"
	"io"
	"math"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hanashi-chat/hanashi/websocket"
)

// maxDialing bounds the handshakes under way at once, whatever
// -connect-rate says, so a slow server sees a queue of bounded length.
const maxDialing = 256

// subsPerGuest is how many subscribers share a guest: sessions are not
// what is being measured, so there is no need for thousands of them.
const subsPerGuest = 250

// load is one run. Its connections' goroutines share the atomics and
// read the rest, which is set before they start.
type load struct {
	cfg    config
	stderr io.Writer
	api    *api
	wsURLs []string

	rooms     []int64       // room ids
	roomIndex map[int64]int // room id -> index into rooms
	subs      []*subscriber
	pubs      []*publisher

	// measureFrom is the end of the warmup in unix ns: sends from then on
	// count in latencies and rates. Until it is known it is MaxInt64.
	measureFrom atomic.Int64
	lastAck     atomic.Int64   // unix ns
	maxAcked    []atomic.Int64 // per room: highest acked seq

	opened, failed, dropped atomic.Int64
	closing                 atomic.Bool // the run is closing its connections

	mu    sync.Mutex
	conns []*websocket.Conn
}

func newLoad(cfg config, stderr io.Writer) *load {
	l := &load{cfg: cfg, stderr: stderr, api: newAPI(cfg.URLs[0])}
	for _, u := range cfg.URLs {
		l.wsURLs = append(l.wsURLs, "ws"+strings.TrimPrefix(u, "http")+"/api/v1/ws")
	}
	l.measureFrom.Store(math.MaxInt64)
	return l
}

// track registers an open connection so that the end of the run can close
// it; it reports false (and the caller closes it) if the run is closing.
func (l *load) track(ws *websocket.Conn) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closing.Load() {
		return false
	}
	l.conns = append(l.conns, ws)
	l.opened.Add(1)
	return true
}

// noteAck records that seq of room is acked, for the drain.
func (l *load) noteAck(room int, seq, now int64) {
	m := &l.maxAcked[room]
	for cur := m.Load(); seq > cur && !m.CompareAndSwap(cur, seq); cur = m.Load() {
	}
	l.lastAck.Store(now)
}

// run goes through the phases of a run and returns the report.
func (l *load) run(ctx context.Context) (*report, error) {
	cfg := l.cfg
	rep := newReport(cfg)
	if err := l.setup(ctx); err != nil {
		return nil, err
	}
	prog := l.startProgress()
	defer prog.stop()

	snaps := map[string]snapshot{}
	sample := func(name string) { snaps[name] = l.snapshot() }
	sample("before")

	prog.setPhase("connecting")
	l.openSubscribers(ctx)
	l.openPublishers(ctx)
	sample("connected")
	rep.Connections.Opened = l.opened.Load()

	var window time.Duration
	if cfg.Idle {
		prog.setPhase("idle")
		start := time.Now()
		sleepUntil(ctx, start.Add(cfg.Dur))
		window = time.Since(start)
		sample("end")
		rep.idleCosts(snaps["before"], snaps["connected"], snaps["end"], l.opened.Load())
	} else {
		prog.setPhase("sending")
		window = l.send(ctx, sample)
		prog.setPhase("draining")
		l.drain(ctx, time.Now())
		sample("drained")
	}
	prog.setPhase("closing")
	l.closeAll()
	prog.stop()

	rep.fill(l, window)
	rep.Interrupted = ctx.Err() != nil
	if !cfg.Idle {
		rep.busyCosts(snaps["before"], snaps["connected"], snaps["measure"], snaps["sent"], snaps["drained"])
	}
	rep.judge()
	return rep, nil
}

// snapshot is the resource use of the server, of this process and of
// the machine's CPUs at one moment; what could not be read is nil.
type snapshot struct {
	server *procSample
	self   *procSample
	cpus   []cpuTimes
}

func (l *load) snapshot() snapshot {
	var s snapshot
	if l.cfg.PID != 0 {
		p, err := sampleProc(l.cfg.PID)
		if err != nil {
			fmt.Fprintf(l.stderr, "sampling process %d: %v\n", l.cfg.PID, err)
		} else {
			s.server = &p
		}
	}
	if p, err := sampleProc(os.Getpid()); err == nil {
		s.self = &p
	}
	s.cpus, _ = sampleCPUs()
	return s
}

// setup creates the guests and rooms, and the subscribers and publishers
// that will use them.
func (l *load) setup(ctx context.Context) error {
	cfg := l.cfg
	run := fmt.Sprintf("load-%x", time.Now().UnixNano()&0xffffffff)
	subGuests := min((cfg.Subs+subsPerGuest-1)/subsPerGuest, 32)
	fmt.Fprintf(l.stderr, "setup: %d guests and %d rooms on %s\n", subGuests+cfg.Pubs, cfg.Rooms, cfg.URLs[0])
	subTokens, err := l.api.createGuests(ctx, run+"-sub", subGuests)
	if err != nil {
		return fmt.Errorf("creating guests: %w", err)
	}
	pubTokens, err := l.api.createGuests(ctx, run+"-pub", cfg.Pubs)
	if err != nil {
		return fmt.Errorf("creating guests: %w", err)
	}
	creator := append(subTokens, pubTokens...)
	if len(creator) == 0 {
		creator, err = l.api.createGuests(ctx, run+"-owner", 1)
		if err != nil {
			return fmt.Errorf("creating guests: %w", err)
		}
	}
	l.roomIndex = make(map[int64]int, cfg.Rooms)
	for i := range cfg.Rooms {
		id, err := l.api.createRoom(ctx, creator[0], fmt.Sprintf("%s-%d", run, i))
		if err != nil {
			return fmt.Errorf("creating rooms: %w", err)
		}
		l.roomIndex[id] = len(l.rooms)
		l.rooms = append(l.rooms, id)
	}
	l.maxAcked = make([]atomic.Int64, cfg.Rooms)

	for i := range cfg.Subs {
		s := &subscriber{k: i, room: i % cfg.Rooms, start: -1, done: make(chan struct{})}
		s.token = subTokens[i/subsPerGuest%len(subTokens)] // at most 32 guests: they take turns
		l.subs = append(l.subs, s)
	}
	for i := range cfg.Pubs {
		l.pubs = append(l.pubs, &publisher{
			k: cfg.Subs + i, index: i, token: pubTokens[i],
			slots: make(chan struct{}, cfg.Inflight),
			pend:  make(map[uint64]int64, cfg.Inflight),
			done:  make(chan struct{}),
		})
	}
	return nil
}

// paced waits until connection i of a phase that started at t0 may be
// opened, and for a free handshake slot in sem. Once ctx ends it waits
// for nothing: the dials then fail at once.
func (l *load) paced(ctx context.Context, t0 time.Time, i int, sem chan struct{}) {
	sleepUntil(ctx, t0.Add(time.Duration(float64(i)/l.cfg.ConnectRate*float64(time.Second))))
	select {
	case sem <- struct{}{}:
	case <-ctx.Done():
		// Slots free up soon: dials fail once ctx is done, and a
		// subscribe waits at most subscribeTimeout.
		sem <- struct{}{}
	}
}

// openSubscribers opens every subscriber and waits until each has its
// subscribed frame or has failed.
func (l *load) openSubscribers(ctx context.Context) {
	var wg sync.WaitGroup
	sem := make(chan struct{}, maxDialing)
	t0 := time.Now()
	for i, s := range l.subs {
		l.paced(ctx, t0, i, sem)
		wg.Add(1)
		go s.subscribe(ctx, l, func(ok bool) {
			<-sem
			if !ok {
				l.failed.Add(1)
			}
			wg.Done()
		})
	}
	wg.Wait()
}

// openPublishers opens every publisher's connection.
func (l *load) openPublishers(ctx context.Context) {
	var wg sync.WaitGroup
	sem := make(chan struct{}, maxDialing)
	t0 := time.Now()
	for i, p := range l.pubs {
		l.paced(ctx, t0, i, sem)
		wg.Go(func() {
			defer func() { <-sem }()
			if err := p.connect(ctx, l); err != nil {
				p.err = err
				l.failed.Add(1)
			}
		})
	}
	wg.Wait()
}

// send runs the publishers through the warmup and the measured window,
// sampling the server at both ends of the window, and returns the window's
// length.
func (l *load) send(ctx context.Context, sample func(string)) time.Duration {
	cfg := l.cfg
	var interval time.Duration // between two sends of one publisher
	if cfg.Rate > 0 && len(l.pubs) > 0 {
		interval = time.Duration(float64(time.Second) * float64(len(l.pubs)) / cfg.Rate)
	}
	start := time.Now().Add(10 * time.Millisecond)
	measureStart := start.Add(cfg.Warmup)
	stop := measureStart.Add(cfg.Dur)
	l.measureFrom.Store(measureStart.UnixNano())

	var wg sync.WaitGroup
	for i, p := range l.pubs {
		// Stagger the publishers over one interval, so that the total
		// rate is smooth rather than M sends at once.
		offset := interval * time.Duration(i) / time.Duration(len(l.pubs))
		wg.Go(func() { p.send(ctx, l, start.Add(offset), stop, interval) })
	}
	sleepUntil(ctx, measureStart)
	sample("measure")
	from := time.Now()
	sleepUntil(ctx, stop)
	sample("sent")
	window := time.Since(from)
	wg.Wait()
	return window
}

// drain waits until every acked message has reached every subscriber of
// its room, at most cfg.Drain after the last ack (and never more than 30 s
// beyond that after sending ended).
func (l *load) drain(ctx context.Context, sendEnd time.Time) {
	hardStop := sendEnd.Add(l.cfg.Drain + 30*time.Second)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for !l.caughtUp() {
		last := time.Unix(0, l.lastAck.Load())
		if last.Before(sendEnd) {
			last = sendEnd
		}
		if now := time.Now(); now.After(last.Add(l.cfg.Drain)) || now.After(hardStop) {
			return
		}
		select {
		case <-tick.C:
		case <-ctx.Done():
			return
		}
	}
}

// caughtUp reports whether no live publisher awaits an ack and every live
// subscriber has the highest acked seq of its room.
func (l *load) caughtUp() bool {
	for _, p := range l.pubs {
		if !isDone(p.done) && p.pending() > 0 {
			return false
		}
	}
	for _, s := range l.subs {
		// s.start is final: openSubscribers waited for it.
		if s.start >= 0 && !isDone(s.done) && s.last.Load() < l.maxAcked[s.room].Load() {
			return false
		}
	}
	return true
}

// closeAll closes every connection cleanly and waits, bounded, for their
// goroutines.
func (l *load) closeAll() {
	l.mu.Lock()
	l.closing.Store(true)
	conns := l.conns
	l.mu.Unlock()
	for _, ws := range conns {
		closeConn(ws)
	}
	deadline := time.NewTimer(closeTimeout + time.Second)
	defer deadline.Stop()
	forced := false
	wait := func(done chan struct{}) {
		if forced {
			<-done
			return
		}
		select {
		case <-done:
		case <-deadline.C:
			// Past the read deadlines: close outright, and every read
			// fails at once.
			forced = true
			for _, ws := range conns {
				ws.Close()
			}
			<-done
		}
	}
	for _, s := range l.subs {
		wait(s.done)
	}
	for _, p := range l.pubs {
		wait(p.done)
	}
}

func isDone(c chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}

// sleepUntil sleeps until t or the end of ctx.
func sleepUntil(ctx context.Context, t time.Time) {
	d := time.Until(t)
	if d <= 0 {
		return
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
	case <-ctx.Done():
	}
}
