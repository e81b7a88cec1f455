package main

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/gorilla/websocket"

	"github.com/hanashi-chat/hanashi/internal/testutil"
)

// TestE2ECertificateReload: a server serving certificate A from files is
// given certificate B in their place. New handshakes get B within the
// check interval (-tls-reload-interval); a WebSocket and a kept-alive
// HTTPS connection opened with A stay up and go on working. With a long
// interval, SIGHUP makes the server read the files at once.
func TestE2ECertificateReload(t *testing.T) {
	for _, tt := range []struct {
		name     string
		interval string
		hup      bool
	}{
		{name: "files checked", interval: "200ms"},
		{name: "SIGHUP", interval: "1h", hup: true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			a, b := newTestCA(t), newTestCA(t)
			dir := t.TempDir()
			certFile, keyFile := filepath.Join(dir, "server.pem"), filepath.Join(dir, "server.key")
			installCert(t, a, certFile, keyFile, true, true)
			tlsAddr, plainAddr := freeAddr(t), freeAddr(t)
			s := e2eStartWith(t, t.TempDir(), e2eOptions{addr: plainAddr},
				"-addr", tlsAddr, "-http-addr", plainAddr, "-tls-cert", certFile, "-tls-key", keyFile,
				"-tls-reload-interval", tt.interval)
			origin := "https://" + tlsAddr
			both := a.pool.Clone()
			for _, c := range mustParseChain(t, b.certFile) {
				both.AddCert(c)
			}

			// A kept-alive HTTPS connection and a WebSocket, both with A.
			keep := &http.Client{Timeout: e2eTimeout, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: both}, ForceAttemptHTTP2: true}}
			defer keep.CloseIdleConnections()
			var guest struct {
				Token string `json:"token"`
			}
			resp := tlsPost(t, keep, origin+"/api/v1/guests", "", `{"name":"alice"}`, &guest)
			if !bytes.Equal(resp.TLS.PeerCertificates[0].Raw, leafDER(t, a.certFile)) {
				t.Fatal("the server did not start with certificate A")
			}
			var created struct {
				Room e2eRoom `json:"room"`
			}
			tlsPost(t, keep, origin+"/api/v1/rooms", guest.Token, `{"name":"renewals"}`, &created)
			d := &websocket.Dialer{HandshakeTimeout: e2eTimeout, TLSClientConfig: &tls.Config{RootCAs: a.pool}}
			ws, _, err := d.Dial("wss://"+tlsAddr+"/api/v1/ws", http.Header{"Authorization": {"Bearer " + guest.Token}})
			if err != nil {
				t.Fatal(err)
			}
			defer ws.Close()
			c := &e2eConn{c: ws}
			if err := c.subscribe(created.Room.ID); err != nil {
				t.Fatal(err)
			}
			sendAndAck := func(clientID string) {
				t.Helper()
				if err := c.send(created.Room.ID, clientID, "still here"); err != nil {
					t.Fatalf("sending on the WebSocket opened with A: %v", err)
				}
				for {
					if f := c.next(t); f.Type == "ack" && f.ClientID == clientID {
						return
					}
				}
			}
			sendAndAck("before")

			installCert(t, b, certFile, keyFile, true, true)
			if tt.hup {
				if err := s.cmd.Process.Signal(syscall.SIGHUP); err != nil {
					t.Fatal(err)
				}
			}
			// A new handshake that trusts only B's CA succeeds once B is
			// served.
			testutil.EventuallyNil(t, e2eTimeout, "a handshake with certificate B", func() error {
				conn, err := tls.DialWithDialer(&net.Dialer{Timeout: e2eTimeout}, "tcp", tlsAddr, &tls.Config{RootCAs: b.pool})
				if err != nil {
					return err
				}
				return conn.Close()
			})
			if out := s.out.String(); !strings.Contains(out, "reloaded the TLS certificate") || strings.Contains(out, "cannot reload") {
				t.Errorf("server log after the reload:\n%s", out)
			}

			// What was open with A goes on.
			sendAndAck("after")
			resp, err = keep.Get(origin + "/api/v1/me")
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if !bytes.Equal(resp.TLS.PeerCertificates[0].Raw, leafDER(t, a.certFile)) {
				t.Error("the kept-alive connection was replaced: it should still be the one opened with A")
			}
		})
	}
}

// mustParseChain reads every certificate of a PEM file.
func mustParseChain(t *testing.T, file string) []*x509.Certificate {
	t.Helper()
	rest, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var out []*x509.Certificate
	for {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			return out
		}
		c, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, c)
	}
}
