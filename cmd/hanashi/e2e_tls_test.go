package main

import (
	"bufio"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/binary"
	"encoding/json"
	"encoding/pem"
	"io"
	"io/fs"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/hanashi-chat/hanashi/ui"
)

// e2eTestCA is a certificate authority made for one test, and a server
// certificate it signed for 127.0.0.1 and localhost, in PEM files.
type e2eTestCA struct {
	pool              *x509.CertPool
	certFile, keyFile string
}

func newTestCA(t *testing.T) e2eTestCA {
	t.Helper()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	caTmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "Hanashi test CA"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(time.Hour),
		KeyUsage:              x509.KeyUsageCertSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, err := x509.ParseCertificate(caDER)
	if err != nil {
		t.Fatal(err)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2),
		Subject:      pkix.Name{CommonName: "127.0.0.1"},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		DNSNames:     []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	c := e2eTestCA{pool: x509.NewCertPool(), certFile: filepath.Join(dir, "server.pem"), keyFile: filepath.Join(dir, "server.key")}
	c.pool.AddCert(ca)
	chain := append(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER})...)
	if err := os.WriteFile(c.certFile, chain, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(c.keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	return c
}

// TestE2ETLS serves HTTPS from certificate files with the plain-HTTP
// listener beside it: browsers get HTTP/2, plain HTTP is redirected to the
// base URL over https (the probes excepted), cookies are Secure with the
// __Host- prefix, and a WebSocket works over TLS the way a browser opens
// one next to its HTTP/2 connection.
func TestE2ETLS(t *testing.T) {
	ca := newTestCA(t)
	tlsAddr, plainAddr := freeAddr(t), freeAddr(t)
	// The harness checks /healthz on opts.addr, here the plain listener,
	// which answers the probes itself; the later -addr wins.
	e2eStartWith(t, t.TempDir(), e2eOptions{addr: plainAddr},
		"-addr", tlsAddr, "-http-addr", plainAddr, "-tls-cert", ca.certFile, "-tls-key", ca.keyFile)
	origin := "https://" + tlsAddr
	// The base URL: a server on loopback is localhost, and it sends pages
	// asked for as 127.0.0.1 there (the client below follows).
	base := "https" + strings.TrimPrefix(canonicalBase(t, tlsAddr), "http")

	// A browser-like client: h2 and http/1.1 offered, h2 taken.
	h2 := &http.Client{Timeout: e2eTimeout, Transport: &http.Transport{
		TLSClientConfig:   &tls.Config{RootCAs: ca.pool},
		ForceAttemptHTTP2: true,
	}}
	defer h2.CloseIdleConnections()
	page, err := fs.ReadFile(ui.Files(), "index.html")
	if err != nil {
		t.Fatal(err)
	}
	script := regexp.MustCompile(`src="\.(/assets/[^"]+\.js)"`).FindSubmatch(page)
	if script == nil {
		t.Fatalf("the client's index.html names no script:\n%s", page)
	}
	for _, path := range []string{"/", string(script[1]), "/login", "/healthz"} {
		resp, err := h2.Get(origin + path)
		if err != nil {
			t.Fatalf("GET %s over TLS: %v", path, err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || resp.ProtoMajor != 2 || resp.TLS == nil || resp.TLS.NegotiatedProtocol != "h2" {
			t.Errorf("GET %s over TLS: %s %s, want 200 over HTTP/2", path, resp.Proto, resp.Status)
		}
	}
	resp, err := h2.Post(origin+"/api/v1/guests", "application/json", strings.NewReader(`{"name":"alice"}`))
	if err != nil {
		t.Fatal(err)
	}
	var guest struct {
		Token string `json:"token"`
	}
	err = json.NewDecoder(resp.Body).Decode(&guest)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusCreated || resp.ProtoMajor != 2 {
		t.Fatalf("POST /api/v1/guests over TLS: %s %s, %v", resp.Proto, resp.Status, err)
	}
	var session *http.Cookie
	for _, c := range resp.Cookies() {
		if c.Name == "__Host-hanashi_session" {
			session = c
		}
	}
	if session == nil || !session.Secure || session.Path != "/" || !session.HttpOnly {
		t.Fatalf("cookies over TLS %v, want __Host-hanashi_session, Secure, HttpOnly, Path=/", resp.Cookies())
	}

	// The plain listener redirects to the base URL, keeping path, query
	// and (308) the method; its probes answer themselves.
	plain := &http.Client{Timeout: e2eTimeout, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for _, tt := range []struct {
		method, path string
		status       int
		location     string
	}{
		{"GET", "/", http.StatusMovedPermanently, base + "/"},
		{"GET", "/api/v1/rooms/1/messages?after=3", http.StatusMovedPermanently, base + "/api/v1/rooms/1/messages?after=3"},
		{"POST", "/api/v1/guests", http.StatusPermanentRedirect, base + "/api/v1/guests"},
		{"GET", "/healthz", http.StatusOK, ""},
		{"GET", "/readyz", http.StatusOK, ""},
	} {
		req, _ := http.NewRequest(tt.method, "http://"+plainAddr+tt.path, nil)
		req.Host = "evil.example" // never where the redirect goes
		resp, err := plain.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tt.status || resp.Header.Get("Location") != tt.location {
			t.Errorf("%s http://%s%s: %d Location %q, want %d %q", tt.method, plainAddr, tt.path, resp.StatusCode, resp.Header.Get("Location"), tt.status, tt.location)
		}
	}

	// Browsers open a WebSocket over HTTP/2 only where the server offers
	// extended CONNECT (RFC 8441); the WebSocket handler needs an HTTP/1.1
	// connection, so the server must not offer it.
	if settings := h2ServerSettings(t, tlsAddr, ca.pool); settings[0x8] != 0 {
		t.Errorf("the server's HTTP/2 SETTINGS offer extended CONNECT (SETTINGS_ENABLE_CONNECT_PROTOCOL=%d): browsers would send WebSockets over HTTP/2", settings[0x8])
	}
	// ...and so they open it on an HTTP/1.1 connection of its own, with
	// the page's origin and its Secure cookie.
	d := &websocket.Dialer{HandshakeTimeout: e2eTimeout, TLSClientConfig: &tls.Config{RootCAs: ca.pool, NextProtos: []string{"http/1.1"}}}
	h := http.Header{}
	h.Set("Origin", origin)
	h.Set("Cookie", session.Name+"="+session.Value)
	ws, wsResp, err := d.Dial("wss://"+tlsAddr+"/api/v1/ws", h)
	if err != nil {
		if wsResp != nil {
			b, _ := io.ReadAll(wsResp.Body)
			t.Fatalf("WebSocket over TLS: %v (%d %s)", err, wsResp.StatusCode, b)
		}
		t.Fatalf("WebSocket over TLS: %v", err)
	}
	c := &e2eConn{c: ws}
	defer ws.Close()
	var created struct {
		Room e2eRoom `json:"room"`
	}
	tlsPost(t, h2, origin+"/api/v1/rooms", guest.Token, `{"name":"secure"}`, &created)
	if err := c.subscribe(created.Room.ID); err != nil {
		t.Fatal(err)
	}
	// Ephemeral frames (presence, typing) may come in between.
	got := map[string]e2eFrame{}
	for got["subscribed"].Type == "" {
		f := c.next(t)
		got[f.Type] = f
	}
	if err := c.send(created.Room.ID, "tls-1", "over TLS"); err != nil {
		t.Fatal(err)
	}
	for got["message"].Type == "" || got["ack"].Type == "" {
		f := c.next(t)
		got[f.Type] = f
	}
	if m, a := got["message"], got["ack"]; m.Body != "over TLS" || a.ClientID != "tls-1" || m.Seq != a.Seq {
		t.Errorf("WebSocket over TLS: message %s and ack %s, want the message and its ack", m, a)
	}

	// A cross-site page may not open it, TLS or not.
	h.Set("Origin", "https://evil.example")
	if ws, resp, err := d.Dial("wss://"+tlsAddr+"/api/v1/ws", h); err == nil {
		ws.Close()
		t.Error("a WebSocket from another origin was accepted over TLS")
	} else if resp == nil || resp.StatusCode != http.StatusForbidden {
		t.Errorf("a WebSocket from another origin over TLS: %v, want 403", err)
	}
}

// tlsPost posts body with a Bearer token (none when token is empty),
// expects 201 Created and decodes the answer into out.
func tlsPost(t *testing.T, c *http.Client, url, token, body string, out any) *http.Response {
	t.Helper()
	req, _ := http.NewRequest("POST", url, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("POST %s: %s", url, resp.Status)
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		t.Fatalf("POST %s: %v", url, err)
	}
	return resp
}

// h2ServerSettings opens an HTTP/2 connection to addr and returns the
// settings of the server's first SETTINGS frame, by identifier.
func h2ServerSettings(t *testing.T, addr string, roots *x509.CertPool) map[uint16]uint32 {
	t.Helper()
	conn, err := tls.DialWithDialer(&net.Dialer{Timeout: e2eTimeout}, "tcp", addr, &tls.Config{RootCAs: roots, NextProtos: []string{"h2"}})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if p := conn.ConnectionState().NegotiatedProtocol; p != "h2" {
		t.Fatalf("ALPN offering only h2 negotiated %q", p)
	}
	conn.SetDeadline(time.Now().Add(e2eTimeout))
	// The client preface, then an empty SETTINGS frame.
	if _, err := conn.Write([]byte("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00\x00\x04\x00\x00\x00\x00\x00")); err != nil {
		t.Fatal(err)
	}
	r := bufio.NewReader(conn)
	for {
		var head [9]byte
		if _, err := io.ReadFull(r, head[:]); err != nil {
			t.Fatalf("reading the server's HTTP/2 frames: %v", err)
		}
		length := int(head[0])<<16 | int(head[1])<<8 | int(head[2])
		payload := make([]byte, length)
		if _, err := io.ReadFull(r, payload); err != nil {
			t.Fatalf("reading the server's HTTP/2 frames: %v", err)
		}
		const typeSettings, flagAck = 0x4, 0x1
		if head[3] != typeSettings || head[4]&flagAck != 0 {
			continue
		}
		settings := make(map[uint16]uint32)
		for p := payload; len(p) >= 6; p = p[6:] {
			settings[binary.BigEndian.Uint16(p)] = binary.BigEndian.Uint32(p[2:])
		}
		if len(settings) == 0 {
			t.Fatal("the server's SETTINGS frame is empty")
		}
		return settings
	}
}

// TestTLSAndDrainSettingsRefused checks that settings which cannot work
// stop the server before it starts, with an error that names them.
func TestTLSAndDrainSettingsRefused(t *testing.T) {
	ca := newTestCA(t)
	for _, tt := range []struct {
		args []string
		env  map[string]string
		want string
	}{
		{args: []string{"-tls-cert", ca.certFile}, want: "-tls-cert and -tls-key"},
		{args: []string{"-tls-cert", ca.certFile, "-tls-key", ca.keyFile, "-acme-hosts", "chat.example.com"}, want: "-acme-hosts"},
		{args: []string{"-http-addr", "127.0.0.1:0"}, want: "-http-addr"},
		{args: []string{"-drain-grace", "30s", "-drain-timeout", "10s"}, want: "-drain-grace"},
		{args: []string{"-drain-timeout", "0s"}, want: "-drain-timeout"},
		{env: map[string]string{"HANASHI_DRAIN_GRACE": "soon"}, want: "HANASHI_DRAIN_GRACE"},
		{env: map[string]string{"HANASHI_DRAIN_TIMEOUT": "-"}, want: "HANASHI_DRAIN_TIMEOUT"},
		{args: []string{"-tls-cert", ca.keyFile, "-tls-key", ca.certFile}, want: "TLS certificate"},
		{args: []string{"-trusted-proxies", "10.0.0.0/8,proxy.example"}, want: "trusted proxy"},
		{args: []string{"-tls-cert", ca.certFile, "-tls-key", ca.keyFile, "-http-addr", "127.0.0.1:0", "-base-url", "http://chat.example.com"}, want: "https://"},
	} {
		args := append([]string{"hanashi", "-addr", "127.0.0.1:0", "-data", t.TempDir()}, tt.args...)
		getenv := func(k string) string { return tt.env[k] }
		var out strings.Builder
		err := run(t.Context(), args, getenv, &out, &out)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("run %q with %v: err %v, want one naming %q", tt.args, tt.env, err, tt.want)
		}
	}
}
