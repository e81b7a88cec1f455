package web

import (
	"context"
	"sync"
	"time"

	"github.com/hanashi-chat/hanashi"
	"github.com/hanashi-chat/hanashi/hub"
)

// readInterval is the least time between two writes of one connection's
// read marker in one room: a client that reports every message it scrolls
// past costs the store one write per interval, and the last value is
// always written, also when the connection closes.
const readInterval = 500 * time.Millisecond

// signal handles the ephemeral frames of a connection: typing, presence
// and read markers. Nothing here is stored except the read marker; what
// travels between nodes is the hub's business (hub/signal.go).
func (c *conn) signal(ctx context.Context, f *inFrame) {
	room := hanashi.RoomID(f.Room)
	if f.Type != "presence" {
		switch {
		case room == 0:
			c.sendError(hanashi.Errorf(hanashi.EINVALID, "room is missing"), "", 0)
			return
		case room < 0:
			c.sendError(hanashi.Errorf(hanashi.ENOTFOUND, "room not found"), "", room)
			return
		}
	}
	switch f.Type {
	case "presence":
		switch f.State {
		case "online":
			c.client.SetPresence(hub.Online)
		case "away":
			c.client.SetPresence(hub.Away)
		default:
			c.sendError(hanashi.Errorf(hanashi.EINVALID, `state must be "online" or "away"`), "", 0)
		}
	case "typing":
		// Subscribing checked that the user may read the room.
		if err := c.client.Typing(ctx, room); err != nil {
			c.sendError(err, "", room)
		}
	case "read":
		switch {
		case f.Seq == nil:
			c.sendError(hanashi.Errorf(hanashi.EINVALID, "seq is missing"), "", room)
			return
		case *f.Seq < 0:
			c.sendError(hanashi.Errorf(hanashi.EINVALID, "seq must not be negative"), "", room)
			return
		}
		if !c.client.Subscribed(room) {
			// A subscription has checked visibility; otherwise check now,
			// so that nobody learns of a room they may not see.
			if _, err := c.s.cfg.Store.Room(ctx, room, c.user.ID); err != nil {
				c.sendError(err, "", room)
				return
			}
		}
		c.s.reads.mark(c.s, c, room, *f.Seq)
	}
}

// markRead advances user's read marker in room and tells the user's other
// connections, on every node. Both the WebSocket "read" frame and
// PUT /api/v1/rooms/{id}/read come here. It does not check visibility.
func (s *Server) markRead(ctx context.Context, user hanashi.UserID, room hanashi.RoomID, seq int64) (int64, error) {
	return s.markReadFrom(ctx, user, room, seq, nil)
}

// markReadFrom is markRead for a connection's read frame: the echo skips
// the connection that sent it (from, nil for none).
func (s *Server) markReadFrom(ctx context.Context, user hanashi.UserID, room hanashi.RoomID, seq int64, from *hub.Client) (int64, error) {
	last, err := s.cfg.Store.MarkRead(ctx, user, room, seq)
	if err != nil {
		return 0, err
	}
	if s.cfg.Hub != nil {
		s.cfg.Hub.Read(user, room, last, from)
	}
	return last, nil
}

// markUnread moves user's read marker in room to just before seq, once no
// read frame this node received before can move it forward again (see
// readMarkers.lower), and tells every connection of the user, on every
// node, with the read echo marked "unread": the marker moved back. It
// does not check visibility.
func (s *Server) markUnread(ctx context.Context, user hanashi.UserID, room hanashi.RoomID, seq int64) (int64, error) {
	var last int64
	err := s.reads.lower(ctx, user, room, func() error {
		var err error
		last, err = s.cfg.Store.MarkUnread(ctx, user, room, seq)
		return err
	})
	if err != nil {
		return 0, err
	}
	if s.cfg.Hub != nil {
		s.cfg.Hub.ToUsers([]hanashi.UserID{user}, frameText(readFrame{Type: "read", Room: room, Seq: last, Unread: true}))
	}
	return last, nil
}

// readMarkers debounces the read frames of every connection: per
// connection and room, the first frame is written at once, and the
// frames of the following readInterval are gathered and their highest
// seq written when it ends. An entry lives only during that interval, so
// an idle connection costs nothing here. It is safe for concurrent use.
type readMarkers struct {
	mu      sync.Mutex
	pending map[readKey]*readState
	wg      sync.WaitGroup // one count per entry of pending
}

type readKey struct {
	c    *conn
	room hanashi.RoomID
}

type readState struct {
	seq     int64         // highest seq waiting to be written; -1 for none
	timer   *time.Timer   // the end of the interval after a write; nil while writing
	writing chan struct{} // closed when the write under way ends; nil when none is
	closing bool          // the connection closed: write what waits at once
}

// mark takes a read frame.
func (m *readMarkers) mark(s *Server, c *conn, room hanashi.RoomID, seq int64) {
	k := readKey{c, room}
	m.mu.Lock()
	if e := m.pending[k]; e != nil {
		e.seq = max(e.seq, seq)
		m.mu.Unlock()
		return
	}
	if m.pending == nil {
		m.pending = make(map[readKey]*readState)
	}
	m.pending[k] = &readState{seq: -1, writing: make(chan struct{})}
	m.wg.Add(1)
	m.mu.Unlock()
	// Not on the reading goroutine: reading goes on while the store writes.
	go m.write(s, k, seq)
}

// write stores seq and starts the interval in which later frames wait.
func (m *readMarkers) write(s *Server, k readKey, seq int64) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	_, err := s.markReadFrom(ctx, k.c.user.ID, k.room, seq, k.c.client)
	cancel()
	if err != nil {
		k.c.sendError(err, "", k.room)
	}
	m.mu.Lock()
	e := m.pending[k]
	close(e.writing)
	e.writing = nil
	if e.closing {
		m.mu.Unlock()
		m.intervalEnd(s, k)
		return
	}
	e.timer = time.AfterFunc(readInterval, func() { m.intervalEnd(s, k) })
	m.mu.Unlock()
}

// intervalEnd writes what waits, or forgets the entry when nothing does.
func (m *readMarkers) intervalEnd(s *Server, k readKey) {
	m.mu.Lock()
	e := m.pending[k]
	e.timer = nil
	if e.seq < 0 {
		delete(m.pending, k)
		m.mu.Unlock()
		m.wg.Done()
		return
	}
	seq := e.seq
	e.seq = -1
	e.writing = make(chan struct{})
	m.mu.Unlock()
	m.write(s, k, seq)
}

// lower runs fn, which moves user's marker in room back, once no read
// frame received before can move it forward again: the frames of the
// user's connections on this node that wait to be written for room are
// dropped, and the writes under way are waited for. (A frame that waits on
// another node is written within readInterval, and may win.)
func (m *readMarkers) lower(ctx context.Context, user hanashi.UserID, room hanashi.RoomID, fn func() error) error {
	m.mu.Lock()
	var busy []chan struct{}
	for k, e := range m.pending {
		if k.room != room || k.c.user.ID != user {
			continue
		}
		e.seq = -1
		if e.writing != nil {
			busy = append(busy, e.writing)
		}
	}
	m.mu.Unlock()
	for _, done := range busy {
		select {
		case <-done:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return fn()
}

// closed writes at once whatever c's read frames left waiting.
func (m *readMarkers) closed(s *Server, c *conn) {
	m.mu.Lock()
	var due []readKey
	for k, e := range m.pending {
		if k.c != c {
			continue
		}
		e.closing = true
		// A timer that already fired, and a write under way, find
		// closing themselves.
		if e.timer != nil && e.timer.Stop() {
			e.timer = nil
			due = append(due, k)
		}
	}
	m.mu.Unlock()
	for _, k := range due {
		go m.intervalEnd(s, k)
	}
}

// wait waits until every waiting read marker is written, or ctx ends.
func (m *readMarkers) wait(ctx context.Context) error {
	return waitGroup(ctx, &m.wg)
}

// Frames of signals, for the hub.

var _ hub.SignalEncoder = Encoder{}

type typingFrame struct {
	Type string         `json:"type"`
	Room hanashi.RoomID `json:"room"`
	User hanashi.Author `json:"user"`
}

type presenceFrame struct {
	Type  string         `json:"type"`
	Room  hanashi.RoomID `json:"room"`
	User  hanashi.Author `json:"user"`
	State string         `json:"state"`
}

type readFrame struct {
	Type string         `json:"type"`
	Room hanashi.RoomID `json:"room"`
	Seq  int64          `json:"seq"`
	// Unread says the marker moved back (mark unread): apply seq as it
	// is, where a plain echo only ever advances a marker.
	Unread bool `json:"unread,omitempty"`
}

func (Encoder) Typing(room hanashi.RoomID, user hanashi.Author) []byte {
	return frame(typingFrame{Type: "typing", Room: room, User: user})
}

func (Encoder) Presence(room hanashi.RoomID, user hanashi.Author, state hub.Presence) []byte {
	return frame(presenceFrame{Type: "presence", Room: room, User: user, State: state.String()})
}

func (Encoder) Read(room hanashi.RoomID, seq int64) []byte {
	return frame(readFrame{Type: "read", Room: room, Seq: seq})
}

func (Encoder) Frame(text []byte) []byte { return textFrame(text) }
