package metrics_test

import (
	"math"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/hanashi-chat/hanashi"
	"github.com/hanashi-chat/hanashi/hub"
	"github.com/hanashi-chat/hanashi/inmem"
	"github.com/hanashi-chat/hanashi/metrics"
	"github.com/hanashi-chat/hanashi/sqlite"
)

// scrape fetches m's metrics over HTTP and parses them as Prometheus does.
func scrape(t *testing.T, m *metrics.Metrics) map[string]*dto.MetricFamily {
	t.Helper()
	srv := httptest.NewServer(m.Handler())
	defer srv.Close()
	resp, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("scrape: %s", resp.Status)
	}
	p := expfmt.NewTextParser(model.LegacyValidation)
	fams, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("parsing the scrape: %v", err)
	}
	return fams
}

// family returns the family called name, checking its type.
func family(t *testing.T, fams map[string]*dto.MetricFamily, name string, typ dto.MetricType) *dto.MetricFamily {
	t.Helper()
	f := fams[name]
	if f == nil {
		t.Fatalf("no %s in the scrape", name)
	}
	if f.GetType() != typ {
		t.Fatalf("%s is a %v, want a %v", name, f.GetType(), typ)
	}
	return f
}

// value is the value of a family's only metric, a counter or gauge.
func value(t *testing.T, fams map[string]*dto.MetricFamily, name string, typ dto.MetricType) float64 {
	t.Helper()
	f := family(t, fams, name, typ)
	if len(f.Metric) != 1 {
		t.Fatalf("%s has %d series, want 1", name, len(f.Metric))
	}
	m := f.Metric[0]
	if typ == dto.MetricType_COUNTER {
		return m.GetCounter().GetValue()
	}
	return m.GetGauge().GetValue()
}

// fixedStats stands in for the hub and the web server: the collector only
// copies what they report.
type fixedStats struct {
	stats hub.Stats
	conns int
}

func (f *fixedStats) Stats() hub.Stats { return f.stats }
func (f *fixedStats) Connections() int { return f.conns }

func TestCollectorReportsHubAndConnections(t *testing.T) {
	m := metrics.New()
	src := &fixedStats{conns: 7, stats: hub.Stats{
		Subscriptions: 11, Received: 20, Acked: 19, Deliveries: 300, QueueOverflows: 2, Resumes: 3,
		ResumeMessages: hub.Histogram{Count: 3, Sum: 12, Bounds: []uint64{0, 1, 10}, Buckets: []uint64{1, 1, 2}},
	}}
	m.Watch(src, src)
	fams := scrape(t, m)
	for name, want := range map[string]float64{
		"hanashi_connections":   7,
		"hanashi_subscriptions": 11,
	} {
		if got := value(t, fams, name, dto.MetricType_GAUGE); got != want {
			t.Errorf("%s = %v, want %v", name, got, want)
		}
	}
	for name, want := range map[string]float64{
		"hanashi_messages_received_total": 20,
		"hanashi_messages_acked_total":    19,
		"hanashi_deliveries_total":        300,
		"hanashi_queue_overflows_total":   2,
		"hanashi_resumes_total":           3,
	} {
		if got := value(t, fams, name, dto.MetricType_COUNTER); got != want {
			t.Errorf("%s = %v, want %v", name, got, want)
		}
	}
	h := family(t, fams, "hanashi_resume_messages", dto.MetricType_HISTOGRAM).Metric[0].GetHistogram()
	if h.GetSampleCount() != 3 || h.GetSampleSum() != 12 {
		t.Errorf("resume histogram count %d sum %v, want 3 and 12", h.GetSampleCount(), h.GetSampleSum())
	}
	want := map[float64]uint64{0: 1, 1: 1, 10: 2, math.Inf(1): 3}
	for _, b := range h.Bucket {
		if w, ok := want[b.GetUpperBound()]; !ok || w != b.GetCumulativeCount() {
			t.Errorf("bucket le=%v has %d; want %v", b.GetUpperBound(), b.GetCumulativeCount(), want)
		}
		delete(want, b.GetUpperBound())
	}
	if len(want) > 0 {
		t.Errorf("buckets missing: %v", want)
	}

	// The numbers are read at every scrape.
	src.conns = 0
	src.stats.Received = 21
	fams = scrape(t, m)
	if got := value(t, fams, "hanashi_connections", dto.MetricType_GAUGE); got != 0 {
		t.Errorf("hanashi_connections = %v after the connections closed, want 0", got)
	}
	if got := value(t, fams, "hanashi_messages_received_total", dto.MetricType_COUNTER); got != 21 {
		t.Errorf("hanashi_messages_received_total = %v, want 21", got)
	}
}

func TestRuntimeMetrics(t *testing.T) {
	fams := scrape(t, metrics.New())
	for _, name := range []string{"go_goroutines", "go_memstats_heap_inuse_bytes", "go_gc_duration_seconds", "process_cpu_seconds_total", "process_resident_memory_bytes"} {
		if fams[name] == nil {
			t.Errorf("no %s", name)
		}
	}
	if fams["hanashi_connections"] != nil {
		t.Error("hanashi_connections before Watch: there is nothing to count yet")
	}
}

// opCounts returns how many calls hanashi_store_seconds saw, by op.
func opCounts(t *testing.T, fams map[string]*dto.MetricFamily) map[string]uint64 {
	t.Helper()
	counts := make(map[string]uint64)
	for _, m := range family(t, fams, "hanashi_store_seconds", dto.MetricType_HISTOGRAM).Metric {
		for _, l := range m.Label {
			if l.GetName() == "op" {
				counts[l.GetValue()] = m.GetHistogram().GetSampleCount()
			}
		}
	}
	return counts
}

// TestStoreAndBrokerLatency runs calls through the decorators around a real
// SQLite store and the in-process broker, and checks that each measured
// call is counted once, under its op, failures included, while the rest
// pass through.
func TestStoreAndBrokerLatency(t *testing.T) {
	db, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "metrics.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	m := metrics.New()
	store := m.Store(db)
	broker := m.Broker(inmem.NewBroker())
	defer broker.Close()

	// Every op is there from the start, at zero.
	counts := opCounts(t, scrape(t, m))
	for _, op := range []string{"Post", "Messages", "History", "LastSeq", "LastSeqs", "MarkRead", "MarkUnread", "Unread", "Room", "SessionUser", "RevokedSessions"} {
		if c, ok := counts[op]; !ok || c != 0 {
			t.Errorf("op %s: %d calls (present %v) before any; want a series at 0", op, c, ok)
		}
	}

	ctx := t.Context()
	u, err := store.CreateUser(ctx, hanashi.User{Name: "alice"}) // not measured
	if err != nil {
		t.Fatal(err)
	}
	room, err := store.CreateRoom(ctx, hanashi.NewRoom{Name: "general", Creator: u.ID})
	if err != nil {
		t.Fatal(err)
	}
	res, err := store.Post(ctx, []hanashi.Post{{Room: room.ID, Author: u.ID, ClientID: "1", Body: "hi"}})
	if err != nil || len(res) != 1 || res[0].Err != nil {
		t.Fatalf("post: %v %+v", err, res)
	}
	if err := broker.Publish(ctx, []hanashi.Message{res[0].Message}); err != nil {
		t.Fatal(err)
	}
	msgs, err := store.Messages(ctx, room.ID, hanashi.Page{After: 0, Limit: 10})
	if err != nil || len(msgs) != 1 {
		t.Fatalf("messages: %v %d", err, len(msgs))
	}
	for range 2 {
		if last, err := store.LastSeq(ctx, room.ID); err != nil || last != 1 {
			t.Fatalf("last seq %d, %v", last, err)
		}
	}
	if _, err := store.SessionUser(ctx, []byte("no such session")); hanashi.ErrorCode(err) != hanashi.EUNAUTHORIZED {
		t.Fatalf("unknown session: %v", err)
	}

	counts = opCounts(t, scrape(t, m))
	want := map[string]uint64{"Post": 1, "Messages": 1, "LastSeq": 2, "SessionUser": 1, "History": 0, "MarkRead": 0}
	for op, n := range want {
		if counts[op] != n {
			t.Errorf("op %s: %d calls, want %d", op, counts[op], n)
		}
	}
	for _, op := range []string{"CreateUser", "CreateRoom"} {
		if _, ok := counts[op]; ok {
			t.Errorf("op %s is measured; it should pass through", op)
		}
	}
	pub := family(t, scrape(t, m), "hanashi_broker_publish_seconds", dto.MetricType_HISTOGRAM).Metric[0].GetHistogram()
	if pub.GetSampleCount() != 1 {
		t.Errorf("broker publishes: %d, want 1", pub.GetSampleCount())
	}
}
