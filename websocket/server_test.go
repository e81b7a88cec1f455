package websocket

import (
	"bufio"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestAcceptKey(t *testing.T) {
	if got := acceptKey(rfcKey); got != rfcAccept {
		t.Fatalf("acceptKey(%q) = %q, want %q (RFC 6455 section 1.3)", rfcKey, got, rfcAccept)
	}
}

func TestUpgradeRefuses(t *testing.T) {
	const (
		upgrade = "Upgrade: websocket\r\n"
		conn    = "Connection: Upgrade\r\n"
		version = "Sec-WebSocket-Version: 13\r\n"
		key     = "Sec-WebSocket-Key: " + rfcKey + "\r\n"
	)
	tests := []struct {
		name       string
		request    string // after the request line's method and path
		wantStatus int
		wantHeader [2]string
	}{
		{"POST", "POST / HTTP/1.1\r\nContent-Length: 0\r\n" + upgrade + conn + version + key, http.StatusMethodNotAllowed, [2]string{"Allow", "GET"}},
		{"no Upgrade header", "GET / HTTP/1.1\r\n" + conn + version + key, http.StatusBadRequest, [2]string{}},
		{"Upgrade not websocket", "GET / HTTP/1.1\r\nUpgrade: h2c\r\n" + conn + version + key, http.StatusBadRequest, [2]string{}},
		{"no Connection header", "GET / HTTP/1.1\r\n" + upgrade + version + key, http.StatusBadRequest, [2]string{}},
		{"Connection without upgrade", "GET / HTTP/1.1\r\nConnection: keep-alive\r\n" + upgrade + version + key, http.StatusBadRequest, [2]string{}},
		{"Connection token as substring", "GET / HTTP/1.1\r\nConnection: upgrades\r\n" + upgrade + version + key, http.StatusBadRequest, [2]string{}},
		{"wrong version", "GET / HTTP/1.1\r\n" + upgrade + conn + "Sec-WebSocket-Version: 8\r\n" + key, http.StatusUpgradeRequired, [2]string{"Sec-WebSocket-Version", "13"}},
		{"missing version", "GET / HTTP/1.1\r\n" + upgrade + conn + key, http.StatusUpgradeRequired, [2]string{"Sec-WebSocket-Version", "13"}},
		{"missing key", "GET / HTTP/1.1\r\n" + upgrade + conn + version, http.StatusBadRequest, [2]string{}},
		{"key not base64", "GET / HTTP/1.1\r\n" + upgrade + conn + version + "Sec-WebSocket-Key: !!!!!!!!!!!!!!!!!!!!!!!!\r\n", http.StatusBadRequest, [2]string{}},
		{"key of 8 bytes", "GET / HTTP/1.1\r\n" + upgrade + conn + version + "Sec-WebSocket-Key: AAAAAAAAAAA=\r\n", http.StatusBadRequest, [2]string{}},
		{"key of 17 bytes", "GET / HTTP/1.1\r\n" + upgrade + conn + version + "Sec-WebSocket-Key: AAAAAAAAAAAAAAAAAAAAAAA=\r\n", http.StatusBadRequest, [2]string{}},
	}
	errs := make(chan error, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := Upgrade(w, r)
		if err == nil {
			c.Close()
		}
		errs <- err
	}))
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "http://")

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			nc, err := net.Dial("tcp", host)
			if err != nil {
				t.Fatal(err)
			}
			defer nc.Close()
			_ = nc.SetDeadline(time.Now().Add(testTimeout))
			req := strings.Replace(tt.request, "HTTP/1.1\r\n", "HTTP/1.1\r\nHost: "+host+"\r\n", 1) + "\r\n"
			if _, err := nc.Write([]byte(req)); err != nil {
				t.Fatal(err)
			}
			resp, err := http.ReadResponse(bufio.NewReader(nc), nil)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tt.wantStatus {
				t.Errorf("status %d, want %d", resp.StatusCode, tt.wantStatus)
			}
			if k, v := tt.wantHeader[0], tt.wantHeader[1]; k != "" && resp.Header.Get(k) != v {
				t.Errorf("header %s = %q, want %q", k, resp.Header.Get(k), v)
			}
			var he *HandshakeError
			select {
			case err := <-errs:
				if !errors.As(err, &he) || he.Status != tt.wantStatus {
					t.Errorf("Upgrade returned %v, want a HandshakeError with status %d", err, tt.wantStatus)
				}
			case <-time.After(testTimeout):
				t.Fatal("handler did not return")
			}
		})
	}
}

// Header tokens are matched case-insensitively in comma-separated lists,
// and headers the caller set are sent with the 101.
func TestUpgradeAccepts(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Set-Cookie", "s=1")
		w.Header().Set("X-Evil", "a\r\nInjected: yes")
		c, err := Upgrade(w, r)
		if err != nil {
			t.Errorf("Upgrade: %v", err)
			return
		}
		c.Close()
	}))
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "http://")
	nc, err := net.Dial("tcp", host)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	_ = nc.SetDeadline(time.Now().Add(testTimeout))
	req := "GET /ws?x=1 HTTP/1.1\r\nHost: " + host + "\r\nConnection: keep-alive, Upgrade\r\nUpgrade: WebSocket\r\n" +
		"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: " + rfcKey + "\r\n" +
		"Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n\r\n"
	if _, err := nc.Write([]byte(req)); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(nc), nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("status %d", resp.StatusCode)
	}
	for k, want := range map[string]string{
		"Upgrade":                  "websocket",
		"Connection":               "Upgrade",
		"Sec-WebSocket-Accept":     rfcAccept,
		"Set-Cookie":               "s=1",
		"Sec-WebSocket-Extensions": "",
		"Injected":                 "",
	} {
		if got := resp.Header.Get(k); got != want {
			t.Errorf("%s: %q, want %q", k, got, want)
		}
	}
}

// A client may send frames right behind its request, before it sees the
// 101; they sit in the HTTP server's reader and must not be lost.
func TestUpgradeKeepsBufferedFrames(t *testing.T) {
	wsURL, results := startEcho(t, nil)
	rc := rawDial(t, wsURL, frames(frame{op: OpText, payload: []byte("early")}))
	f, err := rc.readFrame()
	if err != nil {
		t.Fatal(err)
	}
	if f.op != OpText || string(f.payload) != "early" {
		t.Fatalf("got %v %q, want text \"early\"", f.op, f.payload)
	}
	rc.write(frames(frame{op: OpClose, payload: closePayload(CloseNormal, "")}))
	if code := rc.readClose(); code != CloseNormal {
		t.Fatalf("close code %d", code)
	}
	waitResult(t, results)
}

// http.Server timeouts are meant for requests; a WebSocket outlives them.
func TestUpgradeClearsServerDeadlines(t *testing.T) {
	const serverTimeout = 50 * time.Millisecond
	results := make(chan error, 1)
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := Upgrade(w, r)
		if err != nil {
			results <- err
			return
		}
		defer c.Close()
		_, _, err = c.ReadMessage()
		results <- err
	}))
	srv.Config.ReadTimeout = serverTimeout
	srv.Config.WriteTimeout = serverTimeout
	srv.Start()
	defer srv.Close()
	rc := rawDial(t, "ws"+strings.TrimPrefix(srv.URL, "http")+"/", nil)
	// Wait past the server's timeouts, without sleeping: a read on our
	// side with the same timeout expires after them.
	_ = rc.nc.SetReadDeadline(time.Now().Add(4 * serverTimeout))
	var ne net.Error
	if _, err := rc.br.ReadByte(); !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("expected a timeout while waiting, got %v", err)
	}
	rc.write(frames(frame{op: OpText, payload: []byte("late")}))
	select {
	case err := <-results:
		if err != nil {
			t.Fatalf("ReadMessage after the server's ReadTimeout: %v", err)
		}
	case <-time.After(testTimeout):
		t.Fatal("handler did not return")
	}
}
