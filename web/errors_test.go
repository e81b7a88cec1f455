package web_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/hanashi-chat/hanashi"
	"github.com/hanashi-chat/hanashi/web"
)

// brokenSessions is a store whose session lookups fail, as they do when
// the database is out of reach.
type brokenSessions struct {
	hanashi.Store
}

func (brokenSessions) SessionUser(context.Context, []byte) (hanashi.User, error) {
	return hanashi.User{}, errors.New("failed to connect to the database")
}

// lockedBuffer is a bytes.Buffer safe for the server's goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) lines(level string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Count(l.b.String(), "level="+level)
}

// TestErrorsWhileNotReady checks that a request failing for an internal
// reason is a logged 500 while the node is ready, and while it is not (a
// dependency is down) a 503 "unavailable", counted in one line rather than
// one per request.
func TestErrorsWhileNotReady(t *testing.T) {
	var logs lockedBuffer
	var notReady atomic.Bool
	ts := newTestServer(t, func(c *web.Config) {
		c.Store = brokenSessions{c.Store}
		c.Logger = slog.New(slog.NewTextHandler(&logs, nil))
		c.Ready = func(context.Context) error {
			if notReady.Load() {
				return errors.New("database: no answer")
			}
			return nil
		}
	})
	me := func() int {
		req, _ := http.NewRequest("GET", ts.URL+"/api/v1/me", nil)
		req.Header.Set("Authorization", "Bearer a-token-of-the-right-length-for-a-lookup")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if got := me(); got != http.StatusInternalServerError {
		t.Fatalf("a failing request while ready: %d, want 500", got)
	}
	if n := logs.lines("ERROR"); n != 1 {
		t.Fatalf("a failing request while ready logged %d errors, want 1", n)
	}
	notReady.Store(true)
	for range 20 {
		if got := me(); got != http.StatusServiceUnavailable {
			t.Fatalf("a failing request while not ready: %d, want 503", got)
		}
	}
	if n := logs.lines("WARN"); n != 1 {
		t.Errorf("20 failing requests while not ready logged %d warnings, want 1", n)
	}
	if n := logs.lines("ERROR"); n != 1 {
		t.Errorf("failing requests while not ready logged errors one by one (%d in all)", n)
	}
	notReady.Store(false)
	get(t, http.DefaultClient, ts.URL+"/readyz")
	if n := logs.lines("INFO"); n != 1 {
		t.Errorf("the end of the outage logged %d lines, want 1", n)
	}
}
