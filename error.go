package hanashi

import (
	"errors"
	"fmt"
)

// Error codes. Each maps to one HTTP status and one WebSocket close or
// error-frame code in the web package; nowhere else decides that.
const (
	EINVALID      = "invalid"      // the request is malformed or breaks a rule
	EUNAUTHORIZED = "unauthorized" // no valid session
	EFORBIDDEN    = "forbidden"    // valid session, not allowed
	ENOTFOUND     = "not_found"    // no such thing, or not visible to the caller
	ECONFLICT     = "conflict"     // clashes with existing state
	ETOOLARGE     = "too_large"    // body or frame over a limit
	ERATELIMITED  = "rate_limited" // too many requests
	EUNAVAILABLE  = "unavailable"  // shutting down or a dependency is down
	EINTERNAL     = "internal"     // a bug or an I/O failure; details are logged, not shown

	// EUNSUPPORTED: content of a kind the server does not accept, such as
	// an avatar upload that is not a PNG, JPEG, GIF or WebP image.
	EUNSUPPORTED = "unsupported_media_type"
)

// Error is the one error type that crosses package boundaries with a meaning
// for users. Message is safe to show to the user; internal details belong in
// a wrapped error that is only logged.
type Error struct {
	Code    string
	Message string
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

// Errorf returns an *Error with the given code and a formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of the first *Error in err's chain, EINTERNAL for
// any other non-nil error, and "" for nil.
func ErrorCode(err error) string {
	var e *Error
	switch {
	case err == nil:
		return ""
	case errors.As(err, &e):
		return e.Code
	}
	return EINTERNAL
}

// ErrorMessage returns the user-facing message of err: the Message of its
// *Error, or a generic text for anything else so internals never leak.
func ErrorMessage(err error) string {
	var e *Error
	switch {
	case err == nil:
		return ""
	case errors.As(err, &e):
		return e.Message
	}
	return "internal error"
}
