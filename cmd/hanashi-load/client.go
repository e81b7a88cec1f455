package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hanashi-chat/hanashi/websocket"
)

// Bounds on the steps of a connection's life.
const (
	dialTimeout      = 10 * time.Second
	subscribeTimeout = 30 * time.Second
	closeTimeout     = 2 * time.Second
)

// readBuffer is the read buffer of busy connections. websocket.Conn keeps
// only 512 bytes by default (right for a server with many idle sockets); a
// subscriber that receives the server's coalesced writes would then need a
// read syscall per message or two and become the bottleneck.
const readBuffer = 16 << 10

// dial opens connection number k: to URL k mod len(URLs), from source
// address 127.0.0.(1 + k mod SrcIPs) if -srcips is set, with the Bearer
// token. A busy connection reads through a large buffer.
func (l *load) dial(ctx context.Context, k int, token string, busy bool) (*websocket.Conn, error) {
	var local net.Addr
	if l.cfg.SrcIPs > 0 {
		local = &net.TCPAddr{IP: net.IPv4(127, 0, 0, byte(1+k%l.cfg.SrcIPs))}
	}
	d := websocket.Dialer{LocalAddr: local}
	if busy {
		d.ReadBufferSize = readBuffer
	}
	ctx, cancel := context.WithTimeout(ctx, dialTimeout)
	defer cancel()
	h := http.Header{"Authorization": {"Bearer " + token}}
	ws, _, err := d.Dial(ctx, l.wsURLs[k%len(l.wsURLs)], h)
	return ws, err
}

// closeConn starts a clean close: a close frame, and deadlines so that the
// reader, waiting for the server's answer, gives up after closeTimeout.
func closeConn(ws *websocket.Conn) {
	deadline := time.Now().Add(closeTimeout)
	ws.NetConn().SetWriteDeadline(deadline)
	ws.WriteClose(websocket.CloseNormal, "")
	ws.NetConn().SetReadDeadline(deadline)
}

// endReason names why a connection ended early, for the report.
func endReason(err error) string {
	var ce *websocket.CloseError
	var he *websocket.HandshakeError
	var ne net.Error
	switch {
	case errors.As(err, &ce) && ce.Received:
		return "closed by the server with " + strconv.Itoa(ce.Code)
	case errors.As(err, &ce):
		return "protocol error: " + ce.Reason
	case errors.As(err, &he):
		return "handshake refused with HTTP " + strconv.Itoa(he.Status)
	case errors.As(err, &ne) && ne.Timeout():
		return "timeout"
	default:
		return err.Error()
	}
}

// subscriber is one connection that receives one room. Its fields other
// than the atomics belong to its goroutine until the goroutine is done.
type subscriber struct {
	k     int // connection number
	room  int // index into load.rooms
	token string

	last      atomic.Int64 // highest seq received, for the drain and progress
	count     atomic.Int64 // deliveries so far, for progress
	done      chan struct{}
	readyOnce sync.Once

	start       int64 // seq of the subscribed frame; -1 until then
	lastSeq     int64
	delivered   int64 // messages with seq > start, duplicates excepted
	measured    int64 // of those, sent after the warmup
	frameBytes  int64 // bytes of measured message frames
	duplicates  int64
	gaps        int64
	gapMessages int64
	gapRanges   []seqRange
	gapOverflow bool
	unexpected  int64 // frames for another room, or that do not parse
	latency     *histogram
	err         error // why it ended
	dropped     bool  // it ended after subscribing, before the end of the run
}

// subscribe runs the subscriber until its connection ends. ready is called
// once: with true when the subscribed frame arrived, with false if the
// subscriber failed before that.
func (s *subscriber) subscribe(ctx context.Context, l *load, ready func(bool)) {
	defer close(s.done)
	notify := func(ok bool) { s.readyOnce.Do(func() { ready(ok) }) }
	defer notify(false)
	defer func() {
		if s.start >= 0 && !l.closing.Load() {
			s.dropped = true
			l.dropped.Add(1)
		}
	}()

	ws, err := l.dial(ctx, s.k, s.token, !l.cfg.Idle)
	if err != nil {
		s.err = err
		return
	}
	defer ws.Close()
	if !l.track(ws) {
		return
	}
	roomID := l.rooms[s.room]
	ws.NetConn().SetReadDeadline(time.Now().Add(subscribeTimeout))
	sub := `{"type":"subscribe","room":` + strconv.FormatInt(roomID, 10) + `}`
	if err := ws.WriteMessage(websocket.OpText, []byte(sub)); err != nil {
		s.err = err
		return
	}
	for {
		_, p, err := ws.NextMessage() // p is only read before the next call
		if err != nil {
			s.err = err
			return
		}
		now := time.Now().UnixNano()
		switch string(frameType(p)) {
		case "message":
			if s.start < 0 {
				// Messages that overtake the subscribed frame are at or
				// below its seq, where the checked stream starts.
				continue
			}
			seq, ok := intField(p, keySeq)
			room, ok2 := intField(p, keyRoom)
			if !ok || !ok2 || room != roomID {
				s.unexpected++
				continue
			}
			s.receive(seq, p, now, l.measureFrom.Load())
		case "subscribed":
			seq, ok := intField(p, keySeq)
			if !ok || s.start >= 0 {
				s.unexpected++
				continue
			}
			s.start, s.lastSeq = seq, seq
			s.last.Store(seq)
			ws.NetConn().SetReadDeadline(time.Time{})
			notify(true)
		case "error":
			s.err = fmt.Errorf("error frame: %s", stringField(p, keyMessage))
			if s.start < 0 {
				return
			}
		case "presence", "typing", "read", "room", "room_gone", "member", "profile":
			// Ephemeral signals and the user's stream: not the stream
			// under test.
		default:
			s.unexpected++
		}
	}
}

// receive checks a message's seq against the previous one: the stream of
// a room must go up by exactly one.
func (s *subscriber) receive(seq int64, p []byte, now, measureFrom int64) {
	switch {
	case seq <= s.lastSeq:
		s.duplicates++
		return
	case seq > s.lastSeq+1:
		s.gaps++
		s.gapMessages += seq - s.lastSeq - 1
		if len(s.gapRanges) < maxGapRanges {
			s.gapRanges = append(s.gapRanges, seqRange{s.lastSeq + 1, seq - 1})
		} else {
			s.gapOverflow = true
		}
	}
	s.lastSeq = seq
	s.last.Store(seq)
	s.delivered++
	s.count.Add(1)
	if sent, ok := bodyTime(p); ok && sent >= measureFrom {
		if s.latency == nil {
			s.latency = new(histogram)
		}
		s.latency.record(now - sent)
		s.measured++
		s.frameBytes += int64(len(p)) + frameHeaderLen(len(p))
	}
}

// frameHeaderLen is the size of an unmasked server frame's header.
func frameHeaderLen(n int) int64 {
	switch {
	case n < 126:
		return 2
	case n < 1<<16:
		return 4
	default:
		return 10
	}
}

// publisher is one connection that sends. The sender goroutine writes;
// the reader goroutine takes acks. They share pend (under mu), slots and
// the atomics; acks, latency and the rest belong to the reader until done
// is closed.
type publisher struct {
	k     int // connection number
	index int // among publishers, for client_ids and rooms
	token string
	ws    *websocket.Conn

	slots chan struct{} // one per unacked send: -inflight bounds it
	mu    sync.Mutex
	pend  map[uint64]int64 // counter -> send time (unix ns)

	sent, acked, refused atomic.Int64
	done                 chan struct{} // the reader has ended

	acks     []ackRecord
	latency  histogram
	firstErr string // first refusal, for the report
	unknown  int64  // acks of no pending send
	err      error  // why the connection ended
	dropped  bool   // it ended before the end of the run
}

// connect opens the publisher's connection and starts its reader.
func (p *publisher) connect(ctx context.Context, l *load) error {
	ws, err := l.dial(ctx, p.k, p.token, true)
	if err != nil {
		close(p.done)
		return err
	}
	if !l.track(ws) {
		ws.Close()
		close(p.done)
		return errors.New("run ended")
	}
	p.ws = ws
	go p.read(l)
	return nil
}

// pending returns how many sends await their ack.
func (p *publisher) pending() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.pend)
}

// send sends from start until stop: every interval, or whenever a slot
// is free if interval is 0. A publisher that falls behind its schedule
// (slots all taken) catches up as slots free, so the total rate holds if
// the server can take it; the report shows what was really sent.
func (p *publisher) send(ctx context.Context, l *load, start, stop time.Time, interval time.Duration) {
	if p.ws == nil {
		return
	}
	stopTimer := time.NewTimer(time.Until(stop))
	defer stopTimer.Stop()
	var wait *time.Timer
	buf := make([]byte, 0, l.cfg.Size+128)
	next := start
	for n := uint64(0); ; n++ {
		if interval > 0 {
			if d := time.Until(next); d > 0 {
				if wait == nil {
					wait = time.NewTimer(d)
				} else {
					wait.Reset(d)
				}
				select {
				case <-wait.C:
				case <-stopTimer.C:
					return
				case <-p.done:
					return
				case <-ctx.Done():
					return
				}
			}
			next = next.Add(interval)
		}
		if !time.Now().Before(stop) {
			return
		}
		select {
		case p.slots <- struct{}{}:
		case <-stopTimer.C:
			return
		case <-p.done:
			return
		case <-ctx.Done():
			return
		}
		room := l.rooms[(p.index+int(n%uint64(len(l.rooms))))%len(l.rooms)]
		sent := time.Now().UnixNano()
		buf = appendSend(buf[:0], room, p.index, n, sent, l.cfg.Size)
		p.mu.Lock()
		p.pend[n] = sent
		p.mu.Unlock()
		if err := p.ws.WriteMessage(websocket.OpText, buf); err != nil {
			return // the reader sees the connection fail too
		}
		p.sent.Add(1)
	}
}

// read takes acks and refusals until the connection ends.
func (p *publisher) read(l *load) {
	defer close(p.done)
	defer p.ws.Close()
	for {
		_, b, err := p.ws.NextMessage() // b is only read before the next call
		if err != nil {
			p.err = err
			if !l.closing.Load() {
				p.dropped = true
				l.dropped.Add(1)
			}
			return
		}
		now := time.Now().UnixNano()
		switch string(frameType(b)) {
		case "ack":
			n, ok := parseClientID(stringField(b, keyClientID))
			seq, ok2 := intField(b, keySeq)
			room, ok3 := intField(b, keyRoom)
			ri, ok4 := l.roomIndex[room]
			if !ok || !ok2 || !ok3 || !ok4 {
				p.unknown++
				continue
			}
			sent, ok := p.take(n)
			if !ok {
				p.unknown++
				continue
			}
			p.acks = append(p.acks, ackRecord{room: int32(ri), seq: seq})
			l.noteAck(ri, seq, now)
			if sent >= l.measureFrom.Load() {
				p.latency.record(now - sent)
			}
			p.acked.Add(1)
		case "error":
			if n, ok := parseClientID(stringField(b, keyClientID)); ok {
				if _, ok := p.take(n); ok {
					p.refused.Add(1)
					if p.firstErr == "" {
						p.firstErr = string(stringField(b, keyMessage))
					}
					continue
				}
			}
			p.unknown++
		}
	}
}

// take ends send n's wait for its answer, freeing its slot, and returns
// when it was sent.
func (p *publisher) take(n uint64) (int64, bool) {
	p.mu.Lock()
	sent, ok := p.pend[n]
	delete(p.pend, n)
	p.mu.Unlock()
	if ok {
		<-p.slots
	}
	return sent, ok
}
