package web

import (
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
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rooms, err := s.cfg.Store.Rooms(r.Context(), userFrom(r.Context()).ID)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		if rooms == nil {
			rooms = []hanashi.Room{}
		}
		writeJSON(w, http.StatusOK, map[string]any{"rooms": rooms})
	})
}

func (s *Server) handleCreateRoom() http.Handler {
	type request struct {
		Name    string `json:"name"`
		Private bool   `json:"private"`
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req request
		if err := decode(w, r, &req, false); err != nil {
			s.writeError(w, r, err)
			return
		}
		name, err := validName("room name", req.Name)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		room, err := s.cfg.Store.CreateRoom(r.Context(), hanashi.NewRoom{Name: name, Private: req.Private, Creator: userFrom(r.Context()).ID})
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		writeJSON(w, http.StatusCreated, roomResponse{room})
	})
}

func (s *Server) handleGetRoom() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		room, err := s.visibleRoom(r)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, roomResponse{room})
	})
}

// handleJoin adds the caller, or with {"user_id": ...} somebody else.
func (s *Server) handleJoin() http.Handler {
	type request struct {
		UserID hanashi.UserID `json:"user_id"`
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, err := roomID(r)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		me := userFrom(r.Context()).ID
		req := request{UserID: me}
		if err := decode(w, r, &req, true); err != nil {
			s.writeError(w, r, err)
			return
		}
		if req.UserID == "" {
			req.UserID = me
		}
		if err := s.cfg.Store.AddMember(r.Context(), id, req.UserID, me); err != nil {
			s.writeError(w, r, err)
			return
		}
		room, err := s.cfg.Store.Room(r.Context(), id, me)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, roomResponse{room})
	})
}

func (s *Server) handleLeave() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, err := roomID(r)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		me := userFrom(r.Context()).ID
		room, err := s.cfg.Store.Room(r.Context(), id, me)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		if err := s.cfg.Store.RemoveMember(r.Context(), id, me); err != nil {
			s.writeError(w, r, err)
			return
		}
		if room.Private {
			// A private room is readable by members only: stop the live
			// streams this user's sockets had open to it.
			s.unsubscribeUser(me, id)
		}
		w.WriteHeader(http.StatusNoContent)
	})
}

// handleMessages pages a room's history by sequence number.
func (s *Server) handleMessages() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		room, err := s.visibleRoom(r)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		q := r.URL.Query()
		var p hanashi.Page
		for _, f := range []struct {
			name string
			dst  *int64
		}{{"after", &p.After}, {"before", &p.Before}} {
			if v := q.Get(f.name); v != "" {
				n, err := strconv.ParseInt(v, 10, 64)
				if err != nil || n < 0 {
					s.writeError(w, r, hanashi.Errorf(hanashi.EINVALID, "%s must be a sequence number", f.name))
					return
				}
				*f.dst = n
			}
		}
		if v := q.Get("limit"); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 {
				s.writeError(w, r, hanashi.Errorf(hanashi.EINVALID, "limit must be a positive number"))
				return
			}
			p.Limit = n
		}
		switch {
		case q.Has("after") && q.Has("before"):
			s.writeError(w, r, hanashi.Errorf(hanashi.EINVALID, "give after or before, not both"))
			return
		case !q.Has("after") && !q.Has("before"):
			// The newest page.
			p.Before = room.LastSeq + 1
		case q.Has("before") && p.Before == 0:
			writeJSON(w, http.StatusOK, map[string]any{"messages": []hanashi.Message{}})
			return
		}
		msgs, err := s.cfg.Store.Messages(r.Context(), room.ID, p.Clamp())
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		if msgs == nil {
			msgs = []hanashi.Message{}
		}
		writeJSON(w, http.StatusOK, map[string]any{"messages": msgs})
	})
}
