package main

import (
	"errors"
	"flag"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// parse runs parseConfig on the flags args (without the program's name)
// and the HANASHI_* variables of env.
func parse(args []string, env map[string]string) (config, string, error) {
	var stderr strings.Builder
	cfg, err := parseConfig(append([]string{"hanashi"}, args...), func(k string) string { return env[k] }, &stderr)
	return cfg, stderr.String(), err
}

// TestConfigDefaults checks what a server started with no flags and no
// HANASHI_* variables is: one node on loopback with SQLite in
// ./hanashi-data (README's quick start).
func TestConfigDefaults(t *testing.T) {
	host, _ := os.Hostname()
	want := config{
		Addr:           "127.0.0.1:8080",
		DataDir:        "hanashi-data",
		RedisPrefix:    "hanashi:",
		BaseURL:        "http://localhost:8080",
		BaseURLDefault: true,
		Guests:         true,
		Node:           host,
		Log:            "text",
		ACMECache:      filepath.Join("hanashi-data", "acme"),
		DrainGrace:     5 * time.Second,
		DrainTimeout:   30 * time.Second,
		CommitTimeout:  5 * time.Second,
	}
	want.TLSReloadInterval = 5 * time.Second
	cfg, _, err := parse(nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(cfg, want) {
		t.Errorf("defaults:\n got %+v\nwant %+v", cfg, want)
	}
}

// TestConfigFlagsAndVariables checks every setting three ways: from its
// HANASHI_* variable, from its flag, and from both, when the flag wins.
func TestConfigFlagsAndVariables(t *testing.T) {
	for _, tt := range []struct {
		flag, env         string // env "" for a flag without a variable
		flagVal, envVal   string
		extra             []string // flags the setting needs beside it
		get               func(config) any
		wantFlag, wantEnv any
	}{
		{flag: "addr", env: "HANASHI_ADDR", flagVal: "127.0.0.1:9001", envVal: "127.0.0.1:9002",
			get: func(c config) any { return c.Addr }, wantFlag: "127.0.0.1:9001", wantEnv: "127.0.0.1:9002"},
		{flag: "data", env: "HANASHI_DATA", flagVal: "/srv/a", envVal: "/srv/b",
			get: func(c config) any { return c.DataDir }, wantFlag: "/srv/a", wantEnv: "/srv/b"},
		{flag: "database", env: "HANASHI_DATABASE_URL", flagVal: "postgres://a/db", envVal: "postgresql://b/db",
			get: func(c config) any { return c.DatabaseURL }, wantFlag: "postgres://a/db", wantEnv: "postgresql://b/db"},
		{flag: "redis", env: "HANASHI_REDIS_URL", flagVal: "redis://a:6379/0", envVal: "redis://b:6379/1",
			get: func(c config) any { return c.RedisURL }, wantFlag: "redis://a:6379/0", wantEnv: "redis://b:6379/1"},
		{flag: "redis-prefix", env: "HANASHI_REDIS_PREFIX", flagVal: "a:", envVal: "b:",
			get: func(c config) any { return c.RedisPrefix }, wantFlag: "a:", wantEnv: "b:"},
		{flag: "origins", env: "HANASHI_ORIGINS", flagVal: "https://a.example, https://c.example", envVal: "https://b.example,,",
			get:      func(c config) any { return c.Origins },
			wantFlag: []string{"https://a.example", "https://c.example"}, wantEnv: []string{"https://b.example"}},
		{flag: "base-url", env: "HANASHI_BASE_URL", flagVal: "https://a.example", envVal: "https://b.example",
			get: func(c config) any { return c.BaseURL }, wantFlag: "https://a.example", wantEnv: "https://b.example"},
		{flag: "oidc", env: "HANASHI_OIDC", flagVal: "google,dex", envVal: "github",
			get: func(c config) any { return c.OIDC }, wantFlag: "google,dex", wantEnv: "github"},
		{flag: "smtp", env: "HANASHI_SMTP_URL", flagVal: "smtp://a:587", envVal: "smtps://b:465",
			get: func(c config) any { return c.SMTPURL }, wantFlag: "smtp://a:587", wantEnv: "smtps://b:465"},
		{flag: "smtp-from", env: "HANASHI_SMTP_FROM", flagVal: "a@example.com", envVal: "b@example.com",
			get: func(c config) any { return c.SMTPFrom }, wantFlag: "a@example.com", wantEnv: "b@example.com"},
		{flag: "guests", env: "HANASHI_GUESTS", flagVal: "true", envVal: "false",
			get: func(c config) any { return c.Guests }, wantFlag: true, wantEnv: false},
		{flag: "admins", env: "HANASHI_ADMINS", flagVal: " a@example.com, ,c@example.com ", envVal: "b@example.com",
			get:      func(c config) any { return c.Admins },
			wantFlag: []string{"a@example.com", "c@example.com"}, wantEnv: []string{"b@example.com"}},
		{flag: "node", env: "HANASHI_NODE", flagVal: "node-a", envVal: "node-b",
			get: func(c config) any { return c.Node }, wantFlag: "node-a", wantEnv: "node-b"},
		{flag: "log-level", env: "HANASHI_LOG_LEVEL", flagVal: "debug", envVal: "WARN",
			get: func(c config) any { return c.LogLevel }, wantFlag: slog.LevelDebug, wantEnv: slog.LevelWarn},
		{flag: "log", env: "HANASHI_LOG", flagVal: "json", envVal: "text",
			get: func(c config) any { return c.Log }, wantFlag: "json", wantEnv: "text"},
		{flag: "cpuprofile", flagVal: "cpu.prof",
			get: func(c config) any { return c.CPUProfile }, wantFlag: "cpu.prof"},
		{flag: "metrics-addr", env: "HANASHI_METRICS_ADDR", flagVal: "127.0.0.1:9090", envVal: "127.0.0.1:9091",
			get: func(c config) any { return c.MetricsAddr }, wantFlag: "127.0.0.1:9090", wantEnv: "127.0.0.1:9091"},
		{flag: "tls-cert", env: "HANASHI_TLS_CERT", flagVal: "a.pem", envVal: "b.pem", extra: []string{"-tls-key", "key.pem"},
			get: func(c config) any { return c.TLSCert }, wantFlag: "a.pem", wantEnv: "b.pem"},
		{flag: "tls-key", env: "HANASHI_TLS_KEY", flagVal: "a.key", envVal: "b.key", extra: []string{"-tls-cert", "cert.pem"},
			get: func(c config) any { return c.TLSKey }, wantFlag: "a.key", wantEnv: "b.key"},
		{flag: "acme-hosts", env: "HANASHI_ACME_HOSTS", flagVal: "a.example, c.example", envVal: "b.example",
			get:      func(c config) any { return c.ACMEHosts },
			wantFlag: []string{"a.example", "c.example"}, wantEnv: []string{"b.example"}},
		{flag: "acme-cache", env: "HANASHI_ACME_CACHE", flagVal: "/var/a", envVal: "/var/b",
			get: func(c config) any { return c.ACMECache }, wantFlag: "/var/a", wantEnv: "/var/b"},
		{flag: "http-addr", env: "HANASHI_HTTP_ADDR", flagVal: ":80", envVal: ":8000", extra: []string{"-acme-hosts", "chat.example"},
			get: func(c config) any { return c.HTTPAddr }, wantFlag: ":80", wantEnv: ":8000"},
		{flag: "trusted-proxies", env: "HANASHI_TRUSTED_PROXIES", flagVal: "10.0.0.0/8, 127.0.0.1", envVal: "192.0.2.1",
			get:      func(c config) any { return c.TrustedProxies },
			wantFlag: []string{"10.0.0.0/8", "127.0.0.1"}, wantEnv: []string{"192.0.2.1"}},
		{flag: "commit-timeout", env: "HANASHI_COMMIT_TIMEOUT", flagVal: "2s", envVal: "1500ms",
			get: func(c config) any { return c.CommitTimeout }, wantFlag: 2 * time.Second, wantEnv: 1500 * time.Millisecond},
		{flag: "tls-reload-interval", env: "HANASHI_TLS_RELOAD_INTERVAL", flagVal: "1m", envVal: "200ms",
			get: func(c config) any { return c.TLSReloadInterval }, wantFlag: time.Minute, wantEnv: 200 * time.Millisecond},
		{flag: "drain-grace", env: "HANASHI_DRAIN_GRACE", flagVal: "0s", envVal: "10s",
			get: func(c config) any { return c.DrainGrace }, wantFlag: time.Duration(0), wantEnv: 10 * time.Second},
		{flag: "drain-timeout", env: "HANASHI_DRAIN_TIMEOUT", flagVal: "1m", envVal: "45s",
			get: func(c config) any { return c.DrainTimeout }, wantFlag: time.Minute, wantEnv: 45 * time.Second},
	} {
		t.Run(tt.flag, func(t *testing.T) {
			check := func(what string, args []string, env map[string]string, want any) {
				t.Helper()
				cfg, _, err := parse(append(args, tt.extra...), env)
				if err != nil {
					t.Fatalf("%s: %v", what, err)
				}
				if got := tt.get(cfg); !reflect.DeepEqual(got, want) {
					t.Errorf("%s: got %#v, want %#v", what, got, want)
				}
			}
			flagArgs := []string{"-" + tt.flag + "=" + tt.flagVal}
			check("flag", flagArgs, nil, tt.wantFlag)
			if tt.env == "" {
				return
			}
			env := map[string]string{tt.env: tt.envVal}
			check("variable", nil, env, tt.wantEnv)
			check("flag and variable", flagArgs, env, tt.wantFlag)
		})
	}
}

// TestConfigDerivedDefaults checks the settings whose default depends on
// others.
func TestConfigDerivedDefaults(t *testing.T) {
	for _, tt := range []struct {
		args []string
		get  func(config) any
		want any
	}{
		{args: []string{"-addr", "0.0.0.0:9000"}, get: func(c config) any { return c.BaseURL }, want: "http://localhost:9000"},
		{args: []string{"-addr", ":9000"}, get: func(c config) any { return c.BaseURL }, want: "http://localhost:9000"},
		{args: []string{"-addr", "192.0.2.1:9000"}, get: func(c config) any { return c.BaseURL }, want: "http://192.0.2.1:9000"},
		// One name for a server on loopback, to which the others redirect.
		{args: []string{"-addr", "127.0.0.1:9000"}, get: func(c config) any { return c.BaseURL }, want: "http://localhost:9000"},
		{args: []string{"-addr", "[::1]:9000"}, get: func(c config) any { return c.BaseURL }, want: "http://localhost:9000"},
		{args: []string{"-addr", "localhost:9000"}, get: func(c config) any { return c.BaseURL }, want: "http://localhost:9000"},
		{args: []string{"-addr", "127.0.0.1:8443", "-tls-cert", "c.pem", "-tls-key", "k.pem"}, get: func(c config) any { return c.BaseURL }, want: "https://localhost:8443"},
		{args: []string{"-addr", "127.0.0.1:9000"}, get: func(c config) any { return c.BaseURLDefault }, want: true},
		{args: []string{"-base-url", "http://127.0.0.1:9000"}, get: func(c config) any { return c.BaseURLDefault }, want: false},
		{args: []string{"-addr", ":443", "-acme-hosts", "chat.example,other.example"}, get: func(c config) any { return c.BaseURL }, want: "https://chat.example"},
		{args: []string{"-addr", ":8443", "-acme-hosts", "chat.example"}, get: func(c config) any { return c.BaseURL }, want: "https://chat.example:8443"},
		{args: []string{"-addr", ":443", "-acme-hosts", "chat.example", "-base-url", "https://chat.example/team"}, get: func(c config) any { return c.BaseURL }, want: "https://chat.example/team"},
		{args: []string{"-data", "/srv/hanashi"}, get: func(c config) any { return c.ACMECache }, want: filepath.Join("/srv/hanashi", "acme")},
		{args: []string{"-guests=false"}, get: func(c config) any { return c.Guests }, want: false},
	} {
		cfg, _, err := parse(tt.args, nil)
		if err != nil {
			t.Errorf("%q: %v", tt.args, err)
			continue
		}
		if got := tt.get(cfg); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%q: got %#v, want %#v", tt.args, got, tt.want)
		}
	}
}

// TestConfigMigrate checks that "migrate" is the command before or after
// the flags, and that flags on both sides of it count.
func TestConfigMigrate(t *testing.T) {
	for _, args := range [][]string{
		{"migrate"},
		{"migrate", "-database", "postgres://h/db", "-data", "/srv/d"},
		{"-database", "postgres://h/db", "-data", "/srv/d", "migrate"},
		{"-database", "postgres://h/db", "migrate", "-data", "/srv/d"},
	} {
		cfg, _, err := parse(args, nil)
		if err != nil {
			t.Errorf("%q: %v", args, err)
			continue
		}
		if cfg.Command != "migrate" {
			t.Errorf("%q: command %q, want migrate", args, cfg.Command)
		}
		if len(args) > 1 && (cfg.DatabaseURL != "postgres://h/db" || cfg.DataDir != "/srv/d") {
			t.Errorf("%q: database %q, data %q; want the flags' values", args, cfg.DatabaseURL, cfg.DataDir)
		}
	}
	cfg, _, err := parse(nil, nil)
	if err != nil || cfg.Command != "" {
		t.Errorf("no arguments: command %q, err %v; want to serve", cfg.Command, err)
	}
}

// TestConfigBackupRestore checks the commands of backups and their flags,
// before or after the command.
func TestConfigBackupRestore(t *testing.T) {
	for _, tt := range []struct {
		args []string
		env  map[string]string
		want config
	}{
		{args: []string{"backup", "-o", "b.db"}, want: config{Command: "backup", Output: "b.db", DataDir: "hanashi-data"}},
		{args: []string{"-data", "/srv/d", "backup", "-o", "b.db"}, want: config{Command: "backup", Output: "b.db", DataDir: "/srv/d"}},
		{args: []string{"-o", "b.dump", "-database", "postgres://h/db", "backup", "-pg-bin", "/usr/lib/postgresql/17/bin"},
			want: config{Command: "backup", Output: "b.dump", DataDir: "hanashi-data", DatabaseURL: "postgres://h/db", PGBin: "/usr/lib/postgresql/17/bin"}},
		{args: []string{"restore", "-i", "b.db", "-data", "/srv/new"}, want: config{Command: "restore", Input: "b.db", DataDir: "/srv/new"}},
		{args: []string{"restore", "-i", "b.dump"}, env: map[string]string{"HANASHI_DATABASE_URL": "postgres://h/db", "HANASHI_PG_BIN": "/opt/pg"},
			want: config{Command: "restore", Input: "b.dump", DataDir: "hanashi-data", DatabaseURL: "postgres://h/db", PGBin: "/opt/pg"}},
	} {
		cfg, _, err := parse(tt.args, tt.env)
		if err != nil {
			t.Errorf("%q: %v", tt.args, err)
			continue
		}
		got := config{Command: cfg.Command, Output: cfg.Output, Input: cfg.Input, DataDir: cfg.DataDir, DatabaseURL: cfg.DatabaseURL, PGBin: cfg.PGBin}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%q with %v:\n got %+v\nwant %+v", tt.args, tt.env, got, tt.want)
		}
	}
}

// TestConfigErrors checks that settings which cannot work are refused
// with an error that names them.
func TestConfigErrors(t *testing.T) {
	for _, tt := range []struct {
		args []string
		env  map[string]string
		want string
	}{
		// Values that do not parse.
		{env: map[string]string{"HANASHI_DRAIN_GRACE": "soon"}, want: "HANASHI_DRAIN_GRACE must be a duration"},
		{env: map[string]string{"HANASHI_DRAIN_TIMEOUT": "-"}, want: "HANASHI_DRAIN_TIMEOUT must be a duration"},
		{env: map[string]string{"HANASHI_COMMIT_TIMEOUT": "5"}, want: "HANASHI_COMMIT_TIMEOUT must be a duration"},
		{args: []string{"-drain-grace", "soon"}, want: "-drain-grace"},
		{args: []string{"-drain-timeout", "30"}, want: "-drain-timeout"},
		{args: []string{"-commit-timeout", "5"}, want: "-commit-timeout"},
		{env: map[string]string{"HANASHI_GUESTS": "maybe"}, want: "HANASHI_GUESTS must be true or false"},
		{args: []string{"-guests=maybe"}, want: "-guests"},
		{args: []string{"-nope"}, want: "flag provided but not defined: -nope"},
		// TLS and the network in front.
		{args: []string{"-tls-cert", "c.pem"}, want: "-tls-cert and -tls-key go together"},
		{args: []string{"-tls-key", "k.pem"}, want: "-tls-cert and -tls-key go together"},
		{env: map[string]string{"HANASHI_TLS_CERT": "c.pem"}, want: "-tls-cert and -tls-key go together"},
		{args: []string{"-tls-cert", "c.pem", "-tls-key", "k.pem", "-acme-hosts", "chat.example"}, want: "-tls-cert and -acme-hosts exclude each other"},
		{args: []string{"-http-addr", ":80"}, want: "-http-addr redirects to HTTPS: it needs -tls-cert or -acme-hosts"},
		{env: map[string]string{"HANASHI_HTTP_ADDR": ":80"}, want: "-http-addr redirects to HTTPS"},
		// The drain and commits.
		{args: []string{"-drain-grace", "30s", "-drain-timeout", "10s"}, want: "-drain-grace (30s) must be at least 0 and shorter than -drain-timeout (10s)"},
		{args: []string{"-drain-grace", "30s"}, want: "-drain-grace (30s) must be at least 0 and shorter than -drain-timeout (30s)"},
		{args: []string{"-drain-grace", "-1s"}, want: "-drain-grace (-1s) must be at least 0"},
		{args: []string{"-drain-grace", "0s", "-drain-timeout", "0s"}, want: "-drain-timeout (0s)"},
		{args: []string{"-commit-timeout", "999ms"}, want: "-commit-timeout (999ms) must be at least 1s"},
		{args: []string{"-tls-reload-interval", "0s"}, want: "-tls-reload-interval (0s) must be more than 0"},
		{env: map[string]string{"HANASHI_TLS_RELOAD_INTERVAL": "often"}, want: "HANASHI_TLS_RELOAD_INTERVAL"},
		{env: map[string]string{"HANASHI_COMMIT_TIMEOUT": "0s"}, want: "-commit-timeout (0s) must be at least 1s"},
		// Other values.
		{args: []string{"-log", "xml"}, want: `-log must be text or json, not "xml"`},
		{args: []string{"-log-level", "loud"}, want: "-log-level"},
		{env: map[string]string{"HANASHI_LOG_LEVEL": "loud"}, want: "HANASHI_LOG_LEVEL must be debug, info, warn or error"},
		{env: map[string]string{"HANASHI_LOG": "JSON"}, want: `-log must be text or json, not "JSON"`},
		{args: []string{"-database", "mysql://h/db"}, want: "-database must be a postgres:// URL"},
		{env: map[string]string{"HANASHI_DATABASE_URL": "hanashi.db"}, want: "-database must be a postgres:// URL"},
		// Arguments.
		{args: []string{"serve"}, want: `unexpected argument "serve"`},
		{args: []string{"-addr", "127.0.0.1:0", "extra"}, want: `unexpected argument "extra"`},
		{args: []string{"migrate", "extra"}, want: `unexpected argument "extra"`},
		{args: []string{"-data", "d", "migrate", "extra"}, want: `unexpected argument "extra"`},
		{args: []string{"migrate", "migrate"}, want: `unexpected argument "migrate"`},
		{args: []string{"migrate", "-nope"}, want: "flag provided but not defined: -nope"},
		{args: []string{"migrate", "-data", "d", "-nope"}, want: "flag provided but not defined: -nope"},
		{args: []string{"-data", "d", "migrate", "-nope"}, want: "flag provided but not defined: -nope"},
		// Backups.
		{args: []string{"backup"}, want: "backup needs -o FILE"},
		{args: []string{"restore", "-data", "d"}, want: "restore needs -i FILE"},
		{args: []string{"-o", "b.db"}, want: "-o goes with backup"},
		{args: []string{"restore", "-i", "b.db", "-o", "c.db"}, want: "-o goes with backup"},
		{args: []string{"migrate", "-i", "b.db"}, want: "-i goes with restore"},
		{args: []string{"backup", "restore", "-o", "b.db"}, want: `unexpected argument "restore"`},
	} {
		_, _, err := parse(tt.args, tt.env)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%q with %v: err %v, want one containing %q", tt.args, tt.env, err, tt.want)
		}
	}
}

// TestConfigHelp checks that -h and help print the usage, every command and the
// flags with their variables, and is not an error run reports.
func TestConfigHelp(t *testing.T) {
	for _, args := range [][]string{{"-h"}, {"migrate", "-h"}, {"help"}, {"backup", "-h"}} {
		_, stderr, err := parse(args, nil)
		if !errors.Is(err, flag.ErrHelp) {
			t.Errorf("%q: err %v, want flag.ErrHelp", args, err)
		}
		for _, want := range []string{"Usage: hanashi [flags]", "hanashi migrate [flags]", "hanashi backup -o FILE [flags]", "hanashi restore -i FILE [flags]", "hanashi help", "-addr", "(HANASHI_ADDR)", "-drain-timeout", "(HANASHI_PG_BIN"} {
			if !strings.Contains(stderr, want) {
				t.Errorf("%q: usage lacks %q:\n%s", args, want, stderr)
			}
		}
	}
}
