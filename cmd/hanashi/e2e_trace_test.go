package main

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/hanashi-chat/hanashi/internal/testpeer"
	"github.com/hanashi-chat/hanashi/internal/testutil"
)

// e2eWaitSpans waits until o has a span of each name and returns them by
// name (the first of each).
func e2eWaitSpans(t *testing.T, o *testpeer.OTLP, names ...string) map[string]testpeer.Span {
	t.Helper()
	var got map[string]testpeer.Span
	testutil.EventuallyNil(t, e2eTimeout, fmt.Sprintf("spans %q", names), func() error {
		got = make(map[string]testpeer.Span)
		for _, s := range o.Spans() {
			if _, ok := got[s.Name]; !ok {
				got[s.Name] = s
			}
		}
		var missing []string
		for _, n := range names {
			if _, ok := got[n]; !ok {
				missing = append(missing, n)
			}
		}
		if len(missing) == 0 {
			return nil
		}
		var have []string
		for n := range got {
			have = append(have, n)
		}
		return fmt.Errorf("no spans %q; got %q", missing, have)
	})
	return got
}

// TestE2ETraces starts the real server with OTEL_EXPORTER_OTLP_ENDPOINT
// pointing at a receiver in the test, and checks the spans of some
// requests, a send's commit and its publish.
func TestE2ETraces(t *testing.T) {
	otlp := testpeer.StartOTLP(t)
	srv := e2eStartWith(t, t.TempDir(), e2eOptions{env: []string{
		"OTEL_EXPORTER_OTLP_ENDPOINT=" + otlp.URL,
		"OTEL_BSP_SCHEDULE_DELAY=100", // milliseconds: spans leave while the test waits
	}}, "-node", "trace-node")

	g := srv.guest(t, "tracy")
	room := srv.room(t, g, "traced", false)
	c := srv.ws(t, g)
	c.sendAck(t, room.ID, "t-1", "traced message")
	srv.messages(t, g, room.ID, "?after=0&limit=10")
	// A caller's trace goes on through the server.
	req, _ := http.NewRequest("GET", srv.base+"/readyz", nil)
	req.Header.Set("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
	resp, err := srv.http.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()

	msgs := "GET /api/v1/rooms/{id}/messages"
	spans := e2eWaitSpans(t, otlp, "POST /api/v1/guests", "POST /api/v1/rooms", msgs, "GET /api/v1/ws", "GET /readyz", "store.Post", "broker.Publish")
	if s := spans[msgs]; s.Attrs["http.route"] != "/api/v1/rooms/{id}/messages" || s.Attrs["http.response.status_code"] != "200" || s.Attrs["http.request.method"] != "GET" {
		t.Errorf("%s span attributes %v; want the route, GET and 200", msgs, s.Attrs)
	}
	if s := spans["GET /readyz"]; s.TraceID != "4bf92f3577b34da6a3ce929d0e0e4736" || s.ParentID != "00f067aa0ba902b7" {
		t.Errorf("/readyz span in trace %s under %s; want the caller's", s.TraceID, s.ParentID)
	}
	if s := spans["store.Post"]; s.Attrs["hanashi.posts"] != "1" {
		t.Errorf("store.Post span attributes %v; want hanashi.posts=1", s.Attrs)
	}
	for name, s := range spans {
		if s.Resource["service.name"] != "hanashi" || s.Resource["service.instance.id"] != "trace-node" {
			t.Errorf("span %s: resource %v; want service hanashi on node trace-node", name, s.Resource)
		}
	}
	// Neither tokens nor queries nor ids go into spans.
	for _, s := range otlp.Spans() {
		for k, v := range s.Attrs {
			if strings.Contains(v, g.Token) || strings.Contains(v, "after=") || strings.Contains(v, fmt.Sprint("/", room.ID)) {
				t.Errorf("span %s has %s=%q", s.Name, k, v)
			}
		}
		if strings.Contains(s.Name, fmt.Sprint("/", room.ID)) {
			t.Errorf("span name %q has an id in it: every room would be a span name of its own", s.Name)
		}
	}
}
