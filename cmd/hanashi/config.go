package main

import (
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// config is everything run needs to know, from flags and HANASHI_*
// environment variables (flags win).
type config struct {
	Command     string // "" to serve, or one of commands
	Addr        string
	DataDir     string
	DatabaseURL string // postgres://...; empty for SQLite in DataDir
	RedisURL    string // redis://...; empty for a single node
	RedisPrefix string
	Origins     []string
	BaseURL     string
	OIDC        string // names of the sign-in providers
	SMTPURL     string
	SMTPFrom    string
	Guests      bool
	Admins      []string
	Node        string
	Log         string // "text" or "json"
	LogLevel    slog.Level
	CPUProfile  string // file to write a CPU profile to, for performance work
	MetricsAddr string // a listener of its own for /metrics; "" serves it on Addr

	// Backups (backup.go): the file "backup" writes and "restore" reads,
	// and the directory of pg_dump and pg_restore ("" for PATH's).
	Output, Input string
	PGBin         string

	// TLS and the network in front (tls.go, docs/operations.md).
	TLSCert, TLSKey string   // PEM files: serve HTTPS
	ACMEHosts       []string // or get certificates for these by ACME
	ACMECache       string   // ACME account and certificates; default DATA/acme
	HTTPAddr        string   // plain-HTTP listener redirecting to HTTPS; "" for none
	TrustedProxies  []string // addresses and CIDRs whose X-Forwarded-* are believed
	// TLSReloadInterval is how often TLSCert and TLSKey are checked for
	// a change (certfiles.go).
	TLSReloadInterval time.Duration
	// The drain on SIGTERM: /readyz fails for DrainGrace before the
	// listener closes, and the whole drain ends within DrainTimeout.
	DrainGrace, DrainTimeout time.Duration
	// CommitTimeout bounds the wait of a send for its commit
	// (hub.Config.CommitTimeout).
	CommitTimeout time.Duration
	// BaseURLDefault says that BaseURL was not configured but made from
	// Addr (defaultBaseURL); run makes it again from the address the
	// listener got, whose port is the real one when Addr's is 0.
	BaseURLDefault bool
}

// commands are the first arguments that make hanashi do something other
// than serve, for parseConfig and the usage.
var commands = []struct{ name, args, what string }{
	{"migrate", "[flags]", "bring the database schema up to date and exit"},
	{"backup", "-o FILE [flags]", "write a consistent backup of the database, while servers run"},
	{"restore", "-i FILE [flags]", "restore a backup into an empty data directory or database"},
	{"help", "", "print this help"},
}

// isCommand reports whether arg names one of commands.
func isCommand(arg string) bool {
	for _, c := range commands {
		if c.name == arg {
			return true
		}
	}
	return false
}

// parseConfig reads the configuration from args (args[0] is the program's
// name) and HANASHI_* variables through getenv, a flag winning over its
// variable, and checks it: settings that cannot work together are an
// error here, before anything is opened. -h prints the usage to stderr
// and returns flag.ErrHelp.

func parseConfig(args []string, getenv func(string) string, stderr io.Writer) (config, error) {
	env := func(name, def string) string {
		if v := getenv("HANASHI_" + name); v != "" {
			return v
		}
		return def
	}
	host, _ := os.Hostname()
	var cfg config
	var origins, admins, acmeHosts, trustedProxies string
	fs := flag.NewFlagSet("hanashi", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&cfg.Addr, "addr", env("ADDR", "127.0.0.1:8080"), "listen address (HANASHI_ADDR)")
	fs.StringVar(&cfg.DataDir, "data", env("DATA", "hanashi-data"), "data directory; holds the SQLite database (HANASHI_DATA)")
	fs.StringVar(&cfg.DatabaseURL, "database", env("DATABASE_URL", ""), "PostgreSQL URL, postgres://user:password@host/db; instead of SQLite (HANASHI_DATABASE_URL)")
	fs.StringVar(&cfg.RedisURL, "redis", env("REDIS_URL", ""), "Redis URL, redis://host:6379/0, connecting the nodes of a cluster (HANASHI_REDIS_URL)")
	fs.StringVar(&cfg.RedisPrefix, "redis-prefix", env("REDIS_PREFIX", "hanashi:"), "prefix of this cluster's Redis channels (HANASHI_REDIS_PREFIX)")
	fs.StringVar(&origins, "origins", env("ORIGINS", ""), "comma-separated origins, besides the server's own, allowed to use the API from a browser, e.g. https://chat.example.com (HANASHI_ORIGINS)")
	fs.StringVar(&cfg.BaseURL, "base-url", env("BASE_URL", ""), "URL people reach the server at, e.g. https://chat.example.com; sign-in links and callbacks use it (HANASHI_BASE_URL; default http://ADDR, with localhost for a loopback or unspecified address)")
	fs.StringVar(&cfg.OIDC, "oidc", env("OIDC", ""), "comma-separated sign-in providers, e.g. google,github,corp; each NAME is set up by HANASHI_OIDC_NAME_ISSUER, _CLIENT_ID, _CLIENT_SECRET, _TITLE (HANASHI_OIDC)")
	fs.StringVar(&cfg.SMTPURL, "smtp", env("SMTP_URL", ""), "SMTP server for sign-in links, smtp://user:password@host:587 or smtps://...; without it links go to the log (HANASHI_SMTP_URL)")
	fs.StringVar(&cfg.SMTPFrom, "smtp-from", env("SMTP_FROM", ""), "sender of sign-in links (HANASHI_SMTP_FROM; default hanashi@ the base URL's host)")
	guests, err := strconv.ParseBool(env("GUESTS", "true"))
	if err != nil {
		return cfg, fmt.Errorf("HANASHI_GUESTS must be true or false")
	}
	fs.BoolVar(&cfg.Guests, "guests", guests, "allow guests, who pick a name and chat without signing in (HANASHI_GUESTS)")
	fs.StringVar(&admins, "admins", env("ADMINS", ""), "comma-separated e-mail addresses of administrators (HANASHI_ADMINS)")
	fs.StringVar(&cfg.Node, "node", env("NODE", host), "node name in logs (HANASHI_NODE)")
	fs.StringVar(&cfg.Log, "log", env("LOG", "text"), "log format: text or json (HANASHI_LOG)")
	var level slog.Level
	if err := level.UnmarshalText([]byte(env("LOG_LEVEL", "info"))); err != nil {
		return cfg, fmt.Errorf("HANASHI_LOG_LEVEL must be debug, info, warn or error")
	}
	fs.TextVar(&cfg.LogLevel, "log-level", level, "least level logged: debug, info, warn or error (HANASHI_LOG_LEVEL)")
	fs.StringVar(&cfg.CPUProfile, "cpuprofile", "", "write a CPU profile of the whole run to this file, for go tool pprof")
	fs.StringVar(&cfg.MetricsAddr, "metrics-addr", env("METRICS_ADDR", ""), "listen address of a separate plain-HTTP listener for Prometheus's /metrics, e.g. 127.0.0.1:9090; without it /metrics is served on -addr (HANASHI_METRICS_ADDR)")
	fs.StringVar(&cfg.TLSCert, "tls-cert", env("TLS_CERT", ""), "PEM certificate chain: serve HTTPS and HTTP/2 on -addr (HANASHI_TLS_CERT)")
	fs.StringVar(&cfg.TLSKey, "tls-key", env("TLS_KEY", ""), "PEM private key of -tls-cert (HANASHI_TLS_KEY)")
	fs.StringVar(&acmeHosts, "acme-hosts", env("ACME_HOSTS", ""), "comma-separated host names to get certificates for by ACME, instead of -tls-cert (HANASHI_ACME_HOSTS)")
	fs.StringVar(&cfg.ACMECache, "acme-cache", env("ACME_CACHE", ""), "directory keeping the ACME account and certificates (HANASHI_ACME_CACHE; default DATA/acme)")
	fs.StringVar(&cfg.HTTPAddr, "http-addr", env("HTTP_ADDR", ""), "plain-HTTP listen address, e.g. :80, that redirects to HTTPS and answers ACME challenges; needs TLS (HANASHI_HTTP_ADDR)")
	fs.StringVar(&trustedProxies, "trusted-proxies", env("TRUSTED_PROXIES", ""), "comma-separated addresses or CIDRs of reverse proxies whose Forwarded and X-Forwarded-For, -Proto and -Host headers are believed (HANASHI_TRUSTED_PROXIES)")
	grace, err := time.ParseDuration(env("DRAIN_GRACE", "5s"))
	if err != nil {
		return cfg, fmt.Errorf("HANASHI_DRAIN_GRACE must be a duration such as 5s")
	}
	drainTimeout, err := time.ParseDuration(env("DRAIN_TIMEOUT", "30s"))
	if err != nil {
		return cfg, fmt.Errorf("HANASHI_DRAIN_TIMEOUT must be a duration such as 30s")
	}
	commitTimeout, err := time.ParseDuration(env("COMMIT_TIMEOUT", "5s"))
	if err != nil {
		return cfg, fmt.Errorf("HANASHI_COMMIT_TIMEOUT must be a duration such as 5s")
	}
	tlsReload, err := time.ParseDuration(env("TLS_RELOAD_INTERVAL", "5s"))
	if err != nil {
		return cfg, fmt.Errorf("HANASHI_TLS_RELOAD_INTERVAL must be a duration such as 5s")
	}
	fs.DurationVar(&cfg.TLSReloadInterval, "tls-reload-interval", tlsReload, "how often -tls-cert and -tls-key are checked for a change, to serve a renewed certificate without a restart; SIGHUP reloads them at once (HANASHI_TLS_RELOAD_INTERVAL)")
	fs.DurationVar(&cfg.CommitTimeout, "commit-timeout", commitTimeout, "how long a send may wait for its commit before it fails with \"unavailable\", for its client to send it again, on another node if need be (HANASHI_COMMIT_TIMEOUT)")
	fs.DurationVar(&cfg.DrainGrace, "drain-grace", grace, "on SIGTERM, how long /readyz fails while the node still serves, before it stops listening (HANASHI_DRAIN_GRACE)")
	fs.DurationVar(&cfg.DrainTimeout, "drain-timeout", drainTimeout, "on SIGTERM or SIGINT, how long the whole drain may take, grace included (HANASHI_DRAIN_TIMEOUT)")
	fs.StringVar(&cfg.Output, "o", "", "backup: the file to write the backup to; it must not exist")
	fs.StringVar(&cfg.Input, "i", "", "restore: the backup file to restore")
	fs.StringVar(&cfg.PGBin, "pg-bin", env("PG_BIN", ""), "backup and restore with -database: the directory of pg_dump and pg_restore, of the server's major version or later (HANASHI_PG_BIN; default: PATH's)")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: hanashi %-24s serve\n", "[flags]")
		for _, c := range commands {
			fmt.Fprintf(stderr, "       hanashi %-24s %s\n", strings.TrimSpace(c.name+" "+c.args), c.what)
		}
		fmt.Fprintf(stderr, "\nHanashi is a self-hosted chat server. Flags:\n")
		fs.PrintDefaults()
	}
	// The command comes first, or after the flags; flags on both sides of
	// it count.
	args = args[1:]
	if len(args) > 0 && isCommand(args[0]) {
		cfg.Command, args = args[0], args[1:]
	}
	if err := fs.Parse(args); err != nil {
		return cfg, err
	}
	if cfg.Command == "" && isCommand(fs.Arg(0)) {
		cfg.Command = fs.Arg(0)
		if err := fs.Parse(fs.Args()[1:]); err != nil {
			return cfg, err
		}
	}
	if fs.NArg() > 0 {
		return cfg, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	switch {
	case cfg.Command == "help":
		fs.Usage()
		return cfg, flag.ErrHelp
	case cfg.Command == "backup" && cfg.Output == "":
		return cfg, fmt.Errorf("backup needs -o FILE, the new file to write the backup to")
	case cfg.Command == "restore" && cfg.Input == "":
		return cfg, fmt.Errorf("restore needs -i FILE, the backup to restore")
	case cfg.Command != "backup" && cfg.Output != "":
		return cfg, fmt.Errorf("-o goes with backup")
	case cfg.Command != "restore" && cfg.Input != "":
		return cfg, fmt.Errorf("-i goes with restore")
	}
	if cfg.DatabaseURL != "" && !strings.HasPrefix(cfg.DatabaseURL, "postgres://") && !strings.HasPrefix(cfg.DatabaseURL, "postgresql://") {
		return cfg, fmt.Errorf("-database must be a postgres:// URL")
	}
	for _, a := range strings.Split(admins, ",") {
		if a = strings.TrimSpace(a); a != "" {
			cfg.Admins = append(cfg.Admins, a)
		}
	}
	cfg.ACMEHosts = splitList(acmeHosts)
	cfg.TrustedProxies = splitList(trustedProxies)
	switch {
	case (cfg.TLSCert == "") != (cfg.TLSKey == ""):
		return cfg, fmt.Errorf("-tls-cert and -tls-key go together")
	case cfg.TLSCert != "" && len(cfg.ACMEHosts) > 0:
		return cfg, fmt.Errorf("-tls-cert and -acme-hosts exclude each other: certificates come from files or from ACME")
	case cfg.HTTPAddr != "" && cfg.TLSCert == "" && len(cfg.ACMEHosts) == 0:
		return cfg, fmt.Errorf("-http-addr redirects to HTTPS: it needs -tls-cert or -acme-hosts")
	case cfg.DrainGrace < 0 || cfg.DrainTimeout <= 0 || cfg.DrainGrace >= cfg.DrainTimeout:
		return cfg, fmt.Errorf("-drain-grace (%v) must be at least 0 and shorter than -drain-timeout (%v)", cfg.DrainGrace, cfg.DrainTimeout)
	case cfg.TLSReloadInterval <= 0:
		return cfg, fmt.Errorf("-tls-reload-interval (%v) must be more than 0", cfg.TLSReloadInterval)
	case cfg.CommitTimeout < time.Second:
		// Below PostgreSQL's lock timeout (1s), a batch blocked by a dead
		// node's session could never outlast it (docs/operations.md).
		return cfg, fmt.Errorf("-commit-timeout (%v) must be at least 1s", cfg.CommitTimeout)
	}
	if cfg.ACMECache == "" {
		cfg.ACMECache = filepath.Join(cfg.DataDir, "acme")
	}
	if cfg.BaseURL == "" {
		cfg.BaseURLDefault = true
		cfg.BaseURL = cfg.defaultBaseURL(cfg.Addr)
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

// defaultBaseURL is the base URL of a server listening on addr when none
// is configured.
func (cfg config) defaultBaseURL(addr string) string {
	if cfg.TLSCert != "" || len(cfg.ACMEHosts) > 0 {
		return defaultTLSBaseURL(addr, cfg.ACMEHosts)
	}
	return defaultBaseURL(addr)
}

// splitList splits a comma-separated setting, dropping blanks.
func splitList(s string) []string {
	var list []string
	for _, v := range strings.Split(s, ",") {
		if v = strings.TrimSpace(v); v != "" {
			list = append(list, v)
		}
	}
	return list
}
