package web

import (
	"context"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"strconv"

	"github.com/hanashi-chat/hanashi"
	"github.com/hanashi-chat/hanashi/auth"
)

// RequestIDHeader carries a request's id, in requests (from a proxy in
// front that has given it one already) and in every response.
const RequestIDHeader = "X-Request-Id"

// maxRequestID bounds an incoming id; proxies' ids (UUIDs, nginx's
// $request_id, AWS trace ids) are well under it.
const maxRequestID = 128

type requestIDKey struct{}

// RequestID returns the id of the request ctx belongs to, or "".
func RequestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey{}).(string)
	return id
}

// withRequestID gives a request its id: the incoming X-Request-Id when it
// is well formed, so that one id follows a request through the proxy's
// log and ours, and a new random one otherwise. The id goes back in the
// response header, for a user's bug report, and into the context, where
// LogHandler finds it for every log line written while handling the
// request.
func withRequestID(w http.ResponseWriter, r *http.Request) *http.Request {
	id := r.Header.Get(RequestIDHeader)
	if !validRequestID(id) {
		id = newRequestID()
	}
	w.Header().Set(RequestIDHeader, id)
	return r.WithContext(context.WithValue(r.Context(), requestIDKey{}, id))
}

// newRequestID returns 16 random hex digits: unique enough to find a
// request in the logs, and no secret, so math/rand is enough.
func newRequestID() string {
	id := strconv.FormatUint(rand.Uint64(), 16)
	for len(id) < 16 {
		id = "0" + id
	}
	return id
}

// validRequestID accepts the ids proxies make (letters, digits and a few
// separators) and nothing that could forge or break a log line.
func validRequestID(id string) bool {
	if id == "" || len(id) > maxRequestID {
		return false
	}
	for i := 0; i < len(id); i++ {
		switch c := id[i]; {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case c == '-', c == '_', c == '.', c == ':', c == '+', c == '/', c == '=', c == '@':
		default:
			return false
		}
	}
	return true
}

// LogHandler wraps a slog.Handler so that every record logged with the
// context of a request (Logger.InfoContext and the like) carries the
// request's id as request_id, and, once the request is signed in, the id
// of the user it acts for as user — never a token or an e-mail address. A
// record that names a user itself keeps its own. A WebSocket's records
// carry both for as long as the connection lives (conn.logContext).
func LogHandler(h slog.Handler) slog.Handler { return requestIDHandler{h} }

type requestIDHandler struct{ slog.Handler }

type logUserKey struct{}

// withLogUser is ctx whose records carry user; auth's signed-in user
// does the same for HTTP requests.
func withLogUser(ctx context.Context, user hanashi.UserID) context.Context {
	return context.WithValue(ctx, logUserKey{}, user)
}

func (h requestIDHandler) Handle(ctx context.Context, r slog.Record) error {
	id := RequestID(ctx)
	user, _ := ctx.Value(logUserKey{}).(hanashi.UserID)
	if user == "" && id != "" {
		user = auth.UserFrom(ctx).ID
	}
	if user != "" {
		r.Attrs(func(a slog.Attr) bool {
			if a.Key == "user" {
				user = ""
			}
			return user != ""
		})
	}
	if id == "" && user == "" {
		return h.Handler.Handle(ctx, r)
	}
	r = r.Clone()
	if id != "" {
		r.AddAttrs(slog.String("request_id", id))
	}
	if user != "" {
		r.AddAttrs(slog.String("user", string(user)))
	}
	return h.Handler.Handle(ctx, r)
}

func (h requestIDHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return requestIDHandler{h.Handler.WithAttrs(attrs)}
}

func (h requestIDHandler) WithGroup(name string) slog.Handler {
	return requestIDHandler{h.Handler.WithGroup(name)}
}
