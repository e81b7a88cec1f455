package websocket

import (
	"bytes"
	"crypto/sha1"
	"encoding/base64"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// acceptGUID is the fixed string RFC 6455 section 4.2.2 mixes into the key.
const acceptGUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

// acceptKey computes Sec-WebSocket-Accept for a Sec-WebSocket-Key.
func acceptKey(key string) string {
	sum := sha1.Sum([]byte(key + acceptGUID))
	return base64.StdEncoding.EncodeToString(sum[:])
}

// HandshakeError reports a failed opening handshake. For [Upgrade], Status
// is the HTTP status it answered with; for [Dial], the status the server
// answered with (the response is returned beside the error).
type HandshakeError struct {
	Status int
	Reason string
}

func (e *HandshakeError) Error() string {
	return "websocket: handshake failed with status " + strconv.Itoa(e.Status) + ": " + e.Reason
}

// Upgrade performs the server side of the opening handshake (RFC 6455
// section 4.2) and returns the server end of the connection.
//
// If the request is not a valid WebSocket handshake, Upgrade writes the
// error response itself and returns a [*HandshakeError]: 405 for a method
// other than GET, 426 with "Sec-WebSocket-Version: 13" for another or a
// missing version, and 400 for missing Connection/Upgrade tokens or a bad
// Sec-WebSocket-Key. Upgrade does not check Origin: the caller must, before
// calling it. Extensions and subprotocols are never negotiated. It needs an
// HTTP/1.1 connection it can hijack; otherwise it answers 500.
//
// Headers the caller set on w.Header() (Set-Cookie, say) are sent with the
// 101 response. The returned connection has no deadlines, whatever the
// http.Server's ReadTimeout and WriteTimeout, which are meant for requests
// and would cut a long-lived WebSocket; the caller sets its own through
// [Conn.NetConn]. On success the handler must not use w again.
func Upgrade(w http.ResponseWriter, r *http.Request) (*Conn, error) {
	if r.Method != http.MethodGet {
		w.Header().Set("Allow", http.MethodGet)
		return nil, refuse(w, http.StatusMethodNotAllowed, "method must be GET")
	}
	if !hasToken(r.Header, "Connection", "upgrade") {
		return nil, refuse(w, http.StatusBadRequest, `"Connection" header must contain "upgrade"`)
	}
	if !hasToken(r.Header, "Upgrade", "websocket") {
		return nil, refuse(w, http.StatusBadRequest, `"Upgrade" header must be "websocket"`)
	}
	if strings.TrimSpace(r.Header.Get("Sec-WebSocket-Version")) != "13" {
		w.Header().Set("Sec-WebSocket-Version", "13")
		return nil, refuse(w, http.StatusUpgradeRequired, "Sec-WebSocket-Version must be 13")
	}
	key := strings.TrimSpace(r.Header.Get("Sec-WebSocket-Key"))
	if !validKey(key) {
		return nil, refuse(w, http.StatusBadRequest, "Sec-WebSocket-Key must be 16 bytes in base64")
	}

	// The 101 response is built before hijacking: afterwards w.Header() is
	// no longer ours to read.
	var resp bytes.Buffer
	resp.WriteString("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ")
	resp.WriteString(acceptKey(key))
	resp.WriteString("\r\n")
	// WriteSubset drops invalid names and turns CR/LF in values into spaces.
	err := w.Header().WriteSubset(&resp, map[string]bool{
		"Upgrade": true, "Connection": true, "Sec-Websocket-Accept": true,
		"Sec-Websocket-Extensions": true, "Sec-Websocket-Protocol": true,
		"Content-Length": true, "Transfer-Encoding": true,
	})
	if err != nil {
		return nil, err // bytes.Buffer does not fail; kept for the contract
	}
	resp.WriteString("\r\n")

	nc, brw, err := http.NewResponseController(w).Hijack()
	if err != nil {
		// Nothing was taken over (HTTP/2, or a wrapper without Hijack),
		// so w still answers.
		http.Error(w, "websocket: cannot take over this connection", http.StatusInternalServerError)
		return nil, fmt.Errorf("websocket: hijack: %w", err)
	}
	// net/http's buffers are dropped: only what the client sent behind
	// its request, usually nothing, is kept (see Conn.Buffered).
	c := newConn(nc, true)
	c.takeBuffered(brw.Reader)
	if _, err := nc.Write(resp.Bytes()); err != nil {
		nc.Close()
		return nil, fmt.Errorf("websocket: write handshake response: %w", err)
	}
	// net/http clears them on hijack too; other servers may not.
	if err := nc.SetDeadline(time.Time{}); err != nil {
		nc.Close()
		return nil, fmt.Errorf("websocket: clear deadlines: %w", err)
	}
	return c, nil
}

// refuse answers a failed handshake and builds the error Upgrade returns.
func refuse(w http.ResponseWriter, status int, reason string) error {
	http.Error(w, "websocket: "+reason, status)
	return &HandshakeError{Status: status, Reason: reason}
}

// hasToken reports whether any comma-separated element of header name
// equals token, ignoring case (RFC 7230 section 7).
func hasToken(h http.Header, name, token string) bool {
	for _, v := range h.Values(name) {
		for part := range strings.SplitSeq(v, ",") {
			if strings.EqualFold(strings.TrimSpace(part), token) {
				return true
			}
		}
	}
	return false
}

// validKey reports whether key is the base64 encoding of 16 bytes.
func validKey(key string) bool {
	if len(key) != 24 {
		return false
	}
	var buf [18]byte // base64.StdEncoding.DecodedLen(24)
	n, err := base64.StdEncoding.Decode(buf[:], []byte(key))
	return err == nil && n == 16
}
