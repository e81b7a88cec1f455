package web

import (
	"net/http"

	"github.com/hanashi-chat/hanashi"
	"github.com/hanashi-chat/hanashi/internal/httpapi"
)

var errCrossOrigin = hanashi.Errorf(hanashi.EFORBIDDEN, "cross-origin request refused")

// The error table, the error body and the JSON plumbing live in package
// httpapi, which auth shares; these are the short names web's handlers use.

// writeError answers with err (httpapi.Errors.Write): its code and
// user-facing message, 503 for internal errors while the node is not ready.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	s.errs.Write(w, r, err)
}

// apiFunc is an API handler that returns its error instead of writing it.
type apiFunc = httpapi.Func

// api adapts an apiFunc: a returned error is answered by writeError, so
// every API error has one shape and internal ones are logged once.
func (s *Server) api(f apiFunc) http.Handler {
	return s.errs.Handler(f)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	httpapi.WriteJSON(w, status, v)
}

// decode reads a JSON body into v. An empty body leaves v as it is when
// optional is true.
func decode(w http.ResponseWriter, r *http.Request, v any, optional bool) error {
	return httpapi.Decode(w, r, v, optional)
}
