package tracing_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"

	"github.com/hanashi-chat/hanashi"
	"github.com/hanashi-chat/hanashi/inmem"
	"github.com/hanashi-chat/hanashi/internal/testpeer"
	"github.com/hanashi-chat/hanashi/internal/testutil"
	"github.com/hanashi-chat/hanashi/sqlite"
	"github.com/hanashi-chat/hanashi/tracing"
)

// find returns the first span named name that rcv got, or nil.
func find(rcv *testpeer.OTLP, name string) *testpeer.Span {
	for _, s := range rcv.Spans() {
		if s.Name == name {
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
func start(t *testing.T) (*tracing.Tracing, *testpeer.OTLP) {
	t.Helper()
	rcv := testpeer.StartOTLP(t)
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

	get := find(rcv, "GET /rooms/{id}")
	if get == nil {
		t.Fatalf("no span GET /rooms/{id}; got %+v", rcv.Spans())
	}
	if get.Kind != tracepb.Span_SPAN_KIND_SERVER || get.Attrs["http.route"] != "/rooms/{id}" ||
		get.Attrs["http.request.method"] != "GET" || get.Attrs["http.response.status_code"] != "200" {
		t.Errorf("GET span %+v; want a server span with route /rooms/{id}, method GET, status 200", get)
	}
	if got := get.TraceID; got != "0af7651916cd43dd8448eb211c80319c" || get.ParentID != "b7ad6b7169203331" {
		t.Errorf("GET span in trace %s under %s; want the caller's trace and span", got, get.ParentID)
	}
	if get.Resource["service.name"] != "hanashi" || get.Resource["service.instance.id"] != "node-7" || get.Resource["deployment.environment"] != "test" {
		t.Errorf("resource %v; want service hanashi, instance node-7 and OTEL_RESOURCE_ATTRIBUTES", get.Resource)
	}
	for _, s := range rcv.Spans() {
		for k, v := range s.Attrs {
			if strings.Contains(v, "s3cret") || strings.Contains(v, "42") {
				t.Errorf("span %s has %s=%q: the URL's query or ids leaked", s.Name, k, v)
			}
		}
	}
	if fail := find(rcv, "POST /fail"); fail == nil || fail.Status != tracepb.Status_STATUS_CODE_ERROR || fail.Attrs["http.response.status_code"] != "503" {
		t.Errorf("POST /fail span %+v; want status 503 and an error", fail)
	}
	if p := find(rcv, "GET /panic"); p == nil || p.Status != tracepb.Status_STATUS_CODE_ERROR {
		t.Errorf("a handler that panicked: span %+v; want one with an error", p)
	}
	// No route: the mux's 404; the span keeps the method alone.
	if find(rcv, "GET") == nil {
		t.Errorf("no span for a request no route took; got %+v", rcv.Spans())
	}
}

func mustRequest(t *testing.T, method, url string) *http.Request {
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	return req
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
	if err := broker.PublishSignals(ctx, []hanashi.Signal{{Room: room.ID, Kind: "typing"}}); err != nil {
		t.Fatal(err)
	}
	if err := tr.Broker(failingBroker{}).Publish(ctx, []hanashi.Message{res[0].Message}); err == nil {
		t.Fatal("the failing broker's error was lost")
	}
	if err := tr.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}

	var posts, publishes, failed int
	for _, s := range rcv.Spans() {
		switch s.Name {
		case "store.Post":
			posts++
			if s.Attrs["hanashi.posts"] != "2" {
				t.Errorf("store.Post span %v; want hanashi.posts=2", s.Attrs)
			}
		case "broker.Publish":
			publishes++
			if s.Status == tracepb.Status_STATUS_CODE_ERROR {
				failed++
			} else if s.Attrs["hanashi.messages"] != "2" {
				t.Errorf("broker.Publish span %v; want hanashi.messages=2", s.Attrs)
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
	testutil.Eventually(t, 10*time.Second, "the span to arrive", func() bool { return find(rcv, "GET /healthz") != nil })
}
