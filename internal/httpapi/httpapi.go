// Package httpapi is the shape of Hanashi's JSON HTTP API, shared by web
// and auth so that both answer alike: the one table from error codes to
// HTTP statuses, the error body, JSON answers and bounded JSON request
// bodies.
package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"

	"github.com/hanashi-chat/hanashi"
	"github.com/hanashi-chat/hanashi/internal/outage"
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

// ErrorBody is the body of every API error.
type ErrorBody struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

// WriteErrorBody answers with status and an error body of code and message.
func WriteErrorBody(w http.ResponseWriter, status int, code, message string) {
	var body ErrorBody
	body.Error.Code = code
	body.Error.Message = message
	WriteJSON(w, status, body)
}

// Errors answers the errors of API handlers. One value serves a whole
// server, web and auth alike, so that the outage it counts is one. It is
// safe for concurrent use.
type Errors struct {
	Log *slog.Logger
	// Ready reports whether the node can serve (web.Config.Ready); nil
	// means always ready.
	Ready func(ctx context.Context) error
	// Unready counts the requests that failed while the node was not
	// ready: a dependency is down, and each would say the same.
	Unready *outage.Log
}

// Write answers with err's code and user-facing message. Errors that are
// not *hanashi.Error are logged with their details and shown as "internal
// error" — unless the node is not ready, a dependency being down: then
// they are "unavailable" (503, try again, elsewhere if need be), and
// counted in a summary rather than logged one by one, since each would say
// the same and the log would become the load.
func (e *Errors) Write(w http.ResponseWriter, r *http.Request, err error) {
	code := hanashi.ErrorCode(err)
	if code == hanashi.EINTERNAL {
		if e.Ready != nil && e.Ready(r.Context()) != nil {
			e.Unready.Fail(1, err, "path", r.URL.Path)
			err = hanashi.Errorf(hanashi.EUNAVAILABLE, "the server cannot reach what it depends on, try again")
			code = hanashi.EUNAVAILABLE
		} else {
			e.Unready.OK()
			e.Log.ErrorContext(r.Context(), "request failed", "method", r.Method, "path", r.URL.Path, "err", err)
		}
	}
	WriteErrorBody(w, statusOf[code], code, hanashi.ErrorMessage(err))
}

// Func is an API handler that returns its error instead of writing it.
type Func func(w http.ResponseWriter, r *http.Request) error

// Handler adapts f: a returned error is answered by Write, so every API
// error has one shape and internal ones are logged once.
func (e *Errors) Handler(f Func) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := f(w, r); err != nil {
			e.Write(w, r, err)
		}
	})
}

// WriteJSON answers with status and v as JSON, never cached.
func WriteJSON(w http.ResponseWriter, status int, v any) {
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

// MaxBody bounds every JSON request body.
const MaxBody = 64 << 10

// Decode reads a JSON body into v. An empty body leaves v as it is when
// optional is true.
func Decode(w http.ResponseWriter, r *http.Request, v any, optional bool) error {
	r.Body = http.MaxBytesReader(w, r.Body, MaxBody)
	dec := json.NewDecoder(r.Body)
	if err := dec.Decode(v); err != nil {
		var tooBig *http.MaxBytesError
		switch {
		case errors.As(err, &tooBig):
			return hanashi.Errorf(hanashi.ETOOLARGE, "request body is larger than %d bytes", MaxBody)
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
