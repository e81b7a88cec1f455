package main

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"time"
)

// report is the outcome of a run; -json prints it as is.
type report struct {
	Config struct {
		URLs     []string `json:"urls"`
		Rooms    int      `json:"rooms"`
		Subs     int      `json:"subs"`
		Pubs     int      `json:"pubs"`
		Rate     float64  `json:"rate"`
		Inflight int      `json:"inflight"`
		Size     int      `json:"size"`
		DurS     float64  `json:"dur_s"`
		WarmupS  float64  `json:"warmup_s"`
		Idle     bool     `json:"idle"`
	} `json:"config"`

	// WindowS is the measured time: sending after the warmup, or holding
	// with -idle.
	WindowS float64 `json:"window_s"`

	Connections struct {
		Attempted int64          `json:"attempted"`
		Opened    int64          `json:"opened"`
		Failed    int64          `json:"failed"`  // never opened, or never subscribed
		Dropped   int64          `json:"dropped"` // ended before the run did
		Reasons   map[string]int `json:"reasons,omitempty"`
	} `json:"connections"`

	Messages struct {
		Sent         int64   `json:"sent"`
		Acked        int64   `json:"acked"`
		Refused      int64   `json:"refused"` // error frames naming a send
		Unacked      int64   `json:"unacked"` // neither acked nor refused
		UnknownAcks  int64   `json:"unknown_acks"`
		FirstRefusal string  `json:"first_refusal,omitempty"`
		AcksPerS     float64 `json:"acks_per_s"` // acks of sends in the window
	} `json:"messages"`

	Deliveries struct {
		Expected    int64   `json:"expected"` // acked x subscribed subscribers of the room
		Received    int64   `json:"received"` // of the expected
		Lost        int64   `json:"lost"`
		Duplicates  int64   `json:"duplicates"`
		Gaps        int64   `json:"gaps"`
		GapMessages int64   `json:"gap_messages"`
		Unacked     int64   `json:"unacked"`    // deliveries of messages never acked
		Unexpected  int64   `json:"unexpected"` // frames that should not have come
		Estimated   bool    `json:"estimated"`  // too many gaps to count lost exactly
		Measured    int64   `json:"measured"`   // deliveries of messages sent in the window
		PerS        float64 `json:"per_s"`      // Measured / window
		FrameBytes  float64 `json:"frame_bytes"`
	} `json:"deliveries"`

	Latency struct {
		EndToEnd quantiles `json:"end_to_end"` // send time in the body -> receipt
		Ack      quantiles `json:"ack"`        // send -> ack
	} `json:"latency"`

	Server   *serverStats   `json:"server,omitempty"`
	Machine  *machineStats  `json:"machine,omitempty"`
	Baseline *baselineStats `json:"baseline,omitempty"`

	// Interrupted: the run was stopped early (SIGINT), so the drain may
	// have been cut short and lost deliveries may only be late ones.
	Interrupted bool `json:"interrupted,omitempty"`

	OK       bool     `json:"ok"`
	Problems []string `json:"problems,omitempty"` // what makes OK false
	Warnings []string `json:"warnings,omitempty"`
}

// quantiles of a latency, in milliseconds.
type quantiles struct {
	Samples uint64  `json:"samples"`
	P50     float64 `json:"p50_ms"`
	P90     float64 `json:"p90_ms"`
	P99     float64 `json:"p99_ms"`
	Max     float64 `json:"max_ms"`
}

func quantilesOf(h *histogram) quantiles {
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	return quantiles{
		Samples: h.n,
		P50:     ms(h.quantile(0.50)),
		P90:     ms(h.quantile(0.90)),
		P99:     ms(h.quantile(0.99)),
		Max:     ms(time.Duration(h.max)),
	}
}

// serverStats is what /proc said about the server process.
type serverStats struct {
	CPUS           float64 `json:"cpu_s"` // in the window (with -idle: while holding)
	Cores          float64 `json:"cores"`
	CPUUsPerDeliv  float64 `json:"cpu_us_per_delivery,omitempty"`
	RSSBeforeKB    int64   `json:"rss_before_kb"`
	RSSConnectedKB int64   `json:"rss_connected_kb"`
	RSSEndKB       int64   `json:"rss_end_kb"`
	KBPerConn      float64 `json:"kb_per_connection"`
}

// machineStats is how busy the load generator and the CPUs were in the
// window.
type machineStats struct {
	LoadCores float64    `json:"load_tool_cores"`
	CPUs      []cpuStats `json:"cpus,omitempty"`
}

// cpuStats is one CPU: the fraction of the window it was busy, and the
// part of that spent in softirq (network processing).
type cpuStats struct {
	CPU     int     `json:"cpu"`
	Busy    float64 `json:"busy"`
	Softirq float64 `json:"softirq"`
}

// baselineStats is plain TCP on loopback, for comparison.
type baselineStats struct {
	MsgBytes      int     `json:"msg_bytes"`
	PerWrite      float64 `json:"per_write_msgs_per_s"` // one write() per message
	Per16         float64 `json:"per_16_msgs_per_s"`    // one write() per 16 messages
	RatioPerWrite float64 `json:"ratio_per_write"`      // server deliveries/s over PerWrite
	RatioPer16    float64 `json:"ratio_per_16"`
}

func newReport(cfg config) *report {
	r := &report{}
	c := &r.Config
	c.URLs, c.Rooms, c.Subs, c.Pubs = cfg.URLs, cfg.Rooms, cfg.Subs, cfg.Pubs
	c.Rate, c.Inflight, c.Size, c.Idle = cfg.Rate, cfg.Inflight, cfg.Size, cfg.Idle
	c.DurS, c.WarmupS = cfg.Dur.Seconds(), cfg.Warmup.Seconds()
	return r
}

// fill gathers the connections' records once their goroutines are done.
func (r *report) fill(l *load, window time.Duration) {
	r.WindowS = window.Seconds()
	c := &r.Connections
	c.Attempted = int64(len(l.subs) + len(l.pubs))
	c.Failed, c.Dropped = l.failed.Load(), l.dropped.Load()
	c.Reasons = map[string]int{}
	for _, s := range l.subs {
		switch {
		case s.start < 0 && s.err != nil:
			c.Reasons["subscriber failed: "+endReason(s.err)]++
		case s.dropped:
			c.Reasons["subscriber dropped: "+endReason(s.err)]++
		}
	}

	var ack histogram
	acks := make([][]int64, len(l.rooms))
	m := &r.Messages
	for _, p := range l.pubs {
		switch {
		case p.ws == nil && p.err != nil:
			c.Reasons["publisher failed: "+endReason(p.err)]++
		case p.dropped:
			c.Reasons["publisher dropped: "+endReason(p.err)]++
		}
		m.Sent += p.sent.Load()
		m.Acked += p.acked.Load()
		m.Refused += p.refused.Load()
		m.UnknownAcks += p.unknown
		if m.FirstRefusal == "" {
			m.FirstRefusal = p.firstErr
		}
		for _, a := range p.acks {
			acks[a.room] = append(acks[a.room], a.seq)
		}
		ack.merge(&p.latency)
	}
	m.Unacked = m.Sent - m.Acked - m.Refused
	if window > 0 {
		m.AcksPerS = float64(ack.n) / window.Seconds()
	}

	t := countTally(l.subs, acks)
	d := &r.Deliveries
	d.Expected, d.Received, d.Lost = t.expected, t.received, t.expected-t.received
	d.Duplicates, d.Gaps, d.GapMessages = t.duplicates, t.gaps, t.gapMessages
	d.Unacked, d.Estimated = t.unacked, t.estimated
	var e2e histogram
	var frameBytes int64
	for _, s := range l.subs {
		d.Unexpected += s.unexpected
		d.Measured += s.measured
		frameBytes += s.frameBytes
		e2e.merge(s.latency)
	}
	if window > 0 {
		d.PerS = float64(d.Measured) / window.Seconds()
	}
	if d.Measured > 0 {
		d.FrameBytes = float64(frameBytes) / float64(d.Measured)
	}
	r.Latency.EndToEnd = quantilesOf(&e2e)
	r.Latency.Ack = quantilesOf(&ack)
}

// busyCosts fills Server and Machine from the snapshots of a sending run:
// cores over the window, CPU per delivery from the window's start until
// the drain was over (the deliveries of the window's last sends happen
// then), and memory per connection from before to after connecting.
func (r *report) busyCosts(before, connected, start, sent, drained snapshot) {
	r.Machine = machineCosts(start, sent)
	if before.server == nil || connected.server == nil || start.server == nil || sent.server == nil || drained.server == nil {
		return
	}
	s := &serverStats{
		CPUS:           (sent.server.cpu - start.server.cpu).Seconds(),
		RSSBeforeKB:    before.server.rssKB,
		RSSConnectedKB: connected.server.rssKB,
		RSSEndKB:       drained.server.rssKB,
	}
	if d := sent.server.at.Sub(start.server.at); d > 0 {
		s.Cores = s.CPUS / d.Seconds()
	}
	if r.Deliveries.Measured > 0 {
		s.CPUUsPerDeliv = float64((drained.server.cpu - start.server.cpu).Microseconds()) / float64(r.Deliveries.Measured)
	}
	if r.Connections.Opened > 0 {
		s.KBPerConn = float64(connected.server.rssKB-before.server.rssKB) / float64(r.Connections.Opened)
	}
	r.Server = s
}

// idleCosts fills Server and Machine from the snapshots of an -idle run:
// memory per connection once they have been held, and what holding them
// cost in CPU.
func (r *report) idleCosts(before, connected, end snapshot, opened int64) {
	r.Machine = machineCosts(connected, end)
	if before.server == nil || connected.server == nil || end.server == nil {
		return
	}
	s := &serverStats{
		CPUS:           (end.server.cpu - connected.server.cpu).Seconds(),
		RSSBeforeKB:    before.server.rssKB,
		RSSConnectedKB: connected.server.rssKB,
		RSSEndKB:       end.server.rssKB,
	}
	if d := end.server.at.Sub(connected.server.at); d > 0 {
		s.Cores = s.CPUS / d.Seconds()
	}
	if opened > 0 {
		s.KBPerConn = float64(end.server.rssKB-before.server.rssKB) / float64(opened)
	}
	r.Server = s
}

// machineCosts says how busy this process and every CPU were between two
// snapshots: a load generator near one core, or a CPU near 100%, is the
// bottleneck, whatever the server's own CPU time says.
func machineCosts(from, to snapshot) *machineStats {
	m := &machineStats{}
	if from.self != nil && to.self != nil {
		if d := to.self.at.Sub(from.self.at); d > 0 {
			m.LoadCores = (to.self.cpu - from.self.cpu).Seconds() / d.Seconds()
		}
	}
	if len(from.cpus) == len(to.cpus) {
		for i := range from.cpus {
			total := float64(to.cpus[i].total - from.cpus[i].total)
			if total <= 0 {
				continue
			}
			m.CPUs = append(m.CPUs, cpuStats{
				CPU:     i,
				Busy:    float64(to.cpus[i].busy-from.cpus[i].busy) / total,
				Softirq: float64(to.cpus[i].softirq-from.cpus[i].softirq) / total,
			})
		}
	}
	return m
}

func (r *report) setBaseline(b baselineStats) {
	if b.PerWrite > 0 {
		b.RatioPerWrite = r.Deliveries.PerS / b.PerWrite
	}
	if b.Per16 > 0 {
		b.RatioPer16 = r.Deliveries.PerS / b.Per16
	}
	r.Baseline = &b
}

// judge decides OK: the server must deliver every acked message to every
// subscriber of its room, once and in order. Everything else that went
// wrong is a warning.
func (r *report) judge() {
	d := r.Deliveries
	if d.Lost > 0 {
		r.Problems = append(r.Problems, fmt.Sprintf("%d acked deliveries never arrived", d.Lost))
	}
	if d.Duplicates > 0 {
		r.Problems = append(r.Problems, fmt.Sprintf("%d duplicate deliveries", d.Duplicates))
	}
	if d.Gaps > 0 {
		r.Problems = append(r.Problems, fmt.Sprintf("%d gaps in seq (%d messages skipped)", d.Gaps, d.GapMessages))
	}
	if d.Unexpected > 0 {
		r.Problems = append(r.Problems, fmt.Sprintf("%d frames that do not belong (another room, unknown type or unparsable)", d.Unexpected))
	}
	c, m := r.Connections, r.Messages
	if r.Interrupted {
		r.Warnings = append(r.Warnings, "interrupted: the drain may have been cut short, so lost deliveries may only be late")
	}
	if c.Failed > 0 || c.Dropped > 0 {
		r.Warnings = append(r.Warnings, fmt.Sprintf("%d connections failed and %d dropped", c.Failed, c.Dropped))
	}
	if m.Refused > 0 {
		r.Warnings = append(r.Warnings, fmt.Sprintf("%d sends refused, the first with %q", m.Refused, m.FirstRefusal))
	}
	if m.Unacked > 0 {
		r.Warnings = append(r.Warnings, fmt.Sprintf("%d sends never answered", m.Unacked))
	}
	if m.UnknownAcks > 0 {
		r.Warnings = append(r.Warnings, fmt.Sprintf("%d acks or errors for no pending send", m.UnknownAcks))
	}
	if d.Unacked > 0 {
		r.Warnings = append(r.Warnings, fmt.Sprintf("%d deliveries of messages whose ack never came", d.Unacked))
	}
	if d.Estimated {
		r.Warnings = append(r.Warnings, "too many gaps to count the lost deliveries exactly; lost is an estimate")
	}
	r.OK = len(r.Problems) == 0
}

func (r *report) writeJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

func (r *report) writeText(w io.Writer) error {
	var b strings.Builder
	line := func(label, format string, args ...any) {
		fmt.Fprintf(&b, "%-12s "+format+"\n", append([]any{label}, args...)...)
	}
	c := r.Config
	if c.Idle {
		line("run", "%d idle subscribers over %d rooms held for %.1fs; %s", c.Subs, c.Rooms, r.WindowS, strings.Join(c.URLs, " "))
	} else {
		rate := fmt.Sprintf("%g msg/s", c.Rate)
		if c.Rate == 0 {
			rate = fmt.Sprintf("as fast as acks allow (%d in flight each)", c.Inflight)
		}
		line("run", "%d subscribers, %d publishers, %d rooms, %s, %d-byte bodies, %.1fs measured after %gs warmup; %s",
			c.Subs, c.Pubs, c.Rooms, rate, c.Size, r.WindowS, c.WarmupS, strings.Join(c.URLs, " "))
	}
	cn := r.Connections
	line("connections", "%d attempted, %d opened, %d failed, %d dropped", cn.Attempted, cn.Opened, cn.Failed, cn.Dropped)
	for _, k := range slices.Sorted(maps.Keys(cn.Reasons)) {
		line("", "%d x %s", cn.Reasons[k], k)
	}
	if !c.Idle {
		m := r.Messages
		line("messages", "%d sent, %d acked, %d refused, %d unanswered; %.0f acks/s in the window", m.Sent, m.Acked, m.Refused, m.Unacked, m.AcksPerS)
		d := r.Deliveries
		line("deliveries", "%d expected, %d received, %d lost, %d duplicates, %d gaps", d.Expected, d.Received, d.Lost, d.Duplicates, d.Gaps)
		line("throughput", "%.0f deliveries/s (%d in the window, %.0f bytes per frame)", d.PerS, d.Measured, d.FrameBytes)
		e, a := r.Latency.EndToEnd, r.Latency.Ack
		line("latency", "end-to-end p50 %s  p90 %s  p99 %s  max %s  (%d samples)", ms(e.P50), ms(e.P90), ms(e.P99), ms(e.Max), e.Samples)
		line("", "ack        p50 %s  p99 %s  max %s  (%d samples)", ms(a.P50), ms(a.P99), ms(a.Max), a.Samples)
	}
	if s := r.Server; s != nil {
		if c.Idle {
			line("server", "%.3f cores while holding (%.2f s CPU)", s.Cores, s.CPUS)
		} else {
			line("server", "%.2f cores in the window (%.2f s CPU), %.2f µs CPU per delivery", s.Cores, s.CPUS, s.CPUUsPerDeliv)
		}
		line("", "RSS %.1f MB before, %.1f MB connected, %.1f MB at the end: %.1f KB per connection",
			float64(s.RSSBeforeKB)/1024, float64(s.RSSConnectedKB)/1024, float64(s.RSSEndKB)/1024, s.KBPerConn)
	}
	if m := r.Machine; m != nil {
		var cpus []string
		for _, c := range m.CPUs {
			cpus = append(cpus, fmt.Sprintf("cpu%d %.0f%% (softirq %.0f%%)", c.CPU, 100*c.Busy, 100*c.Softirq))
		}
		line("machine", "load generator %.2f cores; busy: %s", m.LoadCores, strings.Join(cpus, ", "))
	}
	if bl := r.Baseline; bl != nil {
		line("baseline", "plain TCP on loopback, %d-byte messages: %.0f msg/s with a write per message, %.0f msg/s with a write per 16",
			bl.MsgBytes, bl.PerWrite, bl.Per16)
		line("", "the server's deliveries/s are %.3f of the first and %.3f of the second", bl.RatioPerWrite, bl.RatioPer16)
	}
	for _, p := range r.Warnings {
		line("warning", "%s", p)
	}
	for _, p := range r.Problems {
		line("PROBLEM", "%s", p)
	}
	if r.OK {
		line("result", "OK: no delivery lost, duplicated or out of order")
	} else {
		line("result", "FAILED")
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// ms formats milliseconds with a precision that suits their size.
func ms(v float64) string {
	switch {
	case v < 1:
		return fmt.Sprintf("%.3fms", v)
	case v < 100:
		return fmt.Sprintf("%.1fms", v)
	default:
		return fmt.Sprintf("%.0fms", v)
	}
}
