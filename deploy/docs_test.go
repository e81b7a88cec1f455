package deploy

import (
	"os/exec"
	"regexp"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
)

// coming marks what docs/operations.md describes before the server has it.
const coming = "coming with the operations issue"

// configRow is a row of a configuration table: | flag | variable | default | meaning |.
type configRow struct {
	flag, variable, text string
}

// configTable reads the table of the "## Configuration" section of a
// Markdown file.
func configTable(t *testing.T, path string) []configRow {
	t.Helper()
	_, section, ok := strings.Cut(string(readFile(t, path)), "\n## Configuration\n")
	if !ok {
		t.Fatalf("%s has no \"## Configuration\" section", path)
	}
	section, _, _ = strings.Cut(section, "\n## ")
	var rows []configRow
	for _, line := range strings.Split(section, "\n") {
		if !strings.HasPrefix(line, "| ") && !strings.HasPrefix(line, "|`") && !strings.HasPrefix(line, "| |") {
			continue
		}
		cells := strings.Split(strings.Trim(line, "|"), "|")
		if len(cells) < 3 {
			continue
		}
		flag := strings.Trim(strings.TrimSpace(cells[0]), "`")
		variable := strings.Trim(strings.TrimSpace(cells[1]), "`")
		if flag == "flag" || strings.HasPrefix(flag, "---") || (flag != "" && !strings.HasPrefix(flag, "-")) {
			continue // the header, its rule, or another table
		}
		rows = append(rows, configRow{flag: strings.TrimPrefix(flag, "-"), variable: variable, text: line})
	}
	if len(rows) == 0 {
		t.Fatalf("%s: no rows in the configuration table", path)
	}
	return rows
}

// helpFlags runs `hanashi -h` and returns every flag with the variable in
// parentheses in its description ("" for none), and the whole text.
func helpFlags(t *testing.T) (map[string]string, string) {
	t.Helper()
	cmd := exec.Command(hanashiBinary(t), "-h")
	cmd.Env = []string{} // no HANASHI_* from whoever runs the tests
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("hanashi -h: %v\n%s", err, out)
	}
	flags := make(map[string]string)
	var current string
	flagLine := regexp.MustCompile(`^  -([a-z0-9-]+)`)
	varName := regexp.MustCompile(`\((HANASHI_[A-Z0-9_]+)`)
	for _, line := range strings.Split(string(out), "\n") {
		if m := flagLine.FindStringSubmatch(line); m != nil {
			current = m[1]
			flags[current] = ""
		}
		if m := varName.FindStringSubmatch(line); m != nil && current != "" && flags[current] == "" {
			flags[current] = m[1]
		}
	}
	if len(flags) == 0 {
		t.Fatalf("hanashi -h lists no flags:\n%s", out)
	}
	return flags, string(out)
}

// documented reports whether a variable has a row in the table, per-provider
// variables matching the HANASHI_OIDC_NAME_* rows.
func documented(rows []configRow, v string) bool {
	perProvider := regexp.MustCompile(`^HANASHI_OIDC_[A-Z0-9_]+_(ISSUER|CLIENT_ID|CLIENT_SECRET|TITLE)$`)
	if m := perProvider.FindStringSubmatch(v); m != nil {
		v = "HANASHI_OIDC_NAME_" + m[1]
	}
	for _, r := range rows {
		if r.variable == v {
			return true
		}
	}
	return false
}

func TestOperationsDocsMatchTheServer(t *testing.T) {
	rows := configTable(t, "../docs/operations.md")
	flags, help := helpFlags(t)
	byFlag := make(map[string]configRow)
	for _, r := range rows {
		if r.flag != "" {
			byFlag[r.flag] = r
		}
	}
	for flag, variable := range flags {
		r, ok := byFlag[flag]
		switch {
		case !ok:
			t.Errorf("hanashi has -%s (%s), which docs/operations.md's configuration table does not list", flag, variable)
		case r.variable != variable:
			t.Errorf("-%s: the server reads %q, docs/operations.md says %q", flag, variable, r.variable)
		case strings.Contains(r.text, coming):
			t.Errorf("-%s has come: drop %q from its row in docs/operations.md", flag, coming)
		}
	}
	for _, r := range rows {
		if _, ok := flags[r.flag]; r.flag != "" && !ok && !strings.Contains(r.text, coming) {
			t.Errorf("docs/operations.md documents -%s, which hanashi does not have (nor is it marked %q)", r.flag, coming)
		}
	}
	for _, v := range regexp.MustCompile(`HANASHI_[A-Z0-9_]*[A-Z0-9]`).FindAllString(help, -1) {
		if !documented(rows, v) {
			t.Errorf("hanashi -h mentions %s, which docs/operations.md's table does not list", v)
		}
	}
	otel := strings.Contains(string(readFile(t, "../go.mod")), "go.opentelemetry.io/otel")
	for _, r := range rows {
		if strings.HasPrefix(r.variable, "OTEL_") && otel == strings.Contains(r.text, coming) {
			t.Errorf("%s: the server has OpenTelemetry: %v, but the row says %q", r.variable, otel, r.text)
		}
	}
}

func TestREADMEConfigurationMatchesOperationsDocs(t *testing.T) {
	docs := configTable(t, "../docs/operations.md")
	for _, r := range configTable(t, "../README.md") {
		if !documented(docs, r.variable) {
			t.Errorf("README's %s is not in docs/operations.md's table", r.variable)
			continue
		}
		for _, d := range docs {
			if d.variable == r.variable && d.flag != r.flag {
				t.Errorf("%s: README's flag is -%s, docs/operations.md's -%s", r.variable, r.flag, d.flag)
			}
		}
	}
}

// TestDeploySettingsAreDocumented catches a misspelt setting in the
// manifests, which the server would silently ignore.
func TestDeploySettingsAreDocumented(t *testing.T) {
	rows := configTable(t, "../docs/operations.md")
	setting := regexp.MustCompile(`^(HANASHI|OTEL)_`)
	check := func(where, name string) {
		if setting.MatchString(name) && !documented(rows, name) {
			t.Errorf("%s sets %s, which docs/operations.md's table does not know", where, name)
		}
	}
	f, err := loadCompose(readFile(t, "docker-compose.yml"), testEnv)
	if err != nil {
		t.Fatal(err)
	}
	for name, s := range f.Services {
		for k := range s.Environment {
			check("docker-compose.yml "+name, k)
		}
	}
	for _, files := range manifestSets {
		for _, file := range files {
			objs, err := decodeManifest(file, readFile(t, file))
			if err != nil {
				t.Fatal(err)
			}
			set := manifestSet{objs: objs}
			for _, o := range objs {
				switch v := o.value.(type) {
				case *corev1.ConfigMap:
					for k := range v.Data {
						check(o.String(), k)
					}
				case *corev1.Secret:
					for k := range v.StringData {
						check(o.String(), k)
					}
				}
			}
			for _, w := range set.workloads() {
				for _, c := range w.template.Spec.Containers {
					for _, e := range c.Env {
						check(w.String(), e.Name)
					}
				}
			}
		}
	}
}
