// Command hanashi-load is the load generator of Hanashi. It drives a server,
// or a cluster of them, through protocol v1 (docs/protocol.md) exactly as
// real clients would, and reports both what the server did and whether it
// kept its promises.
//
// A run creates guests and rooms through the HTTP API, opens subscribers
// spread over the rooms, then publishers that send at a fixed total rate
// (or as fast as acks come back) for a fixed time. Every body carries its
// send time, so each delivery yields an end-to-end latency; every
// subscriber checks the seq of each message, so the report counts
// duplicates, gaps and acked messages that never arrived. The exit status
// is 1 when any of those is not zero, which lets a smoke test assert it.
//
// With -pid it samples the server's CPU time and RSS from /proc; with
// -baseline it measures plain TCP on loopback on the same machine, to put
// the server's deliveries per second next to the ceiling of the kernel.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/signal"
	"runtime/pprof"
	"strings"
	"syscall"
	"time"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args, os.Getenv, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "hanashi-load:", err)
		os.Exit(1)
	}
}

// config is one run's settings, from flags.
type config struct {
	URLs        []string // base URLs, http://host:port
	Rooms       int
	Subs        int
	Pubs        int
	Rate        float64 // total messages per second; 0: as fast as acks allow
	Inflight    int     // unacked sends per publisher
	Size        int     // body bytes
	Dur         time.Duration
	Warmup      time.Duration
	Drain       time.Duration
	Idle        bool
	PID         int
	SrcIPs      int
	ConnectRate float64
	JSON        bool
	Baseline    bool
	CPUProfile  string
}

// urlList is a repeatable flag.
type urlList []string

func (u *urlList) String() string { return strings.Join(*u, ",") }

func (u *urlList) Set(s string) error {
	for _, part := range strings.Split(s, ",") {
		if part = strings.TrimSpace(part); part != "" {
			*u = append(*u, part)
		}
	}
	return nil
}

const usageText = `Usage: hanashi-load [flags]

hanashi-load drives a Hanashi server (or a cluster: repeat -url, and
connections are spread over the URLs round-robin) with protocol v1 and
reports what it measured.

A run:
  1. creates one guest per publisher, a guest per 250 subscribers, and
     -rooms public rooms, through the HTTP API of the first URL;
  2. opens -subs subscriber WebSockets spread over the rooms, at most
     -connect-rate per second. Each subscribes live-only (no "after"): the
     seq of its "subscribed" frame is where its expected stream starts;
  3. opens -pubs publisher WebSockets; after -warmup they send for -dur at
     -rate messages/s in total (0: as fast as acks allow), with at most
     -inflight unacked sends each. A body holds its send time in unix
     nanoseconds, padded to -size bytes; client_ids are "p<publisher>-<n>",
     zero-padded so that they sort in sending order;
  4. waits up to -drain after the last ack for every subscriber to catch up,
     then reports.

Every acked message must reach every subscriber of its room that was
subscribed when it was sent, once and in seq order. The exit status is 1 if
any delivery was lost, duplicated or out of order, 0 otherwise.

The report also says how busy the load generator and every CPU were in the
measured window. If the load generator is near the cores it was given, it,
not the server, is the bottleneck. Pin the server and the load generator
to different CPUs (taskset) to tell them apart: the server's own CPU time
(-pid) may or may not include the softirq time in which loopback TCP does
much of its work, depending on the kernel's accounting, while a CPU's busy
time always does.

With -idle, nobody sends: the subscribers hold their connections for -dur,
and the report is about what an idle connection costs the server (use -pid).

Flags:
`

// parseConfig reads the flags; getenv supplies HANASHI_URL, the default of
// -url.
func parseConfig(args []string, getenv func(string) string, stderr io.Writer) (config, error) {
	var cfg config
	var urls urlList
	fs := flag.NewFlagSet("hanashi-load", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Var(&urls, "url", "base URL of a server, http://host:port; repeat it (or separate with commas) for a cluster (default $HANASHI_URL or http://127.0.0.1:8080)")
	fs.IntVar(&cfg.Rooms, "rooms", 1, "rooms to create; subscribers and sends are spread over them")
	fs.IntVar(&cfg.Subs, "subs", 100, "subscriber connections, one room each")
	fs.IntVar(&cfg.Pubs, "pubs", 10, "publisher connections, one guest each; publisher i sends its n-th message to room (i+n) mod -rooms")
	fs.Float64Var(&cfg.Rate, "rate", 100, "messages per second, in total over all publishers; 0 sends as fast as acks allow")
	fs.IntVar(&cfg.Inflight, "inflight", 16, "unacked sends allowed per publisher (the server holds 64 per connection)")
	fs.IntVar(&cfg.Size, "size", 100, "body size in bytes (at least 19: the send timestamp)")
	fs.DurationVar(&cfg.Dur, "dur", 10*time.Second, "sending duration (with -idle: how long the connections are held)")
	fs.DurationVar(&cfg.Warmup, "warmup", time.Second, "sending time before -dur that is not measured: latencies, rates and server CPU count from its end")
	fs.DurationVar(&cfg.Drain, "drain", 5*time.Second, "after sending, how long to wait after the last ack for deliveries to arrive")
	fs.BoolVar(&cfg.Idle, "idle", false, "open -subs subscribers, hold them without traffic for -dur, and report the server's cost per connection; no publishers")
	fs.IntVar(&cfg.PID, "pid", 0, "process id of the server, if on this machine: its CPU time (/proc/PID/stat utime+stime) and RSS (/proc/PID/status VmRSS) are sampled before and after")
	fs.IntVar(&cfg.SrcIPs, "srcips", 0, "spread connections over source addresses 127.0.0.1 to 127.0.0.N, to pass the ~28k ephemeral ports of one address (loopback servers only); 0 lets the kernel choose")
	fs.Float64Var(&cfg.ConnectRate, "connect-rate", 1000, "connections opened per second, so as not to overwhelm the server's accept queue")
	fs.BoolVar(&cfg.JSON, "json", false, "print the report as JSON on stdout (progress still goes to stderr)")
	fs.BoolVar(&cfg.Baseline, "baseline", false, "after the run, measure plain TCP on loopback on this machine with the same message size, 2 s with one write per message and 2 s with one write per 16, and compare the server's deliveries/s with both")
	fs.StringVar(&cfg.CPUProfile, "cpuprofile", "", "write a CPU profile of the load generator to this file (go tool pprof), to see whether it or the server is the bottleneck")
	fs.Usage = func() {
		fmt.Fprint(stderr, usageText)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args[1:]); err != nil {
		return cfg, err
	}
	if fs.NArg() > 0 {
		return cfg, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if len(urls) == 0 {
		def := getenv("HANASHI_URL")
		if def == "" {
			def = "http://127.0.0.1:8080"
		}
		urls.Set(def)
	}
	for _, raw := range urls {
		u, err := url.Parse(raw)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || (u.Path != "" && u.Path != "/") {
			return cfg, fmt.Errorf("-url %q: want http://host:port", raw)
		}
		cfg.URLs = append(cfg.URLs, u.Scheme+"://"+u.Host)
	}
	switch {
	case cfg.Rooms < 1:
		return cfg, errors.New("-rooms must be at least 1")
	case cfg.Subs < 0 || cfg.Pubs < 0:
		return cfg, errors.New("-subs and -pubs must not be negative")
	case cfg.Rate < 0:
		return cfg, errors.New("-rate must not be negative")
	case cfg.Inflight < 1:
		return cfg, errors.New("-inflight must be at least 1")
	case cfg.Size < minBody || cfg.Size > maxBody:
		return cfg, fmt.Errorf("-size must be between %d and %d", minBody, maxBody)
	case cfg.Dur <= 0 || cfg.Warmup < 0 || cfg.Drain <= 0:
		return cfg, errors.New("-dur and -drain must be positive, -warmup not negative")
	case cfg.SrcIPs < 0 || cfg.SrcIPs > 254:
		return cfg, errors.New("-srcips must be between 0 and 254")
	case cfg.ConnectRate <= 0:
		return cfg, errors.New("-connect-rate must be positive")
	case cfg.PID < 0:
		return cfg, errors.New("-pid must not be negative")
	}
	if cfg.Idle {
		cfg.Pubs = 0
	}
	return cfg, nil
}

// errFailed is returned by run when the server lost, doubled or reordered
// deliveries; the report says which.
var errFailed = errors.New("the server broke its delivery guarantees (see the report)")

// run drives the load described by args and writes the report to stdout.
// It returns errFailed if any delivery went wrong, so main exits 1.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cfg, err := parseConfig(args, getenv, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	if err != nil {
		return err
	}
	if cfg.CPUProfile != "" {
		f, err := os.Create(cfg.CPUProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	rep, err := newLoad(cfg, stderr).run(ctx)
	if err != nil {
		return err
	}
	if cfg.Baseline {
		size := cfg.Size
		if rep.Deliveries.FrameBytes > 0 {
			size = int(rep.Deliveries.FrameBytes) // what the server really writes per delivery
		}
		fmt.Fprintf(stderr, "baseline: plain TCP on loopback, %d-byte messages\n", size)
		b, err := runBaseline(ctx, size, baselineTime)
		if err != nil {
			return fmt.Errorf("baseline: %w", err)
		}
		rep.setBaseline(b)
	}
	if cfg.JSON {
		err = rep.writeJSON(stdout)
	} else {
		err = rep.writeText(stdout)
	}
	if err != nil {
		return err
	}
	if !rep.OK {
		return errFailed
	}
	return nil
}
