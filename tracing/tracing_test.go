package tracing_test

import (
	"compress/gzip"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"

	"github.com/hanashi-chat/hanashi"
	"github.com/hanashi-chat/hanashi/inmem"
	"github.com/hanashi-chat/hanashi/sqlite"
	"github.com/hanashi-chat/hanashi/tracing"
)

// span is what the tests look at in a received span.
type span struct {
	name     string
	kind     tracepb.Span_SpanKind
	traceID  []byte
	parentID []byte
	attrs    map[string]string // values as strings
	resource map[string]string
	status   tracepb.Status_StatusCode
}

// receiver is an OTLP/HTTP trace receiver on loopback: it decodes each
// export request as a collector would.
type receiver struct {
	*httptest.Server
	mu    sync.Mutex
	spans []span
}

func newReceiver(t *testing.T) *receiver {
	r := &receiver{}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if req.Method != http.MethodPost || req.URL.Path != "/v1/traces" || req.Header.Get("Content-Type") != "application/x-protobuf" {
			t.Errorf("receiver: %s %s %s; want POST /v1/traces of application/x-protobuf", req.Method, req.URL.Path, req.Header.Get("Content-Type"))
			http.Error(w, "no", http.StatusBadRequest)
			return
		}
		var body io.Reader = req.Body
		if req.Header.Get("Content-Encoding") == "gzip" {
			zr, err := gzip.NewReader(req.Body)
			if err != nil {
				t.Errorf("receiver: %v", err)
				return
			}
			body = zr
		}
		b, err := io.ReadAll(body)
		if err != nil {
			t.Errorf("receiver: %v", err)
			return
		}
		var export coltracepb.ExportTraceServiceRequest
		if err := proto.Unmarshal(b, &export); err != nil {
			t.Errorf("receiver: not an export request: %v", err)
			http.Error(w, "bad protobuf", http.StatusBadRequest)
			return
		}
		r.add(&export)
		out, _ := proto.Marshal(&coltracepb.ExportTraceServiceResponse{})
		w.Header().Set("Content-Type", "application/x-protobuf")
		w.Write(out)
	}))
	t.Cleanup(r.Close)
	return r
}

// attrs flattens attributes into strings, as the tests compare them.
func attrs(kvs []*commonpb.KeyValue) map[string]string {
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

func (r *receiver) add(export *coltracepb.ExportTraceServiceRequest) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, rs := range export.ResourceSpans {
		res := attrs(rs.GetResource().GetAttributes())
		for _, ss := range rs.ScopeSpans {
			for _, s := range ss.Spans {
				r.spans = append(r.spans, span{
					name: s.Name, kind: s.Kind, traceID: s.TraceId, parentID: s.ParentSpanId,
					attrs: attrs(s.Attributes), resource: res, status: s.GetStatus().GetCode(),
				})
			}
		}
	}
}

func (r *receiver) received() []span {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]span(nil), r.spans...)
}

func (r *receiver) find(name string) *span {
	for _, s := range r.received() {
		if s.name == name {
			return &s
		}
	}
	return nil
}

// env is a getenv of fixed variables.
func env(vars map[string]string) func(string) string {
	return func(k string) string { return vars[k] }
}

func TestOffWithoutEndpoint(t *testing.T) {
	for _, vars := range []map[string]string{
		{},
		{"OTEL_SERVICE_NAME": "x"},
		{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:1", "OTEL_SDK_DISABLED": "true"},
	} {
		tr, err := tracing.Start(t.Context(), env(vars), "n1")
		if tr != nil || err != nil {
			t.Fatalf("%v: Start = %v, %v; want nil, nil (tracing off)", vars, tr, err)
		}
		// Off hands everything back as it is.
		var h http.Handler = http.NewServeMux()
		if tr.Middleware(h) != h {
			t.Errorf("%v: the middleware wraps the handler while tracing is off", vars)
		}
		var store hanashi.Store = fakeStore{}
		if tr.Store(store) != store {
			t.Errorf("%v: the store is wrapped while tracing is off", vars)
		}
		broker := inmem.NewBroker()
		if tr.Broker(broker) != hanashi.Broker(broker) {
			t.Errorf("%v: the broker is wrapped while tracing is off", vars)
		}
		if err := tr.Shutdown(t.Context()); err != nil {
			t.Errorf("Shutdown while off: %v", err)
		}
	}
	if !tracing.Enabled(env(map[string]string{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://127.0.0.1:1/v1/traces"})) {
		t.Error("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT alone does not enable traces")
	}
}

type fakeStore struct{ hanashi.Store }

// start turns tracing on, exporting to a receiver.
func start(t *testing.T) (*tracing.Tracing, *receiver) {
	t.Helper()
	rcv := newReceiver(t)
	vars := map[string]string{
		"OTEL_EXPORTER_OTLP_ENDPOINT": rcv.URL,
		"OTEL_RESOURCE_ATTRIBUTES":    "deployment.environment=test",
	}
	// The exporter reads the process's environment, as every SDK does.
	for k, v := range vars {
		t.Setenv(k, v)
	}
	tr, err := tracing.Start(t.Context(), env(vars), "node-7")
	if err != nil || tr == nil {
		t.Fatalf("Start: %v, %v", tr, err)
	}
	return tr, rcv
}

// TestMiddleware serves requests through a ServeMux wrapped by the
// middleware, as web does, and checks the spans the receiver gets.
func TestMiddleware(t *testing.T) {
	tr, rcv := start(t)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /rooms/{id}", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("ok")) })
	mux.HandleFunc("POST /fail", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusServiceUnavailable) })
	mux.HandleFunc("GET /panic", func(w http.ResponseWriter, r *http.Request) { panic("boom") })
	h := tr.Middleware(mux)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if recover() != nil {
				w.WriteHeader(http.StatusInternalServerError)
			}
		}()
		h.ServeHTTP(w, r)
	}))
	defer srv.Close()

	req, _ := http.NewRequest("GET", srv.URL+"/rooms/42?token=s3cret-token", nil)
	// A caller's trace goes on.
	req.Header.Set("traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01")
	for _, r := range []*http.Request{req, mustRequest(t, "POST", srv.URL+"/fail"), mustRequest(t, "GET", srv.URL+"/panic"), mustRequest(t, "GET", srv.URL+"/nowhere")} {
		resp, err := http.DefaultClient.Do(r)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	if err := tr.Shutdown(t.Context()); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}

	get := rcv.find("GET /rooms/{id}")
	if get == nil {
		t.Fatalf("no span GET /rooms/{id}; got %+v", rcv.received())
	}
	if get.kind != tracepb.Span_SPAN_KIND_SERVER || get.attrs["http.route"] != "/rooms/{id}" ||
		get.attrs["http.request.method"] != "GET" || get.attrs["http.response.status_code"] != "200" {
		t.Errorf("GET span %+v; want a server span with route /rooms/{id}, method GET, status 200", get)
	}
	if got := hexID(get.traceID); got != "0af7651916cd43dd8448eb211c80319c" || hexID(get.parentID) != "b7ad6b7169203331" {
		t.Errorf("GET span in trace %s under %s; want the caller's trace and span", got, hexID(get.parentID))
	}
	if get.resource["service.name"] != "hanashi" || get.resource["service.instance.id"] != "node-7" || get.resource["deployment.environment"] != "test" {
		t.Errorf("resource %v; want service hanashi, instance node-7 and OTEL_RESOURCE_ATTRIBUTES", get.resource)
	}
	for _, s := range rcv.received() {
		for k, v := range s.attrs {
			if strings.Contains(v, "s3cret") || strings.Contains(v, "42") {
				t.Errorf("span %s has %s=%q: the URL's query or ids leaked", s.name, k, v)
			}
		}
	}
	if fail := rcv.find("POST /fail"); fail == nil || fail.status != tracepb.Status_STATUS_CODE_ERROR || fail.attrs["http.response.status_code"] != "503" {
		t.Errorf("POST /fail span %+v; want status 503 and an error", fail)
	}
	if p := rcv.find("GET /panic"); p == nil || p.status != tracepb.Status_STATUS_CODE_ERROR {
		t.Errorf("a handler that panicked: span %+v; want one with an error", p)
	}
	// No route: the mux's 404; the span keeps the method alone.
	if rcv.find("GET") == nil {
		t.Errorf("no span for a request no route took; got %+v", rcv.received())
	}
}

func mustRequest(t *testing.T, method, url string) *http.Request {
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	return req
}

func hexID(b []byte) string {
	const digits = "0123456789abcdef"
	var s []byte
	for _, c := range b {
		s = append(s, digits[c>>4], digits[c&15])
	}
	return string(s)
}

// failingBroker refuses every publish.
type failingBroker struct{ hanashi.Broker }

func (failingBroker) Publish(context.Context, []hanashi.Message) error {
	return errors.New("broker down")
}

// TestStoreAndBrokerSpans commits a batch to a real SQLite store and
// publishes it, through the decorators.
func TestStoreAndBrokerSpans(t *testing.T) {
	tr, rcv := start(t)
	db, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "t.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	store := tr.Store(db)
	ctx := t.Context()
	u, err := store.CreateUser(ctx, hanashi.User{Name: "alice"})
	if err != nil {
		t.Fatal(err)
	}
	room, err := store.CreateRoom(ctx, hanashi.NewRoom{Name: "general", Creator: u.ID})
	if err != nil {
		t.Fatal(err)
	}
	res, err := store.Post(ctx, []hanashi.Post{
		{Room: room.ID, Author: u.ID, ClientID: "1", Body: "one"},
		{Room: room.ID, Author: u.ID, ClientID: "2", Body: "two"},
	})
	if err != nil || len(res) != 2 {
		t.Fatalf("post: %v %v", res, err)
	}
	broker := tr.Broker(inmem.NewBroker())
	defer broker.Close()
	if err := broker.Publish(ctx, []hanashi.Message{res[0].Message, res[1].Message}); err != nil {
		t.Fatal(err)
	}
	// Signals alone are not traced.
	if err := broker.Publish(ctx, []hanashi.Message{{Room: room.ID, Kind: "typing"}}); err != nil {
		t.Fatal(err)
	}
	if err := tr.Broker(failingBroker{}).Publish(ctx, []hanashi.Message{res[0].Message}); err == nil {
		t.Fatal("the failing broker's error was lost")
	}
	if err := tr.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}

	var posts, publishes, failed int
	for _, s := range rcv.received() {
		switch s.name {
		case "store.Post":
			posts++
			if s.attrs["hanashi.posts"] != "2" {
				t.Errorf("store.Post span %v; want hanashi.posts=2", s.attrs)
			}
		case "broker.Publish":
			publishes++
			if s.status == tracepb.Status_STATUS_CODE_ERROR {
				failed++
			} else if s.attrs["hanashi.messages"] != "2" {
				t.Errorf("broker.Publish span %v; want hanashi.messages=2", s.attrs)
			}
		}
	}
	if posts != 1 || publishes != 2 || failed != 1 {
		t.Errorf("got %d store.Post and %d broker.Publish spans (%d failed); want 1, 2 and 1 (none for the signal)", posts, publishes, failed)
	}
}

// TestExportWhileRunning checks that spans leave on their own, before
// Shutdown, on the batch schedule.
func TestExportWhileRunning(t *testing.T) {
	t.Setenv("OTEL_BSP_SCHEDULE_DELAY", "50")
	tr, rcv := start(t)
	defer tr.Shutdown(context.Background())
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {})
	rec := httptest.NewRecorder()
	tr.Middleware(mux).ServeHTTP(rec, httptest.NewRequest("GET", "/healthz", nil))
	deadline := time.Now().Add(10 * time.Second)
	for rcv.find("GET /healthz") == nil {
		if time.Now().After(deadline) {
			t.Fatal("the span did not arrive within 10s")
		}
		time.Sleep(10 * time.Millisecond)
	}
}
