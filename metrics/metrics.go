// Package metrics exposes a node's Prometheus metrics at /metrics: the
// hub's counters and the WebSocket count, read when Prometheus scrapes;
// store and broker latencies, measured by decorators around the Store and
// the Broker; and the Go runtime and the process. It is the one package
// that imports the Prometheus client: the hub and the web server keep
// plain atomic counters (hub.Stats, web.Server.Connections), so that they
// cost nothing to run without it and no scrape ever takes their locks for
// long. docs/operations.md lists the metrics, and the Grafana dashboard in
// deploy/grafana draws them.
package metrics

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/hanashi-chat/hanashi/hub"
)

// latencyBuckets are the histogram buckets of store and broker calls, in
// seconds: from a SQLite read served from the page cache (well under a
// millisecond) to a commit stuck behind a slow disk or network.
var latencyBuckets = []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}

// Metrics is one node's registry. Make it with New, wrap the store and
// the broker with Store and Broker, then, once the hub and the web server
// exist, hand them to Watch. It is safe for concurrent use.
type Metrics struct {
	reg     *prometheus.Registry
	store   *prometheus.HistogramVec
	publish prometheus.Histogram
}

// New returns a registry with the Go runtime's and the process's metrics
// and the (still empty) store and broker histograms.
func New() *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		store: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "hanashi_store_seconds",
			Help:    "Latency of store operations, by operation.",
			Buckets: latencyBuckets,
		}, []string{"op"}),
		publish: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "hanashi_broker_publish_seconds",
			Help:    "Time to hand committed messages to the broker.",
			Buckets: latencyBuckets,
		}),
	}
	m.reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		m.store,
		m.publish,
	)
	return m
}

// Handler serves the metrics in Prometheus's text format (or
// OpenMetrics, when the scraper asks for it).
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{EnableOpenMetrics: true})
}

// HubStats is what Watch reads from the hub (*hub.Hub).
type HubStats interface {
	Stats() hub.Stats
}

// Connections is what Watch reads from the web server (*web.Server).
type Connections interface {
	Connections() int
}

// Watch adds the hub's counters and the web server's connection count,
// read at every scrape. Call it once.
func (m *Metrics) Watch(h HubStats, conns Connections) {
	m.reg.MustRegister(&collector{hub: h, conns: conns})
}

// collector turns hub.Stats and the connection count into metrics when
// Prometheus scrapes. The values are kept by the hub and the server, so
// they are "const" metrics here: made afresh at each scrape.
type collector struct {
	hub   HubStats
	conns Connections
}

var (
	descConnections = prometheus.NewDesc("hanashi_connections",
		"Open WebSockets.", nil, nil)
	descSubscriptions = prometheus.NewDesc("hanashi_subscriptions",
		"Room subscriptions of this node's connections.", nil, nil)
	descReceived = prometheus.NewDesc("hanashi_messages_received_total",
		"Sends received from clients.", nil, nil)
	descAcked = prometheus.NewDesc("hanashi_messages_acked_total",
		"Sends committed and acknowledged.", nil, nil)
	descDeliveries = prometheus.NewDesc("hanashi_deliveries_total",
		"Messages put on subscribers' queues, live or replayed on a resume.", nil, nil)
	descOverflows = prometheus.NewDesc("hanashi_queue_overflows_total",
		"Connections closed because their queue was full (slow consumers; they resume).", nil, nil)
	descResumes = prometheus.NewDesc("hanashi_resumes_total",
		"Subscriptions resumed from a cursor.", nil, nil)
	descResumeMessages = prometheus.NewDesc("hanashi_resume_messages",
		"Missed messages replayed per resume.", nil, nil)
)

func (c *collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descConnections, descSubscriptions, descReceived, descAcked,
		descDeliveries, descOverflows, descResumes, descResumeMessages} {
		ch <- d
	}
}

func (c *collector) Collect(ch chan<- prometheus.Metric) {
	st := c.hub.Stats()
	gauge := func(d *prometheus.Desc, v float64) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v)
	}
	counter := func(d *prometheus.Desc, v uint64) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v))
	}
	gauge(descConnections, float64(c.conns.Connections()))
	gauge(descSubscriptions, float64(st.Subscriptions))
	counter(descReceived, st.Received)
	counter(descAcked, st.Acked)
	counter(descDeliveries, st.Deliveries)
	counter(descOverflows, st.QueueOverflows)
	counter(descResumes, st.Resumes)
	h := st.ResumeMessages
	buckets := make(map[float64]uint64, len(h.Bounds))
	for i, b := range h.Bounds {
		buckets[float64(b)] = h.Buckets[i]
	}
	ch <- prometheus.MustNewConstHistogram(descResumeMessages, h.Count, float64(h.Sum), buckets)
}
