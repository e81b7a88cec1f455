package deploy

import (
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// instruction is one instruction of a Dockerfile, continuation lines
// joined.
type instruction struct {
	line  int
	stage int    // the build stage it belongs to, from 0
	cmd   string // upper case: "RUN"
	args  string
}

// parseDockerfile reads the instructions of a Dockerfile: comments
// (parser directives among them) dropped, lines ending in a backslash
// joined to the next.
func parseDockerfile(text string) ([]instruction, error) {
	var out []instruction
	stage := -1
	var cur strings.Builder
	start := 0
	for i, line := range strings.Split(text, "\n") {
		trimmed := strings.TrimSpace(line)
		if strings.HasPrefix(trimmed, "#") || (trimmed == "" && cur.Len() == 0) {
			continue
		}
		if cur.Len() == 0 {
			start = i + 1
		}
		if strings.HasSuffix(trimmed, `\`) {
			cur.WriteString(strings.TrimSpace(strings.TrimSuffix(trimmed, `\`)) + " ")
			continue
		}
		cur.WriteString(trimmed)
		cmd, args, _ := strings.Cut(strings.TrimSpace(cur.String()), " ")
		cur.Reset()
		cmd = strings.ToUpper(cmd)
		if cmd == "FROM" {
			stage++
		} else if stage < 0 {
			if cmd != "ARG" {
				return nil, fmt.Errorf("line %d: %s before the first FROM", start, cmd)
			}
		}
		out = append(out, instruction{line: start, stage: stage, cmd: cmd, args: strings.TrimSpace(args)})
	}
	if cur.Len() > 0 {
		return nil, fmt.Errorf("line %d: the file ends in a continuation", start)
	}
	return out, nil
}

// shellWords splits a command line as sh would split one without
// expansions: on blanks, with single and double quotes.
func shellWords(s string) ([]string, error) {
	var words []string
	var w strings.Builder
	inWord := false
	var quote rune
	for _, r := range s {
		switch {
		case quote != 0:
			if r == quote {
				quote = 0
			} else {
				w.WriteRune(r)
			}
		case r == '\'' || r == '"':
			quote, inWord = r, true
		case r == ' ' || r == '\t':
			if inWord {
				words = append(words, w.String())
				w.Reset()
				inWord = false
			}
		default:
			w.WriteRune(r)
			inWord = true
		}
	}
	if quote != 0 {
		return nil, fmt.Errorf("unterminated %c quote in %q", quote, s)
	}
	if inWord {
		words = append(words, w.String())
	}
	return words, nil
}

// goBuild is the `go build` of a Dockerfile's build stage.
type goBuild struct {
	env  map[string]string // the variables set before `go`, $ARGs as written
	args []string          // after `go build`
}

// flag returns the value of a go build flag, given as -flag=value or
// -flag value, and whether it is there.
func (b goBuild) flag(name string) (string, bool) {
	for i, a := range b.args {
		if a == name {
			if i+1 < len(b.args) && !strings.HasPrefix(b.args[i+1], "-") {
				return b.args[i+1], true
			}
			return "", true
		}
		if v, ok := strings.CutPrefix(a, name+"="); ok {
			return v, true
		}
	}
	return "", false
}

// dockerfileGoBuild finds the one RUN of the file that runs `go build`.
func dockerfileGoBuild(instrs []instruction) (goBuild, error) {
	var found []goBuild
	for _, in := range instrs {
		if in.cmd != "RUN" || !strings.Contains(in.args, "go build") {
			continue
		}
		words, err := shellWords(in.args)
		if err != nil {
			return goBuild{}, fmt.Errorf("line %d: %v", in.line, err)
		}
		b := goBuild{env: make(map[string]string)}
		i := 0
		for ; i < len(words) && strings.Contains(words[i], "=") && words[i] != "go"; i++ {
			k, v, _ := strings.Cut(words[i], "=")
			b.env[k] = v
		}
		if i+1 >= len(words) || words[i] != "go" || words[i+1] != "build" {
			return goBuild{}, fmt.Errorf("line %d: want `VAR=value... go build ...` alone on its RUN line, so that the tests can run it too: %q", in.line, in.args)
		}
		for _, w := range words[i+2:] {
			if w == "&&" || w == ";" || w == "|" {
				return goBuild{}, fmt.Errorf("line %d: more than `go build` on its RUN line", in.line)
			}
		}
		b.args = words[i+2:]
		found = append(found, b)
	}
	if len(found) != 1 {
		return goBuild{}, fmt.Errorf("%d RUN lines run go build; want one", len(found))
	}
	return found[0], nil
}

var goVersion = regexp.MustCompile(`^(\d+)\.(\d+)(?:\.(\d+))?`)

// versionAtLeast compares Go versions such as 1.26 and 1.26.8.
func versionAtLeast(have, want string) bool {
	h, w := goVersion.FindStringSubmatch(have), goVersion.FindStringSubmatch(want)
	if h == nil || w == nil {
		return false
	}
	for i := 1; i <= 3; i++ {
		a, _ := strconv.Atoi(h[i])
		b, _ := strconv.Atoi(w[i])
		if a != b {
			return a > b
		}
	}
	return true
}

// mainGoVersion is the go directive of Hanashi's go.mod.
func mainGoVersion(t *testing.T) string {
	t.Helper()
	m := regexp.MustCompile(`(?m)^go (\S+)$`).FindSubmatch(readFile(t, "../go.mod"))
	if m == nil {
		t.Fatal("../go.mod has no go directive")
	}
	return string(m[1])
}

func TestDockerfile(t *testing.T) {
	instrs, err := parseDockerfile(string(readFile(t, "Dockerfile")))
	if err != nil {
		t.Fatal(err)
	}
	last := instrs[len(instrs)-1].stage
	if last < 1 {
		t.Fatalf("%d build stage; want a build stage and a final one", last+1)
	}
	var final []instruction
	for _, in := range instrs {
		if in.stage == last {
			final = append(final, in)
		}
	}

	// The build stage: a Go new enough for go.mod.
	from := slices.DeleteFunc(strings.Fields(instrs[0].args), func(f string) bool { return strings.HasPrefix(f, "--") })
	if instrs[0].cmd != "FROM" || len(from) != 3 || !strings.EqualFold(from[1], "AS") {
		t.Fatalf("first instruction %s %s; want FROM golang:VERSION AS NAME", instrs[0].cmd, instrs[0].args)
	}
	image, tag, _ := strings.Cut(from[0], ":")
	if want := mainGoVersion(t); image != "golang" || !versionAtLeast(tag, want) || !goVersion.MatchString(tag) {
		t.Errorf("build stage FROM %s; want golang pinned to a version at least go.mod's %s (the image refuses to fetch a newer toolchain)", from[0], want)
	}

	// The static, reproducible build.
	b, err := dockerfileGoBuild(instrs)
	if err != nil {
		t.Fatal(err)
	}
	if b.env["CGO_ENABLED"] != "0" {
		t.Errorf("go build runs with CGO_ENABLED=%q; want 0, for a static binary", b.env["CGO_ENABLED"])
	}
	if _, ok := b.flag("-trimpath"); !ok {
		t.Error("go build without -trimpath")
	}
	if v, _ := b.flag("-ldflags"); v != "-s -w" {
		t.Errorf("go build -ldflags %q; want \"-s -w\"", v)
	}
	if !slices.Contains(b.args, "./cmd/hanashi") {
		t.Errorf("go build %q does not build ./cmd/hanashi", b.args)
	}
	out, ok := b.flag("-o")
	if !ok || out == "" {
		t.Fatalf("go build %q names no -o output", b.args)
	}

	// The final stage: nothing but the binary and what it needs, run by a
	// numeric non-root user that runAsNonRoot can check.
	base := strings.Fields(final[0].args)[0]
	if base != "scratch" && !(strings.Contains(base, "distroless/static") && strings.HasSuffix(base, ":nonroot")) {
		t.Errorf("final stage FROM %s; want scratch or distroless static:nonroot", base)
	}
	var user, entrypoint string
	env := make(map[string]string)
	var volumes, exposed, copied []string
	for _, in := range final {
		switch in.cmd {
		case "USER":
			user = in.args
		case "ENTRYPOINT":
			entrypoint = in.args
		case "ENV":
			words, err := shellWords(in.args)
			if err != nil {
				t.Fatal(err)
			}
			for _, w := range words {
				k, v, ok := strings.Cut(w, "=")
				if !ok {
					t.Fatalf("line %d: ENV %q: want KEY=value pairs", in.line, in.args)
				}
				env[k] = v
			}
		case "VOLUME":
			volumes = append(volumes, strings.Fields(in.args)...)
		case "EXPOSE":
			exposed = append(exposed, strings.Fields(in.args)...)
		case "COPY":
			f := strings.Fields(in.args)
			copied = append(copied, f[len(f)-1])
		case "HEALTHCHECK":
			t.Errorf("line %d: a HEALTHCHECK, but the image has no shell or client to run it; the orchestrator probes /healthz and /readyz", in.line)
		}
	}
	uid, _, _ := strings.Cut(user, ":")
	if n, err := strconv.Atoi(uid); err != nil || n == 0 {
		t.Errorf("USER %q; want a numeric user other than root", user)
	}
	var ep []string
	if err := json.Unmarshal([]byte(entrypoint), &ep); err != nil || len(ep) == 0 {
		t.Errorf("ENTRYPOINT %s; want the exec form, a JSON array", entrypoint)
	} else if !slices.Contains(copied, ep[0]) {
		t.Errorf("ENTRYPOINT runs %s, which the final stage does not copy in (it copies %v)", ep[0], copied)
	}
	for _, want := range []string{"/etc/ssl/certs/ca-certificates.crt", "/tmp", "/data"} {
		if !slices.Contains(copied, want) {
			t.Errorf("the final stage does not copy in %s", want)
		}
	}
	if env["HANASHI_ADDR"] != "0.0.0.0:8080" || env["HANASHI_DATA"] != "/data" {
		t.Errorf("ENV %v; want HANASHI_ADDR=0.0.0.0:8080 and HANASHI_DATA=/data", env)
	}
	if !slices.Contains(volumes, "/data") {
		t.Errorf("VOLUME %v; want /data", volumes)
	}
	if !slices.Contains(exposed, "8080") {
		t.Errorf("EXPOSE %v; want 8080", exposed)
	}
}

func TestParseDockerfile(t *testing.T) {
	instrs, err := parseDockerfile("# syntax=docker/dockerfile:1\nARG V=1\nFROM a AS b\nRUN x \\\n\ty  # not a comment\n\n# comment\nFROM c\nENV A=1 \\\n  B=\"2 3\"\n")
	if err != nil {
		t.Fatal(err)
	}
	want := []instruction{
		{2, -1, "ARG", "V=1"},
		{3, 0, "FROM", "a AS b"},
		{4, 0, "RUN", "x y  # not a comment"},
		{8, 1, "FROM", "c"},
		{9, 1, "ENV", `A=1 B="2 3"`},
	}
	if !slices.Equal(instrs, want) {
		t.Errorf("parseDockerfile = %+v\nwant %+v", instrs, want)
	}
	words, err := shellWords(`CGO_ENABLED=0 go build -ldflags="-s -w" -o '/out/a b' ./x`)
	if err != nil || !slices.Equal(words, []string{"CGO_ENABLED=0", "go", "build", "-ldflags=-s -w", "-o", "/out/a b", "./x"}) {
		t.Errorf("shellWords = %q, %v", words, err)
	}
}
