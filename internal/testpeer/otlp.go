package testpeer

import (
	"compress/gzip"
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"

	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"
)

// Span is a span as an OTLP receiver got it, attribute values as strings
// and ids in hex.
type Span struct {
	Name              string
	Kind              tracepb.Span_SpanKind
	TraceID, ParentID string
	Attrs, Resource   map[string]string
	Status            tracepb.Status_StatusCode
}

// OTLP is an OpenTelemetry trace receiver on loopback: it takes OTLP/HTTP
// exports (protobuf, gzip or not) and decodes them as a collector would.
// A request that is not an export fails the test.
type OTLP struct {
	// URL is what OTEL_EXPORTER_OTLP_ENDPOINT should be.
	URL string

	mu    sync.Mutex
	spans []Span
}

// StartOTLP starts a receiver that stops when the test ends.
func StartOTLP(t testing.TB) *OTLP {
	t.Helper()
	o := &OTLP{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.URL.Path != "/v1/traces" || r.Header.Get("Content-Type") != "application/x-protobuf" {
			t.Errorf("OTLP receiver: %s %s of %q; want POST /v1/traces of application/x-protobuf", r.Method, r.URL.Path, r.Header.Get("Content-Type"))
			http.Error(w, "not an OTLP export", http.StatusBadRequest)
			return
		}
		var body io.Reader = r.Body
		if r.Header.Get("Content-Encoding") == "gzip" {
			zr, err := gzip.NewReader(r.Body)
			if err != nil {
				t.Errorf("OTLP receiver: %v", err)
				http.Error(w, "bad gzip", http.StatusBadRequest)
				return
			}
			body = zr
		}
		b, err := io.ReadAll(body)
		var export coltracepb.ExportTraceServiceRequest
		if err == nil {
			err = proto.Unmarshal(b, &export)
		}
		if err != nil {
			t.Errorf("OTLP receiver: not an export request: %v", err)
			http.Error(w, "bad export", http.StatusBadRequest)
			return
		}
		o.add(&export)
		out, _ := proto.Marshal(&coltracepb.ExportTraceServiceResponse{})
		w.Header().Set("Content-Type", "application/x-protobuf")
		w.Write(out)
	}))
	t.Cleanup(srv.Close)
	o.URL = srv.URL
	return o
}

func (o *OTLP) add(export *coltracepb.ExportTraceServiceRequest) {
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, rs := range export.ResourceSpans {
		res := otlpAttrs(rs.GetResource().GetAttributes())
		for _, ss := range rs.ScopeSpans {
			for _, s := range ss.Spans {
				o.spans = append(o.spans, Span{
					Name: s.Name, Kind: s.Kind,
					TraceID: hex.EncodeToString(s.TraceId), ParentID: hex.EncodeToString(s.ParentSpanId),
					Attrs: otlpAttrs(s.Attributes), Resource: res, Status: s.GetStatus().GetCode(),
				})
			}
		}
	}
}

// Spans returns every span received so far, in the order they came.
func (o *OTLP) Spans() []Span {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]Span(nil), o.spans...)
}

// otlpAttrs flattens attributes into strings, as tests compare them.
func otlpAttrs(kvs []*commonpb.KeyValue) map[string]string {
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
