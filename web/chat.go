package web

// The HTTP side of team chat (docs/protocol.md, "Team chat"): history and
// threads folded, posting and changing messages, read markers, unread
// counts, members, finding people and direct rooms. Every event goes
// through the hub, as a WebSocket send does, so that it is durable before
// the answer and subscribers on every node get it live.

import (
	"context"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/hanashi-chat/hanashi"
)

// checkPost checks what needs no stored state: Post.Validate, and for a
// message a body that is not blank, which stores accept but every entry
// point refuses (CheckBody).
func checkPost(p hanashi.Post) error {
	if err := p.Validate(); err != nil {
		return err
	}
	if p.Kind == "" || p.Kind == hanashi.KindMessage {
		return hanashi.CheckBody(p.Body)
	}
	return nil
}

// messageID parses a message id path segment ({msg}, {root}). An id that
// cannot name a message is reported as not found, like any message that is
// not in the room.
func messageID(r *http.Request, name string) (hanashi.MessageID, error) {
	id := r.PathValue(name)
	if id == "" || len(id) > 128 || !utf8.ValidString(id) || strings.IndexByte(id, 0) >= 0 {
		return "", hanashi.ErrMessageNotFound
	}
	return hanashi.MessageID(id), nil
}

type messageResponse struct {
	Message hanashi.Message `json:"message"`
}

type messagesResponse struct {
	Messages []hanashi.Message `json:"messages"`
}

// utcMessages makes times UTC, as the WebSocket's frames have them.
func utcMessages(msgs []hanashi.Message) []hanashi.Message {
	msgs = list(msgs)
	for i := range msgs {
		msgs[i] = utcMessage(msgs[i])
	}
	return msgs
}

func utcMessage(m hanashi.Message) hanashi.Message {
	m.CreatedAt = m.CreatedAt.UTC()
	if m.EditedAt != nil {
		t := m.EditedAt.UTC()
		m.EditedAt = &t
	}
	if m.LastReplyAt != nil {
		t := m.LastReplyAt.UTC()
		m.LastReplyAt = &t
	}
	return m
}

// handleHistory pages a room's top-level messages with their changes
// folded in.
func (s *Server) handleHistory() http.Handler {
	return s.api(func(w http.ResponseWriter, r *http.Request) error {
		viewer := userFrom(r.Context()).ID
		msgs, err := s.roomPage(r, func(ctx context.Context, room hanashi.RoomID, p hanashi.Page) ([]hanashi.Message, error) {
			return s.cfg.Store.History(ctx, room, viewer, p)
		})
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, messagesResponse{utcMessages(msgs)})
		return nil
	})
}

// threadRoot returns the {root} message of a visible room, which must be
// a top-level message: replies have no thread of their own.
func (s *Server) threadRoot(r *http.Request) (hanashi.Room, hanashi.Message, error) {
	room, err := s.visibleRoom(r)
	if err != nil {
		return room, hanashi.Message{}, err
	}
	id, err := messageID(r, "root")
	if err != nil {
		return room, hanashi.Message{}, err
	}
	root, err := s.cfg.Store.HistoryMessage(r.Context(), room.ID, id, userFrom(r.Context()).ID)
	if err != nil {
		return room, hanashi.Message{}, err
	}
	if root.Thread != "" {
		return room, hanashi.Message{}, hanashi.Errorf(hanashi.ENOTFOUND, "a reply has no thread of its own")
	}
	return room, root, nil
}

// handleThread answers a thread's root and a page of its replies, folded.
func (s *Server) handleThread() http.Handler {
	return s.api(func(w http.ResponseWriter, r *http.Request) error {
		room, root, err := s.threadRoot(r)
		if err != nil {
			return err
		}
		p, err := parsePage(r, room.LastSeq)
		if err != nil {
			return err
		}
		var msgs []hanashi.Message
		if p.Limit > 0 {
			if msgs, err = s.cfg.Store.ThreadMessages(r.Context(), room.ID, root.ID, userFrom(r.Context()).ID, p); err != nil {
				return err
			}
		}
		writeJSON(w, http.StatusOK, map[string]any{"root": utcMessage(root), "messages": utcMessages(msgs)})
		return nil
	})
}

// handleMessage answers one message of a visible room, folded as history
// folds it: a top-level message, a room link or a reply (its thread names
// the root). A permalink's client learns the message's seq from it, to
// page the history back to it. Change events (edits, reactions) are not
// messages: 404, like an id that is not in the room.
func (s *Server) handleMessage() http.Handler {
	return s.api(func(w http.ResponseWriter, r *http.Request) error {
		room, err := s.visibleRoom(r)
		if err != nil {
			return err
		}
		id, err := messageID(r, "msg")
		if err != nil {
			return err
		}
		m, err := s.cfg.Store.HistoryMessage(r.Context(), room.ID, id, userFrom(r.Context()).ID)
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, messageResponse{utcMessage(m)})
		return nil
	})
}

// post stores p in room, which the caller has found visible, through the
// hub, and answers the stored event: 201 when it is new, 200 for a resend
// of one stored before (or when always200, for changes to a message).
func (s *Server) post(w http.ResponseWriter, r *http.Request, room hanashi.Room, p hanashi.Post, always200 bool) error {
	p.Room, p.Author = room.ID, userFrom(r.Context()).ID
	if err := checkPost(p); err != nil {
		return err
	}
	res, err := s.cfg.Hub.PostResult(r.Context(), p)
	if err != nil {
		return err
	}
	if res.Err != nil {
		return res.Err
	}
	status := http.StatusOK
	if res.Created && !always200 {
		status = http.StatusCreated
	}
	writeJSON(w, status, messageResponse{utcMessage(res.Message)})
	return nil
}

// handlePostMessage posts a message, or with "thread" a reply.
func (s *Server) handlePostMessage() http.Handler {
	type request struct {
		ClientID string            `json:"client_id"`
		Body     string            `json:"body"`
		Thread   hanashi.MessageID `json:"thread"`
	}
	return s.api(func(w http.ResponseWriter, r *http.Request) error {
		room, err := s.visibleRoom(r)
		if err != nil {
			return err
		}
		var req request
		if err := decode(w, r, &req, false); err != nil {
			return err
		}
		return s.post(w, r, room, hanashi.Post{ClientID: req.ClientID, Body: req.Body, Thread: req.Thread}, false)
	})
}

// changeRequest is the optional body of the requests that change a
// message: a client id makes them idempotent, as sends are.
type changeRequest struct {
	ClientID string  `json:"client_id"`
	Body     *string `json:"body"`
}

// handleChangeMessage posts an event of kind about the {msg} message: an
// edit (which needs a body), a deletion, or with an {emoji} a reaction
// added or taken back. A room the caller cannot see is not found before
// anything else is looked at.
func (s *Server) handleChangeMessage(kind hanashi.Kind) http.Handler {
	return s.api(func(w http.ResponseWriter, r *http.Request) error {
		room, err := s.visibleRoom(r)
		if err != nil {
			return err
		}
		target, err := messageID(r, "msg")
		if err != nil {
			return err
		}
		var req changeRequest
		if err := decode(w, r, &req, kind != hanashi.KindEdit); err != nil {
			return err
		}
		p := hanashi.Post{ClientID: req.ClientID, Kind: kind, Target: target}
		switch kind {
		case hanashi.KindEdit:
			if req.Body == nil {
				return hanashi.Errorf(hanashi.EINVALID, "body is empty")
			}
			p.Body = *req.Body
		case hanashi.KindReact, hanashi.KindUnreact:
			// The path value is already unescaped: %F0%9F%91%8D is 👍.
			p.Emoji = r.PathValue("emoji")
			if err := hanashi.CheckEmoji(p.Emoji); err != nil {
				return err
			}
		}
		if req.Body != nil && kind != hanashi.KindEdit {
			return hanashi.Errorf(hanashi.EINVALID, "only an edit has a body")
		}
		return s.post(w, r, room, p, true)
	})
}

// seqRequest is the body of the requests that move a read marker.
type seqRequest struct {
	Seq *int64 `json:"seq"`
}

func (q seqRequest) check() error {
	if q.Seq == nil || *q.Seq < 0 {
		return hanashi.Errorf(hanashi.EINVALID, "seq must be a sequence number")
	}
	return nil
}

// handleMarkRead advances the caller's read marker in a room; markRead
// tells the caller's other connections.
func (s *Server) handleMarkRead() http.Handler {
	return s.api(func(w http.ResponseWriter, r *http.Request) error {
		room, err := s.visibleRoom(r)
		if err != nil {
			return err
		}
		var req seqRequest
		if err := decode(w, r, &req, false); err != nil {
			return err
		}
		if err := req.check(); err != nil {
			return err
		}
		last, err := s.markRead(r.Context(), userFrom(r.Context()).ID, room.ID, *req.Seq)
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, map[string]int64{"last_read": last})
		return nil
	})
}

// handleMarkUnread moves the caller's read marker in a room they are a
// member of to just before a message ("mark unread"); markUnread tells
// all the caller's connections.
func (s *Server) handleMarkUnread() http.Handler {
	return s.api(func(w http.ResponseWriter, r *http.Request) error {
		room, err := s.visibleRoom(r)
		if err != nil {
			return err
		}
		var req seqRequest
		if err := decode(w, r, &req, false); err != nil {
			return err
		}
		if req.Seq == nil || *req.Seq < 1 {
			return hanashi.Errorf(hanashi.EINVALID, "seq must be a message's sequence number")
		}
		if !room.Member {
			return hanashi.ErrUnreadNotMember
		}
		last, err := s.markUnread(r.Context(), userFrom(r.Context()).ID, room.ID, *req.Seq)
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, map[string]int64{"last_read": last})
		return nil
	})
}

// handleMarkThreadRead advances the caller's read marker in a thread.
func (s *Server) handleMarkThreadRead() http.Handler {
	return s.api(func(w http.ResponseWriter, r *http.Request) error {
		room, root, err := s.threadRoot(r)
		if err != nil {
			return err
		}
		var req seqRequest
		if err := decode(w, r, &req, false); err != nil {
			return err
		}
		if err := req.check(); err != nil {
			return err
		}
		if err := s.cfg.Store.MarkThreadRead(r.Context(), userFrom(r.Context()).ID, room.ID, root.ID, *req.Seq); err != nil {
			return err
		}
		w.WriteHeader(http.StatusNoContent)
		return nil
	})
}

// handleFollowThread makes the caller follow a thread, or stop.
func (s *Server) handleFollowThread(follow bool) http.Handler {
	return s.api(func(w http.ResponseWriter, r *http.Request) error {
		room, root, err := s.threadRoot(r)
		if err != nil {
			return err
		}
		if err := s.cfg.Store.FollowThread(r.Context(), userFrom(r.Context()).ID, room.ID, root.ID, follow); err != nil {
			return err
		}
		w.WriteHeader(http.StatusNoContent)
		return nil
	})
}

// handleUnread answers the caller's unread counts: per room, and per
// followed thread with unread replies.
func (s *Server) handleUnread() http.Handler {
	return s.api(func(w http.ResponseWriter, r *http.Request) error {
		me := userFrom(r.Context()).ID
		rooms, err := s.cfg.Store.Unread(r.Context(), me)
		if err != nil {
			return err
		}
		threads, err := s.cfg.Store.UnreadThreads(r.Context(), me)
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, map[string]any{"rooms": list(rooms), "threads": list(threads)})
		return nil
	})
}

// handleMembers lists the members of a visible room.
func (s *Server) handleMembers() http.Handler {
	return s.api(func(w http.ResponseWriter, r *http.Request) error {
		room, err := s.visibleRoom(r)
		if err != nil {
			return err
		}
		members, err := s.cfg.Store.Members(r.Context(), room.ID)
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, map[string]any{"members": list(members)})
		return nil
	})
}

// handleSearchUsers finds signed-in users by the start of their name, to
// start a direct conversation with.
func (s *Server) handleSearchUsers() http.Handler {
	return s.api(func(w http.ResponseWriter, r *http.Request) error {
		q := r.URL.Query().Get("q")
		if utf8.RuneCountInString(q) > hanashi.MaxNameLen {
			// No name is longer; nobody can match.
			writeJSON(w, http.StatusOK, map[string]any{"users": []hanashi.Author{}})
			return nil
		}
		users, err := s.cfg.Store.SearchUsers(r.Context(), q, hanashi.DefaultUserSearch)
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, map[string]any{"users": list(users)})
		return nil
	})
}

// handleDirect returns the direct room of the caller and the listed users,
// making it the first time.
func (s *Server) handleDirect() http.Handler {
	type request struct {
		Users []hanashi.UserID `json:"users"`
	}
	return s.api(func(w http.ResponseWriter, r *http.Request) error {
		var req request
		if err := decode(w, r, &req, false); err != nil {
			return err
		}
		// The caller may list themselves; more entries than that cannot
		// be a direct room, and are refused before any work.
		if len(req.Users) == 0 || len(req.Users) > hanashi.MaxDirectMembers {
			return hanashi.Errorf(hanashi.EINVALID, "a direct room is you and 1 to %d others", hanashi.MaxDirectMembers-1)
		}
		members := append([]hanashi.UserID{userFrom(r.Context()).ID}, req.Users...)
		room, err := s.cfg.Store.DirectRoom(r.Context(), members)
		if err != nil {
			return err
		}
		s.directRoomMade(room, members)
		writeJSON(w, http.StatusOK, roomResponse{room})
		return nil
	})
}

// publishLink hands the link a nested room left in its parent's stream to
// the hub, so that the parent's subscribers, on every node, see it live.
// The room exists whatever happens here: a failure is logged, and
// subscribers read the link from the store when the next event shows the
// gap, or when they resume. It outlives the request, which may end first.
func (s *Server) publishLink(ctx context.Context, room hanashi.Room) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	msgs, err := s.cfg.Store.Messages(ctx, room.Parent, hanashi.Page{After: room.ParentSeq - 1, Limit: 1})
	if err != nil || len(msgs) != 1 || msgs[0].Seq != room.ParentSeq || msgs[0].Child != room.ID {
		s.log.ErrorContext(ctx, "reading a nested room's link failed", "room", room.ID, "parent", room.Parent, "seq", room.ParentSeq, "err", err)
		return
	}
	s.cfg.Hub.Publish(ctx, msgs) // logs its own failure
}

// list makes a nil slice an empty one, so that JSON shows [] rather than
// null for a list with nothing in it.
func list[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
