package web

import (
	"context"
	"net/http"

	"github.com/hanashi-chat/hanashi"
	"github.com/hanashi-chat/hanashi/auth"
)

// Sessions and sign-in are package auth's (s.auth); these are the short
// names web's handlers use to ask who is signed in.

// userFrom returns the signed-in user that authed put in the context.
func userFrom(ctx context.Context) hanashi.User {
	return auth.UserFrom(ctx)
}

// authed lets only requests with a valid session through.
func (s *Server) authed(next http.Handler) http.Handler {
	return s.auth.RequireSession(next)
}

// authenticate resolves the request's session (auth.Auth.Authenticate).
func (s *Server) authenticate(r *http.Request) (u hanashi.User, tokenHash []byte, bearer bool, err error) {
	return s.auth.Authenticate(r)
}
