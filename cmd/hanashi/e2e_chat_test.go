package main

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// The team chat end to end: a client that was away during edits,
// deletions and reactions learns of all of them when it resumes with its
// cursor, on any node; and unread and mention counts are exact after a
// burst of sends while readers move their markers on two nodes.

// e2eEvent is an event of a room's stream as the protocol has it: a
// "message" frame, an item of /messages, or, with the folded fields, of
// /history and /threads.
type e2eEvent struct {
	Type         string   `json:"type"`
	Room         int64    `json:"room"`
	Seq          int64    `json:"seq"`
	ID           string   `json:"id"`
	ClientID     string   `json:"client_id"`
	Author       e2eUser  `json:"author"`
	Body         string   `json:"body"`
	Kind         string   `json:"kind"`
	Target       string   `json:"target"`
	Thread       string   `json:"thread"`
	Emoji        string   `json:"emoji"`
	Child        int64    `json:"child"`
	Mentions     []string `json:"mentions"`
	MentionsRoom bool     `json:"mentions_room"`

	EditedAt  *time.Time `json:"edited_at"`
	Deleted   bool       `json:"deleted"`
	Replies   int        `json:"replies"`
	Reactions []struct {
		Emoji string   `json:"emoji"`
		Count int      `json:"count"`
		Users []string `json:"users"`
	} `json:"reactions"`
}

// chatEvent decodes a frame as an event.
func chatEvent(t *testing.T, f e2eFrame) e2eEvent {
	t.Helper()
	var e e2eEvent
	if err := json.Unmarshal(f.raw, &e); err != nil {
		t.Fatalf("frame %s: %v", f, err)
	}
	return e
}

// chatSend writes a send frame with the fields of v and waits for its ack,
// which must be the next frame: c must not be subscribed to anything.
func chatSend(t *testing.T, c *e2eConn, room int64, clientID string, v map[string]any) e2eFrame {
	t.Helper()
	f, err := chatSendErr(c, room, clientID, v)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// chatSendErr is chatSend for any goroutine.
func chatSendErr(c *e2eConn, room int64, clientID string, v map[string]any) (e2eFrame, error) {
	frame := map[string]any{"type": "send", "room": room, "client_id": clientID}
	for k, x := range v {
		frame[k] = x
	}
	if err := c.write(frame); err != nil {
		return e2eFrame{}, err
	}
	f, err := c.read(e2eTimeout)
	if err != nil {
		return e2eFrame{}, err
	}
	if f.Type != "ack" || f.ClientID != clientID || f.Room != room || f.Seq <= 0 {
		return e2eFrame{}, fmt.Errorf("sent %v: got %s, want its ack", frame, f)
	}
	return f, nil
}

// chatHTTP sends a request that changes a message and returns the event
// it answers.
func chatHTTP(t *testing.T, s *e2eServer, g e2eGuest, method, path string, status int, body any) e2eEvent {
	t.Helper()
	var v struct {
		Message e2eEvent `json:"message"`
	}
	s.do(t, method, path, g.auth(), body).expectJSON(t, method+" "+path, status, &v)
	if v.Message.Seq <= 0 || v.Message.ID == "" {
		t.Fatalf("%s %s: no event in the answer", method, path)
	}
	return v.Message
}

// chatStream reads a room's whole stream, page by page.
func chatStream(t *testing.T, s *e2eServer, g e2eGuest, room int64) []e2eEvent {
	t.Helper()
	var all []e2eEvent
	for {
		path := fmt.Sprintf("/api/v1/rooms/%d/messages?after=%d&limit=1000", room, int64(len(all)))
		var v struct {
			Messages []e2eEvent `json:"messages"`
		}
		s.do(t, "GET", path, g.auth(), nil).expectJSON(t, "GET "+path, http.StatusOK, &v)
		if len(v.Messages) == 0 {
			return all
		}
		for _, e := range v.Messages {
			if e.Seq != int64(len(all)+1) {
				t.Fatalf("stream of room %d: seq %d after %d", room, e.Seq, len(all))
			}
			all = append(all, e)
		}
	}
}

// chatFolded is a message as a client that applies the stream sees it.
type chatFolded struct {
	id, thread, body string
	deleted, edited  bool
	replies          int
	reactions        []string // "emoji user", in the order given
}

// chatFold applies events to msgs, a client's view by message id, and
// returns the ids of the top-level messages in the order they appeared.
func chatFold(t *testing.T, msgs map[string]*chatFolded, top []string, events []e2eEvent) []string {
	t.Helper()
	for _, e := range events {
		target := msgs[e.Target]
		switch e.Kind {
		case "message", "room":
			msgs[e.ID] = &chatFolded{id: e.ID, thread: e.Thread, body: e.Body}
			if e.Thread == "" {
				top = append(top, e.ID)
			} else if root := msgs[e.Thread]; root != nil {
				root.replies++
			}
			continue
		}
		if target == nil {
			t.Fatalf("event %+v acts on a message the client never saw", e)
		}
		who := e.Emoji + " " + e.Author.ID
		switch e.Kind {
		case "edit":
			target.body, target.edited = e.Body, true
		case "delete":
			target.body, target.deleted, target.reactions = "", true, nil
		case "react":
			target.reactions = append(target.reactions, who)
		case "unreact":
			target.reactions = slices.DeleteFunc(target.reactions, func(r string) bool { return r == who })
		default:
			t.Fatalf("unknown kind in %+v", e)
		}
	}
	return top
}

// chatCompare checks folded history items against the client's view.
func chatCompare(t *testing.T, what string, got []e2eEvent, want []*chatFolded) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d messages, want %d", what, len(got), len(want))
	}
	for i, g := range got {
		w := want[i]
		var wantReactions []string
		counts := map[string]int{}
		for _, r := range w.reactions {
			emoji, _, _ := strings.Cut(r, " ")
			if counts[emoji] == 0 {
				wantReactions = append(wantReactions, emoji)
			}
			counts[emoji]++
		}
		var gotReactions []string
		for _, r := range g.Reactions {
			gotReactions = append(gotReactions, r.Emoji)
			if r.Count != counts[r.Emoji] {
				t.Errorf("%s[%d]: %d reactions %s, want %d", what, i, r.Count, r.Emoji, counts[r.Emoji])
			}
		}
		if g.ID != w.id || g.Body != w.body || g.Deleted != w.deleted || (g.EditedAt != nil) != (w.edited && !w.deleted) ||
			g.Replies != w.replies || !slices.Equal(gotReactions, wantReactions) {
			t.Errorf("%s[%d] = %+v\nwant what the stream folds into: %+v", what, i, g, *w)
		}
	}
}

// TestE2EChatResume: on one node with SQLite, a client misses edits,
// deletions and reactions and resumes with its cursor.
func TestE2EChatResume(t *testing.T) {
	srv := e2eStart(t, t.TempDir())
	chatResume(t, srv, srv)
}

// TestE2EChatResumeCluster: two nodes on PostgreSQL and Redis; the client
// follows on one node, the changes are made on both, and it resumes on the
// other.
func TestE2EChatResumeCluster(t *testing.T) {
	c := newCluster(t, "")
	chatResume(t, c.start(t, "node-a"), c.start(t, "node-b"))
}

// chatResume has alice follow a room on home and go away; bob makes every
// kind of change, over the WebSocket on away and over HTTP on home; alice
// resumes on away and must receive exactly those events, once, in seq
// order, and fold them into what the server's history says.
func chatResume(t *testing.T, home, away *e2eServer) {
	alice := home.guest(t, "alice")
	bob := home.guest(t, "bob")
	room := home.room(t, bob, "resume with changes", false)
	base := fmt.Sprintf("/api/v1/rooms/%d", room.ID)

	sub := home.ws(t, alice)
	if err := sub.subscribeAfter(room.ID, 0); err != nil {
		t.Fatal(err)
	}
	sub.expect(t, "subscribed")
	bws := away.ws(t, bob)
	first := chatSend(t, bws, room.ID, "b-first", map[string]any{"body": "before"})
	seen := chatEvent(t, sub.expect(t, "message"))
	if seen.Seq != first.Seq || seen.ID != first.ID || seen.Kind != "message" {
		t.Fatalf("live: got %+v, want the message of ack %s", seen, first)
	}
	cursor := seen.Seq
	sub.c.Close() // alice goes away with her cursor

	// What bob does while she is away, and the events it must make.
	var want []e2eEvent
	ws := func(clientID string, v map[string]any) e2eFrame {
		t.Helper()
		a := chatSend(t, bws, room.ID, clientID, v)
		e := e2eEvent{Seq: a.Seq, ID: a.ID, Kind: "message"}
		if k, ok := v["kind"].(string); ok {
			e.Kind = k
		}
		e.Target, _ = v["target"].(string)
		e.Thread, _ = v["thread"].(string)
		e.Emoji, _ = v["emoji"].(string)
		want = append(want, e)
		return a
	}
	overHTTP := func(method, path string, status int, body any) e2eEvent {
		t.Helper()
		e := chatHTTP(t, home, bob, method, path, status, body)
		want = append(want, e)
		return e
	}
	root := ws("b-root", map[string]any{"body": "a root"})
	reply := ws("b-reply", map[string]any{"body": "a reply", "thread": root.ID})
	overHTTP("POST", base+"/messages", http.StatusCreated, map[string]any{"client_id": "b-reply-2", "body": "another reply", "thread": root.ID})
	ws("b-edit", map[string]any{"kind": "edit", "target": root.ID, "body": "a root, edited"})
	overHTTP("PATCH", base+"/messages/"+first.ID, http.StatusOK, map[string]any{"body": "before, edited"})
	ws("b-react", map[string]any{"kind": "react", "target": root.ID, "emoji": "👍"})
	overHTTP("PUT", base+"/messages/"+first.ID+"/reactions/"+url.PathEscape("🎉"), http.StatusOK, nil)
	ws("b-react-2", map[string]any{"kind": "react", "target": root.ID, "emoji": ":tada:"})
	ws("b-unreact", map[string]any{"kind": "unreact", "target": root.ID, "emoji": "👍"})
	ws("b-delete-reply", map[string]any{"kind": "delete", "target": reply.ID})
	doomed := ws("b-doomed", map[string]any{"body": "soon gone"})
	ws("b-react-doomed", map[string]any{"kind": "react", "target": doomed.ID, "emoji": "x"})
	overHTTP("DELETE", base+"/messages/"+doomed.ID, http.StatusOK, nil)
	ws("b-edit-2", map[string]any{"kind": "edit", "target": root.ID, "body": "a root, edited twice"})
	// A resend changes nothing and makes no event.
	if again := chatSend(t, bws, room.ID, "b-react", map[string]any{"kind": "react", "target": root.ID, "emoji": "👍"}); again.Seq != want[5].Seq {
		t.Errorf("resent reaction acked as %s, want seq %d", again, want[5].Seq)
	}
	for i, e := range want {
		if e.Seq != cursor+int64(i)+1 {
			t.Fatalf("event %d (%s) has seq %d, want %d", i, e.Kind, e.Seq, cursor+int64(i)+1)
		}
	}
	last := want[len(want)-1].Seq

	// Alice resumes on the other node: every event once, in order, then
	// subscribed, then the live stream.
	back := away.ws(t, alice)
	if err := back.subscribeAfter(room.ID, cursor); err != nil {
		t.Fatal(err)
	}
	var got []e2eEvent
	for _, w := range want {
		e := chatEvent(t, back.expect(t, "message"))
		if e.Room != room.ID || e.Seq != w.Seq || e.ID != w.ID || e.Kind != w.Kind || e.Target != w.Target ||
			e.Thread != w.Thread || e.Emoji != w.Emoji || e.Author.ID != bob.User.ID {
			t.Fatalf("resumed event = %+v, want %+v", e, w)
		}
		got = append(got, e)
	}
	if f := back.expect(t, "subscribed"); f.Seq != last {
		t.Errorf("subscribed with seq %d, want %d", f.Seq, last)
	}
	live := chatSend(t, bws, room.ID, "b-live", map[string]any{"body": "live"})
	if e := chatEvent(t, back.expect(t, "message")); e.Seq != last+1 || e.ID != live.ID {
		t.Errorf("after the backlog: got %+v, want the live message at seq %d", e, last+1)
	}

	// What she had plus what she got folds into the server's history.
	msgs := map[string]*chatFolded{}
	top := chatFold(t, msgs, nil, []e2eEvent{seen})
	top = chatFold(t, msgs, top, got)
	var wantTop []*chatFolded
	for _, id := range top {
		wantTop = append(wantTop, msgs[id])
	}
	var h struct {
		Messages []e2eEvent `json:"messages"`
	}
	path := base + "/history?before=" + fmt.Sprint(last+1)
	away.do(t, "GET", path, alice.auth(), nil).expectJSON(t, "GET "+path, http.StatusOK, &h)
	chatCompare(t, "history", h.Messages, wantTop)
	var th struct {
		Root     e2eEvent   `json:"root"`
		Messages []e2eEvent `json:"messages"`
	}
	path = base + "/threads/" + root.ID + "?after=0"
	away.do(t, "GET", path, alice.auth(), nil).expectJSON(t, "GET "+path, http.StatusOK, &th)
	chatCompare(t, "thread root", []e2eEvent{th.Root}, []*chatFolded{msgs[root.ID]})
	var replies []*chatFolded
	for _, m := range msgs {
		if m.thread == root.ID {
			replies = append(replies, m)
		}
	}
	slices.SortFunc(replies, func(a, b *chatFolded) int { return strings.Compare(a.id, b.id) })
	slices.SortFunc(th.Messages, func(a, b e2eEvent) int { return strings.Compare(a.ID, b.ID) })
	chatCompare(t, "thread", th.Messages, replies)
	if msgs[root.ID].body != "a root, edited twice" || !msgs[doomed.ID].deleted || len(replies) != 2 {
		t.Errorf("the fold itself is off: %+v", msgs)
	}
}

// TestE2EChatUnreadCluster: two nodes on PostgreSQL and Redis. Senders on
// both burst messages and replies, some mentioning readers by name or
// @room, while the readers move their read markers on both nodes at once.
// At the end every reader's counts, asked on either node, are exactly what
// the stored stream after the reader's marker implies.
func TestE2EChatUnreadCluster(t *testing.T) {
	c := newCluster(t, "")
	nodes := []*e2eServer{c.start(t, "node-a"), c.start(t, "node-b")}
	owner := nodes[0].guest(t, "owner")
	room := nodes[0].room(t, owner, "unread burst", false)
	join := func(s *e2eServer, g e2eGuest) {
		t.Helper()
		s.do(t, "POST", fmt.Sprintf("/api/v1/rooms/%d/members", room.ID), g.auth(), nil).expectJSON(t, "join", http.StatusOK, nil)
	}
	names := []string{"alpha", "bravo", "charlie"}
	readers := make([]e2eGuest, len(names))
	for i, n := range names {
		readers[i] = nodes[i%2].guest(t, n)
		join(nodes[i%2], readers[i])
	}
	root := chatHTTP(t, nodes[0], owner, "POST", fmt.Sprintf("/api/v1/rooms/%d/messages", room.ID), http.StatusCreated,
		map[string]any{"client_id": "root", "body": "a thread for replies"})

	bodies := []string{"plain", "@alpha look", "@bravo and @charlie", "@room news", "@Alpha in any case", "mail me at x@alpha"}
	const perSender = 60
	senders := make([]*e2eConn, 4)
	for i := range senders {
		s := nodes[i%2]
		g := s.guest(t, fmt.Sprint("sender", i))
		join(s, g)
		senders[i] = s.ws(t, g)
	}

	var (
		wg      sync.WaitGroup
		done    = make(chan struct{})
		markers = make([]int64, len(readers))
		reads   = make([]int, len(readers))
	)
	for i, conn := range senders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rnd := rand.New(rand.NewPCG(uint64(i), 1))
			for k := range perSender {
				v := map[string]any{"body": bodies[rnd.IntN(len(bodies))]}
				if rnd.IntN(3) == 0 {
					v["thread"] = root.ID
				}
				if _, err := chatSendErr(conn, room.ID, fmt.Sprintf("s%d-%d", i, k), v); err != nil {
					t.Errorf("sender %d: %v", i, err)
					return
				}
			}
		}()
	}
	var readWG sync.WaitGroup
	for i, g := range readers {
		readWG.Add(1)
		go func() {
			defer readWG.Done()
			rnd := rand.New(rand.NewPCG(uint64(i), 2))
			read := func(n int) bool {
				s := nodes[n%2]
				var r struct {
					Room e2eRoom `json:"room"`
				}
				resp, err := s.request("GET", fmt.Sprintf("/api/v1/rooms/%d", room.ID), g.auth(), nil)
				if err != nil || resp.Status != http.StatusOK || json.Unmarshal(resp.Body, &r) != nil {
					t.Errorf("reader %s: GET room: %v %v", names[i], err, resp)
					return false
				}
				seq := rnd.Int64N(r.Room.LastSeq + 3)
				resp, err = s.request("PUT", fmt.Sprintf("/api/v1/rooms/%d/read", room.ID), g.auth(), map[string]int64{"seq": seq})
				var v struct {
					LastRead int64 `json:"last_read"`
				}
				if err != nil || resp.Status != http.StatusOK || json.Unmarshal(resp.Body, &v) != nil {
					t.Errorf("reader %s: PUT read %d: %v %v", names[i], seq, err, resp)
					return false
				}
				if v.LastRead < markers[i] {
					t.Errorf("reader %s: the marker went back from %d to %d", names[i], markers[i], v.LastRead)
				}
				markers[i] = v.LastRead
				reads[i]++
				if _, err := s.request("GET", "/api/v1/unread", g.auth(), nil); err != nil {
					t.Errorf("reader %s: GET unread: %v", names[i], err)
				}
				return true
			}
			for n := 0; ; n++ {
				select {
				case <-done:
					read(n) // once more, after the burst
					return
				default:
				}
				if !read(n) {
					return
				}
			}
		}()
	}
	wg.Wait()
	close(done)
	readWG.Wait()
	if t.Failed() {
		t.FailNow()
	}

	stream := chatStream(t, nodes[1], owner, room.ID)
	if want := 1 + len(senders)*perSender; len(stream) != want {
		t.Fatalf("stream has %d events, want %d", len(stream), want)
	}
	// The stored mentions are what the bodies say.
	ids := map[string]string{}
	for i, n := range names {
		ids[n] = readers[i].User.ID
	}
	for _, e := range stream[1:] {
		var want []string
		for _, n := range names {
			if strings.Contains(strings.ToLower(e.Body), " @"+n) || strings.HasPrefix(strings.ToLower(e.Body), "@"+n) {
				want = append(want, ids[n])
			}
		}
		slices.Sort(want)
		wantRoom := strings.Contains(e.Body, "@room")
		if !slices.Equal(e.Mentions, want) || e.MentionsRoom != wantRoom {
			t.Errorf("event %+v mentions %v, room %v; want %v, %v", e, e.Mentions, e.MentionsRoom, want, wantRoom)
		}
	}
	lastSeq := int64(len(stream))
	for i, g := range readers {
		var want struct{ unread, mentions int64 }
		for _, e := range stream[markers[i]:] {
			if e.Kind != "message" || e.Author.ID == g.User.ID || e.Deleted {
				continue
			}
			if e.Thread == "" {
				want.unread++
			}
			if e.MentionsRoom || slices.Contains(e.Mentions, g.User.ID) {
				want.mentions++
			}
		}
		t.Logf("reader %s: %d markers set during the burst, the last %d of %d: %d unread, %d mentions",
			names[i], reads[i], markers[i], lastSeq, want.unread, want.mentions)
		for _, s := range nodes {
			var v struct {
				Rooms []struct {
					Room     int64 `json:"room"`
					LastRead int64 `json:"last_read"`
					LastSeq  int64 `json:"last_seq"`
					Unread   int64 `json:"unread"`
					Mentions int64 `json:"mentions"`
				} `json:"rooms"`
			}
			s.do(t, "GET", "/api/v1/unread", g.auth(), nil).expectJSON(t, "GET /api/v1/unread", http.StatusOK, &v)
			if len(v.Rooms) != 1 {
				t.Fatalf("reader %s on %s: unread %+v, want the one room", names[i], s.addr, v.Rooms)
			}
			got := v.Rooms[0]
			if got.Room != room.ID || got.LastRead != markers[i] || got.LastSeq != lastSeq || got.Unread != want.unread || got.Mentions != want.mentions {
				t.Errorf("reader %s on %s: %+v, want last_read %d, last_seq %d, unread %d, mentions %d",
					names[i], s.addr, got, markers[i], lastSeq, want.unread, want.mentions)
			}
		}
	}
}
