package storetest

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/hanashi-chat/hanashi"
)

// folded is a message as a client that applied the whole stream sees it.
type folded struct {
	m         hanashi.Message
	reactions []foldedReaction // current ones, in the order they were given
	replies   []*folded
}

type foldedReaction struct {
	emoji string
	user  hanashi.UserID
}

// checkFold reads room's whole stream, applies it as a client would,
// checking on the way that every event was allowed by the rules of chat.go
// when it was stored, and compares the result with History and
// ThreadMessages as viewer reads them.
func checkFold(t *testing.T, s hanashi.Store, room hanashi.RoomID, viewer hanashi.UserID) {
	t.Helper()
	r, err := s.Room(t.Context(), room, viewer)
	if err != nil {
		t.Fatalf("Room: %v", err)
	}
	stream := allMessages(t, s, room)
	byID := map[hanashi.MessageID]*folded{}
	var top []*folded
	for i, e := range stream {
		if e.Seq != int64(i+1) {
			t.Fatalf("stream: event %d has seq %d", i, e.Seq)
		}
		bad := func(why string) {
			t.Errorf("stream: %s event %+v should have been refused: %s", e.Kind, e, why)
		}
		target := byID[e.Target]
		switch e.Kind {
		case hanashi.KindMessage, hanashi.KindRoom:
			f := &folded{m: e}
			f.m.Body = e.Body
			byID[e.ID] = f
			if e.Thread == "" {
				top = append(top, f)
				break
			}
			root := byID[e.Thread]
			switch {
			case root == nil:
				bad("no root")
			case root.m.Kind != hanashi.KindMessage || root.m.Thread != "":
				bad("not a root")
			case root.m.Deleted:
				bad("root deleted")
			default:
				root.m.Replies++
				at := e.CreatedAt
				root.m.LastReplyAt = &at
				root.replies = append(root.replies, f)
			}
		case hanashi.KindEdit:
			switch {
			case target == nil:
				bad("no target")
			case target.m.Kind != hanashi.KindMessage:
				bad("not a message")
			case target.m.Author.ID != e.Author.ID:
				bad("not the author")
			case target.m.Deleted:
				bad("deleted")
			default:
				target.m.Body = e.Body
				at := e.CreatedAt
				target.m.EditedAt = &at
			}
		case hanashi.KindDelete:
			switch {
			case target == nil:
				bad("no target")
			case target.m.Kind != hanashi.KindMessage && target.m.Kind != hanashi.KindRoom:
				bad("not a message")
			case target.m.Author.ID != e.Author.ID && (r.Kind == hanashi.RoomDirect || r.CreatedBy != e.Author.ID):
				bad("not the author or the moderator")
			case target.m.Deleted:
				bad("deleted twice")
			default:
				target.m.Deleted, target.m.Body, target.reactions = true, "", nil
				target.m.Mentions, target.m.MentionsRoom = nil, false
			}
		case hanashi.KindReact, hanashi.KindUnreact:
			if target == nil || target.m.Deleted || target.m.Kind != hanashi.KindMessage && target.m.Kind != hanashi.KindRoom {
				bad("no live message")
				break
			}
			k := foldedReaction{e.Emoji, e.Author.ID}
			has := slices.Contains(target.reactions, k)
			switch {
			case e.Kind == hanashi.KindReact && has:
				bad("reacted twice")
			case e.Kind == hanashi.KindUnreact && !has:
				bad("no such reaction")
			case e.Kind == hanashi.KindReact:
				target.reactions = append(target.reactions, k)
			default:
				target.reactions = slices.DeleteFunc(target.reactions, func(x foldedReaction) bool { return x == k })
			}
		default:
			t.Errorf("stream: unknown kind in %+v", e)
		}
	}

	compare := func(what string, got []hanashi.Message, want []*folded) {
		t.Helper()
		if len(got) != len(want) {
			t.Errorf("%s: %d messages, want %d", what, len(got), len(want))
			return
		}
		for i, g := range got {
			w := want[i].m
			w.Reactions = foldReactions(want[i].reactions, viewer)
			if !sameMessage(g, w) || g.Deleted != w.Deleted || g.Replies != w.Replies ||
				!sameTime(g.EditedAt, w.EditedAt) || !sameTime(g.LastReplyAt, w.LastReplyAt) ||
				!sameReactions(g.Reactions, w.Reactions) {
				t.Errorf("%s[%d] = %+v\nwant what the stream folds into: %+v", what, i, g, w)
			}
		}
	}
	compare("History", allHistory(t, s, room, viewer), top)
	for _, f := range top {
		if len(f.replies) > 0 {
			compare(fmt.Sprint("ThreadMessages(", f.m.Seq, ")"), allThread(t, s, room, f.m.ID, viewer), f.replies)
		}
	}
	// HistoryMessage folds each message, a reply too, as the pages do.
	for _, f := range byID {
		m, err := s.HistoryMessage(t.Context(), room, f.m.ID, viewer)
		if err != nil {
			t.Errorf("HistoryMessage(%s): %v", f.m.ID, err)
			continue
		}
		compare(fmt.Sprint("HistoryMessage(", f.m.Seq, ")"), []hanashi.Message{m}, []*folded{f})
	}
}

func sameTime(a, b *time.Time) bool {
	return a == nil && b == nil || a != nil && b != nil && a.Equal(*b)
}

// foldReactions groups rs, in the order they were given, as History does.
func foldReactions(rs []foldedReaction, viewer hanashi.UserID) []hanashi.Reaction {
	var out []hanashi.Reaction
	for _, x := range rs {
		i := slices.IndexFunc(out, func(r hanashi.Reaction) bool { return r.Emoji == x.emoji })
		if i < 0 {
			out = append(out, hanashi.Reaction{Emoji: x.emoji})
			i = len(out) - 1
		}
		r := &out[i]
		r.Count++
		if len(r.Users) < hanashi.MaxReactionUsers {
			r.Users = append(r.Users, x.user)
		}
		r.Mine = r.Mine || x.user == viewer
	}
	return out
}

// RandomChat has several users post random batches of every kind of event
// into one room at once, spread over nodes (stores that share one
// database; one store is one node): messages, replies, edits, deletions,
// reactions, many of them refused, often several acting on one message in
// one batch. Every post must be either stored or refused with a code of the
// rules, and the stream must fold into what History and ThreadMessages
// return: which proves that each store applied the rules in seq order.
func RandomChat(t *testing.T, nodes ...hanashi.Store) {
	s := nodes[0]
	f := newChat(t, s)
	dave := newUser(t, s, "dave")
	users := []hanashi.User{f.alice, f.bob, f.carol, dave}
	var (
		mu    sync.Mutex
		stats = map[string]int{}
		known []hanashi.MessageID // messages and replies stored so far
		roots []hanashi.MessageID
		wg    sync.WaitGroup
	)
	known = append(known, f.post(t, hanashi.Post{Author: f.alice.ID, Body: "first"}).ID)
	roots = append(roots, known[0])
	emojis := []string{"👍", "🎉", "x"}
	allowed := []string{hanashi.ECONFLICT, hanashi.EFORBIDDEN, hanashi.EINVALID, hanashi.ENOTFOUND}
	for g := range 8 {
		node := nodes[g%len(nodes)]
		user := users[g%len(users)]
		wg.Go(func() {
			for b := range 12 {
				mu.Lock()
				pool, rootPool := slices.Clone(known), slices.Clone(roots)
				mu.Unlock()
				focus := pool[rand.IntN(len(pool))]
				pick := func(from []hanashi.MessageID) hanashi.MessageID {
					if rand.IntN(2) == 0 {
						return focus
					}
					return from[rand.IntN(len(from))]
				}
				var batch []hanashi.Post
				for i := range rand.IntN(8) + 1 {
					p := hanashi.Post{Room: f.room.ID, Author: user.ID, ClientID: fmt.Sprintf("%d/%d/%d", g, b, i)}
					switch rand.IntN(10) {
					case 0, 1:
						p.Body = fmt.Sprintf("message %s @bob", p.ClientID)
					case 2, 3:
						p.Thread, p.Body = pick(rootPool), "reply @room"
					case 4:
						p.Kind, p.Target, p.Body = hanashi.KindEdit, pick(pool), "edited "+p.ClientID
					case 5:
						p.Kind, p.Target = hanashi.KindDelete, pick(pool)
					case 6, 7, 8:
						p.Kind, p.Target, p.Emoji = hanashi.KindReact, pick(pool), emojis[rand.IntN(len(emojis))]
					default:
						p.Kind, p.Target, p.Emoji = hanashi.KindUnreact, pick(pool), emojis[rand.IntN(len(emojis))]
					}
					batch = append(batch, p)
				}
				results, err := node.Post(t.Context(), batch)
				if err != nil {
					t.Errorf("Post: %v", err)
					return
				}
				mu.Lock()
				for i, res := range results {
					stats[fmt.Sprint(batch[i].Kind, " ", hanashi.ErrorCode(res.Err))]++
					switch {
					case res.Err == nil && res.Created:
						if res.Message.Kind == hanashi.KindMessage {
							known = append(known, res.Message.ID)
							if res.Message.Thread == "" {
								roots = append(roots, res.Message.ID)
							}
						}
					case res.Err == nil:
						t.Errorf("post %+v was taken for a retry: %+v", batch[i], res)
					case !slices.Contains(allowed, hanashi.ErrorCode(res.Err)):
						t.Errorf("post %+v refused with %v", batch[i], res.Err)
					}
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	t.Logf("outcomes by kind and code: %v", stats)
	if t.Failed() {
		t.FailNow()
	}
	for _, node := range nodes {
		checkFold(t, node, f.room.ID, f.bob.ID)
	}
}
