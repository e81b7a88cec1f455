package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/hanashi-chat/hanashi/internal/testutil"
)

// e2eMetrics is one scrape of /metrics, parsed as Prometheus parses it.
type e2eMetrics map[string]*dto.MetricFamily

// e2eScrape fetches and parses url (a /metrics).
func e2eScrape(t *testing.T, url string) e2eMetrics {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s", url, resp.Status)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
		t.Errorf("GET %s: Content-Type %q, want Prometheus's text format", url, ct)
	}
	p := expfmt.NewTextParser(model.LegacyValidation)
	fams, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: parsing: %v", url, err)
	}
	return fams
}

// value is the value of a counter or gauge without labels; a histogram
// gives its count. A missing metric fails the test.
func (m e2eMetrics) value(t *testing.T, name string) float64 {
	t.Helper()
	f := m[name]
	if f == nil || len(f.Metric) == 0 {
		t.Fatalf("/metrics has no %s", name)
	}
	return metricValue(f.Metric[0])
}

// op is the count of hanashi_store_seconds{op=op}.
func (m e2eMetrics) op(t *testing.T, op string) float64 {
	t.Helper()
	f := m["hanashi_store_seconds"]
	if f == nil {
		t.Fatal("/metrics has no hanashi_store_seconds")
	}
	for _, mt := range f.Metric {
		for _, l := range mt.Label {
			if l.GetName() == "op" && l.GetValue() == op {
				return metricValue(mt)
			}
		}
	}
	t.Fatalf("hanashi_store_seconds has no op %q", op)
	return 0
}

func metricValue(m *dto.Metric) float64 {
	switch {
	case m.Counter != nil:
		return m.Counter.GetValue()
	case m.Gauge != nil:
		return m.Gauge.GetValue()
	case m.Histogram != nil:
		return float64(m.Histogram.GetSampleCount())
	}
	return 0
}

// waitMetrics scrapes until ok accepts a scrape, and returns it: some
// counters move just after the frames a client reads were queued, and a
// closed connection leaves the server a moment after the client closes it.
func waitMetrics(t *testing.T, url, what string, ok func(e2eMetrics) bool) e2eMetrics {
	t.Helper()
	var m e2eMetrics
	testutil.Eventually(t, e2eTimeout, what, func() bool {
		m = e2eScrape(t, url)
		return ok(m)
	})
	return m
}

// readMessages reads frames until it has acks acks and msgs messages,
// skipping signals (presence, typing, read); anything else fails.
func (c *e2eConn) readMessages(t *testing.T, acks, msgs int) (seqs []int64) {
	t.Helper()
	for acks > 0 || msgs > 0 {
		f := c.next(t)
		switch {
		case f.Type == "ack" && acks > 0:
			acks--
		case f.Type == "message" && msgs > 0:
			msgs--
			seqs = append(seqs, f.Seq)
		case f.Type == "presence" || f.Type == "typing" || f.Type == "read":
		default:
			t.Fatalf("got %s; still waiting for %d acks and %d messages", f, acks, msgs)
		}
	}
	return seqs
}

// TestE2EMetrics scrapes the real server's /metrics around some chat —
// two WebSockets subscribed to a room, five sends, a disconnect and a
// resume — and checks that each counter and gauge moved by exactly what
// happened.
func TestE2EMetrics(t *testing.T) {
	srv := e2eStart(t, t.TempDir())
	url := srv.base + "/metrics"
	before := e2eScrape(t, url)
	for _, name := range []string{"go_goroutines", "go_memstats_heap_inuse_bytes", "go_gc_duration_seconds", "process_resident_memory_bytes", "hanashi_resume_messages", "hanashi_broker_publish_seconds"} {
		if before[name] == nil {
			t.Errorf("/metrics has no %s", name)
		}
	}
	delta := func(m e2eMetrics, name string) float64 { return m.value(t, name) - before.value(t, name) }
	opDelta := func(m e2eMetrics, op string) float64 { return m.op(t, op) - before.op(t, op) }

	alice, bob := srv.guest(t, "alice"), srv.guest(t, "bob")
	room := srv.room(t, alice, "metrics", false)
	a, b := srv.ws(t, alice), srv.ws(t, bob)
	for _, c := range []*e2eConn{a, b} {
		if err := c.subscribe(room.ID); err != nil {
			t.Fatal(err)
		}
		c.expect(t, "subscribed")
	}
	m := e2eScrape(t, url)
	if d := delta(m, "hanashi_connections"); d != 2 {
		t.Errorf("two WebSockets opened: hanashi_connections moved by %v", d)
	}
	if d := delta(m, "hanashi_subscriptions"); d != 2 {
		t.Errorf("two subscriptions: hanashi_subscriptions moved by %v", d)
	}

	// Three sends reach both subscribers: 6 deliveries.
	for i := range 3 {
		if err := a.send(room.ID, fmt.Sprint("live-", i), "hello"); err != nil {
			t.Fatal(err)
		}
	}
	a.readMessages(t, 3, 3)
	b.readMessages(t, 0, 3)
	m = waitMetrics(t, url, "6 deliveries", func(m e2eMetrics) bool { return delta(m, "hanashi_deliveries_total") >= 6 })
	for name, want := range map[string]float64{
		"hanashi_messages_received_total": 3,
		"hanashi_messages_acked_total":    3,
		"hanashi_deliveries_total":        6,
		"hanashi_resumes_total":           0,
	} {
		if d := delta(m, name); d != want {
			t.Errorf("after 3 sends to 2 subscribers: %s moved by %v, want %v", name, d, want)
		}
	}

	// Bob goes away; two more sends reach Alice alone.
	b.c.Close()
	waitMetrics(t, url, "bob's connection to close", func(m e2eMetrics) bool {
		return delta(m, "hanashi_connections") == 1 && delta(m, "hanashi_subscriptions") == 1
	})
	for i := range 2 {
		if err := a.send(room.ID, fmt.Sprint("missed-", i), "hello"); err != nil {
			t.Fatal(err)
		}
	}
	a.readMessages(t, 2, 2)

	// Bob resumes from seq 3: the 2 he missed are replayed.
	b = srv.ws(t, bob)
	if err := b.subscribeAfter(room.ID, 3); err != nil {
		t.Fatal(err)
	}
	if seqs := b.readMessages(t, 0, 2); seqs[0] != 4 || seqs[1] != 5 {
		t.Fatalf("resumed after seq 3: got seqs %v, want 4 and 5", seqs)
	}
	b.expect(t, "subscribed")

	m = waitMetrics(t, url, "10 deliveries", func(m e2eMetrics) bool { return delta(m, "hanashi_deliveries_total") >= 10 })
	for name, want := range map[string]float64{
		"hanashi_connections":             2,
		"hanashi_subscriptions":           2,
		"hanashi_messages_received_total": 5,
		"hanashi_messages_acked_total":    5,
		"hanashi_deliveries_total":        6 + 2 + 2, // live to both, live to Alice, replayed to Bob
		"hanashi_queue_overflows_total":   0,
		"hanashi_resumes_total":           1,
		"hanashi_resume_messages":         1, // its count
	} {
		if d := delta(m, name); d != want {
			t.Errorf("at the end: %s moved by %v, want %v", name, d, want)
		}
	}
	if sum := m["hanashi_resume_messages"].Metric[0].GetHistogram().GetSampleSum() - before["hanashi_resume_messages"].Metric[0].GetHistogram().GetSampleSum(); sum != 2 {
		t.Errorf("hanashi_resume_messages_sum moved by %v, want 2 (one resume of 2 messages)", sum)
	}
	// Five sends took one to five commits; the resume read its backlog.
	if d := opDelta(m, "Post"); d < 1 || d > 5 {
		t.Errorf("hanashi_store_seconds{op=\"Post\"} counted %v commits for 5 sends", d)
	}
	if d := opDelta(m, "Messages"); d < 1 {
		t.Errorf("hanashi_store_seconds{op=\"Messages\"} counted no read for the resume")
	}
	if d := opDelta(m, "SessionUser"); d < 2 {
		t.Errorf("hanashi_store_seconds{op=\"SessionUser\"} counted %v session checks for 3 WebSockets and a room", d)
	}
	if d := delta(m, "hanashi_broker_publish_seconds"); d < 1 || d > 5+10 {
		t.Errorf("hanashi_broker_publish_seconds counted %v publishes", d)
	}

	// /metrics answers GET only.
	resp, err := http.Post(url, "text/plain", strings.NewReader("x"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode == http.StatusOK {
		t.Errorf("POST /metrics: %d", resp.StatusCode)
	}
}

// TestE2EMetricsAddr serves /metrics on a listener of its own, and checks
// that the main listener no longer has it and that a bad address is
// refused at start.
func TestE2EMetricsAddr(t *testing.T) {
	metricsAddr := freeAddr(t)
	srv := e2eStart(t, t.TempDir(), "-metrics-addr", metricsAddr)
	resp, err := http.Get(srv.base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("/metrics on the main listener with -metrics-addr: %d, want 404", resp.StatusCode)
	}
	g := srv.guest(t, "carol")
	srv.ws(t, g)
	m := waitMetrics(t, "http://"+metricsAddr+"/metrics", "the WebSocket", func(m e2eMetrics) bool {
		return m.value(t, "hanashi_connections") == 1
	})
	if m["go_goroutines"] == nil {
		t.Error("the metrics listener has no go_goroutines")
	}
	resp, err = http.Get("http://" + metricsAddr + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("/ on the metrics listener: %d, want 404: it serves /metrics only", resp.StatusCode)
	}

	// A taken or malformed address stops the server at start, saying why.
	for _, bad := range []string{metricsAddr, "127.0.0.1:notaport"} {
		args, _ := json.Marshal([]string{"hanashi", "-addr", freeAddr(t), "-data", t.TempDir(), "-metrics-addr", bad})
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), "HANASHI_TEST_SERVE=1", "HANASHI_TEST_ARGS="+string(args))
		done := make(chan struct{})
		var out []byte
		go func() {
			out, err = cmd.CombinedOutput()
			close(done)
		}()
		select {
		case <-done:
		case <-time.After(e2eTimeout):
			cmd.Process.Kill()
			<-done
			t.Fatalf("-metrics-addr %s: the server did not stop", bad)
		}
		if err == nil || !strings.Contains(string(out), bad) {
			t.Errorf("-metrics-addr %s: exit %v, want an error naming the address:\n%s", bad, err, out)
		}
	}
}
