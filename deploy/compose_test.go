package deploy

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	sigsjson "sigs.k8s.io/json"
	"sigs.k8s.io/yaml"
)

// composeFile is the part of the Compose specification docker-compose.yml
// uses. Decoding is strict, so a field this does not know (a misspelling,
// or something new that these tests should learn to check) is an error.
type composeFile struct {
	Name     string                    `json:"name"`
	Services map[string]composeService `json:"services"`
	Volumes  map[string]*struct{}      `json:"volumes"`
}

type composeService struct {
	Image string `json:"image"`
	Build *struct {
		Context    string `json:"context"`
		Dockerfile string `json:"dockerfile"`
	} `json:"build"`
	Command     []string          `json:"command"`
	Environment map[string]string `json:"environment"`
	DependsOn   map[string]struct {
		Condition string `json:"condition"`
	} `json:"depends_on"`
	Ports       []string `json:"ports"`
	Volumes     []string `json:"volumes"`
	Healthcheck *struct {
		Test        []string `json:"test"`
		Interval    string   `json:"interval"`
		Timeout     string   `json:"timeout"`
		Retries     int      `json:"retries"`
		StartPeriod string   `json:"start_period"`
	} `json:"healthcheck"`
	Restart         string   `json:"restart"`
	User            string   `json:"user"`
	ReadOnly        bool     `json:"read_only"`
	Tmpfs           []string `json:"tmpfs"`
	CapDrop         []string `json:"cap_drop"`
	CapAdd          []string `json:"cap_add"`
	SecurityOpt     []string `json:"security_opt"`
	StopGracePeriod string   `json:"stop_grace_period"`
}

// loadCompose reads a Compose file as Compose would: YAML (with anchors and
// merge keys), extensions (x-*) dropped, then ${VAR} interpolated in the
// values from env, then decoded strictly.
func loadCompose(data []byte, env map[string]string) (*composeFile, error) {
	js, err := yaml.YAMLToJSONStrict(data)
	if err != nil {
		return nil, err
	}
	var tree map[string]any
	if err := json.Unmarshal(js, &tree); err != nil {
		return nil, err
	}
	dropExtensions(tree)
	if services, ok := tree["services"].(map[string]any); ok {
		for _, s := range services {
			if m, ok := s.(map[string]any); ok {
				dropExtensions(m)
			}
		}
	}
	var errs []error
	interpolated := walkStrings(tree, "", func(_, s string) any {
		v, err := interpolate(s, env)
		errs = append(errs, err)
		return v
	})
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	js, err = json.Marshal(interpolated)
	if err != nil {
		return nil, err
	}
	var f composeFile
	strict, err := sigsjson.UnmarshalStrict(js, &f, sigsjson.DisallowDuplicateFields, sigsjson.DisallowUnknownFields)
	if err != nil {
		return nil, err
	}
	return &f, errors.Join(strict...)
}

func dropExtensions(m map[string]any) {
	for k := range m {
		if strings.HasPrefix(k, "x-") {
			delete(m, k)
		}
	}
}

// walkStrings returns a copy of a decoded JSON tree with every string
// replaced by f(key, s); key is the map key above it, or in a list the
// option before it ("--requirepass" for the password after it).
func walkStrings(v any, key string, f func(key, s string) any) any {
	switch v := v.(type) {
	case string:
		return f(key, v)
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, e := range v {
			out[k] = walkStrings(e, k, f)
		}
		return out
	case []any:
		out := make([]any, len(v))
		prev := key
		for i, e := range v {
			out[i] = walkStrings(e, prev, f)
			prev = key
			if s, ok := e.(string); ok && strings.HasPrefix(s, "-") {
				prev = s
			}
		}
		return out
	}
	return v
}

var interpolation = regexp.MustCompile(`\$(\$|\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?+])([^}]*))?\}|([A-Za-z_][A-Za-z0-9_]*))`)

// interpolate does to a value what Compose does: $$ is a dollar, and
// ${VAR}, $VAR, ${VAR:-default}, ${VAR-default}, ${VAR:?error},
// ${VAR?error}, ${VAR:+alternative} and ${VAR+alternative} take their
// value from env.
func interpolate(s string, env map[string]string) (string, error) {
	var errs []error
	out := interpolation.ReplaceAllStringFunc(s, func(m string) string {
		g := interpolation.FindStringSubmatch(m)
		if g[1] == "$" {
			return "$"
		}
		name, op, arg := g[2], g[3], g[4]
		if name == "" {
			name = g[5]
		}
		val, set := env[name]
		empty := !set || val == ""
		switch op {
		case "":
			return val
		case ":-":
			if empty {
				return arg
			}
		case "-":
			if !set {
				return arg
			}
		case ":?", "?":
			if (op == ":?" && empty) || (op == "?" && !set) {
				errs = append(errs, fmt.Errorf("required variable %s is missing a value: %s", name, arg))
			}
		case ":+":
			if !empty {
				return arg
			}
			return ""
		case "+":
			if set {
				return arg
			}
			return ""
		}
		return val
	})
	return out, errors.Join(errs...)
}

// required reports whether a value is nothing but one reference to a
// variable Compose insists on (${VAR:?message} or ${VAR?message}).
var required = regexp.MustCompile(`^\$\{[A-Za-z_][A-Za-z0-9_]*:?\?[^}]*\}$`)

// composePasswordProblems finds passwords in a Compose file that do not
// come from a required variable: a literal one, or a variable with a
// default, would be a default password.
func composePasswordProblems(data []byte) ([]string, error) {
	js, err := yaml.YAMLToJSONStrict(data)
	if err != nil {
		return nil, err
	}
	var tree any
	if err := json.Unmarshal(js, &tree); err != nil {
		return nil, err
	}
	var p []string
	walkStrings(tree, "", func(key, s string) any {
		for _, g := range interpolation.FindAllStringSubmatch(s, -1) {
			if name := g[2] + g[5]; looksSecret(name) && g[3] != ":?" && g[3] != "?" {
				p = append(p, fmt.Sprintf("%s: %s must be required (${%s:?...}), never defaulted", key, name, name))
			}
		}
		if looksSecret(key) && !required.MatchString(s) {
			p = append(p, fmt.Sprintf("%s: %q is not a required variable", key, s))
		}
		if m := urlPassword.FindStringSubmatch(s); m != nil && !required.MatchString(m[1]) {
			p = append(p, fmt.Sprintf("%s: the password in %q is not a required variable", key, s))
		}
		return s
	})
	sort.Strings(p)
	return p, nil
}

// testEnv is what the tests pretend the operator exported.
var testEnv = map[string]string{
	"POSTGRES_PASSWORD": "pg-from-the-environment",
	"REDIS_PASSWORD":    "redis-from-the-environment",
}

func TestComposeHasNoDefaultPasswords(t *testing.T) {
	data := readFile(t, "docker-compose.yml")
	_, err := loadCompose(data, nil)
	if err == nil {
		t.Fatal("docker-compose.yml loads without POSTGRES_PASSWORD and REDIS_PASSWORD: there is a default password")
	}
	for _, name := range []string{"POSTGRES_PASSWORD", "REDIS_PASSWORD"} {
		if !strings.Contains(err.Error(), name) {
			t.Errorf("without any variable, loading fails with %q, which does not ask for %s", err, name)
		}
	}
	problems, err := composePasswordProblems(data)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Error(p)
	}

	// The check itself finds what it looks for.
	bad := []byte(`
services:
  db:
    command: ["redis-server", "--requirepass", "hunter2"]
    environment:
      POSTGRES_PASSWORD: ${POSTGRES_PASSWORD:-postgres}
      DB_PASSWORD: swordfish
      URL: postgres://u:sesame@db/x
`)
	problems, err = composePasswordProblems(bad)
	if err != nil {
		t.Fatal(err)
	}
	if len(problems) != 5 {
		t.Errorf("composePasswordProblems found %d problems in a file with 4 passwords (one counted twice), want 5:\n%s", len(problems), strings.Join(problems, "\n"))
	}
}

func TestInterpolate(t *testing.T) {
	env := map[string]string{"SET": "v", "EMPTY": ""}
	for _, tc := range []struct{ in, want, err string }{
		{"a $$b", "a $b", ""},
		{"${SET}/$SET", "v/v", ""},
		{"${UNSET:-d} ${EMPTY:-d} ${EMPTY-d}", "d d ", ""},
		{"${UNSET:+x}${SET:+x}", "x", ""},
		{"${SET:?say}", "v", ""},
		{"${EMPTY:?say so}", "", "say so"},
		{"${EMPTY?say}", "", ""},
		{"${UNSET?said}", "", "said"},
	} {
		got, err := interpolate(tc.in, env)
		if got != tc.want || (err == nil) != (tc.err == "") || (err != nil && !strings.Contains(err.Error(), tc.err)) {
			t.Errorf("interpolate(%q) = %q, %v; want %q, error %q", tc.in, got, err, tc.want, tc.err)
		}
	}
}

func TestCompose(t *testing.T) {
	f, err := loadCompose(readFile(t, "docker-compose.yml"), testEnv)
	if err != nil {
		t.Fatal(err)
	}

	var nodes []string
	for name, s := range f.Services {
		if s.Build != nil {
			nodes = append(nodes, name)
		}
	}
	sort.Strings(nodes)
	if len(nodes) != 2 {
		t.Fatalf("services built from the Dockerfile: %v; want two Hanashi nodes", nodes)
	}
	caddyUpstreams, caddyHealth := caddyfile(t, "Caddyfile")
	lb := f.Services["caddy"]
	if !slices.Contains(lb.Volumes, "./Caddyfile:/etc/caddy/Caddyfile:ro") {
		t.Errorf("caddy mounts %v, not ./Caddyfile", lb.Volumes)
	}

	nodeNames := make(map[string]bool)
	var dataVolumes []string
	for _, name := range nodes {
		s := f.Services[name]
		t.Run(name, func(t *testing.T) {
			if s.Build.Context != ".." || s.Build.Dockerfile != "deploy/Dockerfile" {
				t.Errorf("build %+v; want the repository root and deploy/Dockerfile", *s.Build)
			}
			if _, err := os.Stat(filepath.Join(s.Build.Context, s.Build.Dockerfile)); err != nil {
				t.Error(err)
			}
			env := s.Environment
			if n := env["HANASHI_NODE"]; n == "" || nodeNames[n] {
				t.Errorf("HANASHI_NODE %q: want a name of its own", n)
			}
			nodeNames[env["HANASHI_NODE"]] = true
			for v, service := range map[string]string{"HANASHI_DATABASE_URL": "postgres", "HANASHI_REDIS_URL": "redis", "HANASHI_SMTP_URL": "mailpit"} {
				u, err := url.Parse(env[v])
				if err != nil || u.Hostname() != service {
					t.Errorf("%s = %q: want the %s service", v, env[v], service)
				}
				if _, ok := f.Services[service]; !ok {
					t.Errorf("%s names service %s, which is not there", v, service)
				}
			}
			if pw, _ := mustURL(t, env["HANASHI_DATABASE_URL"]).User.Password(); pw != testEnv["POSTGRES_PASSWORD"] {
				t.Errorf("HANASHI_DATABASE_URL's password is %q, not $POSTGRES_PASSWORD", pw)
			}
			if pw, _ := mustURL(t, env["HANASHI_REDIS_URL"]).User.Password(); pw != testEnv["REDIS_PASSWORD"] {
				t.Errorf("HANASHI_REDIS_URL's password is %q, not $REDIS_PASSWORD", pw)
			}
			if env["HANASHI_ADDR"] != "0.0.0.0:8080" || !slices.Contains(caddyUpstreams, name+":8080") {
				t.Errorf("HANASHI_ADDR %q, and the Caddyfile's upstreams %v: want Caddy to reach %s:8080", env["HANASHI_ADDR"], caddyUpstreams, name)
			}
			if caddyHealth != "/readyz" {
				t.Errorf("Caddy checks %q; with no healthcheck in the image, it must check /readyz", caddyHealth)
			}
			for _, dep := range []string{"postgres", "redis"} {
				if s.DependsOn[dep].Condition != "service_healthy" {
					t.Errorf("depends_on %s: condition %q; want service_healthy", dep, s.DependsOn[dep].Condition)
				}
			}
			if len(s.Ports) > 0 {
				t.Errorf("publishes %v: clients come through the load balancer", s.Ports)
			}
			for _, v := range s.Volumes {
				if src, dst, _ := strings.Cut(v, ":"); dst == "/data" {
					dataVolumes = append(dataVolumes, src)
				}
			}
			if !s.ReadOnly || !slices.Contains(s.Tmpfs, "/tmp") {
				t.Errorf("read_only %v, tmpfs %v: want a read-only root with a tmpfs on /tmp", s.ReadOnly, s.Tmpfs)
			}
			if !slices.Contains(s.CapDrop, "ALL") || len(s.CapAdd) > 0 {
				t.Errorf("cap_drop %v, cap_add %v; want every capability dropped", s.CapDrop, s.CapAdd)
			}
			drain := defaultDrain
			if v := env["HANASHI_DRAIN_TIMEOUT"]; v != "" {
				if drain, err = time.ParseDuration(v); err != nil {
					t.Errorf("HANASHI_DRAIN_TIMEOUT: %v", err)
				}
			}
			if grace, err := time.ParseDuration(s.StopGracePeriod); err != nil || grace < drain+5*time.Second {
				t.Errorf("stop_grace_period %q: want the drain (%v) and 5 s more, or Docker kills the node while it drains", s.StopGracePeriod, drain)
			}
		})
	}
	if len(dataVolumes) != 2 || dataVolumes[0] != dataVolumes[1] {
		t.Errorf("the nodes mount %v on /data; want one named volume for both, so that uploaded avatars are shared", dataVolumes)
	} else if _, ok := f.Volumes[dataVolumes[0]]; !ok {
		t.Errorf("volume %q is not declared", dataVolumes[0])
	}

	for name, s := range f.Services {
		t.Run(name+" generally", func(t *testing.T) {
			if i := strings.LastIndex(s.Image, ":"); i < 0 || strings.HasSuffix(s.Image, ":latest") {
				t.Errorf("image %q names no version", s.Image)
			}
			if s.Healthcheck == nil && !slices.Contains(caddyUpstreams, name+":8080") {
				t.Error("no healthcheck, and the load balancer does not check it either")
			}
			if h := s.Healthcheck; h != nil && (len(h.Test) < 2 || h.Test[0] != "CMD") {
				t.Errorf("healthcheck test %q: want the exec form, [\"CMD\", ...]", h.Test)
			}
			for dep, d := range s.DependsOn {
				if _, ok := f.Services[dep]; !ok {
					t.Errorf("depends on %s, which is not a service", dep)
				}
				if d.Condition == "service_healthy" && f.Services[dep].Healthcheck == nil {
					t.Errorf("waits for %s to be healthy, which has no healthcheck", dep)
				}
			}
			for _, p := range s.Ports {
				if !strings.HasPrefix(p, "127.0.0.1:") {
					t.Errorf("publishes %q on every interface; this is a stack for one machine, so 127.0.0.1 only", p)
				}
			}
			if !slices.Contains(s.SecurityOpt, "no-new-privileges:true") {
				t.Errorf("security_opt %v lacks no-new-privileges:true", s.SecurityOpt)
			}
			for _, v := range s.Volumes {
				src, _, _ := strings.Cut(v, ":")
				if _, declared := f.Volumes[src]; !declared && !strings.HasPrefix(src, "./") {
					t.Errorf("volume %q is not declared", src)
				}
			}
		})
	}
}

func mustURL(t *testing.T, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	if u.User == nil {
		u.User = url.User("")
	}
	return u
}

// caddyfile returns the upstreams of the Caddyfile's reverse_proxy and the
// path of its active health check.
func caddyfile(t *testing.T, path string) (upstreams []string, health string) {
	t.Helper()
	for _, line := range strings.Split(string(readFile(t, path)), "\n") {
		fields := strings.Fields(line)
		if len(fields) == 0 {
			continue
		}
		switch fields[0] {
		case "reverse_proxy":
			for _, f := range fields[1:] {
				if f != "{" {
					upstreams = append(upstreams, f)
				}
			}
		case "health_uri":
			if len(fields) > 1 {
				health = fields[1]
			}
		}
	}
	if len(upstreams) == 0 {
		t.Fatalf("%s has no reverse_proxy with upstreams", path)
	}
	return upstreams, health
}
