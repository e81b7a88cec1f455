package main

import (
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	"google.golang.org/protobuf/proto"
)

// e2eSpan is a span as an OTLP receiver got it.
type e2eSpan struct {
	name, traceID, parentID string
	attrs, resource         map[string]string
}

// e2eOTLP is an OTLP/HTTP trace receiver on loopback that decodes what the
// server exports, as a collector would.
type e2eOTLP struct {
	url   string
	mu    sync.Mutex
	spans []e2eSpan
}

func e2eStartOTLP(t *testing.T) *e2eOTLP {
	t.Helper()
	o := &e2eOTLP{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		var req coltracepb.ExportTraceServiceRequest
		if err == nil {
			err = proto.Unmarshal(body, &req)
		}
		if r.Method != http.MethodPost || r.URL.Path != "/v1/traces" || err != nil {
			t.Errorf("OTLP receiver: %s %s (%s): %v", r.Method, r.URL.Path, r.Header.Get("Content-Type"), err)
			http.Error(w, "bad export", http.StatusBadRequest)
			return
		}
		o.mu.Lock()
		for _, rs := range req.ResourceSpans {
			res := e2eAttrs(rs.GetResource().GetAttributes())
			for _, ss := range rs.ScopeSpans {
				for _, s := range ss.Spans {
					o.spans = append(o.spans, e2eSpan{
						name: s.Name, traceID: hex.EncodeToString(s.TraceId), parentID: hex.EncodeToString(s.ParentSpanId),
						attrs: e2eAttrs(s.Attributes), resource: res,
					})
				}
			}
		}
		o.mu.Unlock()
		out, _ := proto.Marshal(&coltracepb.ExportTraceServiceResponse{})
		w.Header().Set("Content-Type", "application/x-protobuf")
		w.Write(out)
	}))
	t.Cleanup(srv.Close)
	o.url = srv.URL
	return o
}

func e2eAttrs(kvs []*commonpb.KeyValue) map[string]string {
	m := make(map[string]string)
	for _, kv := range kvs {
		if v, ok := kv.GetValue().GetValue().(*commonpb.AnyValue_IntValue); ok {
			m[kv.Key] = strconv.FormatInt(v.IntValue, 10)
			continue
		}
		m[kv.Key] = kv.GetValue().GetStringValue()
	}
	return m
}

// wait waits until a span of each name has arrived and returns them by
// name (the first of each).
func (o *e2eOTLP) wait(t *testing.T, names ...string) map[string]e2eSpan {
	t.Helper()
	deadline := time.Now().Add(e2eTimeout)
	for {
		got := make(map[string]e2eSpan)
		o.mu.Lock()
		for _, s := range o.spans {
			if _, ok := got[s.name]; !ok {
				got[s.name] = s
			}
		}
		o.mu.Unlock()
		var missing []string
		for _, n := range names {
			if _, ok := got[n]; !ok {
				missing = append(missing, n)
			}
		}
		if len(missing) == 0 {
			return got
		}
		if time.Now().After(deadline) {
			var have []string
			for n := range got {
				have = append(have, n)
			}
			t.Fatalf("no spans %q within %v; got %q", missing, e2eTimeout, have)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestE2ETraces starts the real server with OTEL_EXPORTER_OTLP_ENDPOINT
// pointing at a receiver in the test, and checks the spans of some
// requests, a send's commit and its publish.
func TestE2ETraces(t *testing.T) {
	otlp := e2eStartOTLP(t)
	srv := e2eStartWith(t, t.TempDir(), e2eOptions{env: []string{
		"OTEL_EXPORTER_OTLP_ENDPOINT=" + otlp.url,
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
	spans := otlp.wait(t, "POST /api/v1/guests", "POST /api/v1/rooms", msgs, "GET /api/v1/ws", "GET /readyz", "store.Post", "broker.Publish")
	if s := spans[msgs]; s.attrs["http.route"] != "/api/v1/rooms/{id}/messages" || s.attrs["http.response.status_code"] != "200" || s.attrs["http.request.method"] != "GET" {
		t.Errorf("%s span attributes %v; want the route, GET and 200", msgs, s.attrs)
	}
	if s := spans["GET /readyz"]; s.traceID != "4bf92f3577b34da6a3ce929d0e0e4736" || s.parentID != "00f067aa0ba902b7" {
		t.Errorf("/readyz span in trace %s under %s; want the caller's", s.traceID, s.parentID)
	}
	if s := spans["store.Post"]; s.attrs["hanashi.posts"] != "1" {
		t.Errorf("store.Post span attributes %v; want hanashi.posts=1", s.attrs)
	}
	for name, s := range spans {
		if s.resource["service.name"] != "hanashi" || s.resource["service.instance.id"] != "trace-node" {
			t.Errorf("span %s: resource %v; want service hanashi on node trace-node", name, s.resource)
		}
	}
	// Neither tokens nor queries nor ids go into spans.
	otlp.mu.Lock()
	defer otlp.mu.Unlock()
	for _, s := range otlp.spans {
		for k, v := range s.attrs {
			if strings.Contains(v, g.Token) || strings.Contains(v, "after=") || strings.Contains(v, fmt.Sprint("/", room.ID)) {
				t.Errorf("span %s has %s=%q", s.name, k, v)
			}
		}
		if strings.Contains(s.name, fmt.Sprint("/", room.ID)) {
			t.Errorf("span name %q has an id in it: every room would be a span name of its own", s.name)
		}
	}
}
