package websocket

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"time"
)

// maxErrorBody is how much of a refused handshake's body Dial keeps for
// the caller before closing the connection.
const maxErrorBody = 4 << 10

// Dialer opens client connections. The zero value is ready to use and is
// what [Dial] uses. A Dialer is safe for concurrent use if its fields are
// not changed meanwhile.
type Dialer struct {
	// NetDial, if set, opens the TCP connection to addr ("host:port").
	NetDial func(ctx context.Context, network, addr string) (net.Conn, error)

	// LocalAddr is the local address of connections opened without
	// NetDial. A load generator sets it to spread connections over
	// 127.0.0.x source addresses, past the ~28k ephemeral ports of one.
	LocalAddr net.Addr

	// TLSConfig is used for wss:// URLs; nil means the defaults. An empty
	// ServerName is taken from the URL.
	TLSConfig *tls.Config

	// ReadBufferSize is the size of the connection's read buffer, 512
	// bytes if smaller. A client that receives a busy stream wants more:
	// a server that coalesces its frames sends many in one segment, and
	// they then come in with one read.
	ReadBufferSize int
}

// Dial opens a WebSocket connection with the zero [Dialer].
func Dial(ctx context.Context, url string, h http.Header) (*Conn, *http.Response, error) {
	var d Dialer
	return d.Dial(ctx, url, h)
}

// Dial connects to a ws:// or wss:// URL, performs the client side of the
// opening handshake with the extra request headers h (Origin, Cookie,
// Authorization...), and returns the client end of the connection and the
// server's response.
//
// ctx bounds the connection and the handshake, not the connection's life.
// If the server answers with anything but 101, Dial returns the response
// (its body, up to 4 KiB, still readable) and a [*HandshakeError], so a
// caller can tell 401 from 403. The returned Conn's OnPing answers pings
// with pongs; its ReadLimit is [DefaultReadLimit].
func (d *Dialer) Dial(ctx context.Context, rawURL string, h http.Header) (*Conn, *http.Response, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, nil, fmt.Errorf("websocket: dial: %w", err)
	}
	var secure bool
	var port string
	switch u.Scheme {
	case "ws":
		port = "80"
	case "wss":
		secure, port = true, "443"
	default:
		return nil, nil, fmt.Errorf("websocket: dial %q: scheme must be ws or wss", rawURL)
	}
	if u.Host == "" {
		return nil, nil, fmt.Errorf("websocket: dial %q: no host", rawURL)
	}
	if p := u.Port(); p != "" {
		port = p
	}
	addr := net.JoinHostPort(u.Hostname(), port)

	var nc net.Conn
	if d.NetDial != nil {
		nc, err = d.NetDial(ctx, "tcp", addr)
	} else {
		nd := net.Dialer{LocalAddr: d.LocalAddr}
		nc, err = nd.DialContext(ctx, "tcp", addr)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("websocket: dial: %w", err)
	}
	c, resp, err := d.handshake(ctx, nc, u, h, secure)
	if err != nil {
		nc.Close()
		if ctx.Err() != nil {
			err = fmt.Errorf("websocket: dial: %w", ctx.Err())
		}
		return nil, resp, err
	}
	return c, resp, nil
}

// handshake runs TLS if needed and the HTTP upgrade over nc. The caller
// closes nc if it fails.
func (d *Dialer) handshake(ctx context.Context, nc net.Conn, u *url.URL, h http.Header, secure bool) (*Conn, *http.Response, error) {
	// The end of ctx unblocks the handshake by expiring the deadlines. It
	// runs after ctx.Err is set, so Dial can report ctx's error.
	raw := nc // nc becomes the TLS conn below; the callback must not race with that
	stop := context.AfterFunc(ctx, func() { _ = raw.SetDeadline(time.Unix(1, 0)) })
	defer stop()

	if secure {
		cfg := &tls.Config{}
		if d.TLSConfig != nil {
			cfg = d.TLSConfig.Clone()
		}
		if cfg.ServerName == "" {
			cfg.ServerName = u.Hostname()
		}
		tc := tls.Client(nc, cfg)
		if err := tc.HandshakeContext(ctx); err != nil {
			return nil, nil, fmt.Errorf("websocket: dial: TLS: %w", err)
		}
		nc = tc
	}

	var keyBytes [16]byte
	_, _ = rand.Read(keyBytes[:]) // crypto/rand never fails since Go 1.24
	key := base64.StdEncoding.EncodeToString(keyBytes[:])

	host := u.Host
	if hh := h.Get("Host"); hh != "" {
		host = hh
	}
	var req bytes.Buffer
	req.WriteString("GET " + u.RequestURI() + " HTTP/1.1\r\nHost: " + host +
		"\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: " + key +
		"\r\nSec-WebSocket-Version: 13\r\n")
	// WriteSubset drops invalid names and turns CR/LF in values into spaces.
	if err := h.WriteSubset(&req, map[string]bool{
		"Host": true, "Upgrade": true, "Connection": true,
		"Sec-Websocket-Key": true, "Sec-Websocket-Version": true,
		"Sec-Websocket-Extensions": true,
	}); err != nil {
		return nil, nil, err
	}
	req.WriteString("\r\n")
	if _, err := nc.Write(req.Bytes()); err != nil {
		return nil, nil, fmt.Errorf("websocket: dial: write request: %w", err)
	}

	br := bufio.NewReaderSize(nc, readBufferSize)
	resp, err := http.ReadResponse(br, &http.Request{Method: http.MethodGet, URL: u})
	if err != nil {
		return nil, nil, fmt.Errorf("websocket: dial: read response: %w", err)
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		// The connection is about to close, so keep the start of the body
		// for the caller (it often says why).
		body, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
		resp.Body.Close()
		resp.Body = io.NopCloser(bytes.NewReader(body))
		return nil, resp, &HandshakeError{Status: resp.StatusCode, Reason: "server did not switch protocols: " + resp.Status}
	}
	switch {
	case !hasToken(resp.Header, "Upgrade", "websocket"):
		err = errors.New(`"Upgrade" header is not "websocket"`)
	case !hasToken(resp.Header, "Connection", "upgrade"):
		err = errors.New(`"Connection" header lacks "upgrade"`)
	case resp.Header.Get("Sec-WebSocket-Accept") != acceptKey(key):
		err = errors.New("Sec-WebSocket-Accept does not match the key")
	case resp.Header.Get("Sec-WebSocket-Extensions") != "":
		err = errors.New("server chose an extension that was not offered")
	}
	if err != nil {
		return nil, resp, &HandshakeError{Status: resp.StatusCode, Reason: err.Error()}
	}

	if !stop() {
		return nil, resp, ctx.Err() // ctx ended as the handshake completed
	}
	c := newConn(nc, false)
	c.takeBuffered(br)
	if d.ReadBufferSize > readBufferSize {
		c.keep = d.ReadBufferSize
	}
	c.OnPing = func(p []byte) { _ = c.WriteMessage(OpPong, p) }
	return c, resp, nil
}
