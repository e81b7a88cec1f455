package hub

// Signals: typing, presence and the echo of read markers (docs/protocol.md,
// "Read markers, typing and presence"). They are ephemeral: never stored,
// never numbered, not part of a resume. They travel over the Broker as
// hanashi.Signal values, on the same subscriptions as the rooms' messages
// but apart from them (Broker.PublishSignals, Subscriber.DeliverSignal); a
// room hands them to its subscribers as ready frames without touching its
// sequence state, and a node with no subscribers for the room never sees
// them.
//
// # Presence
//
// A connection is online from the moment the web layer names its user
// (SetUser) until it says it is away (SetPresence), and back; a user's
// state on a node is the best of their connections there (online > away >
// offline). In a room, each node claims the state of its users who have a
// connection subscribed to the room: a node publishes a claim when a user's
// first connection there subscribes the room, when the user's state on the
// node changes, and "offline" when the user's last connection there leaves
// the room or closes. The state the room's subscribers see is the best
// claim of any node, and they get a frame whenever it changes (except the
// user's own connections: one's own state, or typing, is no news). Scope: a
// user whose connections on two nodes subscribe different rooms is seen in
// each room with the state of the connections on the nodes that subscribe
// it.
//
// Claims are soft state, so that a node that dies, or a claim lost on the
// way, cannot leave a user online for ever: every node repeats its claims
// for each room every refreshInterval (as one message listing all of them,
// which replaces what it claimed before), and a claim not repeated within
// claimTTL expires. When a room starts on a node, and after the broker
// reports lost messages, the node publishes a probe; the other nodes answer
// with their claims, debounced, so a new subscriber learns who is there.
//
// # Wire
//
// Every signal carries the publishing node's id in Node. On a room's
// channel: kindTyping (User is typing), kindPresence (User's state on the
// node is Payload), kindClaims (Payload is the JSON list of the node's
// claims in the room) and kindProbe. On room 0, the nodes' channel:
// kindRead (User.ID's read marker in room About is now Payload, a decimal
// seq). The frames of the user's stream travel on both (stream.go).

import (
	"context"
	"encoding/json"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hanashi-chat/hanashi"
)

// TypingInterval is how often one connection's typing in one room is
// passed on; more frequent typing signals are dropped.
const TypingInterval = 2 * time.Second

const (
	nodeRoom        hanashi.RoomID = 0 // the channel of signals to nodes
	probeDelay                     = 50 * time.Millisecond
	refreshInterval                = 30 * time.Second
	claimTTL                       = 3*refreshInterval + 5*time.Second
)

// The kinds of signals. They are on the wire between nodes (see package
// redis): a new kind, or a new meaning, must be one that nodes of the
// previous release ignore.
const (
	kindTyping   hanashi.SignalKind = "typing"
	kindPresence hanashi.SignalKind = "presence"
	kindClaims   hanashi.SignalKind = "presence-claims"
	kindProbe    hanashi.SignalKind = "presence-probe"
	kindRead     hanashi.SignalKind = "read"
)

// Presence is a connection's or a user's state.
type Presence int8

// The states, ordered: a user's state is the greatest of their
// connections'.
const (
	Offline Presence = iota
	Away
	Online
)

func (p Presence) String() string {
	switch p {
	case Online:
		return "online"
	case Away:
		return "away"
	}
	return "offline"
}

func parsePresence(s string) Presence {
	switch s {
	case "online":
		return Online
	case "away":
		return Away
	}
	return Offline
}

// SignalEncoder makes the frames of signals. The hub uses it when its
// Encoder implements it, and delivers no signals otherwise.
type SignalEncoder interface {
	Typing(room hanashi.RoomID, user hanashi.Author) []byte
	Presence(room hanashi.RoomID, user hanashi.Author, state Presence) []byte
	Read(room hanashi.RoomID, seq int64) []byte
	// Frame wraps text, a frame's content made by the hub's caller (see
	// ToUsers and ToRoom), into a frame.
	Frame(text []byte) []byte
}

// signals is the hub's part of presence and read echoes. Lock order:
// signals.mu before room.mu before Client.mu. A room never takes
// signals.mu, so claims can be published (and, with a broker that delivers
// in Publish, delivered to this node's rooms) with it held, which keeps
// one node's claims in order.
type signals struct {
	node    string // this hub's id in every signal; set by New
	once    sync.Once
	started atomic.Bool

	mu    sync.Mutex
	users map[hanashi.UserID]*nodeUser
}

// nodeUser is what this node knows of a user with connections here.
type nodeUser struct {
	author    hanashi.Author
	hasAuthor bool
	clients   []*Client
	// rooms counts, per room, the user's subscriptions on this node that
	// have joined (see sub.joined): a claim stands in each room it holds.
	rooms map[hanashi.RoomID]int32
	state Presence // best of clients, as last claimed
}

func (u *nodeUser) best() Presence {
	p := Offline
	for _, c := range u.clients {
		if !c.away {
			return Online
		}
		p = Away
	}
	return p
}

// StartSignals starts what presence and read echoes need on this node: the
// subscription to the nodes' channel and the refreshing of claims. It
// returns at once and does the work only once; SetUser calls it too.
func (h *Hub) StartSignals() {
	h.sig.once.Do(func() {
		h.sig.started.Store(true)
		go h.runSignals()
	})
}

func (h *Hub) runSignals() {
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		err := h.cfg.Broker.Subscribe(ctx, nodeRoom, nodeSubscriber{h})
		cancel()
		if err == nil {
			break
		}
		h.log.Warn("subscribing to the nodes' signals failed; retrying", "err", err)
		select {
		case <-time.After(time.Second):
		case <-h.stop:
			return
		}
	}
	t := time.NewTicker(refreshInterval)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			h.refreshClaims()
			h.expireClaims(time.Now())
		case <-h.stop:
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			h.cfg.Broker.Unsubscribe(ctx, nodeRoom, nodeSubscriber{h})
			cancel()
			return
		}
	}
}

// publishSignals hands signals to the broker; a failure only loses them.
func (h *Hub) publishSignals(sigs ...hanashi.Signal) {
	if err := h.cfg.Broker.PublishSignals(context.Background(), sigs); err != nil {
		h.log.Debug("publishing signals failed", "err", err)
	}
}

// SetUser names the user whose connection c is, which makes the connection
// online. Call it once, before the client subscribes, and not concurrently
// with other calls on c; later calls do nothing.
func (c *Client) SetUser(id hanashi.UserID) {
	h := c.h
	h.StartSignals()
	h.sig.mu.Lock()
	defer h.sig.mu.Unlock()
	if c.user != "" || id == "" {
		return
	}
	c.user = id
	if h.sig.users == nil {
		h.sig.users = make(map[hanashi.UserID]*nodeUser)
	}
	u := h.sig.users[id]
	if u == nil {
		u = &nodeUser{author: hanashi.Author{ID: id}}
		h.sig.users[id] = u
	}
	u.clients = append(u.clients, c)
	h.updateStateLocked(u)
}

// SetPresence sets the connection's state: Online or Away.
func (c *Client) SetPresence(p Presence) {
	h := c.h
	h.sig.mu.Lock()
	defer h.sig.mu.Unlock()
	c.away = p != Online
	if u := h.sig.users[c.user]; u != nil {
		h.updateStateLocked(u)
	}
}

// updateStateLocked claims u's state in u's rooms if it changed.
// h.sig.mu must be held.
func (h *Hub) updateStateLocked(u *nodeUser) {
	p := u.best()
	if p == u.state {
		return
	}
	u.state = p
	if len(u.rooms) == 0 {
		return
	}
	sigs := make([]hanashi.Signal, 0, len(u.rooms))
	for room := range u.rooms {
		sigs = append(sigs, h.claimSignal(room, u.author, p))
	}
	h.publishSignals(sigs...)
}

func (h *Hub) claimSignal(room hanashi.RoomID, a hanashi.Author, p Presence) hanashi.Signal {
	return hanashi.Signal{Room: room, Kind: kindPresence, User: a, Payload: p.String(), Node: h.sig.node}
}

// author returns the user's name and avatar for signal frames, read from
// the store once per user while they have connections on this node.
func (h *Hub) author(ctx context.Context, id hanashi.UserID) hanashi.Author {
	h.sig.mu.Lock()
	if u := h.sig.users[id]; u != nil && u.hasAuthor {
		a := u.author
		h.sig.mu.Unlock()
		return a
	}
	h.sig.mu.Unlock()
	usr, err := h.cfg.Store.User(ctx, id)
	if err != nil {
		h.log.Warn("reading a user for signals failed", "user", id, "err", err)
		return hanashi.Author{ID: id}
	}
	a := hanashi.Author{ID: usr.ID, Name: usr.Name, AvatarURL: usr.AvatarURL}
	h.sig.mu.Lock()
	if u := h.sig.users[id]; u != nil {
		u.author, u.hasAuthor = a, true
	}
	h.sig.mu.Unlock()
	return a
}

// joinSignals makes s's user present in s's room, once s is attached: the
// first such subscription of the user on this node claims their state.
func (h *Hub) joinSignals(ctx context.Context, s *sub) {
	c := s.c
	if c.user == "" {
		return
	}
	a := h.author(ctx, c.user)
	h.sig.mu.Lock()
	defer h.sig.mu.Unlock()
	u := h.sig.users[c.user]
	c.mu.Lock()
	attached := c.subLocked(s.r.id) == s
	c.mu.Unlock()
	if u == nil || !attached {
		return // already removed: leaveSignals has nothing to undo
	}
	s.joined = true
	if u.rooms == nil {
		u.rooms = make(map[hanashi.RoomID]int32)
	}
	u.rooms[s.r.id]++
	if u.rooms[s.r.id] == 1 {
		h.publishSignals(h.claimSignal(s.r.id, a, u.state))
	}
}

// leaveSignals undoes joinSignals when s is removed.
func (h *Hub) leaveSignals(s *sub) {
	h.sig.mu.Lock()
	defer h.sig.mu.Unlock()
	if !s.joined {
		return
	}
	s.joined = false
	u := h.sig.users[s.c.user]
	if u == nil {
		return
	}
	u.rooms[s.r.id]--
	if u.rooms[s.r.id] <= 0 {
		delete(u.rooms, s.r.id)
		h.publishSignals(h.claimSignal(s.r.id, u.author, Offline))
	}
}

// closeSignals forgets a closed client; its subscriptions are gone
// already. It may run more than once.
func (h *Hub) closeSignals(c *Client) {
	if c.user == "" {
		return
	}
	h.sig.mu.Lock()
	defer h.sig.mu.Unlock()
	u := h.sig.users[c.user]
	if u == nil {
		return
	}
	for i, x := range u.clients {
		if x == c {
			u.clients = append(u.clients[:i], u.clients[i+1:]...)
			break
		}
	}
	if len(u.clients) > 0 {
		h.updateStateLocked(u)
		return
	}
	for room := range u.rooms { // none, unless a subscription leaked
		h.publishSignals(h.claimSignal(room, u.author, Offline))
	}
	delete(h.sig.users, c.user)
}

// Typing tells the subscribers of room, on every node, that c's user is
// typing there, at most once per TypingInterval for c and room; the others
// are dropped. c must be subscribed to room, which has checked that its
// user may read it.
func (c *Client) Typing(ctx context.Context, room hanashi.RoomID) error {
	c.mu.Lock()
	s := c.subLocked(room)
	c.mu.Unlock()
	if s == nil {
		return hanashi.Errorf(hanashi.EINVALID, "subscribe to room %d before typing in it", room)
	}
	now := time.Now().UnixNano()
	s.r.mu.Lock()
	pass := s.typedAt == 0 || now-s.typedAt >= int64(TypingInterval)
	if pass {
		s.typedAt = now
	}
	s.r.mu.Unlock()
	if !pass || c.user == "" {
		return nil
	}
	a := c.h.author(ctx, c.user)
	c.h.publishSignals(hanashi.Signal{Room: room, Kind: kindTyping, User: a, Node: c.h.sig.node})
	return nil
}

// TypingEnded tells c's rate limit of typing signals in room that the user
// has sent a message there: the typing notice ends where it arrives, so
// typing again is passed on at once.
func (c *Client) TypingEnded(room hanashi.RoomID) {
	c.mu.Lock()
	s := c.subLocked(room)
	c.mu.Unlock()
	if s == nil {
		return
	}
	s.r.mu.Lock()
	s.typedAt = 0
	s.r.mu.Unlock()
}

// Subscribed reports whether c is subscribed to room.
func (c *Client) Subscribed(room hanashi.RoomID) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.subLocked(room) != nil
}

// Read tells user's connections, on every node, except the one given
// (nil for none), that the user's read marker in room is now seq.
func (h *Hub) Read(user hanashi.UserID, room hanashi.RoomID, seq int64, except *Client) {
	h.deliverRead(user, room, seq, except)
	h.publishSignals(hanashi.Signal{
		Room: nodeRoom, Kind: kindRead, User: hanashi.Author{ID: user},
		About: room, Payload: strconv.FormatInt(seq, 10), Node: h.sig.node,
	})
}

func (h *Hub) deliverRead(user hanashi.UserID, room hanashi.RoomID, seq int64, except *Client) {
	h.pushUsers(Audience{Users: []hanashi.UserID{user}}, except, func(enc SignalEncoder) []byte { return enc.Read(room, seq) })
}

// pushSignal queues a signal's frame unless the queue is more than half
// full: a signal is not worth closing a slow client for, nor taking the
// room that its messages need.
func (c *Client) pushSignal(frame []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err != nil || c.endAfter != nil {
		return
	}
	c.moveLogLocked()
	if c.size+len(frame) > c.h.cfg.QueueBytes/2 {
		return
	}
	c.enqueueLocked(frame)
}

// nodeSubscriber receives the nodes' channel, which carries signals only.
type nodeSubscriber struct{ h *Hub }

// Deliver does nothing: room 0 has no messages.
func (nodeSubscriber) Deliver([]hanashi.Message) {}

func (n nodeSubscriber) DeliverSignal(s hanashi.Signal) {
	if s.Node == n.h.sig.node {
		return // this node delivered its own already
	}
	switch s.Kind {
	case kindRead:
		seq, err := strconv.ParseInt(s.Payload, 10, 64)
		if err != nil || s.User.ID == "" {
			return
		}
		n.h.deliverRead(s.User.ID, s.About, seq, nil)
	case kindUsers:
		n.h.deliverUsersSignal(s)
	}
}

// Missed does nothing: lost echoes stay lost, as signals may.
func (nodeSubscriber) Missed() {}

// probe asks the other nodes for their claims in room.
func (h *Hub) probe(room hanashi.RoomID) {
	if h.sig.started.Load() {
		h.publishSignals(hanashi.Signal{Room: room, Kind: kindProbe, Node: h.sig.node})
	}
}

// wireClaim is one entry of a kindClaims signal.
type wireClaim struct {
	User  hanashi.Author `json:"user"`
	State string         `json:"state"`
}

// publishClaims publishes this node's claims in each of rooms, all of them
// in one message per room; nil means every room with one.
func (h *Hub) publishClaims(rooms map[hanashi.RoomID]bool) {
	h.sig.mu.Lock()
	defer h.sig.mu.Unlock()
	lists := make(map[hanashi.RoomID][]wireClaim)
	for _, u := range h.sig.users {
		for room := range u.rooms {
			if rooms == nil || rooms[room] {
				lists[room] = append(lists[room], wireClaim{User: u.author, State: u.state.String()})
			}
		}
	}
	for room, list := range lists {
		body, err := json.Marshal(list)
		if err != nil {
			continue // strings only: cannot fail
		}
		h.publishSignals(hanashi.Signal{Room: room, Kind: kindClaims, Payload: string(body), Node: h.sig.node})
	}
}

func (h *Hub) refreshClaims() { h.publishClaims(nil) }

// expireClaims drops, in every room of this node, the claims not repeated
// within claimTTL.
func (h *Hub) expireClaims(now time.Time) {
	h.mu.Lock()
	rooms := make([]*room, 0, len(h.rooms))
	for _, r := range h.rooms {
		rooms = append(rooms, r)
	}
	h.mu.Unlock()
	for _, r := range rooms {
		r.mu.Lock()
		if r.sig != nil && !r.closed {
			r.expire(now)
		}
		r.mu.Unlock()
	}
}
