package hub

// A room's presence and typing (signal.go has the node's side): who is in
// the room on which node, with which state, claims that expire unless
// refreshed, and the frames subscribers get when that changes.

import (
	"encoding/json"
	"time"

	"github.com/hanashi-chat/hanashi"
)

// roomSignals is a room's presence on this node: every node's claims for
// the users present in it. Guarded by room.mu; nil until needed.
type roomSignals struct {
	users  map[hanashi.UserID]*roomUser
	answer *time.Timer // a probe's answer is due
}

type roomUser struct {
	author hanashi.Author
	claims []claim // one per node
	// frame is the presence frame of the user's state when it was last
	// told, shared by every subscriber that is told it.
	frame      []byte
	frameState Presence
}

// presenceFrame returns the frame of ru's state p, encoded once per change.
func (ru *roomUser) presenceFrame(enc SignalEncoder, room hanashi.RoomID, p Presence) []byte {
	if ru.frame == nil || ru.frameState != p {
		ru.frame, ru.frameState = enc.Presence(room, ru.author, p), p
	}
	return ru.frame
}

type claim struct {
	node  string
	state Presence
	at    time.Time
}

func (ru *roomUser) state() Presence {
	p := Offline
	for _, c := range ru.claims {
		p = max(p, c.state)
	}
	return p
}

// DeliverSignal is called by the broker. Signals go straight to the
// subscribers: they are not part of the sequence.
func (r *room) DeliverSignal(s hanashi.Signal) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return
	}
	switch s.Kind {
	case kindTyping:
		r.typing(s.User)
	case kindPresence:
		r.setClaim(s.Node, s.User, parsePresence(s.Payload), time.Now())
	case kindClaims:
		var list []wireClaim
		if json.Unmarshal([]byte(s.Payload), &list) == nil {
			r.replaceClaims(s.Node, list, time.Now())
		}
	case kindProbe:
		if s.Node != r.h.sig.node && len(r.subs) > 0 {
			r.answerProbe()
		}
	case kindRoomFrame:
		r.roomFrame(s.Payload)
	}
}

func (r *room) sigState() *roomSignals {
	if r.sig == nil {
		r.sig = &roomSignals{users: make(map[hanashi.UserID]*roomUser)}
	}
	return r.sig
}

// typing hands a typing frame to the subscribers other than the typist's
// own connections.
func (r *room) typing(a hanashi.Author) {
	enc, ok := r.h.cfg.Encoder.(SignalEncoder)
	if !ok {
		return
	}
	var frame []byte
	for s := range r.subs {
		if s.c.user != a.ID {
			if frame == nil {
				frame = enc.Typing(r.id, a)
			}
			s.c.pushSignal(frame)
		}
	}
}

// setClaim records node's claim for a's user and tells the subscribers
// when the user's state in the room changes. r.mu must be held.
func (r *room) setClaim(node string, a hanashi.Author, p Presence, now time.Time) {
	if a.ID == "" {
		return
	}
	sig := r.sigState()
	ru := sig.users[a.ID]
	if ru == nil {
		if p == Offline {
			return
		}
		ru = &roomUser{author: a}
		sig.users[a.ID] = ru
	}
	before := ru.state()
	if a.Name != "" {
		ru.author = a
	}
	i := 0
	for i < len(ru.claims) && ru.claims[i].node != node {
		i++
	}
	switch {
	case p == Offline && i < len(ru.claims):
		ru.claims = append(ru.claims[:i], ru.claims[i+1:]...)
	case p == Offline:
	case i < len(ru.claims):
		ru.claims[i] = claim{node: node, state: p, at: now}
	default:
		ru.claims = append(ru.claims, claim{node: node, state: p, at: now})
	}
	r.changed(ru, before)
}

// changed tells the subscribers of ru's state if it is not before, and
// forgets ru once nobody claims them.
func (r *room) changed(ru *roomUser, before Presence) {
	after := ru.state()
	if len(ru.claims) == 0 {
		delete(r.sig.users, ru.author.ID)
	}
	if after == before {
		return
	}
	enc, ok := r.h.cfg.Encoder.(SignalEncoder)
	if !ok || len(r.subs) == 0 {
		return
	}
	for s := range r.subs {
		if s.c.user != ru.author.ID { // one's own state is no news
			s.c.pushSignal(ru.presenceFrame(enc, r.id, after))
		}
	}
}

// replaceClaims makes list all that node claims in the room.
func (r *room) replaceClaims(node string, list []wireClaim, now time.Time) {
	listed := make(map[hanashi.UserID]bool, len(list))
	for _, c := range list {
		listed[c.User.ID] = true
	}
	if r.sig != nil {
		for id, ru := range r.sig.users {
			if !listed[id] {
				r.setClaim(node, ru.author, Offline, now)
			}
		}
	}
	for _, c := range list {
		r.setClaim(node, c.User, parsePresence(c.State), now)
	}
}

// expire drops the claims older than claimTTL. r.mu must be held.
func (r *room) expire(now time.Time) {
	for _, ru := range r.sig.users {
		before := ru.state()
		kept := ru.claims[:0]
		for _, c := range ru.claims {
			if now.Sub(c.at) <= claimTTL {
				kept = append(kept, c)
			}
		}
		ru.claims = kept
		r.changed(ru, before)
	}
}

// answerProbe publishes this node's claims in the room after probeDelay,
// so that the probes of several nodes starting the room at once get one
// answer. r.mu must be held.
func (r *room) answerProbe() {
	sig := r.sigState()
	if sig.answer != nil {
		return
	}
	sig.answer = time.AfterFunc(probeDelay, func() {
		r.mu.Lock()
		r.sig.answer = nil
		closed := r.closed
		r.mu.Unlock()
		if !closed {
			r.h.publishClaims(map[hanashi.RoomID]bool{r.id: true})
		}
	})
}

// sendPresence queues for c the state of every user present in the room.
// r.mu must be held.
func (r *room) sendPresence(c *Client) {
	enc, ok := r.h.cfg.Encoder.(SignalEncoder)
	if !ok || r.sig == nil {
		return
	}
	for _, ru := range r.sig.users {
		if p := ru.state(); p != Offline && ru.author.ID != c.user {
			c.pushSignal(ru.presenceFrame(enc, r.id, p))
		}
	}
}

// stopSignals ends the room's timers. r.mu must be held.
func (r *room) stopSignals() {
	if r.sig != nil && r.sig.answer != nil {
		r.sig.answer.Stop()
		r.sig.answer = nil
	}
}
