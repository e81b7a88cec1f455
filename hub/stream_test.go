package hub

import (
	"fmt"
	"testing"

	"github.com/hanashi-chat/hanashi"
)

// The user's stream reaches every connection of the users it is for, on
// every node, subscribed to anything or not, and nobody else's.
func TestUserStreamAcrossNodes(t *testing.T) {
	f := newSigFixture(t, "alice", "bob", "carol")
	var b bus
	h1, h2 := f.hub(t, b.broker()), f.hub(t, b.broker())
	connect := func(h *Hub, name string) *Client {
		c := h.NewClient(nil)
		t.Cleanup(func() { c.Close(nil) })
		c.SetUser(f.users[name].ID)
		return c
	}
	a1, a2, a3 := connect(h1, "alice"), connect(h1, "alice"), connect(h2, "alice")
	bob, carol := connect(h2, "bob"), connect(h1, "carol")
	subscribed := f.client(t, h2, "bob") // a subscription changes nothing
	frames(t, subscribed)
	waitNodeSubscribed(t, h1)
	waitNodeSubscribed(t, h2)
	alice := f.users["alice"].ID

	h1.ToUsers([]hanashi.UserID{alice}, []byte("to alice"))
	for _, c := range []*Client{a1, a2, a3} {
		expect(t, c, "to alice")
	}
	h2.ToUsers([]hanashi.UserID{alice, f.users["bob"].ID}, []byte("to alice and bob"))
	for _, c := range []*Client{a1, a2, a3, bob, subscribed} {
		expect(t, c, "to alice and bob")
	}
	expect(t, carol)

	h2.ToEveryone([]byte("to all but alice"), alice)
	for _, c := range []*Client{bob, subscribed, carol} {
		expect(t, c, "to all but alice")
	}
	h1.ToEveryone([]byte("to all"))
	for _, c := range []*Client{a1, a2, a3, bob, subscribed, carol} {
		expect(t, c, "to all")
	}
	h1.ToUsers(nil, []byte("to nobody"))
	for _, c := range []*Client{a1, a2, a3, bob, subscribed, carol} {
		expect(t, c)
	}
}

// A room's frames reach its subscribers on every node, the sender's own
// connections too, and no other connection.
func TestToRoomAcrossNodes(t *testing.T) {
	f := newSigFixture(t, "alice", "bob", "carol")
	var b bus
	h1, h2 := f.hub(t, b.broker()), f.hub(t, b.broker())
	alice, bob := f.client(t, h1, "alice"), f.client(t, h2, "bob")
	idle := h2.NewClient(nil)
	t.Cleanup(func() { idle.Close(nil) })
	idle.SetUser(f.users["carol"].ID)
	expect(t, bob, fmt.Sprintf("p %d alice online", f.room.ID))
	expect(t, alice, fmt.Sprintf("p %d bob online", f.room.ID))
	h1.ToRoom(f.room.ID, []byte("joined"))
	expect(t, alice, "joined")
	expect(t, bob, "joined")
	expect(t, idle)
	h2.ToRoom(f.room.ID+1, []byte("elsewhere"))
	expect(t, alice)
	expect(t, bob)
}

// Revoke ends a user's subscriptions to a room on every node, then tells
// every connection of the user.
func TestRevokeAcrossNodes(t *testing.T) {
	f := newSigFixture(t, "alice", "bob")
	var b bus
	h1, h2 := f.hub(t, b.broker()), f.hub(t, b.broker())
	room := f.room.ID
	a1, bob := f.client(t, h1, "alice"), f.client(t, h1, "bob")
	a2 := f.client(t, h2, "alice")
	idle := h2.NewClient(nil) // alice, subscribed to nothing
	t.Cleanup(func() { idle.Close(nil) })
	idle.SetUser(f.users["alice"].ID)
	expect(t, bob, fmt.Sprintf("p %d alice online", room))
	expect(t, a1, fmt.Sprintf("p %d bob online", room))
	expect(t, a2, fmt.Sprintf("p %d bob online", room)) // node 1's answer to the probe
	waitNodeSubscribed(t, h2)

	h1.Revoke(f.users["alice"].ID, room, []byte("unsubscribed"), []byte("gone"))
	expect(t, a1, "unsubscribed", "gone")
	expect(t, a2, "unsubscribed", "gone")
	expect(t, idle, "gone")
	for _, c := range []*Client{a1, a2} {
		if c.Subscribed(room) {
			t.Errorf("a connection of alice is still subscribed")
		}
	}
	if !bob.Subscribed(room) {
		t.Errorf("bob's subscription ended too")
	}
	f.post(t, h1, "bob", "c1")
	expect(t, bob, fmt.Sprintf("p %d alice offline", room), fmt.Sprintf("m %d 1", room))
	expect(t, a1)
	expect(t, a2)
}
