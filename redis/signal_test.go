package redis

import (
	"log/slog"
	"testing"

	"github.com/hanashi-chat/hanashi"
)

// Signals (Seq 0) are never sent late: a failed publish does not queue
// them again, and a backlog over its bound drops them first.
func TestBacklogDropsSignals(t *testing.T) {
	log := slog.New(slog.DiscardHandler)
	sig := hanashi.Message{Room: 1, Kind: "typing"}
	msg := func(seq int64) hanashi.Message { return hanashi.Message{Room: 1, Seq: seq} }

	var p publisher
	p.init(100)
	p.requeue(log, []pending{
		{room: 1, msgs: []hanashi.Message{sig, msg(1), sig}},
		{room: 2, msgs: []hanashi.Message{{Room: 2, Kind: "presence"}}},
	}, false)
	items, _ := p.take(10)
	if len(items) != 1 || len(items[0].msgs) != 1 || items[0].msgs[0].Seq != 1 {
		t.Fatalf("requeued %+v, want room 1's message 1 alone", items)
	}

	p.init(3)
	p.add(log, []pending{{room: 1, msgs: []hanashi.Message{msg(1), msg(2), sig, sig}}})
	items, _ = p.take(10)
	if len(items) != 1 || len(items[0].msgs) != 1 || items[0].msgs[0].Seq != 2 {
		t.Fatalf("over the bound kept %+v, want room 1's message 2 alone", items)
	}
}
