package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/hanashi-chat/hanashi"
	"github.com/hanashi-chat/hanashi/web"
)

// run starts the server and serves until ctx is cancelled, then drains
// (see drain, and docs/operations.md): /readyz fails, the listeners close
// after a grace period, sends in flight are committed and acknowledged,
// WebSockets are told to go away (1001), and the store is closed, all
// within cfg.DrainTimeout.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	return runWith(ctx, args, getenv, stdout, stderr, nil)
}

// runWith is run for the fault tests, which wrap the broker the hub
// publishes to (to die between a commit and its publish, say); run passes
// nil, and nothing else reaches it.
func runWith(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer, wrapBroker func(hanashi.Broker) hanashi.Broker) error {
	cfg, err := parseConfig(args, getenv, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	if err != nil {
		return err
	}
	log := newLogger(cfg, stderr)

	switch cfg.Command {
	case "migrate":
		return migrate(ctx, cfg, log)
	case "backup":
		return backup(ctx, cfg, log, stdout)
	case "restore":
		return restore(ctx, cfg, log, stdout)
	case "user", "room":
		return admin(ctx, cfg, log, stdout)
	}
	if cfg.CPUProfile != "" {
		stop, err := startCPUProfile(cfg.CPUProfile)
		if err != nil {
			return err
		}
		defer stop()
	}
	// The main listener opens first: a default base URL takes its port,
	// the real one when -addr asks for any (port 0).
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return err
	}
	if cfg.BaseURLDefault {
		cfg.BaseURL = cfg.defaultBaseURL(ln.Addr().String())
	}
	n, err := wire(ctx, cfg, getenv, log, wrapBroker)
	if err != nil {
		ln.Close()
		return err
	}
	defer n.Close()
	l, err := listen(ctx, cfg, n, ln, log)
	if err != nil {
		return err
	}
	log.Info("serving", "url", l.url, "base_url", cfg.BaseURL)
	fmt.Fprintf(stdout, "Hanashi is serving on %s\n", l.url)
	if cfg.BaseURL != l.url {
		// Pages under another name are sent to the base URL: say it.
		fmt.Fprintf(stdout, "Open %s in a browser\n", cfg.BaseURL)
	}

	select {
	case err := <-l.errs:
		return err
	case <-ctx.Done():
	}
	drain(ctx, cfg, n, l, log)
	return nil
}

// newLogger writes cfg.Log's format to stderr, every record with the node
// name.
func newLogger(cfg config, stderr io.Writer) *slog.Logger {
	opts := &slog.HandlerOptions{Level: cfg.LogLevel}
	var handler slog.Handler = slog.NewTextHandler(stderr, opts)
	if cfg.Log == "json" {
		handler = slog.NewJSONHandler(stderr, opts)
	}
	// Records logged with a request's context carry its request_id.
	return slog.New(web.LogHandler(handler)).With("node", cfg.Node)
}

// listeners are a node's HTTP servers, serving: the main one on -addr
// (HTTPS with TLS configured), and when configured the redirect to HTTPS
// on -http-addr and /metrics on -metrics-addr.
type listeners struct {
	url     string         // the main listener's, e.g. http://127.0.0.1:8080
	servers []*http.Server // the main one first
	errs    chan error     // what each server's Serve returned
}

// listen serves n on ln, the main listener (on cfg.Addr), and opens and
// serves the other listeners of cfg; certificate files are watched until
// ctx ends. On an error, ln and the listeners it opened are closed again.
func listen(ctx context.Context, cfg config, n *node, ln net.Listener, log *slog.Logger) (_ *listeners, err error) {
	opened := []net.Listener{ln}
	defer func() {
		if err != nil {
			for _, ln := range opened {
				ln.Close()
			}
		}
	}()
	serverTLS, err := newServerTLS(cfg, log)
	if err != nil {
		return nil, err
	}
	serverTLS.watch(ctx, cfg.TLSReloadInterval)
	l := &listeners{url: "http://" + ln.Addr().String(), errs: make(chan error, 3)}
	srv := &http.Server{
		Handler:           n.web,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn), // with the node
	}
	if serverTLS != nil {
		// ServeTLS adds h2 to the ALPN protocols: HTTP/2 for browsers.
		l.url = "https://" + ln.Addr().String()
		srv.TLSConfig = serverTLS.config
	}
	l.serve(srv, ln)
	if cfg.HTTPAddr != "" {
		redirect, err := serverTLS.redirectHandler(cfg.BaseURL, n.web)
		if err != nil {
			return nil, err
		}
		hln, err := net.Listen("tcp", cfg.HTTPAddr)
		if err != nil {
			return nil, err
		}
		opened = append(opened, hln)
		l.serve(&http.Server{Handler: redirect, ReadHeaderTimeout: 10 * time.Second, ErrorLog: srv.ErrorLog}, hln)
		log.Info("redirecting to https", "addr", hln.Addr().String())
	}
	if cfg.MetricsAddr != "" {
		mux := http.NewServeMux()
		mux.Handle("GET /metrics", n.metrics.Handler())
		mln, err := net.Listen("tcp", cfg.MetricsAddr)
		if err != nil {
			return nil, fmt.Errorf("-metrics-addr %s: %w", cfg.MetricsAddr, err)
		}
		opened = append(opened, mln)
		l.serve(&http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, ErrorLog: srv.ErrorLog}, mln)
		log.Info("serving metrics", "url", "http://"+mln.Addr().String()+"/metrics")
	}
	return l, nil
}

// serve serves hs on ln in a goroutine of its own, over TLS when hs has a
// TLS configuration, and reports its end on l.errs.
func (l *listeners) serve(hs *http.Server, ln net.Listener) {
	l.servers = append(l.servers, hs)
	go func() {
		if hs.TLSConfig != nil {
			l.errs <- hs.ServeTLS(ln, "", "")
			return
		}
		l.errs <- hs.Serve(ln)
	}()
}

// drain stops serving n after ctx ended (a signal, or the caller). It
// ends by cfg.DrainTimeout, whatever hangs.
func drain(ctx context.Context, cfg config, n *node, l *listeners, log *slog.Logger) {
	shutCtx, cancel := context.WithTimeout(context.Background(), cfg.DrainTimeout)
	defer cancel()
	// 1. Readiness fails at once, so load balancers stop sending clients,
	// while this node serves on through the grace period they need to
	// notice.
	n.web.Drain()
	grace := drainGrace(ctx, cfg.DrainGrace)
	log.Info("draining", "cause", context.Cause(ctx), "grace", grace, "timeout", cfg.DrainTimeout)
	select {
	case <-time.After(grace):
	case err := <-l.errs:
		log.Warn("serving ended during the grace period", "err", err)
	}
	// 2. New connections are refused; requests in progress finish.
	httpDone := make(chan struct{})
	go func() {
		defer close(httpDone)
		for _, hs := range l.servers {
			if err := hs.Shutdown(shutCtx); err != nil {
				log.Warn("http shutdown", "err", err)
			}
		}
	}()
	// 3. Sends already received are committed and acknowledged; any
	// that arrive from now on are refused with an error frame
	// ("unavailable"), to be sent again on another node.
	if err := n.hub.Close(shutCtx); err != nil {
		log.Warn("committing the last sends", "err", err)
	}
	// 4. WebSockets close with 1001: clients resume on another node.
	if err := n.web.Shutdown(shutCtx); err != nil {
		log.Warn("websocket shutdown", "err", err)
	}
	<-httpDone
	log.Info("stopped")
}

// drainGrace is how long a drain that ctx's end started keeps serving
// with /readyz failing. The grace is for load balancers, and SIGTERM is
// what orchestrators send (Kubernetes, systemd, docker stop); SIGINT is
// somebody pressing Ctrl-C, who wants the process gone now, cleanly, and
// has no load balancer to wait for.
func drainGrace(ctx context.Context, grace time.Duration) time.Duration {
	var sig stopSignal
	if errors.As(context.Cause(ctx), &sig) && sig.Signal == os.Interrupt {
		return 0
	}
	return grace
}
