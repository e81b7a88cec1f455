package web

import (
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"

	"github.com/hanashi-chat/hanashi"
)

// statusOf is the one table from error codes to HTTP statuses.
var statusOf = map[string]int{
	hanashi.EINVALID:      http.StatusBadRequest,
	hanashi.EUNAUTHORIZED: http.StatusUnauthorized,
	hanashi.EFORBIDDEN:    http.StatusForbidden,
	hanashi.ENOTFOUND:     http.StatusNotFound,
	hanashi.ECONFLICT:     http.StatusConflict,
	hanashi.ETOOLARGE:     http.StatusRequestEntityTooLarge,
	hanashi.EUNSUPPORTED:  http.StatusUnsupportedMediaType,
	hanashi.ERATELIMITED:  http.StatusTooManyRequests,
	hanashi.EUNAVAILABLE:  http.StatusServiceUnavailable,
	hanashi.EINTERNAL:     http.StatusInternalServerError,
}

type errorBody struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

// writeError answers with err's code and user-facing message. Errors that
// are not *hanashi.Error are logged with their details and shown as
// "internal error" — unless the node is not ready, a dependency being
// down: then they are "unavailable" (503, try again, elsewhere if need
// be), and counted in a summary rather than logged one by one, since each
// would say the same and the log would become the load.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	code := hanashi.ErrorCode(err)
	if code == hanashi.EINTERNAL {
		if s.cfg.Ready != nil && s.cfg.Ready(r.Context()) != nil {
			s.unready.Fail(1, err, "path", r.URL.Path)
			err = hanashi.Errorf(hanashi.EUNAVAILABLE, "the server cannot reach what it depends on, try again")
			code = hanashi.EUNAVAILABLE
		} else {
			s.unready.OK()
			s.log.ErrorContext(r.Context(), "request failed", "method", r.Method, "path", r.URL.Path, "err", err)
		}
	}
	var body errorBody
	body.Error.Code = code
	body.Error.Message = hanashi.ErrorMessage(err)
	writeJSON(w, statusOf[code], body)
}

// apiFunc is an API handler that returns its error instead of writing it.
type apiFunc func(w http.ResponseWriter, r *http.Request) error

// api adapts an apiFunc: a returned error is answered by writeError, so
// every API error has one shape and internal ones are logged once.
func (s *Server) api(f apiFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := f(w, r); err != nil {
			s.writeError(w, r, err)
		}
	})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		// Only our own types are encoded; this is a bug.
		slog.Error("encoding a response failed", "err", err)
		http.Error(w, `{"error":{"code":"internal","message":"internal error"}}`, http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}

// maxBody bounds every JSON request body.
const maxBody = 64 << 10

// decode reads a JSON body into v. An empty body leaves v as it is when
// optional is true.
func decode(w http.ResponseWriter, r *http.Request, v any, optional bool) error {
	r.Body = http.MaxBytesReader(w, r.Body, maxBody)
	dec := json.NewDecoder(r.Body)
	if err := dec.Decode(v); err != nil {
		var tooBig *http.MaxBytesError
		switch {
		case errors.As(err, &tooBig):
			return hanashi.Errorf(hanashi.ETOOLARGE, "request body is larger than %d bytes", maxBody)
		case optional && err.Error() == "EOF":
			return nil
		}
		return hanashi.Errorf(hanashi.EINVALID, "request body is not valid JSON: %v", err)
	}
	if dec.More() {
		return hanashi.Errorf(hanashi.EINVALID, "request body has data after the JSON value")
	}
	return nil
}
