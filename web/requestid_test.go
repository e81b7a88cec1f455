package web_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"testing/slogtest"
	"time"

	"github.com/hanashi-chat/hanashi/internal/testutil"
	"github.com/hanashi-chat/hanashi/web"
	"github.com/hanashi-chat/hanashi/websocket"
)

// logBuffer collects a server's JSON log, safe for concurrent writes.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// records parses the log, one JSON record a line.
func (b *logBuffer) records(t *testing.T) []map[string]any {
	t.Helper()
	var recs []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(b.String()), "\n") {
		if line == "" {
			continue
		}
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("a log line is not JSON: %v: %s", err, line)
		}
		recs = append(recs, rec)
	}
	return recs
}

// loggedServer is a test server whose log, at every level, goes to the
// returned buffer through web.LogHandler, as in cmd/hanashi.
func loggedServer(t *testing.T, mutate func(*web.Config)) (*testServer, *logBuffer) {
	t.Helper()
	logs := &logBuffer{}
	log := slog.New(web.LogHandler(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))).With("node", "n1")
	srv := newTestServer(t, func(c *web.Config) {
		c.Logger = log
		if mutate != nil {
			mutate(c)
		}
	})
	return srv, logs
}

func TestRequestIDHeader(t *testing.T) {
	srv, _ := loggedServer(t, nil)
	generated := regexp.MustCompile(`^[0-9a-f]{16}$`)
	ids := make(map[string]bool)
	for _, tc := range []struct {
		name, sent string
		keep       bool
	}{
		{"none", "", false},
		{"a proxy's UUID", "3f2b8c1e-7d4a-4e0b-9a51-2c6f0d8e1b7a", true},
		{"an AWS trace id", "Root=1-67891233-abcdef012345678912345678", true},
		{"spaces", "a b", false},
		{"quotes", `x"y`, false},
		{"too long", strings.Repeat("a", 129), false},
		{"control characters", "a\tb", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, path := range []string{"/healthz", "/api/v1/no-such-thing", "/api/v1/me"} {
				req, _ := http.NewRequest("GET", srv.URL+path, nil)
				if tc.sent != "" {
					req.Header.Set("X-Request-Id", tc.sent)
				}
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				got := resp.Header.Values("X-Request-Id")
				switch {
				case len(got) != 1:
					t.Errorf("%s: X-Request-Id %q; want one", path, got)
				case tc.keep && got[0] != tc.sent:
					t.Errorf("%s: X-Request-Id %q; want the well-formed one sent, %q", path, got[0], tc.sent)
				case !tc.keep && !generated.MatchString(got[0]):
					t.Errorf("%s: X-Request-Id %q (sent %q); want a new 16-digit hex id", path, got[0], tc.sent)
				case !tc.keep && ids[got[0]]:
					t.Errorf("%s: X-Request-Id %q was given before", path, got[0])
				}
				if len(got) == 1 {
					ids[got[0]] = true
				}
			}
		})
	}
}

// TestLogHandler runs the standard library's conformance suite on the
// request id handler, and checks that it adds request_id only to records
// logged with a request's context.
func TestLogHandler(t *testing.T) {
	var buf bytes.Buffer
	slogtest.Run(t, func(*testing.T) slog.Handler {
		buf.Reset()
		return web.LogHandler(slog.NewJSONHandler(&buf, nil))
	}, func(t *testing.T) map[string]any {
		var rec map[string]any
		if err := json.Unmarshal(buf.Bytes(), &rec); err != nil {
			t.Fatal(err)
		}
		return rec
	})

	var out bytes.Buffer
	log := slog.New(web.LogHandler(slog.NewJSONHandler(&out, nil)))
	log.InfoContext(context.Background(), "outside any request")
	if strings.Contains(out.String(), "request_id") {
		t.Errorf("a record without a request has a request_id: %s", out.String())
	}
}

// TestNoSecretsInLogs signs in with a magic link, as a guest first, with
// every log record captured at debug level, and checks that no token,
// cookie or link appears in the log, and that the records of a request
// carry its id.
func TestNoSecretsInLogs(t *testing.T) {
	mails := make(chan string, 1)
	srv, logs := loggedServer(t, func(c *web.Config) {
		c.Mailer = mailerFunc(func(ctx context.Context, to, subject, body string) error {
			mails <- body
			return nil
		})
	})
	b := browser(t)
	do := func(method, path, requestID string, form url.Values) *http.Response {
		t.Helper()
		var body *strings.Reader
		if form != nil {
			body = strings.NewReader(form.Encode())
		} else {
			body = strings.NewReader("")
		}
		req, _ := http.NewRequest(method, srv.URL+path, body)
		if form != nil {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
		if requestID != "" {
			req.Header.Set("X-Request-Id", requestID)
		}
		resp, err := b.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	var secrets []string

	// A guest first, whose session the sign-in replaces.
	resp, err := b.Post(srv.URL+"/api/v1/guests", "application/json", strings.NewReader(`{"name":"gus"}`))
	if err != nil {
		t.Fatal(err)
	}
	var guest struct {
		Token string `json:"token"`
	}
	json.NewDecoder(resp.Body).Decode(&guest)
	resp.Body.Close()
	if guest.Token == "" {
		t.Fatalf("no guest token: %d", resp.StatusCode)
	}
	secrets = append(secrets, guest.Token)

	if resp := do("POST", "/auth/email", "ask-1", url.Values{"email": {"alice@example.com"}}); resp.StatusCode != http.StatusOK {
		t.Fatalf("asking for a link: %d", resp.StatusCode)
	}
	var mail string
	select {
	case mail = <-mails:
	case <-time.After(10 * time.Second):
		t.Fatal("no mail")
	}
	link := regexp.MustCompile(`https?://\S+`).FindString(mail)
	u, err := url.Parse(link)
	if err != nil || u.Query().Get("token") == "" {
		t.Fatalf("no link with a token in the mail:\n%s", mail)
	}
	token := u.Query().Get("token")
	secrets = append(secrets, token, link)
	if resp := do("GET", u.RequestURI(), "", nil); resp.StatusCode != http.StatusOK {
		t.Fatalf("opening the link: %d", resp.StatusCode)
	}
	resp = do("POST", "/auth/email/redeem", "redeem-1", url.Values{"token": {token}})
	session := sessionCookie(resp)
	if resp.StatusCode != http.StatusSeeOther || session == nil {
		t.Fatalf("redeeming the link: %d, session cookie %v", resp.StatusCode, session)
	}
	secrets = append(secrets, session.Value)
	// The token is spent, and a wrong one is refused: both logged, if at
	// all, without the token.
	do("POST", "/auth/email/redeem", "", url.Values{"token": {token}})
	do("POST", "/auth/email/redeem", "", url.Values{"token": {"0123456789abcdef-not-a-token"}})
	secrets = append(secrets, "0123456789abcdef-not-a-token")
	if resp := do("GET", "/api/v1/me", "", nil); resp.StatusCode != http.StatusOK {
		t.Fatalf("/api/v1/me after signing in: %d", resp.StatusCode)
	}
	if resp := do("DELETE", "/api/v1/session", "", nil); resp.StatusCode != http.StatusNoContent {
		t.Fatalf("signing out: %d", resp.StatusCode)
	}

	log := logs.String()
	for _, s := range secrets {
		if strings.Contains(log, s) {
			t.Errorf("the log holds the secret %q:\n%s", s, log)
		}
	}
	var signedIn bool
	for _, rec := range logs.records(t) {
		if rec["node"] != "n1" {
			t.Errorf("a record without the node: %v", rec)
		}
		if rec["msg"] == "signed in" {
			signedIn = true
			if rec["request_id"] != "redeem-1" {
				t.Errorf("the sign-in's record has request_id %v, want redeem-1 (the redeem request's): %v", rec["request_id"], rec)
			}
		}
	}
	if !signedIn {
		t.Errorf("no \"signed in\" record:\n%s", log)
	}
}

// mailerFunc is an auth.Mailer made of a function.
type mailerFunc func(ctx context.Context, to, subject, body string) error

func (f mailerFunc) Send(ctx context.Context, to, subject, body string) error {
	return f(ctx, to, subject, body)
}

// TestWebSocketLogLines checks that the log lines of a WebSocket
// connection, written long after its upgrade request has returned, carry
// that request's id and the user, and never the token: a refused frame and
// the close, on the event loop and on the goroutine path.
func TestWebSocketLogLines(t *testing.T) {
	for _, mode := range wsModes[:2] {
		t.Run(mode, func(t *testing.T) {
			logs := &logBuffer{}
			log := slog.New(web.LogHandler(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})))
			s := startWSLog(t, mode, 0, 0, nil, log)
			d := websocket.Dialer{}
			url := "ws" + strings.TrimPrefix(s.ts.URL, "http") + "/api/v1/ws"
			ws, _, err := d.Dial(t.Context(), url, http.Header{"Authorization": {"Bearer " + s.token}, "X-Request-Id": {"ws-logs-" + mode}})
			if err != nil {
				t.Fatal(err)
			}
			ws.NetConn().SetDeadline(time.Now().Add(wsTimeout))
			send(t, ws, `{"type":"no-such-frame"}`)
			if f := next(t, ws, "error"); f.Code != "invalid" {
				t.Fatalf("error frame %+v, want code invalid", f)
			}
			ws.WriteClose(websocket.CloseNormal, "")
			ws.Close()

			var closed map[string]any
			testutil.Eventually(t, wsTimeout, "the close to be logged", func() bool {
				for _, rec := range logs.records(t) {
					if rec["msg"] == "websocket closed" {
						closed = rec
						return true
					}
				}
				return false
			})
			var refused map[string]any
			for _, rec := range logs.records(t) {
				if rec["msg"] == "websocket frame refused" {
					refused = rec
				}
			}
			if refused == nil {
				t.Fatalf("no log line for the refused frame:\n%s", logs.String())
			}
			for _, rec := range []map[string]any{refused, closed} {
				if rec["request_id"] != "ws-logs-"+mode || rec["user"] != string(s.user) {
					t.Errorf("%q: request_id %v, user %v; want ws-logs-%s, %s", rec["msg"], rec["request_id"], rec["user"], mode, s.user)
				}
			}
			if closed["code"] != float64(websocket.CloseNormal) {
				t.Errorf("websocket closed with code %v, want %d (the client's, echoed)", closed["code"], websocket.CloseNormal)
			}
			if strings.Contains(logs.String(), s.token) {
				t.Errorf("the log holds the session token:\n%s", logs.String())
			}
		})
	}
}
