package web

import (
	"net/http"

	"github.com/hanashi-chat/hanashi"
)

// apiFallback takes every API request that no route matches.
const apiFallback = "/api/"

// routes is the whole HTTP surface of the server.
func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", s.handleHealth)
	mux.HandleFunc("GET /readyz", s.handleReady)
	if s.cfg.Metrics != nil {
		mux.Handle("GET /metrics", s.cfg.Metrics)
	}

	// Sign-in and sessions (package auth).
	mux.Handle("GET /login", s.auth.LoginPage())
	mux.Handle("GET /auth/pages.css", s.auth.PagesStyle())
	mux.Handle("GET /auth/{provider}/login", s.auth.OAuthLogin())
	mux.Handle("GET /auth/{provider}/callback", s.auth.OAuthCallback())
	mux.Handle("POST /auth/email", s.auth.EmailLink())
	mux.Handle("GET /auth/email/verify", s.auth.EmailVerify())
	mux.Handle("POST /auth/email/redeem", s.auth.EmailRedeem())
	mux.Handle("POST /api/v1/guests", s.auth.CreateGuest())
	mux.Handle("GET /api/v1/me", s.authed(s.auth.Me()))
	mux.Handle("DELETE /api/v1/session", s.authed(s.auth.Logout()))
	mux.Handle("DELETE /api/v1/sessions", s.authed(s.auth.LogoutAll()))
	mux.Handle("PUT /api/v1/users/{id}/disabled", s.authed(s.auth.DisableUser()))

	// Profiles and avatars (profile.go, avatar.go).
	mux.Handle("PATCH /api/v1/me", s.authed(s.handleUpdateMe()))
	mux.Handle("GET /api/v1/users/{id}", s.authed(s.handleUser()))
	mux.Handle("GET /api/v1/users/{id}/initials.png", s.authed(s.handleInitials()))
	if s.cfg.Avatars != nil {
		mux.Handle("POST /api/v1/me/avatar", s.authed(s.handleAvatarUpload(s.cfg.Avatars, storeProfiles{s})))
		mux.Handle("GET /api/v1/avatars/{name}", s.handleAvatarServe(s.cfg.Avatars))
	}

	mux.Handle("GET /api/v1/rooms", s.authed(s.handleListRooms()))
	mux.Handle("POST /api/v1/rooms", s.authed(s.handleCreateRoom()))
	mux.Handle("GET /api/v1/rooms/{id}", s.authed(s.handleGetRoom()))
	mux.Handle("PATCH /api/v1/rooms/{id}", s.authed(s.handleUpdateRoom()))
	mux.Handle("POST /api/v1/rooms/{id}/members", s.authed(s.handleJoin()))
	mux.Handle("DELETE /api/v1/rooms/{id}/members/me", s.authed(s.handleLeave()))
	mux.Handle("GET /api/v1/rooms/{id}/messages", s.authed(s.handleMessages()))

	// Team chat (chat.go).
	mux.Handle("GET /api/v1/rooms/{id}/history", s.authed(s.handleHistory()))
	mux.Handle("GET /api/v1/rooms/{id}/threads/{root}", s.authed(s.handleThread()))
	mux.Handle("POST /api/v1/rooms/{id}/messages", s.authed(s.handlePostMessage()))
	mux.Handle("GET /api/v1/rooms/{id}/messages/{msg}", s.authed(s.handleMessage()))
	mux.Handle("PATCH /api/v1/rooms/{id}/messages/{msg}", s.authed(s.handleChangeMessage(hanashi.KindEdit)))
	mux.Handle("DELETE /api/v1/rooms/{id}/messages/{msg}", s.authed(s.handleChangeMessage(hanashi.KindDelete)))
	mux.Handle("PUT /api/v1/rooms/{id}/messages/{msg}/reactions/{emoji}", s.authed(s.handleChangeMessage(hanashi.KindReact)))
	mux.Handle("DELETE /api/v1/rooms/{id}/messages/{msg}/reactions/{emoji}", s.authed(s.handleChangeMessage(hanashi.KindUnreact)))
	mux.Handle("PUT /api/v1/rooms/{id}/read", s.authed(s.handleMarkRead()))
	mux.Handle("PUT /api/v1/rooms/{id}/unread", s.authed(s.handleMarkUnread()))
	mux.Handle("PUT /api/v1/rooms/{id}/threads/{root}/read", s.authed(s.handleMarkThreadRead()))
	mux.Handle("PUT /api/v1/rooms/{id}/threads/{root}/follow", s.authed(s.handleFollowThread(true)))
	mux.Handle("DELETE /api/v1/rooms/{id}/threads/{root}/follow", s.authed(s.handleFollowThread(false)))
	mux.Handle("GET /api/v1/rooms/{id}/members", s.authed(s.handleMembers()))
	mux.Handle("GET /api/v1/unread", s.authed(s.handleUnread()))
	mux.Handle("GET /api/v1/users", s.authed(s.handleSearchUsers()))
	mux.Handle("POST /api/v1/direct", s.authed(s.handleDirect()))

	mux.Handle("GET /api/v1/ws", s.handleWebSocket())
	mux.Handle(apiFallback, s.handleNotFound(mux))

	mux.Handle("/", s.handleStatic())

	// Browsers may not change state cross-site (CSRF); the WebSocket does
	// its own Origin check.
	csrf := http.NewCrossOriginProtection()
	for _, o := range s.cfg.AllowedOrigins {
		csrf.AddTrustedOrigin(o)
	}
	csrf.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.writeError(w, r, errCrossOrigin)
	}))
	var routed http.Handler = mux
	if s.cfg.Trace != nil {
		routed = s.cfg.Trace(mux) // innermost: the mux sets r.Pattern on its request
	}
	return s.recoverPanics(csrf.Handler(routed)) // ServeHTTP has set the security headers
}
