package redis

import (
	"encoding/json"
	"log/slog"
	"testing"

	"github.com/hanashi-chat/hanashi"
	"github.com/hanashi-chat/hanashi/brokertest"
)

// Signals are never sent late: a failed publish does not queue them again,
// and a backlog over its bound drops them first.
func TestBacklogDropsSignals(t *testing.T) {
	log := slog.New(slog.DiscardHandler)
	sig := hanashi.Signal{Room: 1, Kind: "typing"}
	msg := func(seq int64) hanashi.Message { return hanashi.Message{Room: 1, Seq: seq} }

	var p publisher
	p.init(100)
	p.requeue(log, []pending{
		{room: 1, sigs: []hanashi.Signal{sig}},
		{room: 1, msgs: []hanashi.Message{msg(1)}},
		{room: 1, sigs: []hanashi.Signal{sig}},
		{room: 2, sigs: []hanashi.Signal{{Room: 2, Kind: "presence"}}},
	}, false)
	items, _ := p.take(10)
	if len(items) != 1 || len(items[0].msgs) != 1 || items[0].msgs[0].Seq != 1 || p.len() != 0 {
		t.Fatalf("requeued %+v, want room 1's message 1 alone", items)
	}

	p.init(3)
	p.add(log, []pending{
		{room: 1, msgs: []hanashi.Message{msg(1), msg(2)}},
		{room: 1, sigs: []hanashi.Signal{sig, sig}},
	})
	items, _ = p.take(10)
	if len(items) != 1 || len(items[0].msgs) != 1 || items[0].msgs[0].Seq != 2 || p.len() != 0 {
		t.Fatalf("over the bound kept %+v, want room 1's message 2 alone", items)
	}
}

// TestSignalWire pins the form of a signal between nodes: the message with
// Seq 0 that the previous release sent and reads, so that a rolling
// upgrade keeps typing, presence and read echoes working both ways.
func TestSignalWire(t *testing.T) {
	sig := hanashi.Signal{
		Room: 3, Kind: "read", Node: "node-a", About: 7, Payload: "42",
		User: hanashi.Author{ID: "u1", Name: "alice", AvatarURL: "/a.png"},
	}
	data, err := json.Marshal(payload{Node: "b1", Msgs: wireSignals([]hanashi.Signal{sig})})
	if err != nil {
		t.Fatal(err)
	}
	const want = `{"node":"b1","msgs":[{"id":"","room":3,"seq":0,"client_id":"node-a",` +
		`"author":{"id":"u1","name":"alice","avatar_url":"/a.png"},"body":"42",` +
		`"created_at":"0001-01-01T00:00:00Z","kind":"read","child":7}]}`
	if string(data) != want {
		t.Fatalf("payload\n%s\nwant\n%s", data, want)
	}

	// A payload of the previous release mixes signals with messages: each
	// goes its own way, in order.
	var p payload
	if err := json.Unmarshal(data, &p); err != nil {
		t.Fatal(err)
	}
	m1 := hanashi.Message{ID: "m1", Room: 3, Seq: 1, Kind: hanashi.KindMessage}
	m2 := hanashi.Message{ID: "m2", Room: 3, Seq: 2, Kind: hanashi.KindMessage}
	var rec brokertest.Recorder
	r := &room{sub: &rec}
	r.deliverWire([]hanashi.Message{p.Msgs[0], m1, m2, p.Msgs[0]})
	got := rec.Arrivals()
	if len(got) != 4 || !got[0].Signal || got[0].Sig != sig || got[1].Signal || got[1].Msg.ID != "m1" ||
		got[2].Signal || got[2].Msg.ID != "m2" || !got[3].Signal || got[3].Sig != sig {
		t.Fatalf("delivered %+v", got)
	}
	if n := len(rec.Messages()); n != 2 {
		t.Fatalf("Deliver got %d messages, want 2", n)
	}
}
