package web

import (
	"context"
	"net/http"

	"github.com/hanashi-chat/hanashi"
	"github.com/hanashi-chat/hanashi/avatar"
)

// A user's avatar is the first of: the picture they uploaded, their sign-in
// provider's picture, their Gravatar (by verified e-mail; the client falls
// back to initials when Gravatar has none), and an image of their initials.
// The choice is made whenever a source changes and stored as AvatarURL,
// which every message of theirs carries.
func (s *Server) resolveAvatar(u hanashi.User) string {
	switch {
	case u.Guest:
		return "" // the client draws a guest's initials
	case u.AvatarUpload != "":
		return s.basePath + avatarPath(u.AvatarUpload)
	case u.ProviderAvatar != "":
		return u.ProviderAvatar
	case u.Email != "":
		return avatar.Gravatar(u.Email)
	default:
		return s.basePath + "/api/v1/users/" + string(u.ID) + "/initials.png"
	}
}

// refreshAvatar stores the resolved avatar if it changed.
func (s *Server) refreshAvatar(ctx context.Context, u hanashi.User) hanashi.User {
	url := s.resolveAvatar(u)
	if url == u.AvatarURL {
		return u
	}
	nu, err := s.cfg.Store.UpdateProfile(ctx, u.ID, hanashi.ProfileUpdate{AvatarURL: &url})
	if err != nil {
		s.log.WarnContext(ctx, "updating the avatar failed", "user", u.ID, "err", err)
		return u
	}
	s.profileChanged(nu)
	return nu
}

// storeProfiles records uploads in the store.
type storeProfiles struct{ s *Server }

func (p storeProfiles) SetAvatarUpload(ctx context.Context, user hanashi.UserID, name string) (hanashi.User, error) {
	u, err := p.s.cfg.Store.UpdateProfile(ctx, user, hanashi.ProfileUpdate{AvatarUpload: &name})
	if err != nil {
		return u, err
	}
	return p.s.refreshAvatar(ctx, u), nil
}

// handleInitials serves the generated image of a user's initials.
func (s *Server) handleInitials() http.Handler {
	return s.api(func(w http.ResponseWriter, r *http.Request) error {
		u, err := s.cfg.Store.User(r.Context(), hanashi.UserID(r.PathValue("id")))
		if err != nil {
			return err
		}
		h := w.Header()
		h.Set("Content-Type", "image/png")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Content-Security-Policy", "default-src 'none'; sandbox")
		h.Set("Cache-Control", "public, max-age=3600")
		w.Write(avatar.Initials(string(u.ID), u.Name))
		return nil
	})
}

// handleUpdateMe changes the signed-in user's display name, whose change
// messages show at once, old ones too, and time zone.
func (s *Server) handleUpdateMe() http.Handler {
	type request struct {
		Name     *string `json:"name"`
		TimeZone *string `json:"time_zone"`
	}
	return s.api(func(w http.ResponseWriter, r *http.Request) error {
		var req request
		if err := decode(w, r, &req, false); err != nil {
			return err
		}
		var p hanashi.ProfileUpdate
		if req.Name != nil {
			name, err := hanashi.CheckName("name", *req.Name)
			if err != nil {
				return err
			}
			p.Name = &name
		}
		if req.TimeZone != nil {
			if err := hanashi.CheckTimeZone(*req.TimeZone); err != nil {
				return err
			}
			p.TimeZone = req.TimeZone
		}
		u, err := s.cfg.Store.UpdateProfile(r.Context(), userFrom(r.Context()).ID, p)
		if err != nil {
			return err
		}
		if p.Name != nil {
			s.profileChanged(u)
		}
		writeJSON(w, http.StatusOK, map[string]any{"user": u})
		return nil
	})
}

// handleUser answers a user's public profile (hanashi.Profile): any
// signed-in user may see anybody's, as members lists and messages show
// them already.
func (s *Server) handleUser() http.Handler {
	return s.api(func(w http.ResponseWriter, r *http.Request) error {
		u, err := s.cfg.Store.User(r.Context(), hanashi.UserID(r.PathValue("id")))
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, map[string]any{"user": u.Profile()})
		return nil
	})
}
