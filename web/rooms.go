package web

import (
	"context"
	"net/http"
	"strconv"

	"github.com/hanashi-chat/hanashi"
)

// roomID parses the {id} path value. A malformed id is reported as not
// found, like any room the caller cannot see.
func roomID(r *http.Request) (hanashi.RoomID, error) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		return 0, hanashi.Errorf(hanashi.ENOTFOUND, "room not found")
	}
	return hanashi.RoomID(id), nil
}

// visibleRoom returns the {id} room as the signed-in user sees it.
func (s *Server) visibleRoom(r *http.Request) (hanashi.Room, error) {
	id, err := roomID(r)
	if err != nil {
		return hanashi.Room{}, err
	}
	return s.cfg.Store.Room(r.Context(), id, userFrom(r.Context()).ID)
}

type roomResponse struct {
	Room hanashi.Room `json:"room"`
}

func (s *Server) handleListRooms() http.Handler {
	return s.api(func(w http.ResponseWriter, r *http.Request) error {
		rooms, err := s.cfg.Store.Rooms(r.Context(), userFrom(r.Context()).ID)
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, map[string]any{"rooms": list(rooms)})
		return nil
	})
}

func (s *Server) handleCreateRoom() http.Handler {
	type request struct {
		Name    string `json:"name"`
		Private bool   `json:"private"`
		// GuestsAllowed, default true, lets guests join and post.
		GuestsAllowed *bool `json:"guests_allowed"`
		// Parent, if set, is the room to create this one inside.
		Parent hanashi.RoomID `json:"parent"`
	}
	return s.api(func(w http.ResponseWriter, r *http.Request) error {
		var req request
		if err := decode(w, r, &req, false); err != nil {
			return err
		}
		if req.Parent != 0 {
			// A parent the caller cannot see is not found, whatever else
			// is wrong with the request (the store checks the rest).
			if req.Parent < 0 {
				return hanashi.Errorf(hanashi.ENOTFOUND, "room not found")
			}
			if _, err := s.cfg.Store.Room(r.Context(), req.Parent, userFrom(r.Context()).ID); err != nil {
				return err
			}
		}
		name, err := hanashi.CheckName("room name", req.Name)
		if err != nil {
			return err
		}
		noGuests := req.GuestsAllowed != nil && !*req.GuestsAllowed
		room, err := s.cfg.Store.CreateRoom(r.Context(), hanashi.NewRoom{Name: name, Private: req.Private, NoGuests: noGuests,
			Creator: userFrom(r.Context()).ID, Parent: req.Parent})
		if err != nil {
			return err
		}
		if room.Parent != 0 {
			// The store wrote the link into the parent's stream; nothing
			// else publishes it.
			s.publishLink(r.Context(), room)
		}
		s.roomCreated(room)
		writeJSON(w, http.StatusCreated, roomResponse{room})
		return nil
	})
}

func (s *Server) handleGetRoom() http.Handler {
	return s.api(func(w http.ResponseWriter, r *http.Request) error {
		room, err := s.visibleRoom(r)
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, roomResponse{room})
		return nil
	})
}

// handleJoin adds the caller, or with {"user_id": ...} somebody else.
func (s *Server) handleJoin() http.Handler {
	type request struct {
		UserID hanashi.UserID `json:"user_id"`
	}
	return s.api(func(w http.ResponseWriter, r *http.Request) error {
		id, err := roomID(r)
		if err != nil {
			return err
		}
		me := userFrom(r.Context()).ID
		var req request
		if err := decode(w, r, &req, true); err != nil {
			return err
		}
		if req.UserID == "" {
			req.UserID = me
		}
		if err := s.cfg.Store.AddMember(r.Context(), id, req.UserID, me); err != nil {
			return err
		}
		s.joined(r.Context(), id, req.UserID)
		room, err := s.cfg.Store.Room(r.Context(), id, me)
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, roomResponse{room})
		return nil
	})
}

// handleUpdateRoom changes what members may change of a room: its topic.
func (s *Server) handleUpdateRoom() http.Handler {
	type request struct {
		Topic *string `json:"topic"`
	}
	return s.api(func(w http.ResponseWriter, r *http.Request) error {
		id, err := roomID(r)
		if err != nil {
			return err
		}
		var req request
		if err := decode(w, r, &req, false); err != nil {
			return err
		}
		if req.Topic == nil {
			return hanashi.Errorf(hanashi.EINVALID, "nothing to change: give a topic")
		}
		topic, err := hanashi.CheckTopic(*req.Topic)
		if err != nil {
			return err
		}
		room, err := s.cfg.Store.SetTopic(r.Context(), id, userFrom(r.Context()).ID, topic)
		if err != nil {
			return err
		}
		s.roomChanged(r.Context(), room)
		writeJSON(w, http.StatusOK, roomResponse{room})
		return nil
	})
}

func (s *Server) handleLeave() http.Handler {
	return s.api(func(w http.ResponseWriter, r *http.Request) error {
		room, err := s.visibleRoom(r)
		if err != nil {
			return err
		}
		me := userFrom(r.Context())
		if err := s.cfg.Store.RemoveMember(r.Context(), room.ID, me.ID); err != nil {
			return err
		}
		s.left(r.Context(), room, me)
		w.WriteHeader(http.StatusNoContent)
		return nil
	})
}

// handleMessages pages a room's history by sequence number.
func (s *Server) handleMessages() http.Handler {
	return s.api(func(w http.ResponseWriter, r *http.Request) error {
		msgs, err := s.roomPage(r, s.cfg.Store.Messages)
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, map[string]any{"messages": list(msgs)})
		return nil
	})
}

// roomPage reads the page of the request's query (parsePage) from the
// {id} room, which must be visible to the caller, with read.
func (s *Server) roomPage(r *http.Request, read func(context.Context, hanashi.RoomID, hanashi.Page) ([]hanashi.Message, error)) ([]hanashi.Message, error) {
	room, err := s.visibleRoom(r)
	if err != nil {
		return nil, err
	}
	p, err := parsePage(r, room.LastSeq)
	if err != nil || p.Limit <= 0 {
		return nil, err
	}
	return read(r.Context(), room.ID, p)
}

// parsePage reads after, before and limit. With neither cursor it is the
// newest page. A zero Limit means the page is empty by definition
// (before=0).
func parsePage(r *http.Request, lastSeq int64) (hanashi.Page, error) {
	q := r.URL.Query()
	var p hanashi.Page
	for _, f := range []struct {
		name string
		dst  *int64
	}{{"after", &p.After}, {"before", &p.Before}} {
		if v := q.Get(f.name); v != "" {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil || n < 0 {
				return p, hanashi.Errorf(hanashi.EINVALID, "%s must be a sequence number", f.name)
			}
			*f.dst = n
		}
	}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return p, hanashi.Errorf(hanashi.EINVALID, "limit must be a positive number")
		}
		p.Limit = n
	}
	switch {
	case q.Has("after") && q.Has("before"):
		return p, hanashi.Errorf(hanashi.EINVALID, "give after or before, not both")
	case !q.Has("after") && !q.Has("before"):
		p.Before = lastSeq + 1
	case q.Has("before") && p.Before == 0:
		return hanashi.Page{}, nil
	}
	return p.Clamp(), nil
}
