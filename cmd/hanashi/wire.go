package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"time"

	"github.com/hanashi-chat/hanashi"
	"github.com/hanashi-chat/hanashi/avatar"
	"github.com/hanashi-chat/hanashi/health"
	"github.com/hanashi-chat/hanashi/hub"
	"github.com/hanashi-chat/hanashi/inmem"
	"github.com/hanashi-chat/hanashi/metrics"
	"github.com/hanashi-chat/hanashi/postgres"
	"github.com/hanashi-chat/hanashi/redis"
	"github.com/hanashi-chat/hanashi/sqlite"
	"github.com/hanashi-chat/hanashi/tracing"
	"github.com/hanashi-chat/hanashi/web"
)

// node is one server's parts, wired together by wire: what run serves
// and drains.
type node struct {
	web     *web.Server      // the handler of the main listener
	hub     *hub.Hub         // closed in the drain, to commit the last sends
	metrics *metrics.Metrics // for a /metrics listener of its own (-metrics-addr)
	closers []func()         // what Close releases, in opening order
}

// Close releases what wire opened, the last opened first: the health
// monitor, the avatar directory, the tracer (sending the last traces),
// the broker and the store.
func (n *node) Close() {
	for i := len(n.closers) - 1; i >= 0; i-- {
		n.closers[i]()
	}
}

func (n *node) onClose(f func()) { n.closers = append(n.closers, f) }

// wire opens the store and the broker of cfg and builds the node on them:
// metrics and tracing decorators, the hub, the readiness monitor and the
// web server. wrapBroker, when not nil, wraps the broker the hub publishes
// to (runWith, for the fault tests). On an error, whatever was opened is
// closed again.
func wire(ctx context.Context, cfg config, getenv func(string) string, log *slog.Logger, wrapBroker func(hanashi.Broker) hanashi.Broker) (_ *node, err error) {
	n := &node{}
	defer func() {
		if err != nil {
			n.Close()
		}
	}()
	store, err := openStore(ctx, cfg, log)
	if err != nil {
		return nil, err
	}
	n.onClose(func() { store.Close() })
	broker, err := openBroker(cfg, log)
	if err != nil {
		return nil, err
	}
	n.onClose(func() { broker.Close() })

	// Metrics and traces see the store and the broker through decorators;
	// the readiness check and Close use them directly.
	tracer, err := tracing.Start(ctx, getenv, cfg.Node)
	if err != nil {
		return nil, err
	}
	n.onClose(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := tracer.Shutdown(ctx); err != nil {
			log.Warn("sending the last traces", "err", err)
		}
	})
	if tracer != nil {
		log.Info("tracing", "exporter", "otlp/http")
	}
	n.metrics = metrics.New()
	observedStore := tracer.Store(n.metrics.Store(store))
	hubBroker := broker
	if wrapBroker != nil {
		hubBroker = wrapBroker(broker)
	}
	observedBroker := tracer.Broker(n.metrics.Broker(hubBroker))
	var metricsOnMain http.Handler
	if cfg.MetricsAddr == "" {
		metricsOnMain = n.metrics.Handler()
	}

	provs, err := providers(cfg.OIDC, getenv)
	if err != nil {
		return nil, err
	}
	mailSender, err := mailer(cfg.SMTPURL, cfg.SMTPFrom, cfg.BaseURL)
	if err != nil {
		return nil, err
	}
	if mailSender == nil {
		log.Warn("no SMTP server configured (HANASHI_SMTP_URL): sign-in links are written to this log, which is for development only")
	}

	// Uploaded avatars are files in the data directory; nodes of a cluster
	// share it (a shared volume), since any node may be asked for any file.
	avatars, err := avatar.OpenDir(filepath.Join(cfg.DataDir, "avatars"))
	if err != nil {
		return nil, fmt.Errorf("opening the avatar directory: %w", err)
	}
	n.onClose(func() { avatars.Close() })

	n.hub = hub.New(hub.Config{Store: observedStore, Broker: observedBroker, Encoder: web.Encoder{}, Logger: log, CommitTimeout: cfg.CommitTimeout})
	monitor := health.Start(health.Config{Checks: readiness(store, broker, n.hub), Logger: log})
	n.onClose(monitor.Close)
	n.web, err = web.NewServer(web.Config{
		Store: observedStore, Hub: n.hub, Logger: log, AllowedOrigins: cfg.Origins,
		Metrics: metricsOnMain, Trace: tracer.Middleware,
		BaseURL: cfg.BaseURL, Providers: provs, Mailer: mailSender,
		NoGuests: !cfg.Guests, Admins: cfg.Admins, Avatars: avatars, TrustedProxies: cfg.TrustedProxies,
		Ready: monitor.Ready,
	})
	if err != nil {
		return nil, err
	}
	n.metrics.Watch(n.hub, n.web)
	return n, nil
}

// openStore opens PostgreSQL when a database URL is configured and the
// SQLite file in the data directory otherwise, bringing its schema up to
// date either way.
func openStore(ctx context.Context, cfg config, log *slog.Logger) (hanashi.Store, error) {
	if cfg.DatabaseURL != "" {
		db, err := postgres.Open(ctx, cfg.DatabaseURL)
		if err != nil {
			return nil, fmt.Errorf("opening the database: %w", err)
		}
		log.Info("store", "kind", "postgres", "database", redactURL(cfg.DatabaseURL))
		return db, nil
	}
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("creating the data directory: %w", err)
	}
	path := cfg.sqlitePath()
	db, err := sqlite.Open(ctx, path)
	if err != nil {
		return nil, fmt.Errorf("opening the database: %w", err)
	}
	log.Info("store", "kind", "sqlite", "database", path)
	return db, nil
}

// openBroker connects to Redis when it is configured; a single node needs
// no more than the in-process broker.
func openBroker(cfg config, log *slog.Logger) (hanashi.Broker, error) {
	if cfg.RedisURL == "" {
		return inmem.NewBroker(), nil
	}
	b, err := redis.New(redis.Config{URL: cfg.RedisURL, Prefix: cfg.RedisPrefix, Logger: log})
	if err != nil {
		return nil, fmt.Errorf("connecting to Redis: %w", err)
	}
	log.Info("broker", "kind", "redis", "redis", redactURL(cfg.RedisURL), "prefix", cfg.RedisPrefix)
	return b, nil
}

// readiness is what /readyz checks (see package health and "Failure
// behaviour" in docs/operations.md): that the database answers, that
// commits go through, and that Redis answers, when there is one.
func readiness(store hanashi.Store, broker hanashi.Broker, h *hub.Hub) []health.Check {
	var checks []health.Check
	if p, ok := store.(interface{ Ping(context.Context) error }); ok {
		checks = append(checks, health.Check{Name: "database", Probe: p.Ping})
	}
	checks = append(checks, health.Check{Name: "commits", Probe: func(context.Context) error { return h.CommitErr() }})
	if r, ok := broker.(interface{ Ready() error }); ok {
		checks = append(checks, health.Check{Name: "redis", Probe: func(context.Context) error { return r.Ready() }})
	}
	return checks
}

// migrate brings the configured database up to date, for "hanashi migrate":
// deployments that run several nodes migrate once before rolling them out.
// (Every node also migrates at start, under a lock.)
func migrate(ctx context.Context, cfg config, log *slog.Logger) error {
	if cfg.DatabaseURL != "" {
		if err := postgres.Migrate(ctx, cfg.DatabaseURL); err != nil {
			return err
		}
		log.Info("migrated", "database", redactURL(cfg.DatabaseURL))
		return nil
	}
	store, err := openStore(ctx, cfg, log)
	if err != nil {
		return err
	}
	log.Info("migrated", "database", cfg.sqlitePath())
	return store.Close()
}

// sqlitePath is the SQLite database file of the data directory.
func (cfg config) sqlitePath() string { return filepath.Join(cfg.DataDir, "hanashi.db") }

// databaseName names the configured database for logs and messages: the
// PostgreSQL URL without its password, or the SQLite file.
func (cfg config) databaseName() string {
	if cfg.DatabaseURL != "" {
		return redactURL(cfg.DatabaseURL)
	}
	return cfg.sqlitePath()
}

// redactURL drops the password from a URL for logs.
func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "(unparsable URL)"
	}
	return u.Redacted()
}
