package hub

// The user's stream (docs/protocol.md, "The user's stream"): frames that
// reach connections by whose they are, not by what they subscribe — rooms
// that appear or go, profiles that change — and frames that the web layer
// makes for a room's subscribers (who joined or left); and the end of a
// user's subscriptions to a room they may no longer read. The hub does not
// read them: the caller gives each frame's text, the SignalEncoder wraps it,
// and the hub routes it, on this node at once and on the others over the
// broker, like the echo of read markers (signal.go). They are signals:
// best effort, dropped for a client whose queue is more than half full; a
// client that reconnects reads the state afresh.
//
// # Wire
//
// On room 0, the nodes' channel: kindUsers, whose Payload is a wireUsers
// in JSON (ToUsers, ToEveryone, Revoke). On a room's channel:
// kindRoomFrame, whose Payload is the frame's text (ToRoom). Nodes of an
// earlier release ignore both.

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
// for; with End, first the end of their subscriptions to that room, told
// with the frame of Ended.
type wireUsers struct {
	Audience
	Text  string         `json:"text,omitempty"`
	End   hanashi.RoomID `json:"end,omitempty"`
	Ended string         `json:"ended,omitempty"`
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
	h.send(wireUsers{Audience: a, Text: string(text)})
}

// Revoke ends the subscriptions to room of every connection of user, on
// every node, because the user may no longer read it: each connection that
// had one gets the frame of unsubscribed. Then every connection of the
// user gets the frame of text, unless it is empty.
func (h *Hub) Revoke(user hanashi.UserID, room hanashi.RoomID, unsubscribed, text []byte) {
	h.send(wireUsers{Audience: Audience{Users: []hanashi.UserID{user}}, Text: string(text), End: room, Ended: string(unsubscribed)})
}

// send delivers w on this node and publishes it to the others.
func (h *Hub) send(w wireUsers) {
	h.deliverUsers(w)
	body, err := json.Marshal(w)
	if err != nil {
		return // strings only: cannot fail
	}
	h.publishSignals(hanashi.Signal{Room: nodeRoom, Kind: kindUsers, Payload: string(body), Node: h.sig.node})
}

// deliverUsers does what w says on this node.
func (h *Hub) deliverUsers(w wireUsers) {
	if w.End != 0 {
		h.unsubscribeUsers(w.Audience, w.End, []byte(w.Ended))
	}
	if w.Text != "" {
		h.pushUsers(w.Audience, nil, func(enc SignalEncoder) []byte { return enc.Frame([]byte(w.Text)) })
	}
}

// unsubscribeUsers ends the subscriptions to room of this node's
// connections of a's users, and queues the frame of ended for each that
// had one. Unlike a signal, that frame is never dropped: a client must
// know that its subscription ended.
func (h *Hub) unsubscribeUsers(a Audience, room hanashi.RoomID, ended []byte) {
	enc, _ := h.cfg.Encoder.(SignalEncoder)
	var frame []byte
	for _, c := range h.clientsOf(a, nil) {
		if c.Unsubscribe(room) && enc != nil && len(ended) > 0 {
			if frame == nil {
				frame = enc.Frame(ended)
			}
			c.Push(frame)
		}
	}
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
	for _, c := range h.clientsOf(a, except) {
		if frame == nil {
			frame = encode(enc)
		}
		c.pushSignal(frame)
	}
}

// clientsOf returns this node's connections of a's users but except.
func (h *Hub) clientsOf(a Audience, except *Client) []*Client {
	var out []*Client
	add := func(u *nodeUser) {
		for _, c := range u.clients {
			if c != except {
				out = append(out, c)
			}
		}
	}
	h.sig.mu.Lock()
	defer h.sig.mu.Unlock()
	if !a.All {
		for _, id := range a.Users {
			if u := h.sig.users[id]; u != nil {
				add(u)
			}
		}
		return out
	}
	for id, u := range h.sig.users {
		if !slices.Contains(a.Except, id) {
			add(u)
		}
	}
	return out
}

// deliverUsersSignal takes a kindUsers signal from another node.
func (h *Hub) deliverUsersSignal(s hanashi.Signal) {
	var w wireUsers
	if json.Unmarshal([]byte(s.Payload), &w) == nil {
		h.deliverUsers(w)
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
