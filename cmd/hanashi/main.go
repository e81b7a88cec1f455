// Command hanashi is the Hanashi chat server. With no configuration it
// serves http://127.0.0.1:8080 from a SQLite database in ./hanashi-data.
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
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/hanashi-chat/hanashi/hub"
	"github.com/hanashi-chat/hanashi/inmem"
	"github.com/hanashi-chat/hanashi/sqlite"
	"github.com/hanashi-chat/hanashi/web"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args, os.Getenv, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "hanashi:", err)
		os.Exit(1)
	}
}

// config is everything run needs to know, from flags and HANASHI_*
// environment variables (flags win).
type config struct {
	Addr    string
	DataDir string
	Origins []string
	Node    string
	Log     string // "text" or "json"
}

func parseConfig(args []string, getenv func(string) string, stderr io.Writer) (config, error) {
	env := func(name, def string) string {
		if v := getenv("HANASHI_" + name); v != "" {
			return v
		}
		return def
	}
	host, _ := os.Hostname()
	var cfg config
	var origins string
	fs := flag.NewFlagSet("hanashi", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&cfg.Addr, "addr", env("ADDR", "127.0.0.1:8080"), "listen address (HANASHI_ADDR)")
	fs.StringVar(&cfg.DataDir, "data", env("DATA", "hanashi-data"), "data directory; holds the SQLite database (HANASHI_DATA)")
	fs.StringVar(&origins, "origins", env("ORIGINS", ""), "comma-separated origins, besides the server's own, allowed to use the API from a browser, e.g. https://chat.example.com (HANASHI_ORIGINS)")
	fs.StringVar(&cfg.Node, "node", env("NODE", host), "node name in logs (HANASHI_NODE)")
	fs.StringVar(&cfg.Log, "log", env("LOG", "text"), "log format: text or json (HANASHI_LOG)")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: hanashi [flags]\n\nHanashi is a self-hosted chat server. Flags:\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args[1:]); err != nil {
		return cfg, err
	}
	if fs.NArg() > 0 {
		return cfg, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	for _, o := range strings.Split(origins, ",") {
		if o = strings.TrimSpace(o); o != "" {
			cfg.Origins = append(cfg.Origins, o)
		}
	}
	if cfg.Log != "text" && cfg.Log != "json" {
		return cfg, fmt.Errorf("-log must be text or json, not %q", cfg.Log)
	}
	return cfg, nil
}

// run starts the server and serves until ctx is cancelled, then drains:
// WebSockets are told to go away (1001), in-flight sends are committed,
// and the store is closed.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cfg, err := parseConfig(args, getenv, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	if err != nil {
		return err
	}
	var handler slog.Handler = slog.NewTextHandler(stderr, nil)
	if cfg.Log == "json" {
		handler = slog.NewJSONHandler(stderr, nil)
	}
	log := slog.New(handler).With("node", cfg.Node)

	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return fmt.Errorf("creating the data directory: %w", err)
	}
	dbPath := filepath.Join(cfg.DataDir, "hanashi.db")
	store, err := sqlite.Open(ctx, dbPath)
	if err != nil {
		return fmt.Errorf("opening the database: %w", err)
	}
	defer store.Close()

	broker := inmem.NewBroker()
	defer broker.Close()
	h := hub.New(hub.Config{Store: store, Broker: broker, Encoder: web.Encoder{}, Logger: log})
	srv, err := web.NewServer(web.Config{Store: store, Hub: h, Logger: log, AllowedOrigins: cfg.Origins})
	if err != nil {
		return err
	}

	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return err
	}
	httpSrv := &http.Server{
		Handler:           srv,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(handler, slog.LevelWarn),
	}
	serveErr := make(chan error, 1)
	go func() { serveErr <- httpSrv.Serve(ln) }()
	log.Info("serving", "url", "http://"+ln.Addr().String(), "database", dbPath)
	fmt.Fprintf(stdout, "Hanashi is serving on http://%s\n", ln.Addr())

	select {
	case err := <-serveErr:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down")
	shutCtx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if err := httpSrv.Shutdown(shutCtx); err != nil {
		log.Warn("http shutdown", "err", err)
	}
	if err := srv.Shutdown(shutCtx); err != nil {
		log.Warn("websocket shutdown", "err", err)
	}
	if err := h.Close(shutCtx); err != nil {
		log.Warn("committing the last sends", "err", err)
	}
	log.Info("stopped")
	return nil
}
