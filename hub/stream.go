package hub

// The user's stream (docs/protocol.md, "The user's stream"): frames that
// reach connections by whose they are, not by what they subscribe — rooms
// that appear or go, profiles that change — and frames that the web layer
// makes for a room's subscribers (who joined or left). The hub does not
// read them: the caller gives each frame's text, the SignalEncoder wraps it,
// and the hub routes it, on this node at once and on the others over the
// broker, like the echo of read markers (signal.go). They are signals:
// best effort, dropped for a client whose queue is more than half full; a
// client that reconnects reads the state afresh.
//
// # Wire
//
// On room 0, the nodes' channel: kindUsers, whose Payload is a wireUsers
// in JSON. On a room's channel: kindRoomFrame, whose Payload is the text.

import (
	"encoding/json"
	"slices"

	"github.com/hanashi-chat/hanashi"
)

const (
	kindUsers     hanashi.SignalKind = "user-frame"
	kindRoomFrame hanashi.SignalKind = "room-frame"
)

// wireUsers is a kindUsers signal's payload: a frame's text and whom it is
// for.
type wireUsers struct {
	Audience
	Text string `json:"text"`
}

// Audience is whom a frame of the user's stream is for: the users listed
// in Users (each once), or with All every user with a connection except
// those listed in Except.
type Audience struct {
	Users  []hanashi.UserID `json:"users,omitempty"`
	All    bool             `json:"all,omitempty"`
	Except []hanashi.UserID `json:"except,omitempty"`
}

// ToUsers hands the frame of text to every connection of users, on every
// node. text is a whole frame's content (for protocol v1, a JSON object).
func (h *Hub) ToUsers(users []hanashi.UserID, text []byte) {
	if len(users) > 0 {
		h.toAudience(Audience{Users: users}, text)
	}
}

// ToEveryone hands the frame of text to every connection, on every node,
// of every user but those in except.
func (h *Hub) ToEveryone(text []byte, except ...hanashi.UserID) {
	h.toAudience(Audience{All: true, Except: except}, text)
}

func (h *Hub) toAudience(a Audience, text []byte) {
	h.deliverUsers(a, text)
	body, err := json.Marshal(wireUsers{Audience: a, Text: string(text)})
	if err != nil {
		return // strings only: cannot fail
	}
	h.publishSignals(hanashi.Signal{Room: nodeRoom, Kind: kindUsers, Payload: string(body), Node: h.sig.node})
}

// deliverUsers queues the frame of text for this node's connections of
// a's users.
func (h *Hub) deliverUsers(a Audience, text []byte) {
	h.pushUsers(a, nil, func(enc SignalEncoder) []byte { return enc.Frame(text) })
}

// pushUsers queues a frame for this node's connections of a's users but
// except (nil for none). The frame is made by encode, once, if anybody
// gets it.
func (h *Hub) pushUsers(a Audience, except *Client, encode func(SignalEncoder) []byte) {
	enc, ok := h.cfg.Encoder.(SignalEncoder)
	if !ok {
		return
	}
	var frame []byte
	push := func(u *nodeUser) {
		for _, c := range u.clients {
			if c != except {
				if frame == nil {
					frame = encode(enc)
				}
				c.pushSignal(frame)
			}
		}
	}
	h.sig.mu.Lock()
	defer h.sig.mu.Unlock()
	if !a.All {
		for _, id := range a.Users {
			if u := h.sig.users[id]; u != nil {
				push(u)
			}
		}
		return
	}
	for id, u := range h.sig.users {
		if !slices.Contains(a.Except, id) {
			push(u)
		}
	}
}

// deliverUsersSignal takes a kindUsers signal from another node.
func (h *Hub) deliverUsersSignal(s hanashi.Signal) {
	var w wireUsers
	if json.Unmarshal([]byte(s.Payload), &w) == nil && w.Text != "" {
		h.deliverUsers(w.Audience, []byte(w.Text))
	}
}

// ToRoom hands the frame of text to the subscribers of room, on every node.
// Subscribing checked that they may read the room, and nothing else is
// checked: text must be fit for every one of them.
func (h *Hub) ToRoom(room hanashi.RoomID, text []byte) {
	h.publishSignals(hanashi.Signal{Room: room, Kind: kindRoomFrame, Payload: string(text), Node: h.sig.node})
}

// roomFrame queues the text of a kindRoomFrame signal for every
// subscriber. r.mu must be held.
func (r *room) roomFrame(text string) {
	enc, ok := r.h.cfg.Encoder.(SignalEncoder)
	if !ok || len(r.subs) == 0 || text == "" {
		return
	}
	frame := enc.Frame([]byte(text))
	for s := range r.subs {
		s.c.pushSignal(frame)
	}
}
