package storetest

// The subtests of team chat (see chat.go at the root): events in the
// stream and the history they fold into, the rules of each kind of event,
// threads, mentions, read markers and unread counts, direct rooms and
// nested rooms.

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hanashi-chat/hanashi"
)

// chatTests are the subtests of team chat, which Test runs.
var chatTests = []struct {
	name string
	fn   func(t *testing.T, s hanashi.Store)
}{
	{"ChatEventsFold", testChatEventsFold},
	{"ChatResume", testChatResume},
	{"ChatEdit", testChatEdit},
	{"ChatDelete", testChatDelete},
	{"ChatReactions", testChatReactions},
	{"ChatReactionUsers", testChatReactionUsers},
	{"ChatRetries", testChatRetries},
	{"ChatValidate", testChatValidate},
	{"ChatRules", testChatRules},
	{"ChatBatchOrder", testChatBatchOrder},
	{"ChatRandomBatches", func(t *testing.T, s hanashi.Store) { RandomChat(t, s) }},
	{"Threads", testThreads},
	{"ThreadFollow", testThreadFollow},
	{"Mentions", testMentions},
	{"ReadMarkers", testReadMarkers},
	{"MarkUnread", testMarkUnread},
	{"Unread", testUnread},
	{"UnreadBurst", func(t *testing.T, s hanashi.Store) { UnreadBurst(t, s) }},
	{"UnreadWindow", testUnreadWindow},
	{"DirectRoom", testDirectRoom},
	{"DirectRoomConcurrent", func(t *testing.T, s hanashi.Store) { DirectRoomRace(t, s) }},
	{"NestedRooms", testNestedRooms},
	{"Members", testMembers},
	{"HistoryMessage", testHistoryMessage},
	{"SearchUsers", testSearchUsers},
	{"ClaimGuestChat", testClaimGuestChat},
}

// chatFixture is a public room made by alice, its moderator, with bob and
// carol as members.
type chatFixture struct {
	s                 hanashi.Store
	alice, bob, carol hanashi.User
	room              hanashi.Room
	nextID            int
	mu                sync.Mutex
}

func newChat(t *testing.T, s hanashi.Store) *chatFixture {
	t.Helper()
	f := &chatFixture{s: s}
	f.alice = newUser(t, s, "alice")
	f.bob = newUser(t, s, "bob")
	f.carol = newUser(t, s, "carol")
	f.room = newRoom(t, s, f.alice.ID, "team", false)
	for _, u := range []hanashi.User{f.bob, f.carol} {
		if err := s.AddMember(t.Context(), f.room.ID, u.ID, u.ID); err != nil {
			t.Fatalf("AddMember: %v", err)
		}
	}
	return f
}

// clientID returns a client id not used before in the fixture.
func (f *chatFixture) clientID() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.nextID++
	return fmt.Sprint("c", f.nextID)
}

// post stores p, which must be new, with a fresh client id unless p has one.
func (f *chatFixture) post(t *testing.T, p hanashi.Post) hanashi.Message {
	t.Helper()
	if p.Room == 0 {
		p.Room = f.room.ID
	}
	if p.ClientID == "" {
		p.ClientID = f.clientID()
	}
	return mustPost(t, f.s, p)
}

// refuse posts p and checks that it is refused with code.
func (f *chatFixture) refuse(t *testing.T, code string, p hanashi.Post) {
	t.Helper()
	if p.Room == 0 {
		p.Room = f.room.ID
	}
	if p.ClientID == "" {
		p.ClientID = f.clientID()
	}
	res := post(t, f.s, p)
	wantCode(t, res.Err, code, "Post(%+v)", p)
	if res.Created || !isZero(res.Message) {
		t.Errorf("refused Post(%+v) = %+v, want Created false and a zero Message", p, res)
	}
}

func (f *chatFixture) history(t *testing.T, viewer hanashi.UserID) []hanashi.Message {
	t.Helper()
	return allHistory(t, f.s, f.room.ID, viewer)
}

// allHistory reads the whole history of room as viewer sees it, page by
// page, checking that each page follows the last.
func allHistory(t *testing.T, s hanashi.Store, room hanashi.RoomID, viewer hanashi.UserID) []hanashi.Message {
	t.Helper()
	var all []hanashi.Message
	var after int64
	for {
		page, err := s.History(t.Context(), room, viewer, hanashi.Page{After: after, Limit: 7})
		if err != nil {
			t.Fatalf("History(%d, after %d): %v", room, after, err)
		}
		if len(page) == 0 {
			return all
		}
		for _, m := range page {
			if m.Seq <= after {
				t.Fatalf("History(%d, after %d) returned seq %d", room, after, m.Seq)
			}
			after = m.Seq
		}
		all = append(all, page...)
	}
}

// allThread reads every reply of root.
func allThread(t *testing.T, s hanashi.Store, room hanashi.RoomID, root hanashi.MessageID, viewer hanashi.UserID) []hanashi.Message {
	t.Helper()
	var all []hanashi.Message
	var after int64
	for {
		page, err := s.ThreadMessages(t.Context(), room, root, viewer, hanashi.Page{After: after, Limit: 5})
		if err != nil {
			t.Fatalf("ThreadMessages(%s, after %d): %v", root, after, err)
		}
		if len(page) == 0 {
			return all
		}
		for _, m := range page {
			if m.Seq <= after {
				t.Fatalf("ThreadMessages(%s, after %d) returned seq %d", root, after, m.Seq)
			}
			after = m.Seq
		}
		all = append(all, page...)
	}
}

func find(msgs []hanashi.Message, id hanashi.MessageID) (hanashi.Message, bool) {
	for _, m := range msgs {
		if m.ID == id {
			return m, true
		}
	}
	return hanashi.Message{}, false
}

func kinds(msgs []hanashi.Message) []hanashi.Kind {
	k := make([]hanashi.Kind, len(msgs))
	for i, m := range msgs {
		k[i] = m.Kind
	}
	return k
}

// testChatEventsFold checks that edits, deletions and reactions are events
// with seqs of their own, and that History folds them into the messages.
func testChatEventsFold(t *testing.T, s hanashi.Store) {
	f := newChat(t, s)
	m1 := f.post(t, hanashi.Post{Author: f.alice.ID, Body: "first"})
	m2 := f.post(t, hanashi.Post{Author: f.bob.ID, Body: "second"})
	if m1.Kind != hanashi.KindMessage || m2.Seq != 2 {
		t.Errorf("messages = %+v, %+v; want KindMessage with seqs 1 and 2", m1, m2)
	}
	edit := f.post(t, hanashi.Post{Author: f.alice.ID, Kind: hanashi.KindEdit, Target: m1.ID, Body: "first, edited"})
	react := f.post(t, hanashi.Post{Author: f.bob.ID, Kind: hanashi.KindReact, Target: m1.ID, Emoji: "👍"})
	f.post(t, hanashi.Post{Author: f.carol.ID, Kind: hanashi.KindReact, Target: m1.ID, Emoji: "👍"})
	f.post(t, hanashi.Post{Author: f.carol.ID, Kind: hanashi.KindReact, Target: m1.ID, Emoji: "🎉"})
	del := f.post(t, hanashi.Post{Author: f.bob.ID, Kind: hanashi.KindDelete, Target: m2.ID})
	for _, c := range []struct {
		m    hanashi.Message
		kind hanashi.Kind
		seq  int64
	}{{edit, hanashi.KindEdit, 3}, {react, hanashi.KindReact, 4}, {del, hanashi.KindDelete, 7}} {
		if c.m.Kind != c.kind || c.m.Seq != c.seq || c.m.Room != f.room.ID {
			t.Errorf("event %+v, want kind %s with seq %d", c.m, c.kind, c.seq)
		}
	}
	if edit.Body != "first, edited" || edit.Target != m1.ID || react.Emoji != "👍" || react.Target != m1.ID || del.Target != m2.ID || del.Body != "" {
		t.Errorf("events %+v, %+v, %+v do not carry their targets, body and emoji", edit, react, del)
	}
	if r, err := s.Room(t.Context(), f.room.ID, f.alice.ID); err != nil || r.LastSeq != 7 {
		t.Errorf("Room.LastSeq = %d, %v; want 7", r.LastSeq, err)
	}

	// The stream has every event in order; a message's body is its current one.
	stream := allMessages(t, s, f.room.ID)
	want := []hanashi.Kind{hanashi.KindMessage, hanashi.KindMessage, hanashi.KindEdit, hanashi.KindReact,
		hanashi.KindReact, hanashi.KindReact, hanashi.KindDelete}
	if got := kinds(stream); !slices.Equal(got, want) {
		t.Fatalf("stream kinds = %v, want %v", got, want)
	}
	if stream[0].Body != "first, edited" || stream[1].Body != "" || !sameMessage(stream[2], edit) || !sameMessage(stream[6], del) {
		t.Errorf("stream = %+v; want the edited body, an emptied deleted one, and the events as Post returned them", stream)
	}
	for _, m := range stream {
		if m.EditedAt != nil || m.Deleted || m.Replies != 0 || m.Reactions != nil {
			t.Errorf("stream event %+v has folded state; Messages returns events only", m)
		}
	}

	for _, viewer := range []hanashi.User{f.carol, f.alice} {
		h := f.history(t, viewer.ID)
		if len(h) != 2 || h[0].ID != m1.ID || h[1].ID != m2.ID {
			t.Fatalf("History = %+v, want the two messages", h)
		}
		got := h[0]
		if got.Body != "first, edited" || got.EditedAt == nil || !got.EditedAt.Equal(edit.CreatedAt) || got.Deleted {
			t.Errorf("History[0] = %+v, want the edited body and EditedAt %v", got, edit.CreatedAt)
		}
		mine := viewer.ID == f.carol.ID
		wantR := []hanashi.Reaction{
			{Emoji: "👍", Count: 2, Users: []hanashi.UserID{f.bob.ID, f.carol.ID}, Mine: mine},
			{Emoji: "🎉", Count: 1, Users: []hanashi.UserID{f.carol.ID}, Mine: mine},
		}
		if !sameReactions(got.Reactions, wantR) {
			t.Errorf("History[0].Reactions for %s = %+v, want %+v", viewer.Name, got.Reactions, wantR)
		}
		if tomb := h[1]; !tomb.Deleted || tomb.Body != "" || tomb.EditedAt != nil || tomb.Reactions != nil {
			t.Errorf("History[1] = %+v, want a tombstone", tomb)
		}
	}

	// Taking a reaction back folds too, and pages of History select by seq.
	f.post(t, hanashi.Post{Author: f.bob.ID, Kind: hanashi.KindUnreact, Target: m1.ID, Emoji: "👍"})
	h, err := s.History(t.Context(), f.room.ID, f.bob.ID, hanashi.Page{Before: 2})
	if err != nil || len(h) != 1 || h[0].ID != m1.ID {
		t.Fatalf("History(before 2) = %+v, %v; want the first message", h, err)
	}
	wantR := []hanashi.Reaction{
		{Emoji: "👍", Count: 1, Users: []hanashi.UserID{f.carol.ID}},
		{Emoji: "🎉", Count: 1, Users: []hanashi.UserID{f.carol.ID}},
	}
	if !sameReactions(h[0].Reactions, wantR) {
		t.Errorf("after bob's unreact, Reactions = %+v, want %+v", h[0].Reactions, wantR)
	}
	if h, err := s.History(t.Context(), f.room.ID, f.bob.ID, hanashi.Page{After: 2}); err != nil || len(h) != 0 {
		t.Errorf("History(after 2) = %+v, %v; want nothing: the rest are events", h, err)
	}
	if h, err := s.History(t.Context(), f.room.ID+1000, f.bob.ID, hanashi.Page{}); err != nil || len(h) != 0 {
		t.Errorf("History(unknown room) = %+v, %v; want nothing", h, err)
	}
}

func sameReactions(a, b []hanashi.Reaction) bool {
	return slices.EqualFunc(a, b, func(x, y hanashi.Reaction) bool {
		return x.Emoji == y.Emoji && x.Count == y.Count && x.Mine == y.Mine && slices.Equal(x.Users, y.Users)
	})
}

// testChatResume has a client read up to a cursor, then miss edits,
// deletions and reactions: reading on from its cursor it finds every one,
// in order, and folding them gives what History shows.
func testChatResume(t *testing.T, s hanashi.Store) {
	f := newChat(t, s)
	a := f.post(t, hanashi.Post{Author: f.alice.ID, Body: "a"})
	b := f.post(t, hanashi.Post{Author: f.bob.ID, Body: "b"})
	c := f.post(t, hanashi.Post{Author: f.carol.ID, Body: "c"})
	cursor := c.Seq

	// The client is offline now.
	missed := []hanashi.Post{
		{Author: f.alice.ID, Kind: hanashi.KindEdit, Target: a.ID, Body: "a2"},
		{Author: f.bob.ID, Kind: hanashi.KindReact, Target: a.ID, Emoji: "👀"},
		{Author: f.alice.ID, Kind: hanashi.KindDelete, Target: b.ID}, // the moderator
		{Author: f.carol.ID, Body: "d"},
		{Author: f.carol.ID, Kind: hanashi.KindReact, Target: c.ID, Emoji: ":tada:"},
		{Author: f.carol.ID, Kind: hanashi.KindUnreact, Target: c.ID, Emoji: ":tada:"},
		{Author: f.alice.ID, Kind: hanashi.KindEdit, Target: a.ID, Body: "a3"},
		{Author: f.bob.ID, Thread: c.ID, Body: "a reply"},
	}
	var sent []hanashi.Message
	for _, p := range missed {
		sent = append(sent, f.post(t, p))
	}

	got, err := s.Messages(t.Context(), f.room.ID, hanashi.Page{After: cursor})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(sent) {
		t.Fatalf("resuming after %d: %d events, want %d", cursor, len(got), len(sent))
	}
	for i, m := range got {
		if m.Seq != cursor+int64(i)+1 {
			t.Errorf("resumed event %d has seq %d, want %d", i, m.Seq, cursor+int64(i)+1)
		}
		if !sameMessage(m, sent[i]) {
			t.Errorf("resumed event %d = %+v, want %+v", i, m, sent[i])
		}
	}
	// An edit of a message that was not deleted keeps its body in the stream.
	if got[6].Body != "a3" {
		t.Errorf("the second edit reads %q in the stream, want a3", got[6].Body)
	}

	h := f.history(t, f.bob.ID)
	if len(h) != 4 {
		t.Fatalf("History = %+v, want 4 top-level messages", h)
	}
	if h[0].Body != "a3" || !h[0].EditedAt.Equal(sent[6].CreatedAt) || len(h[0].Reactions) != 1 || !h[0].Reactions[0].Mine {
		t.Errorf("History[0] = %+v, want body a3, edited, with bob's reaction", h[0])
	}
	if !h[1].Deleted || h[2].Reactions != nil || h[2].Replies != 1 || h[3].Body != "d" {
		t.Errorf("History = %+v, want b deleted, c without reactions and with a reply, then d", h)
	}
}

// testChatEdit checks the rules of edits.
func testChatEdit(t *testing.T, s hanashi.Store) {
	f := newChat(t, s)
	other := newRoom(t, s, f.alice.ID, "other", false)
	m := f.post(t, hanashi.Post{Author: f.bob.ID, Body: "typo"})
	react := f.post(t, hanashi.Post{Author: f.carol.ID, Kind: hanashi.KindReact, Target: m.ID, Emoji: "x"})
	gone := f.post(t, hanashi.Post{Author: f.bob.ID, Body: "soon gone"})
	f.post(t, hanashi.Post{Author: f.bob.ID, Kind: hanashi.KindDelete, Target: gone.ID})
	elsewhere := mustPost(t, s, hanashi.Post{Room: other.ID, Author: f.bob.ID, ClientID: "elsewhere", Body: "x"})

	f.refuse(t, hanashi.EFORBIDDEN, hanashi.Post{Author: f.alice.ID, Kind: hanashi.KindEdit, Target: m.ID, Body: "moderators do not edit"})
	f.refuse(t, hanashi.ECONFLICT, hanashi.Post{Author: f.bob.ID, Kind: hanashi.KindEdit, Target: gone.ID, Body: "back"})
	f.refuse(t, hanashi.ENOTFOUND, hanashi.Post{Author: f.bob.ID, Kind: hanashi.KindEdit, Target: hanashi.MessageID(hanashi.NewID()), Body: "x"})
	f.refuse(t, hanashi.ENOTFOUND, hanashi.Post{Author: f.bob.ID, Kind: hanashi.KindEdit, Target: elsewhere.ID, Body: "x"})
	f.refuse(t, hanashi.EINVALID, hanashi.Post{Author: f.carol.ID, Kind: hanashi.KindEdit, Target: react.ID, Body: "x"})
	f.refuse(t, hanashi.EINVALID, hanashi.Post{Author: f.bob.ID, Kind: hanashi.KindEdit, Target: m.ID, Body: "  "})
	f.refuse(t, hanashi.ETOOLARGE, hanashi.Post{Author: f.bob.ID, Kind: hanashi.KindEdit, Target: m.ID, Body: strings.Repeat("x", hanashi.MaxBodyBytes+1)})
	f.refuse(t, hanashi.EINVALID, hanashi.Post{Author: f.bob.ID, Kind: hanashi.KindEdit, Body: "no target"})

	e1 := f.post(t, hanashi.Post{Author: f.bob.ID, Kind: hanashi.KindEdit, Target: m.ID, Body: "fixed"})
	e2 := f.post(t, hanashi.Post{Author: f.bob.ID, Kind: hanashi.KindEdit, Target: m.ID, Body: "fixed again"})
	h := f.history(t, f.bob.ID)
	if got, _ := find(h, m.ID); got.Body != "fixed again" || got.EditedAt == nil || !got.EditedAt.Equal(e2.CreatedAt) {
		t.Errorf("edited message in History = %+v, want the last edit's body and time", got)
	}
	if e1.Seq+1 != e2.Seq || e1.Body != "fixed" {
		t.Errorf("edits %+v and %+v, want consecutive seqs and their own bodies", e1, e2)
	}
}

// testChatDelete checks the rules of deletion and that a tombstone keeps
// nothing of what the message said.
func testChatDelete(t *testing.T, s hanashi.Store) {
	f := newChat(t, s)
	ctx := t.Context()
	m := f.post(t, hanashi.Post{Author: f.bob.ID, Body: "secret @carol"})
	if !slices.Equal(m.Mentions, []hanashi.UserID{f.carol.ID}) {
		t.Fatalf("Mentions = %v, want carol", m.Mentions)
	}
	edit := f.post(t, hanashi.Post{Author: f.bob.ID, Kind: hanashi.KindEdit, Target: m.ID, Body: "still secret"})
	f.post(t, hanashi.Post{Author: f.carol.ID, Kind: hanashi.KindReact, Target: m.ID, Emoji: "🔥"})
	reply := f.post(t, hanashi.Post{Author: f.carol.ID, Thread: m.ID, Body: "a reply stays"})

	f.refuse(t, hanashi.EFORBIDDEN, hanashi.Post{Author: f.carol.ID, Kind: hanashi.KindDelete, Target: m.ID})
	f.refuse(t, hanashi.EINVALID, hanashi.Post{Author: f.bob.ID, Kind: hanashi.KindDelete, Target: edit.ID})
	f.refuse(t, hanashi.EINVALID, hanashi.Post{Author: f.bob.ID, Kind: hanashi.KindDelete, Target: m.ID, Body: "why"})
	f.refuse(t, hanashi.ENOTFOUND, hanashi.Post{Author: f.bob.ID, Kind: hanashi.KindDelete, Target: hanashi.MessageID(hanashi.NewID())})

	// The moderator deletes bob's message.
	del := f.post(t, hanashi.Post{Author: f.alice.ID, Kind: hanashi.KindDelete, Target: m.ID})
	if del.Author.ID != f.alice.ID || del.Body != "" {
		t.Errorf("delete event = %+v, want alice's, without a body", del)
	}
	// Deleting twice makes no second event.
	f.refuse(t, hanashi.ECONFLICT, hanashi.Post{Author: f.bob.ID, Kind: hanashi.KindDelete, Target: m.ID})
	f.refuse(t, hanashi.ECONFLICT, hanashi.Post{Author: f.carol.ID, Kind: hanashi.KindReact, Target: m.ID, Emoji: "🔥"})
	f.refuse(t, hanashi.ECONFLICT, hanashi.Post{Author: f.carol.ID, Kind: hanashi.KindUnreact, Target: m.ID, Emoji: "🔥"})
	f.refuse(t, hanashi.ECONFLICT, hanashi.Post{Author: f.carol.ID, Thread: m.ID, Body: "too late"})

	for _, e := range allMessages(t, s, f.room.ID) {
		if strings.Contains(e.Body, "secret") {
			t.Errorf("after the deletion the stream still says %q in %+v", e.Body, e)
		}
		if e.ID == m.ID && (e.Mentions != nil || e.MentionsRoom) {
			t.Errorf("deleted message %+v still mentions", e)
		}
	}
	h := f.history(t, f.bob.ID)
	if len(h) != 1 || !h[0].Deleted || h[0].Body != "" || h[0].Reactions != nil || h[0].Mentions != nil || h[0].Replies != 1 {
		t.Errorf("History = %+v, want one tombstone without body, reactions or mentions, keeping its reply count", h)
	}
	if th := allThread(t, s, f.room.ID, m.ID, f.bob.ID); len(th) != 1 || th[0].ID != reply.ID {
		t.Errorf("thread of the deleted message = %+v, want its reply", th)
	}
	counts, err := s.Unread(ctx, f.carol.ID)
	if err != nil {
		t.Fatal(err)
	}
	if c := countFor(counts, f.room.ID); c.Mentions != 0 || c.Unread != 0 {
		t.Errorf("carol's counts after the deletion = %+v, want no unread message and no mention", c)
	}

	// A moderator may delete links to rooms, too, and in a direct room
	// nobody deletes another's message.
	child, err := s.CreateRoom(ctx, hanashi.NewRoom{Name: "child", Creator: f.bob.ID, Parent: f.room.ID})
	if err != nil {
		t.Fatal(err)
	}
	link := allMessages(t, s, f.room.ID)[child.ParentSeq-1]
	f.post(t, hanashi.Post{Author: f.alice.ID, Kind: hanashi.KindDelete, Target: link.ID})
	dm, err := s.DirectRoom(ctx, []hanashi.UserID{f.alice.ID, f.bob.ID})
	if err != nil {
		t.Fatal(err)
	}
	bobs := f.post(t, hanashi.Post{Room: dm.ID, Author: f.bob.ID, Body: "hi"})
	f.refuse(t, hanashi.EFORBIDDEN, hanashi.Post{Room: dm.ID, Author: f.alice.ID, Kind: hanashi.KindDelete, Target: bobs.ID})
	f.post(t, hanashi.Post{Room: dm.ID, Author: f.bob.ID, Kind: hanashi.KindDelete, Target: bobs.ID})
}

// testChatReactions checks the rules of reactions.
func testChatReactions(t *testing.T, s hanashi.Store) {
	const kiss = "🧑🏻\u200d❤️\u200d💋\u200d🧑🏼"
	f := newChat(t, s)
	m := f.post(t, hanashi.Post{Author: f.alice.ID, Body: "react to me"})
	edit := f.post(t, hanashi.Post{Author: f.alice.ID, Kind: hanashi.KindEdit, Target: m.ID, Body: "react to me!"})
	f.post(t, hanashi.Post{Author: f.bob.ID, Kind: hanashi.KindReact, Target: m.ID, Emoji: "👍🏽"})
	f.refuse(t, hanashi.ECONFLICT, hanashi.Post{Author: f.bob.ID, Kind: hanashi.KindReact, Target: m.ID, Emoji: "👍🏽"})
	f.refuse(t, hanashi.ECONFLICT, hanashi.Post{Author: f.carol.ID, Kind: hanashi.KindUnreact, Target: m.ID, Emoji: "👍🏽"})
	f.refuse(t, hanashi.EINVALID, hanashi.Post{Author: f.bob.ID, Kind: hanashi.KindReact, Target: edit.ID, Emoji: "👍🏽"})
	for _, bad := range []string{"", "two words", "tab\t", strings.Repeat("x", hanashi.MaxEmojiBytes+1), "\xff", "nul\x00"} {
		f.refuse(t, hanashi.EINVALID, hanashi.Post{Author: f.bob.ID, Kind: hanashi.KindReact, Target: m.ID, Emoji: bad})
	}
	f.refuse(t, hanashi.EINVALID, hanashi.Post{Author: f.bob.ID, Kind: hanashi.KindReact, Target: m.ID, Emoji: "x", Body: "and a body"})
	f.post(t, hanashi.Post{Author: f.bob.ID, Kind: hanashi.KindReact, Target: m.ID, Emoji: strings.Repeat("x", hanashi.MaxEmojiBytes)})
	// The longest emoji, a kiss with two skin tones (35 bytes), is kept byte for byte.
	f.post(t, hanashi.Post{Author: f.carol.ID, Kind: hanashi.KindReact, Target: m.ID, Emoji: kiss})

	// Anybody who may post may react: a public room takes reactions from
	// non-members, a private one does not.
	dave := newUser(t, s, "dave")
	f.post(t, hanashi.Post{Author: dave.ID, Kind: hanashi.KindReact, Target: m.ID, Emoji: "👍🏽"})
	priv := newRoom(t, s, f.alice.ID, "private", true)
	pm := f.post(t, hanashi.Post{Room: priv.ID, Author: f.alice.ID, Body: "members only"})
	f.refuse(t, hanashi.ENOTFOUND, hanashi.Post{Room: priv.ID, Author: dave.ID, Kind: hanashi.KindReact, Target: pm.ID, Emoji: "👍🏽"})
	// A reaction taken back can be given again.
	f.post(t, hanashi.Post{Author: f.bob.ID, Kind: hanashi.KindUnreact, Target: m.ID, Emoji: "👍🏽"})
	f.post(t, hanashi.Post{Author: f.bob.ID, Kind: hanashi.KindReact, Target: m.ID, Emoji: "👍🏽"})

	h := f.history(t, dave.ID)
	want := []hanashi.Reaction{
		// bob took his 👍🏽 back and gave it again: the oldest 👍🏽 is now
		// dave's, given after bob's long one.
		{Emoji: strings.Repeat("x", hanashi.MaxEmojiBytes), Count: 1, Users: []hanashi.UserID{f.bob.ID}},
		{Emoji: kiss, Count: 1, Users: []hanashi.UserID{f.carol.ID}},
		{Emoji: "👍🏽", Count: 2, Users: []hanashi.UserID{dave.ID, f.bob.ID}, Mine: true},
	}
	if len(h) != 1 || !sameReactions(h[0].Reactions, want) {
		t.Errorf("History = %+v, want reactions %+v", h, want)
	}
}

// testChatReactionUsers checks that a reaction lists its first
// MaxReactionUsers users but counts all, and knows whether the viewer is
// among the ones not listed.
func testChatReactionUsers(t *testing.T, s hanashi.Store) {
	f := newChat(t, s)
	m := f.post(t, hanashi.Post{Author: f.alice.ID, Body: "popular"})
	var users []hanashi.UserID
	var batch []hanashi.Post
	for i := range hanashi.MaxReactionUsers + 5 {
		u := newUser(t, s, fmt.Sprint("fan ", i))
		users = append(users, u.ID)
		batch = append(batch, hanashi.Post{Room: f.room.ID, Author: u.ID, ClientID: "r", Kind: hanashi.KindReact, Target: m.ID, Emoji: "❤️"})
	}
	results, err := s.Post(t.Context(), batch)
	if err != nil {
		t.Fatal(err)
	}
	for i, res := range results {
		if res.Err != nil || !res.Created || res.Message.Seq != int64(i+2) {
			t.Fatalf("reaction %d = %+v, want a new event with seq %d", i, res, i+2)
		}
	}
	for _, c := range []struct {
		viewer hanashi.UserID
		mine   bool
	}{{users[len(users)-1], true}, {users[0], true}, {f.bob.ID, false}} {
		h, err := s.History(t.Context(), f.room.ID, c.viewer, hanashi.Page{})
		if err != nil || len(h) != 1 || len(h[0].Reactions) != 1 {
			t.Fatalf("History = %+v, %v; want one message with one reaction", h, err)
		}
		r := h[0].Reactions[0]
		if r.Count != len(users) || !slices.Equal(r.Users, users[:hanashi.MaxReactionUsers]) || r.Mine != c.mine {
			t.Errorf("Reaction for %s = %+v, want count %d, the first %d users and Mine %v",
				c.viewer, r, len(users), hanashi.MaxReactionUsers, c.mine)
		}
	}
}

// testChatRetries checks that events are idempotent by client id, like
// messages: a resent reaction returns the first event instead of ECONFLICT.
func testChatRetries(t *testing.T, s hanashi.Store) {
	f := newChat(t, s)
	m := f.post(t, hanashi.Post{Author: f.alice.ID, Body: "x @bob"})
	for _, p := range []hanashi.Post{
		{Author: f.bob.ID, ClientID: "react", Kind: hanashi.KindReact, Target: m.ID, Emoji: "👍"},
		{Author: f.alice.ID, ClientID: "edit", Kind: hanashi.KindEdit, Target: m.ID, Body: "y"},
		{Author: f.bob.ID, ClientID: "reply", Thread: m.ID, Body: "@alice z"},
		{Author: f.alice.ID, ClientID: "delete", Kind: hanashi.KindDelete, Target: m.ID},
	} {
		first := f.post(t, p)
		res := post(t, s, hanashi.Post{Room: f.room.ID, Author: p.Author, ClientID: p.ClientID, Kind: p.Kind, Target: p.Target, Thread: p.Thread, Emoji: p.Emoji, Body: p.Body})
		if res.Err != nil || res.Created || !sameMessage(res.Message, first) {
			t.Errorf("resent %s = %+v, want Created false and %+v", p.ClientID, res, first)
		}
	}
	// The resent message returns with its mentions.
	res := post(t, s, hanashi.Post{Room: f.room.ID, Author: f.bob.ID, ClientID: "reply", Thread: m.ID, Body: "@alice z"})
	if !slices.Equal(res.Message.Mentions, []hanashi.UserID{f.alice.ID}) {
		t.Errorf("resent reply = %+v, want it to mention alice", res.Message)
	}
	if n := len(allMessages(t, s, f.room.ID)); n != 5 {
		t.Errorf("the room has %d events, want 5", n)
	}
}

// testChatValidate checks the fields each kind takes.
func testChatValidate(t *testing.T, s hanashi.Store) {
	f := newChat(t, s)
	m := f.post(t, hanashi.Post{Author: f.alice.ID, Body: "x"})
	for _, p := range []hanashi.Post{
		{Author: f.alice.ID, Kind: "shout", Body: "x"},
		{Author: f.alice.ID, Kind: hanashi.KindRoom, Body: "x"},
		{Author: f.alice.ID, Body: "x", Target: m.ID},
		{Author: f.alice.ID, Body: "x", Emoji: "x"},
		{Author: f.alice.ID, Kind: hanashi.KindEdit, Target: m.ID, Thread: m.ID, Body: "x"},
		{Author: f.alice.ID, Kind: hanashi.KindDelete},
		{Author: f.alice.ID, Kind: hanashi.KindDelete, Target: m.ID, Emoji: "x"},
		{Author: f.alice.ID, Kind: hanashi.KindReact, Emoji: "x"},
		{Author: f.alice.ID, Kind: hanashi.KindUnreact, Target: m.ID, Thread: m.ID, Emoji: "x"},
		{Author: f.alice.ID, Body: "nul \x00"},
		{Author: f.alice.ID, Body: "\xff"},
		{Author: f.alice.ID, Kind: hanashi.KindReact, Target: "\xff", Emoji: "x"},
	} {
		f.refuse(t, hanashi.EINVALID, p)
	}
	f.refuse(t, hanashi.ETOOLARGE, hanashi.Post{Author: f.alice.ID, Body: strings.Repeat("x", hanashi.MaxBodyBytes+1)})
	f.refuse(t, hanashi.EINVALID, hanashi.Post{Author: f.alice.ID, Body: "x", ClientID: strings.Repeat("x", hanashi.MaxClientIDLen+1)})
	// The room and the author are checked first.
	f.refuse(t, hanashi.ENOTFOUND, hanashi.Post{Room: f.room.ID + 1000, Author: f.alice.ID, Kind: "shout"})
	f.refuse(t, hanashi.ENOTFOUND, hanashi.Post{Author: hanashi.UserID(hanashi.NewID()), Kind: "shout"})
	// Post.Validate says the same, before any store is asked.
	if err := (hanashi.Post{Kind: hanashi.KindEdit, Body: "x"}).Validate(); hanashi.ErrorCode(err) != hanashi.EINVALID {
		t.Errorf("Validate(edit without target) = %v, want %s", err, hanashi.EINVALID)
	}
	if err := (hanashi.Post{Kind: hanashi.KindReact, Target: "m", Emoji: "🙂"}).Validate(); err != nil {
		t.Errorf("Validate(reaction) = %v, want nil", err)
	}
}

// testChatBatchOrder checks that the posts of one batch behave as if they
// were stored one after the other, and that a refused post leaves the
// others of its batch alone.
func testChatBatchOrder(t *testing.T, s hanashi.Store) {
	f := newChat(t, s)
	m := f.post(t, hanashi.Post{Author: f.bob.ID, Body: "target"})
	n := f.post(t, hanashi.Post{Author: f.bob.ID, Body: "root"})
	r := f.room.ID
	posts := []hanashi.Post{
		{Room: r, Author: f.carol.ID, ClientID: "1", Kind: hanashi.KindReact, Target: m.ID, Emoji: "a"},
		{Room: r, Author: f.carol.ID, ClientID: "2", Kind: hanashi.KindReact, Target: m.ID, Emoji: "a"}, // ECONFLICT
		{Room: r, Author: f.carol.ID, ClientID: "3", Kind: hanashi.KindUnreact, Target: m.ID, Emoji: "a"},
		{Room: r, Author: f.carol.ID, ClientID: "4", Kind: hanashi.KindReact, Target: m.ID, Emoji: "a"},
		{Room: r, Author: f.bob.ID, ClientID: "5", Kind: hanashi.KindEdit, Target: m.ID, Body: "edited"},
		{Room: r, Author: f.alice.ID, ClientID: "6", Thread: n.ID, Body: "reply 1"},
		{Room: r, Author: f.carol.ID, ClientID: "7", Thread: n.ID, Body: "reply 2"},
		{Room: r, Author: f.carol.ID, ClientID: "8", Kind: hanashi.KindEdit, Target: m.ID, Body: "not mine"}, // EFORBIDDEN
		{Room: r, Author: f.bob.ID, ClientID: "9", Kind: hanashi.KindDelete, Target: m.ID},
		{Room: r, Author: f.bob.ID, ClientID: "10", Kind: hanashi.KindEdit, Target: m.ID, Body: "too late"}, // ECONFLICT
		{Room: r, Author: f.bob.ID, ClientID: "11", Kind: hanashi.KindDelete, Target: m.ID},                 // ECONFLICT
		{Room: r, Author: f.bob.ID, ClientID: "12", Kind: hanashi.KindDelete, Target: n.ID},
		{Room: r, Author: f.alice.ID, ClientID: "13", Thread: n.ID, Body: "reply 3"}, // ECONFLICT
		{Room: r, Author: f.carol.ID, ClientID: "14", Body: "plain"},
		{Room: r, Author: f.carol.ID, ClientID: "1", Kind: hanashi.KindReact, Target: m.ID, Emoji: "a"}, // a retry of 1
	}
	want := []struct {
		code string
		seq  int64
	}{
		{"", 3}, {hanashi.ECONFLICT, 0}, {"", 4}, {"", 5}, {"", 6}, {"", 7}, {"", 8}, {hanashi.EFORBIDDEN, 0},
		{"", 9}, {hanashi.ECONFLICT, 0}, {hanashi.ECONFLICT, 0}, {"", 10}, {hanashi.ECONFLICT, 0}, {"", 11}, {"", 3},
	}
	results, err := s.Post(t.Context(), posts)
	if err != nil {
		t.Fatalf("Post: %v", err)
	}
	for i, w := range want {
		res := results[i]
		if hanashi.ErrorCode(res.Err) != w.code || res.Message.Seq != w.seq || res.Created != (w.code == "" && i != 14) {
			t.Errorf("post %d (%+v) = %+v, want code %q, seq %d", i, posts[i], res, w.code, w.seq)
		}
	}
	h := f.history(t, f.carol.ID)
	if len(h) != 3 || !h[0].Deleted || h[0].Reactions != nil || !h[1].Deleted || h[1].Replies != 2 || h[2].Body != "plain" {
		t.Errorf("History = %+v, want two tombstones, the second with two replies, and a plain message", h)
	}
	checkFold(t, s, f.room.ID, f.carol.ID)
}

// testThreads checks replies, the reply count of their root and the
// thread view.
func testThreads(t *testing.T, s hanashi.Store) {
	f := newChat(t, s)
	other := newRoom(t, s, f.alice.ID, "other", false)
	root := f.post(t, hanashi.Post{Author: f.alice.ID, Body: "root"})
	var replies []hanashi.Message
	for i := range 12 {
		author := []hanashi.User{f.bob, f.carol}[i%2]
		r := f.post(t, hanashi.Post{Author: author.ID, Thread: root.ID, Body: fmt.Sprint("reply ", i)})
		if r.Thread != root.ID || r.Kind != hanashi.KindMessage {
			t.Errorf("reply = %+v, want a message in the thread of %s", r, root.ID)
		}
		replies = append(replies, r)
		if i == 3 {
			f.post(t, hanashi.Post{Author: f.alice.ID, Body: "between"})
		}
	}
	elsewhere := mustPost(t, s, hanashi.Post{Room: other.ID, Author: f.alice.ID, ClientID: "o", Body: "elsewhere"})
	f.refuse(t, hanashi.EINVALID, hanashi.Post{Author: f.bob.ID, Thread: replies[0].ID, Body: "a reply to a reply"})
	f.refuse(t, hanashi.ENOTFOUND, hanashi.Post{Author: f.bob.ID, Thread: elsewhere.ID, Body: "across rooms"})
	f.refuse(t, hanashi.ENOTFOUND, hanashi.Post{Author: f.bob.ID, Thread: hanashi.MessageID(hanashi.NewID()), Body: "nowhere"})
	react := f.post(t, hanashi.Post{Author: f.bob.ID, Kind: hanashi.KindReact, Target: root.ID, Emoji: "x"})
	f.refuse(t, hanashi.EINVALID, hanashi.Post{Author: f.bob.ID, Thread: react.ID, Body: "to a reaction"})
	// Replies take reactions and edits.
	f.post(t, hanashi.Post{Author: f.alice.ID, Kind: hanashi.KindReact, Target: replies[1].ID, Emoji: "x"})
	f.post(t, hanashi.Post{Author: f.bob.ID, Kind: hanashi.KindEdit, Target: replies[0].ID, Body: "reply 0, edited"})

	h := f.history(t, f.bob.ID)
	if len(h) != 2 || h[0].ID != root.ID || h[1].Body != "between" {
		t.Fatalf("History = %+v, want the root and the message between, without replies", h)
	}
	last := replies[len(replies)-1]
	if h[0].Replies != len(replies) || h[0].LastReplyAt == nil || !h[0].LastReplyAt.Equal(last.CreatedAt) {
		t.Errorf("root in History = %+v, want %d replies, the last at %v", h[0], len(replies), last.CreatedAt)
	}
	if h[1].Replies != 0 || h[1].LastReplyAt != nil {
		t.Errorf("message without replies = %+v, want no reply count", h[1])
	}

	th := allThread(t, s, f.room.ID, root.ID, f.bob.ID)
	if len(th) != len(replies) {
		t.Fatalf("ThreadMessages returned %d replies, want %d", len(th), len(replies))
	}
	for i, r := range th {
		if r.ID != replies[i].ID {
			t.Errorf("reply %d = %+v, want %+v", i, r, replies[i])
		}
	}
	if th[0].Body != "reply 0, edited" || th[0].EditedAt == nil || len(th[1].Reactions) != 1 {
		t.Errorf("thread = %+v, want the first reply edited and the second with a reaction", th[:2])
	}
	page, err := s.ThreadMessages(t.Context(), f.room.ID, root.ID, f.bob.ID, hanashi.Page{Before: last.Seq, Limit: 3})
	if err != nil || len(page) != 3 || page[2].ID != replies[len(replies)-2].ID {
		t.Errorf("ThreadMessages(before the last, 3) = %+v, %v; want the three replies before the last", page, err)
	}
	for _, c := range []struct {
		room hanashi.RoomID
		root hanashi.MessageID
	}{{other.ID, root.ID}, {f.room.ID, hanashi.MessageID(hanashi.NewID())}, {f.room.ID, replies[0].ID}} {
		if th, err := s.ThreadMessages(t.Context(), c.room, c.root, f.bob.ID, hanashi.Page{}); err != nil || len(th) != 0 {
			t.Errorf("ThreadMessages(%d, %s) = %+v, %v; want nothing", c.room, c.root, th, err)
		}
	}
}

// testThreadFollow checks who follows a thread and what UnreadThreads
// reports.
func testThreadFollow(t *testing.T, s hanashi.Store) {
	f := newChat(t, s)
	ctx := t.Context()
	dave := newUser(t, s, "dave")
	root := f.post(t, hanashi.Post{Author: f.alice.ID, Body: "root"})
	other := f.post(t, hanashi.Post{Author: f.carol.ID, Body: "another root"})

	threads := func(u hanashi.User) []hanashi.UnreadThread {
		t.Helper()
		th, err := s.UnreadThreads(ctx, u.ID)
		if err != nil {
			t.Fatalf("UnreadThreads(%s): %v", u.Name, err)
		}
		return th
	}
	check := func(u hanashi.User, want ...hanashi.UnreadThread) {
		t.Helper()
		got := threads(u)
		if !slices.Equal(got, want) && !(len(got) == 0 && len(want) == 0) {
			t.Errorf("UnreadThreads(%s) = %+v, want %+v", u.Name, got, want)
		}
	}
	check(f.alice)

	r1 := f.post(t, hanashi.Post{Author: f.bob.ID, Thread: root.ID, Body: "1"})
	// alice follows her root from its first reply on; bob follows it and
	// has read his own reply.
	check(f.alice, hanashi.UnreadThread{Room: f.room.ID, Root: root.ID, LastRead: 0, Unread: 1})
	check(f.bob)
	r2 := f.post(t, hanashi.Post{Author: f.carol.ID, Thread: root.ID, Body: "2"})
	f.post(t, hanashi.Post{Author: f.alice.ID, Thread: root.ID, Body: "3"})
	check(f.bob, hanashi.UnreadThread{Room: f.room.ID, Root: root.ID, LastRead: r1.Seq, Unread: 2})
	check(f.carol, hanashi.UnreadThread{Room: f.room.ID, Root: root.ID, LastRead: r2.Seq, Unread: 1})
	// alice replied: she has read up to her reply.
	check(f.alice)

	if err := s.MarkThreadRead(ctx, f.bob.ID, f.room.ID, root.ID, r2.Seq); err != nil {
		t.Fatal(err)
	}
	check(f.bob, hanashi.UnreadThread{Room: f.room.ID, Root: root.ID, LastRead: r2.Seq, Unread: 1})
	// Markers never move back, and stop at the room's last seq.
	if err := s.MarkThreadRead(ctx, f.bob.ID, f.room.ID, root.ID, 1); err != nil {
		t.Fatal(err)
	}
	if err := s.MarkThreadRead(ctx, f.bob.ID, f.room.ID, root.ID, 1000); err != nil {
		t.Fatal(err)
	}
	last, _ := s.LastSeq(ctx, f.room.ID)
	check(f.bob)
	f.post(t, hanashi.Post{Author: f.alice.ID, Thread: root.ID, Body: "4"})
	check(f.bob, hanashi.UnreadThread{Room: f.room.ID, Root: root.ID, LastRead: last, Unread: 1})
	err := s.MarkThreadRead(ctx, f.bob.ID, f.room.ID, root.ID, -1)
	wantCode(t, err, hanashi.EINVALID, "MarkThreadRead(-1)")

	// bob stops following; replying does not make him follow again.
	if err := s.FollowThread(ctx, f.bob.ID, f.room.ID, root.ID, false); err != nil {
		t.Fatal(err)
	}
	check(f.bob)
	f.post(t, hanashi.Post{Author: f.bob.ID, Thread: root.ID, Body: "5"})
	f.post(t, hanashi.Post{Author: f.carol.ID, Thread: root.ID, Body: "6"})
	check(f.bob)

	// dave follows a thread he never replied to, from now on. A deleted
	// reply does not count.
	if err := s.FollowThread(ctx, dave.ID, f.room.ID, other.ID, true); err != nil {
		t.Fatal(err)
	}
	check(dave)
	// Marking a thread one does not follow does nothing.
	if err := s.MarkThreadRead(ctx, dave.ID, f.room.ID, root.ID, 3); err != nil {
		t.Fatal(err)
	}
	x := f.post(t, hanashi.Post{Author: f.carol.ID, Thread: other.ID, Body: "x"})
	f.post(t, hanashi.Post{Author: f.bob.ID, Thread: other.ID, Body: "y"})
	check(dave, hanashi.UnreadThread{Room: f.room.ID, Root: other.ID, LastRead: x.Seq - 1, Unread: 2})
	f.post(t, hanashi.Post{Author: f.carol.ID, Kind: hanashi.KindDelete, Target: x.ID})
	check(dave, hanashi.UnreadThread{Room: f.room.ID, Root: other.ID, LastRead: x.Seq - 1, Unread: 1})
	// Threads are ordered by room and root; carol follows both.
	f.post(t, hanashi.Post{Author: f.bob.ID, Thread: root.ID, Body: "7"})
	got := threads(f.carol)
	if len(got) != 2 || got[0].Root != root.ID || got[1].Root != other.ID {
		t.Errorf("UnreadThreads(carol) = %+v, want the first root, then the other", got)
	}

	for _, c := range []struct {
		what string
		user hanashi.UserID
		room hanashi.RoomID
		root hanashi.MessageID
	}{
		{"a reply", dave.ID, f.room.ID, x.ID},
		{"an unknown message", dave.ID, f.room.ID, hanashi.MessageID(hanashi.NewID())},
		{"the wrong room", dave.ID, f.room.ID + 1000, root.ID},
		{"an unknown user", hanashi.UserID(hanashi.NewID()), f.room.ID, root.ID},
	} {
		err := s.FollowThread(ctx, c.user, c.room, c.root, true)
		wantCode(t, err, hanashi.ENOTFOUND, "FollowThread(%s)", c.what)
	}

	// A private room one left hides its threads.
	priv := newRoom(t, s, f.alice.ID, "private", true)
	if err := s.AddMember(ctx, priv.ID, dave.ID, f.alice.ID); err != nil {
		t.Fatal(err)
	}
	proot := f.post(t, hanashi.Post{Room: priv.ID, Author: dave.ID, Body: "private root"})
	f.post(t, hanashi.Post{Room: priv.ID, Author: f.alice.ID, Thread: proot.ID, Body: "private reply"})
	if n := len(threads(dave)); n != 2 {
		t.Errorf("dave has %d threads with unread replies, want 2", n)
	}
	if err := s.RemoveMember(ctx, priv.ID, dave.ID); err != nil {
		t.Fatal(err)
	}
	if n := len(threads(dave)); n != 1 {
		t.Errorf("after leaving the private room, dave has %d threads with unread replies, want 1", n)
	}
}

// testMentions checks the syntax of mentions and who they reach.
func testMentions(t *testing.T, s hanashi.Store) {
	f := newChat(t, s)
	ctx := t.Context()
	ann := newUser(t, s, "Ann")
	annLee := newUser(t, s, "Ann Lee")
	hanako := newUser(t, s, "花子")
	alice2 := newUser(t, s, "ALICE") // the same name as alice, but for ASCII case
	outsider := newUser(t, s, "outsider")
	ulice := newUser(t, s, "Ülice")
	for _, u := range []hanashi.User{ann, annLee, hanako, alice2, ulice} {
		if err := s.AddMember(ctx, f.room.ID, u.ID, u.ID); err != nil {
			t.Fatal(err)
		}
	}
	sorted := func(ids ...hanashi.UserID) []hanashi.UserID {
		slices.Sort(ids)
		return ids
	}
	for _, c := range []struct {
		body string
		want []hanashi.UserID
		room bool
	}{
		{"hi @bob", sorted(f.bob.ID), false},
		{"@BOB, @Carol: look", sorted(f.bob.ID, f.carol.ID), false},
		{"@alice", sorted(alice2.ID), false}, // the author is not mentioned
		{"@ann lee and @Ann", sorted(ann.ID, annLee.ID), false},
		{"@Ann Leeway", sorted(ann.ID), false},
		{"(@Ann Lee)", sorted(annLee.ID), false},
		{"@花子さん", nil, false},
		{"@花子 さん", sorted(hanako.ID), false},
		{"@ülice", nil, false}, // only ASCII letters fold
		{"@Ülice!", sorted(ulice.ID), false},
		{"mail bob@example.com", nil, false},
		{"@outsider", nil, false},
		{"@nobody @ bob", nil, false},
		{"@room", nil, true},
		{"@Room: @carol", sorted(f.carol.ID), true},
		{"@roomy", nil, false},
		{"@bob\n@carol", sorted(f.bob.ID, f.carol.ID), false},
	} {
		m := f.post(t, hanashi.Post{Author: f.alice.ID, Body: c.body})
		if !slices.Equal(m.Mentions, c.want) || m.MentionsRoom != c.room {
			t.Errorf("%q mentions %v, @room %v; want %v, %v", c.body, m.Mentions, m.MentionsRoom, c.want, c.room)
		}
		stored := allMessages(t, s, f.room.ID)[m.Seq-1]
		if !sameMessage(stored, m) {
			t.Errorf("%q: Messages = %+v, want %+v", c.body, stored, m)
		}
		h, err := s.History(ctx, f.room.ID, f.bob.ID, hanashi.Page{After: m.Seq - 1, Limit: 1})
		if err != nil || len(h) != 1 || !slices.Equal(h[0].Mentions, c.want) || h[0].MentionsRoom != c.room {
			t.Errorf("%q: History = %+v, %v; want the same mentions", c.body, h, err)
		}
	}
	_ = outsider
	// An edit mentions nobody new.
	m := f.post(t, hanashi.Post{Author: f.alice.ID, Body: "no one"})
	e := f.post(t, hanashi.Post{Author: f.alice.ID, Kind: hanashi.KindEdit, Target: m.ID, Body: "@bob"})
	if e.Mentions != nil {
		t.Errorf("edit event = %+v, want no mentions", e)
	}
	// Only the first MaxMentionAts @s count.
	body := strings.Repeat("@x ", hanashi.MaxMentionAts) + "@bob"
	if m := f.post(t, hanashi.Post{Author: f.alice.ID, Body: body}); m.Mentions != nil {
		t.Errorf("mention after %d @s = %v, want none", hanashi.MaxMentionAts, m.Mentions)
	}
}

func countFor(counts []hanashi.UnreadCount, room hanashi.RoomID) hanashi.UnreadCount {
	for _, c := range counts {
		if c.Room == room {
			return c
		}
	}
	return hanashi.UnreadCount{Room: -1}
}

// testReadMarkers checks that markers only advance and stop at the room's
// last seq.
func testReadMarkers(t *testing.T, s hanashi.Store) {
	f := newChat(t, s)
	ctx := t.Context()
	postN(t, s, f.room.ID, f.alice.ID, 5)
	for _, c := range []struct {
		seq, want int64
	}{{2, 2}, {1, 2}, {4, 4}, {100, 5}, {0, 5}} {
		got, err := s.MarkRead(ctx, f.bob.ID, f.room.ID, c.seq)
		if err != nil || got != c.want {
			t.Errorf("MarkRead(%d) = %d, %v; want %d", c.seq, got, err, c.want)
		}
	}
	if c := unreadOf(t, s, f.bob.ID, f.room.ID); c.LastRead != 5 || c.LastSeq != 5 || c.Unread != 0 {
		t.Errorf("Unread = %+v, want LastRead 5 of 5", c)
	}
	_, err := s.MarkRead(ctx, f.bob.ID, f.room.ID, -1)
	wantCode(t, err, hanashi.EINVALID, "MarkRead(-1)")
	_, err = s.MarkRead(ctx, f.bob.ID, f.room.ID+1000, 1)
	wantCode(t, err, hanashi.ENOTFOUND, "MarkRead(unknown room)")
	_, err = s.MarkRead(ctx, hanashi.UserID(hanashi.NewID()), f.room.ID, 1)
	wantCode(t, err, hanashi.ENOTFOUND, "MarkRead(unknown user)")
}

// testMarkUnread checks that MarkUnread puts the marker just before a
// message, back or forth, that the counts follow, and that MarkRead
// advances it again from there.
func testMarkUnread(t *testing.T, s hanashi.Store) {
	f := newChat(t, s)
	ctx := t.Context()
	postN(t, s, f.room.ID, f.alice.ID, 5)
	// Before bob ever read the room: a marker is made.
	if got, err := s.MarkUnread(ctx, f.bob.ID, f.room.ID, 4); err != nil || got != 3 {
		t.Errorf("MarkUnread(4) without a marker = %d, %v; want 3", got, err)
	}
	if _, err := s.MarkRead(ctx, f.bob.ID, f.room.ID, 5); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		seq, want int64
		unread    int64
	}{{3, 2, 3}, {5, 4, 1}, {1, 0, 5}, {100, 5, 0}} {
		got, err := s.MarkUnread(ctx, f.bob.ID, f.room.ID, c.seq)
		if err != nil || got != c.want {
			t.Errorf("MarkUnread(%d) = %d, %v; want %d", c.seq, got, err, c.want)
		}
		if u := unreadOf(t, s, f.bob.ID, f.room.ID); u.LastRead != c.want || u.Unread != c.unread {
			t.Errorf("after MarkUnread(%d): Unread = %+v, want LastRead %d, %d unread", c.seq, u, c.want, c.unread)
		}
	}
	if _, err := s.MarkUnread(ctx, f.bob.ID, f.room.ID, 2); err != nil {
		t.Fatal(err)
	}
	// MarkRead never moves back, also from a lowered marker.
	if got, err := s.MarkRead(ctx, f.bob.ID, f.room.ID, 0); err != nil || got != 1 {
		t.Errorf("MarkRead(0) after MarkUnread(2) = %d, %v; want 1", got, err)
	}
	if got, err := s.MarkRead(ctx, f.bob.ID, f.room.ID, 4); err != nil || got != 4 {
		t.Errorf("MarkRead(4) after MarkUnread(2) = %d, %v; want 4", got, err)
	}
	// Alice's marker is hers.
	if u := unreadOf(t, s, f.alice.ID, f.room.ID); u.LastRead == 1 || u.LastRead == 4 {
		t.Errorf("alice's marker = %d, moved with bob's", u.LastRead)
	}
	for _, seq := range []int64{0, -1} {
		_, err := s.MarkUnread(ctx, f.bob.ID, f.room.ID, seq)
		wantCode(t, err, hanashi.EINVALID, "MarkUnread(%d)", seq)
	}
	_, err := s.MarkUnread(ctx, f.bob.ID, f.room.ID+1000, 1)
	wantCode(t, err, hanashi.ENOTFOUND, "MarkUnread(unknown room)")
	_, err = s.MarkUnread(ctx, hanashi.UserID(hanashi.NewID()), f.room.ID, 1)
	wantCode(t, err, hanashi.ENOTFOUND, "MarkUnread(unknown user)")
	if u := unreadOf(t, s, f.bob.ID, f.room.ID); u.LastRead != 4 {
		t.Errorf("refused MarkUnreads moved the marker to %d, want 4", u.LastRead)
	}
}

func unreadOf(t *testing.T, s hanashi.Store, user hanashi.UserID, room hanashi.RoomID) hanashi.UnreadCount {
	t.Helper()
	counts, err := s.Unread(t.Context(), user)
	if err != nil {
		t.Fatalf("Unread: %v", err)
	}
	c := countFor(counts, room)
	if c.Room != room {
		t.Fatalf("Unread(%s) = %+v, has no room %d", user, counts, room)
	}
	return c
}

// testUnread checks what unread and mention counts count.
func testUnread(t *testing.T, s hanashi.Store) {
	f := newChat(t, s)
	ctx := t.Context()
	quiet := newRoom(t, s, f.bob.ID, "quiet", true)
	notMine := newRoom(t, s, f.alice.ID, "not bob's", false)
	mustPost(t, s, hanashi.Post{Room: notMine.ID, Author: f.alice.ID, ClientID: "x", Body: "@bob"})

	counts, err := s.Unread(ctx, f.bob.ID)
	if err != nil {
		t.Fatal(err)
	}
	want := []hanashi.UnreadCount{{Room: f.room.ID}, {Room: quiet.ID}}
	if !slices.Equal(counts, want) {
		t.Errorf("Unread(bob) = %+v, want %+v: the rooms he is a member of, in order, nothing unread", counts, want)
	}

	root := f.post(t, hanashi.Post{Author: f.alice.ID, Body: "1"})
	f.post(t, hanashi.Post{Author: f.alice.ID, Body: "2 @bob"})
	f.post(t, hanashi.Post{Author: f.bob.ID, Body: "3 mine @room"})
	f.post(t, hanashi.Post{Author: f.carol.ID, Body: "4 @room @bob"})
	f.post(t, hanashi.Post{Author: f.carol.ID, Thread: root.ID, Body: "a reply is not unread, but @bob is a mention"})
	f.post(t, hanashi.Post{Author: f.carol.ID, Kind: hanashi.KindReact, Target: root.ID, Emoji: "x"})
	f.post(t, hanashi.Post{Author: f.alice.ID, Kind: hanashi.KindEdit, Target: root.ID, Body: "edits mention nobody: @bob"})
	gone := f.post(t, hanashi.Post{Author: f.carol.ID, Body: "deleted @bob"})
	f.post(t, hanashi.Post{Author: f.carol.ID, Kind: hanashi.KindDelete, Target: gone.ID})
	child, err := s.CreateRoom(ctx, hanashi.NewRoom{Name: "child", Creator: f.carol.ID, Parent: f.room.ID})
	if err != nil {
		t.Fatal(err)
	}
	c := unreadOf(t, s, f.bob.ID, f.room.ID)
	// Unread: 1, 2, 4 and the link to the child room; mentions: 2, 4 and the reply.
	if c.LastRead != 0 || c.LastSeq != child.ParentSeq || c.Unread != 4 || c.Mentions != 3 {
		t.Errorf("Unread(bob) = %+v, want 4 unread, 3 mentions, LastSeq %d", c, child.ParentSeq)
	}
	if c := unreadOf(t, s, f.carol.ID, f.room.ID); c.Unread != 3 || c.Mentions != 1 {
		t.Errorf("Unread(carol) = %+v, want 3 unread (1, 2, 3) and the @room of 3", c)
	}
	if _, err := s.MarkRead(ctx, f.bob.ID, f.room.ID, 3); err != nil {
		t.Fatal(err)
	}
	if c := unreadOf(t, s, f.bob.ID, f.room.ID); c.Unread != 2 || c.Mentions != 2 || c.LastRead != 3 {
		t.Errorf("after reading up to 3, Unread(bob) = %+v, want 2 unread and 2 mentions", c)
	}
	// A new member starts with everything read; the creator of a room too.
	dave := newUser(t, s, "dave")
	if err := s.AddMember(ctx, f.room.ID, dave.ID, dave.ID); err != nil {
		t.Fatal(err)
	}
	if c := unreadOf(t, s, dave.ID, f.room.ID); c.LastRead != c.LastSeq || c.Unread != 0 || c.Mentions != 0 {
		t.Errorf("Unread(new member) = %+v, want all read", c)
	}
	if c := unreadOf(t, s, f.carol.ID, child.ID); c != (hanashi.UnreadCount{Room: child.ID}) {
		t.Errorf("Unread(creator of child) = %+v, want nothing", c)
	}
	// Leaving a room drops it from the counts.
	if err := s.RemoveMember(ctx, f.room.ID, f.bob.ID); err != nil {
		t.Fatal(err)
	}
	counts, err = s.Unread(ctx, f.bob.ID)
	if err != nil || len(counts) != 1 || counts[0].Room != quiet.ID {
		t.Errorf("Unread(bob) after leaving = %+v, %v; want only the quiet room", counts, err)
	}
	if counts, err := s.Unread(ctx, hanashi.UserID(hanashi.NewID())); err != nil || len(counts) != 0 {
		t.Errorf("Unread(unknown user) = %+v, %v; want nothing", counts, err)
	}
}

// testUnreadWindow checks that counts look at the newest UnreadWindow seqs
// of a room only.
func testUnreadWindow(t *testing.T, s hanashi.Store) {
	f := newChat(t, s)
	n := hanashi.UnreadWindow + 5
	for i := 0; i < n; {
		var batch []hanashi.Post
		for ; i < n && len(batch) < hanashi.MaxPageLimit; i++ {
			batch = append(batch, hanashi.Post{Room: f.room.ID, Author: f.alice.ID, ClientID: fmt.Sprint(i), Body: "@bob"})
		}
		if _, err := s.Post(t.Context(), batch); err != nil {
			t.Fatal(err)
		}
	}
	c := unreadOf(t, s, f.bob.ID, f.room.ID)
	want := hanashi.UnreadCount{Room: f.room.ID, LastSeq: int64(n), Unread: hanashi.UnreadWindow, Mentions: hanashi.UnreadWindow}
	if c != want {
		t.Errorf("Unread after %d messages = %+v, want %+v", n, c, want)
	}
	if _, err := s.MarkRead(t.Context(), f.bob.ID, f.room.ID, 10); err != nil {
		t.Fatal(err)
	}
	want = hanashi.UnreadCount{Room: f.room.ID, LastRead: 10, LastSeq: int64(n), Unread: int64(n - 10), Mentions: int64(n - 10)}
	if c := unreadOf(t, s, f.bob.ID, f.room.ID); c != want {
		t.Errorf("Unread after reading 10 = %+v, want %+v", c, want)
	}
}

// UnreadBurst posts a burst of messages, mentions and replies into one
// room from several goroutines, spread over nodes (stores that share one
// database; one store is one node), while readers mark what they read and
// ask for their counts. Every count any reader got must be exact for the
// marker and last seq it came with, and the final counts exact for the
// final markers. Store implementations that run on several nodes call it
// with a store per node; Test calls it with one.
func UnreadBurst(t *testing.T, nodes ...hanashi.Store) {
	s := nodes[0]
	ctx := t.Context()
	f := newChat(t, s)
	readers := []hanashi.User{f.bob, f.carol}
	authors := []hanashi.User{f.alice, f.bob, f.carol}
	const posters, each = 6, 30
	root := f.post(t, hanashi.Post{Author: f.alice.ID, Body: "root"})

	type seen struct {
		reader   hanashi.UserID
		count    hanashi.UnreadCount
		atLeast  int64 // a marker that MarkRead had returned before the call
		observed time.Time
	}
	var (
		mu       sync.Mutex
		observed []seen
		wg       sync.WaitGroup
		done     = make(chan struct{})
		markers  = map[hanashi.UserID]int64{}
	)
	for g := range posters {
		node := nodes[g%len(nodes)]
		author := authors[g%len(authors)]
		wg.Go(func() {
			for n := 0; n < each; {
				var batch []hanashi.Post
				for range min(rand.IntN(4)+1, each-n) {
					p := hanashi.Post{Room: f.room.ID, Author: author.ID, ClientID: fmt.Sprintf("%d/%d", g, n)}
					switch rand.IntN(6) {
					case 0:
						p.Body = "hi @bob"
					case 1:
						p.Body = "@room listen"
					case 2:
						p.Body, p.Thread = "in the thread @carol", root.ID
					default:
						p.Body = "chatter"
					}
					batch = append(batch, p)
					n++
				}
				results, err := node.Post(ctx, batch)
				if err != nil {
					t.Errorf("Post: %v", err)
					return
				}
				for _, res := range results {
					if res.Err != nil || !res.Created {
						t.Errorf("Post: %+v", res)
					}
				}
			}
		})
	}
	var rwg sync.WaitGroup
	for i, reader := range readers {
		node := nodes[(i+1)%len(nodes)]
		rwg.Go(func() {
			var marked int64
			for k := 0; ; k++ {
				select {
				case <-done:
					return
				default:
				}
				if k%2 == 0 {
					last, err := node.LastSeq(ctx, f.room.ID)
					if err != nil {
						t.Errorf("LastSeq: %v", err)
						return
					}
					m, err := node.MarkRead(ctx, reader.ID, f.room.ID, rand.Int64N(last+2))
					if err != nil {
						t.Errorf("MarkRead: %v", err)
						return
					}
					if m < marked {
						t.Errorf("MarkRead returned %d after %d: markers never move back", m, marked)
					}
					marked = m
					mu.Lock()
					markers[reader.ID] = max(markers[reader.ID], m)
					mu.Unlock()
					continue
				}
				c := unreadOf(t, node, reader.ID, f.room.ID)
				mu.Lock()
				observed = append(observed, seen{reader.ID, c, marked, time.Now()})
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	close(done)
	rwg.Wait()
	if t.Failed() {
		t.FailNow()
	}

	stream := allMessages(t, s, f.room.ID)
	// expect counts what is unread for reader after last, up to seq to.
	expect := func(reader hanashi.UserID, last, to int64) (unread, mentions int64) {
		for _, m := range stream[last:to] {
			if m.Author.ID == reader || m.Kind != hanashi.KindMessage {
				continue
			}
			if m.Thread == "" {
				unread++
			}
			if m.MentionsRoom || slices.Contains(m.Mentions, reader) {
				mentions++
			}
		}
		return unread, mentions
	}
	if len(observed) == 0 {
		t.Errorf("the readers got no counts during the burst")
	}
	for _, o := range observed {
		c := o.count
		if c.LastRead < o.atLeast || c.LastRead > c.LastSeq || c.LastSeq > int64(len(stream)) {
			t.Errorf("%s got %+v after marking %d: a marker behind or beyond what was stored", o.reader, c, o.atLeast)
			continue
		}
		u, m := expect(o.reader, c.LastRead, c.LastSeq)
		if c.Unread != u || c.Mentions != m {
			t.Errorf("%s got %+v during the burst; for seqs %d..%d want %d unread and %d mentions", o.reader, c, c.LastRead+1, c.LastSeq, u, m)
		}
	}
	for _, reader := range readers {
		for _, node := range nodes {
			c := unreadOf(t, node, reader.ID, f.room.ID)
			u, m := expect(reader.ID, markers[reader.ID], int64(len(stream)))
			if c.LastRead != markers[reader.ID] || c.LastSeq != int64(len(stream)) || c.Unread != u || c.Mentions != m {
				t.Errorf("final Unread(%s) = %+v, want LastRead %d, LastSeq %d, %d unread, %d mentions",
					reader.Name, c, markers[reader.ID], len(stream), u, m)
			}
		}
	}
}

// testDirectRoom checks finding and making direct rooms and their rules.
func testDirectRoom(t *testing.T, s hanashi.Store) {
	f := newChat(t, s)
	ctx := t.Context()
	dave := newUser(t, s, "dave")
	guest, err := s.CreateUser(ctx, hanashi.User{Name: "guest", Guest: true})
	if err != nil {
		t.Fatal(err)
	}
	dm, err := s.DirectRoom(ctx, []hanashi.UserID{f.bob.ID, f.alice.ID})
	if err != nil {
		t.Fatalf("DirectRoom: %v", err)
	}
	if dm.Kind != hanashi.RoomDirect || !dm.Private || !dm.Member || dm.Name != "alice, bob" || dm.CreatedBy != f.bob.ID || dm.LastSeq != 0 {
		t.Errorf("DirectRoom = %+v, want a private direct room named \"alice, bob\" made by bob", dm)
	}
	if got, err := s.Room(ctx, dm.ID, f.alice.ID); err != nil || !sameRoom(got, dm) {
		t.Errorf("Room(dm, alice) = %+v, %v; want %+v", got, err, dm)
	}
	_, err = s.Room(ctx, dm.ID, f.carol.ID)
	wantCode(t, err, hanashi.ENOTFOUND, "Room(dm, carol)")

	// The same members, in any order, with duplicates, find the same room.
	again, err := s.DirectRoom(ctx, []hanashi.UserID{f.alice.ID, f.bob.ID, f.alice.ID})
	if err != nil || again.ID != dm.ID || again.CreatedBy != f.bob.ID {
		t.Errorf("DirectRoom(alice, bob) = %+v, %v; want room %d again", again, err, dm.ID)
	}
	// Other sets are other rooms; a subset or a superset is not the room.
	group, err := s.DirectRoom(ctx, []hanashi.UserID{f.carol.ID, f.alice.ID, f.bob.ID, guest.ID})
	if err != nil || group.ID == dm.ID || group.Name != "alice, bob, carol, guest" {
		t.Errorf("DirectRoom(carol, alice, bob, guest) = %+v, %v; want a new room", group, err)
	}
	pair, err := s.DirectRoom(ctx, []hanashi.UserID{f.alice.ID, f.carol.ID})
	if err != nil || pair.ID == dm.ID || pair.ID == group.ID {
		t.Errorf("DirectRoom(alice, carol) = %+v, %v; want a room of its own", pair, err)
	}
	members, err := s.Members(ctx, group.ID)
	if err != nil || len(members) != 4 {
		t.Errorf("Members(group) = %+v, %v; want 4", members, err)
	}

	// Nobody joins, is added to, or leaves a direct room.
	err = s.AddMember(ctx, dm.ID, f.carol.ID, f.alice.ID)
	wantCode(t, err, hanashi.EFORBIDDEN, "AddMember(dm, carol by alice)")
	err = s.AddMember(ctx, dm.ID, f.carol.ID, f.carol.ID)
	wantCode(t, err, hanashi.ENOTFOUND, "AddMember(dm, carol herself)")
	err = s.RemoveMember(ctx, dm.ID, f.bob.ID)
	wantCode(t, err, hanashi.EFORBIDDEN, "RemoveMember(dm, bob)")
	err = s.RemoveMember(ctx, dm.ID, f.carol.ID)
	wantCode(t, err, hanashi.ENOTFOUND, "RemoveMember(dm, carol)")
	if m, err := s.Members(ctx, dm.ID); err != nil || len(m) != 2 {
		t.Errorf("Members(dm) = %+v, %v; want alice and bob", m, err)
	}

	// Members post; others cannot; nothing is made inside a direct room.
	mustPost(t, s, hanashi.Post{Room: dm.ID, Author: f.alice.ID, ClientID: "dm", Body: "psst"})
	res := post(t, s, hanashi.Post{Room: dm.ID, Author: f.carol.ID, ClientID: "dm", Body: "hi"})
	wantCode(t, res.Err, hanashi.ENOTFOUND, "carol posts into alice and bob's room")
	if c := unreadOf(t, s, f.bob.ID, dm.ID); c.Unread != 1 {
		t.Errorf("Unread(bob, dm) = %+v, want 1", c)
	}
	_, err = s.CreateRoom(ctx, hanashi.NewRoom{Name: "inside", Creator: f.alice.ID, Parent: dm.ID})
	wantCode(t, err, hanashi.EINVALID, "CreateRoom inside a direct room")

	for _, c := range []struct {
		what    string
		members []hanashi.UserID
		code    string
	}{
		{"one member", []hanashi.UserID{f.alice.ID}, hanashi.EINVALID},
		{"one member twice", []hanashi.UserID{f.alice.ID, f.alice.ID}, hanashi.EINVALID},
		{"none", nil, hanashi.EINVALID},
		{"an unknown user", []hanashi.UserID{f.alice.ID, hanashi.UserID(hanashi.NewID())}, hanashi.ENOTFOUND},
	} {
		_, err := s.DirectRoom(ctx, c.members)
		wantCode(t, err, c.code, "DirectRoom(%s)", c.what)
	}
	ten := []hanashi.UserID{dave.ID}
	for i := range hanashi.MaxDirectMembers {
		ten = append(ten, newUser(t, s, fmt.Sprint("u", i)).ID)
	}
	_, err = s.DirectRoom(ctx, ten)
	wantCode(t, err, hanashi.EINVALID, "DirectRoom(10 members)")
	nine, err := s.DirectRoom(ctx, ten[:hanashi.MaxDirectMembers])
	if err != nil || len([]rune(nine.Name)) > hanashi.MaxNameLen {
		t.Errorf("DirectRoom(9 members) = %+v, %v; want a room with a name of at most %d runes", nine, err, hanashi.MaxNameLen)
	}
	rooms, err := s.Rooms(ctx, dave.ID)
	if err != nil || !slices.ContainsFunc(rooms, func(r hanashi.Room) bool { return r.ID == nine.ID && r.Kind == hanashi.RoomDirect }) {
		t.Errorf("Rooms(dave) = %+v, %v; want the direct room among them", rooms, err)
	}
}

// DirectRoomRace asks for the direct room of one set of users from many
// goroutines at once, spread over nodes: all must get the same room.
func DirectRoomRace(t *testing.T, nodes ...hanashi.Store) {
	s := nodes[0]
	ctx := t.Context()
	users := []hanashi.UserID{newUser(t, s, "a").ID, newUser(t, s, "b").ID, newUser(t, s, "c").ID}
	for round := range 5 {
		set := users[:2+round%2]
		ids := make([]hanashi.RoomID, 12)
		var wg sync.WaitGroup
		for g := range ids {
			node := nodes[g%len(nodes)]
			wg.Go(func() {
				order := slices.Clone(set)
				rand.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
				r, err := node.DirectRoom(ctx, order)
				if err != nil {
					t.Errorf("DirectRoom: %v", err)
					return
				}
				ids[g] = r.ID
			})
		}
		wg.Wait()
		for _, id := range ids {
			if id != ids[0] {
				t.Fatalf("round %d: concurrent DirectRoom calls made rooms %v, want one", round, ids)
			}
		}
		if m, err := s.Members(ctx, ids[0]); err != nil || len(m) != len(set) {
			t.Errorf("Members = %+v, %v; want %d", m, err, len(set))
		}
	}
}

// testNestedRooms checks rooms made inside others.
func testNestedRooms(t *testing.T, s hanashi.Store) {
	f := newChat(t, s)
	ctx := t.Context()
	dave := newUser(t, s, "dave") // a member of nothing
	f.post(t, hanashi.Post{Author: f.alice.ID, Body: "before"})
	pub, err := s.CreateRoom(ctx, hanashi.NewRoom{Name: "public child", Creator: f.bob.ID, Parent: f.room.ID})
	if err != nil {
		t.Fatalf("CreateRoom(public child): %v", err)
	}
	priv, err := s.CreateRoom(ctx, hanashi.NewRoom{Name: "private child", Private: true, Creator: f.carol.ID, Parent: f.room.ID})
	if err != nil {
		t.Fatalf("CreateRoom(private child): %v", err)
	}
	if pub.Parent != f.room.ID || pub.ParentSeq != 2 || priv.ParentSeq != 3 || !pub.Member || pub.CreatedBy != f.bob.ID {
		t.Errorf("children = %+v, %+v; want the parent and seqs 2 and 3 there", pub, priv)
	}
	if got, err := s.Room(ctx, pub.ID, dave.ID); err != nil || !sameRoom(got, hanashi.Room{
		ID: pub.ID, Name: pub.Name, GuestsAllowed: true, CreatedBy: f.bob.ID, CreatedAt: pub.CreatedAt, Parent: f.room.ID, ParentSeq: 2}) {
		t.Errorf("Room(public child, dave) = %+v, %v; want it with its parent", got, err)
	}
	stream := allMessages(t, s, f.room.ID)
	if len(stream) != 3 {
		t.Fatalf("parent's stream = %+v, want 3 events", stream)
	}
	for i, c := range []struct {
		child hanashi.Room
		body  string
	}{{pub, "public child"}, {priv, ""}} {
		link := stream[i+1]
		if link.Kind != hanashi.KindRoom || link.Child != c.child.ID || link.Body != c.body || link.Author.ID != c.child.CreatedBy ||
			!link.CreatedAt.Equal(c.child.CreatedAt) || link.ClientID != "" {
			t.Errorf("link %d = %+v, want a KindRoom event for room %d with body %q", i, link, c.child.ID, c.body)
		}
	}
	if h := f.history(t, f.alice.ID); len(h) != 3 || h[1].Kind != hanashi.KindRoom || h[2].Child != priv.ID {
		t.Errorf("History = %+v, want the links among the messages", h)
	}
	if r, err := s.Room(ctx, f.room.ID, f.alice.ID); err != nil || r.LastSeq != 3 {
		t.Errorf("parent's LastSeq = %d, %v; want 3", r.LastSeq, err)
	}

	// The private child is the private room of its members only.
	for _, u := range []hanashi.User{f.alice, f.bob, dave} {
		_, err := s.Room(ctx, priv.ID, u.ID)
		wantCode(t, err, hanashi.ENOTFOUND, "Room(private child, %s)", u.Name)
		rooms, err := s.Rooms(ctx, u.ID)
		if err != nil || slices.ContainsFunc(rooms, func(r hanashi.Room) bool { return r.ID == priv.ID }) {
			t.Errorf("Rooms(%s) = %+v, %v; want no private child", u.Name, rooms, err)
		}
	}
	err = s.AddMember(ctx, priv.ID, f.alice.ID, f.alice.ID)
	wantCode(t, err, hanashi.ENOTFOUND, "alice joins the private child")
	if err := s.AddMember(ctx, pub.ID, dave.ID, dave.ID); err != nil {
		t.Errorf("dave joins the public child of a room he is not in: %v", err)
	}

	// Creating inside takes being able to post inside.
	privParent := newRoom(t, s, f.alice.ID, "private parent", true)
	noGuests, err := s.CreateRoom(ctx, hanashi.NewRoom{Name: "no guests", NoGuests: true, Creator: f.alice.ID})
	if err != nil {
		t.Fatal(err)
	}
	guest, err := s.CreateUser(ctx, hanashi.User{Name: "guest", Guest: true})
	if err != nil {
		t.Fatal(err)
	}
	banned := newUser(t, s, "banned")
	if err := s.SetDisabled(ctx, banned.ID, true); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		what string
		nr   hanashi.NewRoom
		code string
	}{
		{"in a private room by a non-member", hanashi.NewRoom{Name: "x", Creator: dave.ID, Parent: privParent.ID}, hanashi.ENOTFOUND},
		{"in an unknown room", hanashi.NewRoom{Name: "x", Creator: dave.ID, Parent: privParent.ID + 1000}, hanashi.ENOTFOUND},
		{"by an unknown user", hanashi.NewRoom{Name: "x", Creator: hanashi.UserID(hanashi.NewID()), Parent: f.room.ID}, hanashi.ENOTFOUND},
		{"by a disabled user", hanashi.NewRoom{Name: "x", Creator: banned.ID, Parent: f.room.ID}, hanashi.EFORBIDDEN},
		{"by a guest in a room without guests", hanashi.NewRoom{Name: "x", Creator: guest.ID, Parent: noGuests.ID}, hanashi.EFORBIDDEN},
		{"without guests by a guest", hanashi.NewRoom{Name: "x", Creator: guest.ID, NoGuests: true, Parent: f.room.ID}, hanashi.EFORBIDDEN},
	} {
		_, err := s.CreateRoom(ctx, c.nr)
		wantCode(t, err, c.code, "CreateRoom %s", c.what)
	}
	if seq, err := s.LastSeq(ctx, f.room.ID); err != nil || seq != 3 {
		t.Errorf("refused children changed the parent's stream: LastSeq = %d, %v", seq, err)
	}
	// A room made inside a private room by a member, and a room inside a child.
	inPriv, err := s.CreateRoom(ctx, hanashi.NewRoom{Name: "deeper", Creator: f.alice.ID, Parent: privParent.ID})
	if err != nil || inPriv.ParentSeq != 1 {
		t.Errorf("CreateRoom inside a private room by its member = %+v, %v", inPriv, err)
	}
	grandchild, err := s.CreateRoom(ctx, hanashi.NewRoom{Name: "grandchild", Creator: dave.ID, Parent: pub.ID})
	if err != nil || grandchild.Parent != pub.ID || grandchild.ParentSeq != 1 {
		t.Errorf("CreateRoom inside a child = %+v, %v", grandchild, err)
	}
	if c := unreadOf(t, s, f.alice.ID, f.room.ID); c.Unread != 2 {
		t.Errorf("Unread(alice) = %+v, want the two links unread", c)
	}
}

// testMembers checks Members.
func testMembers(t *testing.T, s hanashi.Store) {
	f := newChat(t, s)
	ctx := t.Context()
	if _, err := s.UpdateProfile(ctx, f.bob.ID, hanashi.ProfileUpdate{Name: ptr("Robert")}); err != nil {
		t.Fatal(err)
	}
	got, err := s.Members(ctx, f.room.ID)
	if err != nil {
		t.Fatal(err)
	}
	want := []hanashi.Author{
		{ID: f.alice.ID, Name: "alice"}, {ID: f.bob.ID, Name: "Robert"}, {ID: f.carol.ID, Name: "carol"},
	}
	slices.SortFunc(want, func(a, b hanashi.Author) int { return strings.Compare(string(a.ID), string(b.ID)) })
	if !slices.Equal(got, want) {
		t.Errorf("Members = %+v, want %+v", got, want)
	}
	if got, err := s.Members(ctx, f.room.ID+1000); err != nil || len(got) != 0 {
		t.Errorf("Members(unknown room) = %+v, %v; want none", got, err)
	}
}

func ptr[T any](v T) *T { return &v }

// testClaimGuestChat checks that a claim hands a guest's reactions, read
// markers and thread follows to the account.
func testClaimGuestChat(t *testing.T, s hanashi.Store) {
	f := newChat(t, s)
	ctx := t.Context()
	guest, err := s.CreateUser(ctx, hanashi.User{Name: "guest", Guest: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.AddMember(ctx, f.room.ID, guest.ID, guest.ID); err != nil {
		t.Fatal(err)
	}
	m := f.post(t, hanashi.Post{Author: f.alice.ID, Body: "@guest hello"})
	f.post(t, hanashi.Post{Author: guest.ID, Kind: hanashi.KindReact, Target: m.ID, Emoji: "a"})
	f.post(t, hanashi.Post{Author: guest.ID, Kind: hanashi.KindReact, Target: m.ID, Emoji: "b"})
	f.post(t, hanashi.Post{Author: f.bob.ID, Kind: hanashi.KindReact, Target: m.ID, Emoji: "b"})
	f.post(t, hanashi.Post{Author: guest.ID, Thread: m.ID, Body: "reply"})
	if _, err := s.ClaimGuest(ctx, guest.ID, f.bob.ID); err != nil {
		t.Fatal(err)
	}
	h := f.history(t, f.bob.ID)
	want := []hanashi.Reaction{
		{Emoji: "a", Count: 1, Users: []hanashi.UserID{f.bob.ID}, Mine: true},
		{Emoji: "b", Count: 1, Users: []hanashi.UserID{f.bob.ID}, Mine: true},
	}
	if len(h) != 1 || !sameReactions(h[0].Reactions, want) {
		t.Errorf("History after the claim = %+v, want reactions %+v", h, want)
	}
	// The mention moved to bob, who read up to where the guest had.
	if c := unreadOf(t, s, f.bob.ID, f.room.ID); c.Mentions != 1 {
		t.Errorf("Unread(bob) = %+v, want the guest's mention", c)
	}
	f.post(t, hanashi.Post{Author: f.alice.ID, Thread: m.ID, Body: "to the guest"})
	if th, err := s.UnreadThreads(ctx, f.bob.ID); err != nil || len(th) != 1 {
		t.Errorf("UnreadThreads(bob) = %+v, %v; want the thread the guest followed", th, err)
	}
}

// testHistoryMessage checks HistoryMessage: one message folded, and
// ErrMessageNotFound for whatever is not a message of the room.
func testHistoryMessage(t *testing.T, s hanashi.Store) {
	f := newChat(t, s)
	ctx := t.Context()
	root := f.post(t, hanashi.Post{Author: f.alice.ID, Body: "root"})
	reply := f.post(t, hanashi.Post{Author: f.bob.ID, Thread: root.ID, Body: "reply"})
	edit := f.post(t, hanashi.Post{Author: f.alice.ID, Kind: hanashi.KindEdit, Target: root.ID, Body: "root, edited"})
	react := f.post(t, hanashi.Post{Author: f.carol.ID, Kind: hanashi.KindReact, Target: root.ID, Emoji: "🎉"})
	child, err := s.CreateRoom(ctx, hanashi.NewRoom{Name: "child", Creator: f.bob.ID, Parent: f.room.ID})
	if err != nil {
		t.Fatal(err)
	}
	other := newRoom(t, s, f.alice.ID, "other", false)

	got, err := s.HistoryMessage(ctx, f.room.ID, root.ID, f.carol.ID)
	want := []hanashi.Reaction{{Emoji: "🎉", Count: 1, Users: []hanashi.UserID{f.carol.ID}, Mine: true}}
	if err != nil || got.ID != root.ID || got.Seq != root.Seq || got.Body != "root, edited" || got.EditedAt == nil ||
		!got.EditedAt.Equal(edit.CreatedAt) || got.Replies != 1 || got.LastReplyAt == nil ||
		!got.LastReplyAt.Equal(reply.CreatedAt) || !sameReactions(got.Reactions, want) {
		t.Errorf("HistoryMessage(root) = %+v, %v; want it folded with the edit, the reply and carol's reaction", got, err)
	}
	if got, err := s.HistoryMessage(ctx, f.room.ID, root.ID, f.bob.ID); err != nil || len(got.Reactions) != 1 || got.Reactions[0].Mine {
		t.Errorf("HistoryMessage(root) for bob = %+v, %v; want the reaction not his", got, err)
	}
	if got, err := s.HistoryMessage(ctx, f.room.ID, reply.ID, f.bob.ID); err != nil || !sameMessage(got, reply) {
		t.Errorf("HistoryMessage(reply) = %+v, %v; want the reply %+v", got, err, reply)
	}
	h := f.history(t, f.alice.ID)
	if got, err := s.HistoryMessage(ctx, f.room.ID, h[1].ID, f.alice.ID); err != nil || got.Kind != hanashi.KindRoom || got.Child != child.ID {
		t.Errorf("HistoryMessage(link) = %+v, %v; want the link to room %d", got, err, child.ID)
	}
	for _, c := range []struct {
		what string
		room hanashi.RoomID
		id   hanashi.MessageID
	}{
		{"an edit event", f.room.ID, edit.ID},
		{"a react event", f.room.ID, react.ID},
		{"a message of another room", other.ID, root.ID},
		{"an unknown room", f.room.ID + 1000, root.ID},
		{"an unknown id", f.room.ID, "nonesuch"},
		{"an empty id", f.room.ID, ""},
		{"an id that is not text", f.room.ID, "\xff\x00"},
	} {
		got, err := s.HistoryMessage(ctx, c.room, c.id, f.alice.ID)
		wantCode(t, err, hanashi.ENOTFOUND, "HistoryMessage(%s)", c.what)
		if !isZero(got) {
			t.Errorf("HistoryMessage(%s) = %+v, want a zero message", c.what, got)
		}
	}
}

// testSearchUsers checks SearchUsers: signed-in users only, by the start
// of their name in any ASCII case, in a stable order, limited.
func testSearchUsers(t *testing.T, s hanashi.Store) {
	ctx := t.Context()
	n := 0
	signIn := func(name string) hanashi.User {
		t.Helper()
		n++
		u, err := s.SignIn(ctx, hanashi.Identity{Provider: "test", Subject: fmt.Sprint("sub-", n), Name: name})
		if err != nil {
			t.Fatalf("SignIn(%q): %v", name, err)
		}
		return u
	}
	ann := signIn("Ann")
	annLee := signIn("ann lee")
	anna := signIn("ANNA")
	signIn("Bob")
	ange := signIn("Ånge") // Å is not an ASCII letter: only "Å" finds it
	annDup := signIn("Ann")
	if _, err := s.CreateUser(ctx, hanashi.User{Name: "Annie", Guest: true}); err != nil {
		t.Fatal(err)
	}
	disabled := signIn("Annette")
	if err := s.SetDisabled(ctx, disabled.ID, true); err != nil {
		t.Fatal(err)
	}

	ids := func(users []hanashi.Author) []hanashi.UserID {
		var out []hanashi.UserID
		for _, u := range users {
			out = append(out, u.ID)
		}
		return out
	}
	// Two "Ann"s order by id.
	anns := []hanashi.UserID{ann.ID, annDup.ID}
	slices.Sort(anns)
	for _, c := range []struct {
		prefix string
		limit  int
		want   []hanashi.UserID
	}{
		{"ann", 0, append(anns, annLee.ID, anna.ID)},
		{"ANN", 0, append(anns, annLee.ID, anna.ID)},
		{"Ann ", 0, []hanashi.UserID{annLee.ID}},
		{"anna", 0, []hanashi.UserID{anna.ID}},
		{"ann", 2, anns},
		{"å", 0, nil},
		{"Å", 0, []hanashi.UserID{ange.ID}},
		{"annette", 0, nil},
		{"annie", 0, nil},
		{"%", 0, nil},
		{"_", 0, nil},
		{"zed", 0, nil},
		{strings.Repeat("a", 200), 0, nil},
	} {
		got, err := s.SearchUsers(ctx, c.prefix, c.limit)
		if err != nil || !slices.Equal(ids(got), c.want) || got == nil {
			t.Errorf("SearchUsers(%q, %d) = %+v, %v; want %v", c.prefix, c.limit, got, err, c.want)
		}
	}
	all, err := s.SearchUsers(ctx, "", 0)
	if err != nil || len(all) != 6 {
		t.Fatalf("SearchUsers(\"\") = %+v, %v; want the six signed-in users", all, err)
	}
	if all[0].Name != "Ann" || all[len(all)-1].ID != ange.ID {
		t.Errorf("SearchUsers(\"\") = %+v, want them ordered by name in any ASCII case", all)
	}
	if got, err := s.SearchUsers(ctx, "", 1); err != nil || len(got) != 1 {
		t.Errorf("SearchUsers limited to 1 = %+v, %v", got, err)
	}
	if got, err := s.SearchUsers(ctx, "", hanashi.MaxUserSearch+50); err != nil || len(got) != 6 {
		t.Errorf("SearchUsers over the limit = %+v, %v", got, err)
	}
	for _, bad := range []string{"a\x00", "\xff"} {
		got, err := s.SearchUsers(ctx, bad, 0)
		wantCode(t, err, hanashi.EINVALID, "SearchUsers(%q)", bad)
		if len(got) != 0 {
			t.Errorf("SearchUsers(%q) = %+v, want none", bad, got)
		}
	}
}
