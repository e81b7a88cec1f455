package web

import (
	"bytes"
	"encoding/json"
	"strconv"

	"github.com/hanashi-chat/hanashi"
	"github.com/hanashi-chat/hanashi/hub"
	"github.com/hanashi-chat/hanashi/websocket"
)

// WebSocket close codes of protocol v1 (docs/protocol.md).
const (
	closeNormal       = websocket.CloseNormal
	closeGoingAway    = websocket.CloseGoingAway
	closeUnsupported  = websocket.CloseUnsupportedData
	closePolicy       = websocket.ClosePolicyViolation
	closeInternal     = websocket.CloseInternalError
	closeSessionEnded = 4001
	closeTooSlow      = 4008
)

// inFrame is any frame a client sends; which fields matter depends on Type.
type inFrame struct {
	Type     string   `json:"type"`
	Room     flexRoom `json:"room"`
	After    *int64   `json:"after"`
	ClientID string   `json:"client_id"`
	Body     *string  `json:"body"`
	// Team chat (chat.go): what a send is, and what it acts on.
	Kind   hanashi.Kind      `json:"kind"`
	Target hanashi.MessageID `json:"target"`
	Thread hanashi.MessageID `json:"thread"`
	Emoji  string            `json:"emoji"`
	// Ephemeral frames (wssignals.go).
	Seq   *int64 `json:"seq"`
	State string `json:"state"`
}

// flexRoom accepts a room id as a JSON number or a numeric string, so
// clients that treat ids as opaque strings work too.
type flexRoom hanashi.RoomID

func (f *flexRoom) UnmarshalJSON(b []byte) error {
	b = bytes.Trim(b, `"`)
	n, err := strconv.ParseInt(string(b), 10, 64)
	if err != nil {
		return hanashi.Errorf(hanashi.EINVALID, "room must be a room id")
	}
	*f = flexRoom(n)
	return nil
}

type messageFrame struct {
	Type string `json:"type"`
	hanashi.Message
}

type ackFrame struct {
	Type     string            `json:"type"`
	Room     hanashi.RoomID    `json:"room"`
	ClientID string            `json:"client_id"`
	Seq      int64             `json:"seq"`
	ID       hanashi.MessageID `json:"id"`
}

type roomFrame struct {
	Type string         `json:"type"`
	Room hanashi.RoomID `json:"room"`
	Seq  *int64         `json:"seq,omitempty"`
}

// The frames of the user's stream (stream.go); room_gone is a roomFrame.
type (
	// roomStreamFrame is a room as GET /api/v1/rooms/{id} shows it to the
	// user who gets the frame.
	roomStreamFrame struct {
		Type string       `json:"type"` // "room"
		Room hanashi.Room `json:"room"`
	}
	profileFrame struct {
		Type string         `json:"type"` // "profile"
		User hanashi.Author `json:"user"`
	}
	memberFrame struct {
		Type   string         `json:"type"` // "member"
		Room   hanashi.RoomID `json:"room"`
		User   hanashi.Author `json:"user"`
		Member bool           `json:"member"`
	}
)

type errorFrame struct {
	Type     string         `json:"type"`
	Code     string         `json:"code"`
	Message  string         `json:"message"`
	ClientID string         `json:"client_id,omitempty"`
	Room     hanashi.RoomID `json:"room,omitempty"`
}

// frame encodes v as a complete text frame, ready to be queued.
func frame(v any) []byte {
	return textFrame(frameText(v))
}

// frameText encodes v as the content of a frame, for the hub to route
// (hub.ToUsers, hub.ToRoom) and wrap with Encoder.Frame.
func frameText(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // only our own frame types are encoded
	}
	return b
}

func textFrame(b []byte) []byte {
	return websocket.AppendFrame(make([]byte, 0, len(b)+10), websocket.OpText, b)
}

// Encoder gives the hub ready-made WebSocket frames of protocol v1.
type Encoder struct{}

var _ hub.Encoder = Encoder{}

func (Encoder) Message(m hanashi.Message) []byte {
	m.CreatedAt = m.CreatedAt.UTC()
	return frame(messageFrame{Type: "message", Message: m})
}

func (Encoder) Subscribed(room hanashi.RoomID, seq int64) []byte {
	return frame(roomFrame{Type: "subscribed", Room: room, Seq: &seq})
}

func jsonUnmarshal(p []byte, v any) error {
	return json.Unmarshal(p, v)
}
