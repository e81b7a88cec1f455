package testpeer

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/url"
	"os"
	"sync"
	"testing"
	"time"
)

// Proxy is a TCP proxy on loopback that a fault test puts between a server
// node and PostgreSQL or Redis, to cut the network between them without
// stopping either. A *Proxy is safe for concurrent use.
//
// Every accepted connection gets its own connection to the target and a
// pair of goroutines, one per direction; each reads a chunk, writes it to
// the other side, and reads again, so the proxy holds at most one chunk per
// direction and the rest waits in the kernels' buffers, as it would on a
// congested network.
type Proxy struct {
	t      testing.TB
	target string
	ln     *net.TCPListener
	wg     sync.WaitGroup

	// mu guards everything below; cond is broadcast on every change to it.
	mu          sync.Mutex
	cond        *sync.Cond
	closed      bool
	partitioned bool
	writing     int // writes in progress, across all links
	links       map[*link]struct{}
	armed       bool          // CutMidPipeline waits for its chunk
	fired       bool          // triggered is closed
	triggered   chan struct{} // closed when the armed cut happens
}

// link is one proxied connection.
type link struct {
	toServer half // the target's side, written with what the client sends
	toClient half // the client's side
	closed   bool // by the proxy: the pumps stop
	pumps    int  // running; the last one closes the link
}

// half is the side of a link that one direction writes to.
type half struct {
	conn    *net.TCPConn // nil until the target is dialed
	writing bool         // a Write is in progress
	kicked  bool         // Partition set a past write deadline to end it
}

// executeSig is a PostgreSQL Execute message for the unnamed portal with no
// row limit: type 'E', length 9, the portal name's NUL, max rows 0. pgx
// sends exactly this for every statement of a pipeline.
var executeSig = []byte{'E', 0, 0, 0, 9, 0, 0, 0, 0, 0}

// StartProxy starts a proxy on a free loopback port that forwards every
// connection to target (host:port), and stops it when the test ends,
// closing every connection.
func StartProxy(t testing.TB, target string) *Proxy {
	t.Helper()
	ln, err := net.ListenTCP("tcp", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	p := &Proxy{
		t:         t,
		target:    target,
		ln:        ln,
		links:     map[*link]struct{}{},
		triggered: make(chan struct{}),
	}
	p.cond = sync.NewCond(&p.mu)
	ctx, cancel := context.WithCancel(context.Background())
	p.wg.Go(func() { p.serve(ctx) })
	t.Cleanup(func() {
		p.mu.Lock()
		p.closed = true
		for l := range p.links {
			p.closeLink(l, false)
		}
		p.cond.Broadcast()
		p.mu.Unlock()
		cancel()
		ln.Close()
		p.wg.Wait()
	})
	return p
}

// Addr is the address the proxy listens on, 127.0.0.1:PORT.
func (p *Proxy) Addr() string { return p.ln.Addr().String() }

// URL returns u, a postgres:// or redis:// URL of the target, with its
// host and port replaced by the proxy's; user, path and query are kept.
func (p *Proxy) URL(u string) string {
	p.t.Helper()
	pu, err := url.Parse(u)
	if err != nil {
		p.t.Fatalf("testpeer: parsing %s: %v", u, err)
	}
	pu.Host = p.Addr()
	return pu.String()
}

// Partition stops all traffic: from its return until Heal, no byte and no
// close moves in either direction, on existing connections and on new
// ones, which are accepted and then held without dialing the target.
// Nothing is closed, and the proxy's sockets stay open, so the endpoints'
// TCP keepalives are still answered: only their own timeouts can notice.
// What the proxy already read is held, in order, for Heal; a write that
// the target or the client was slow to take is interrupted, its rest held.
func (p *Proxy) Partition() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.partitionLocked()
}

// partitionLocked partitions and waits until no write is in progress.
// It releases p.mu while it waits.
func (p *Proxy) partitionLocked() {
	p.partitioned = true
	p.cond.Broadcast()
	for l := range p.links {
		for _, h := range []*half{&l.toServer, &l.toClient} {
			if h.writing && !h.kicked {
				h.kicked = true
				h.conn.SetWriteDeadline(time.Unix(1, 0))
			}
		}
	}
	for p.writing > 0 {
		p.cond.Wait()
	}
}

// Heal ends a partition: the proxy delivers what it held, in order, then
// passes on any close it held, and forwards again.
func (p *Proxy) Heal() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.partitioned = false
	p.cond.Broadcast()
}

// CutMidPipeline arms a one-shot cut for PostgreSQL. The next chunk a
// client sends that holds two or more Execute messages (of the unnamed
// portal, without row limit) is forwarded only up to the end of the first
// one; then the proxy partitions itself, as Partition, holding the rest.
// Chunks with fewer Execute messages pass untouched while it is armed.
//
// This is how a node's pipelined commit can stop right after its
// SELECT ... FOR NO KEY UPDATE: the server's backend then holds the row
// locks, waiting for the rest of the pipeline, until Heal. Triggered tells
// when it happened.
func (p *Proxy) CutMidPipeline() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.armed = true
	if p.fired {
		p.fired = false
		p.triggered = make(chan struct{})
	}
}

// Triggered returns a channel closed once the cut armed by the latest
// CutMidPipeline has happened: the first part of the chunk was written
// and the proxy is partitioned.
func (p *Proxy) Triggered() <-chan struct{} {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.triggered
}

// CloseAll closes every current connection on both sides at once, with a
// reset, as a middlebox that drops its state; held bytes are lost. The
// proxy goes on accepting connections, and stays partitioned if it was.
func (p *Proxy) CloseAll() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for l := range p.links {
		p.closeLink(l, true)
	}
}

// closeLink closes both sides of l, with a reset if abort. p.mu is held.
func (p *Proxy) closeLink(l *link, abort bool) {
	if l.closed {
		return
	}
	l.closed = true
	delete(p.links, l)
	for _, c := range []*net.TCPConn{l.toClient.conn, l.toServer.conn} {
		if c == nil {
			continue
		}
		if abort {
			c.SetLinger(0)
		}
		c.Close()
	}
	p.cond.Broadcast()
}

func (p *Proxy) serve(ctx context.Context) {
	for {
		c, err := p.ln.AcceptTCP()
		if err != nil {
			p.mu.Lock()
			closed := p.closed
			p.mu.Unlock()
			if !closed {
				p.t.Errorf("testpeer: proxy to %s stops accepting: %v", p.target, err)
			}
			return
		}
		p.wg.Go(func() { p.handle(ctx, c) })
	}
}

// handle dials the target for the client c, once the proxy is not
// partitioned, and runs the link's two pumps, one on this goroutine.
func (p *Proxy) handle(ctx context.Context, c *net.TCPConn) {
	l := &link{toClient: half{conn: c}}
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		c.Close()
		return
	}
	p.links[l] = struct{}{}
	for p.partitioned && !l.closed {
		p.cond.Wait()
	}
	p.mu.Unlock()

	d := net.Dialer{Timeout: 10 * time.Second}
	s, err := d.DialContext(ctx, "tcp", p.target)
	p.mu.Lock()
	if err != nil || l.closed {
		// A target that refuses is a reset for the client.
		p.closeLink(l, true)
		p.mu.Unlock()
		if s != nil {
			s.Close()
		}
		return
	}
	l.toServer.conn = s.(*net.TCPConn)
	l.pumps = 2
	p.mu.Unlock()

	p.wg.Go(func() { p.pump(l, l.toServer.conn, &l.toClient, false) })
	p.pump(l, c, &l.toServer, true)
}

// pump copies from src to dst until src ends, then passes its end on.
// toServer tells the client-to-server direction, where the cut is watched.
func (p *Proxy) pump(l *link, src *net.TCPConn, dst *half, toServer bool) {
	defer func() {
		p.mu.Lock()
		l.pumps--
		if l.pumps == 0 {
			p.closeLink(l, false)
		}
		p.mu.Unlock()
	}()
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 && !p.send(l, dst, buf[:n], toServer) {
			// A side failed: reset both, as a middlebox whose peer did.
			p.mu.Lock()
			p.closeLink(l, true)
			p.mu.Unlock()
			return
		}
		if err == nil {
			continue
		}
		// The end of src is held as its data was.
		p.mu.Lock()
		for p.partitioned && !l.closed {
			p.cond.Wait()
		}
		if !l.closed {
			if errors.Is(err, io.EOF) {
				dst.conn.CloseWrite()
			} else {
				p.closeLink(l, true)
			}
		}
		p.mu.Unlock()
		return
	}
}

// send writes b to dst, watching for the armed cut if toServer. It
// reports false if the link is closed or a write failed.
func (p *Proxy) send(l *link, dst *half, b []byte, toServer bool) bool {
	cut := 0
	var trig chan struct{}
	p.mu.Lock()
	if toServer && p.armed {
		if i := bytes.Index(b, executeSig); i >= 0 {
			end := i + len(executeSig)
			if bytes.Contains(b[end:], executeSig) {
				cut, trig = end, p.triggered
				p.armed = false
			}
		}
	}
	p.mu.Unlock()
	if cut == 0 {
		return p.deliver(l, dst, b, false)
	}

	p.mu.Lock()
	for p.partitioned && !l.closed {
		p.cond.Wait()
	}
	if l.closed {
		p.armed = true // the cut did not happen: wait for another chunk
		p.mu.Unlock()
		return false
	}
	p.partitionLocked()
	p.mu.Unlock()
	ok := p.deliver(l, dst, b[:cut], true)
	p.mu.Lock()
	p.fired = true
	close(trig)
	p.mu.Unlock()
	return ok && p.deliver(l, dst, b[cut:], false)
}

// deliver writes b to dst, holding it while the proxy is partitioned;
// force lets its first write through a partition (the cut's first part).
// A write that Partition interrupts keeps its rest for later.
func (p *Proxy) deliver(l *link, dst *half, b []byte, force bool) bool {
	for len(b) > 0 {
		p.mu.Lock()
		for p.partitioned && !force && !l.closed {
			p.cond.Wait()
		}
		force = false
		if l.closed {
			p.mu.Unlock()
			return false
		}
		dst.writing = true
		p.writing++
		p.mu.Unlock()

		n, err := dst.conn.Write(b)

		p.mu.Lock()
		kicked := dst.kicked
		if kicked {
			dst.kicked = false
			dst.conn.SetWriteDeadline(time.Time{})
		}
		dst.writing = false
		p.writing--
		p.cond.Broadcast()
		p.mu.Unlock()
		b = b[n:]
		if err != nil && !(kicked && errors.Is(err, os.ErrDeadlineExceeded)) {
			return false
		}
	}
	return true
}
