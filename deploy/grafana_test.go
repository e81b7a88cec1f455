package deploy

import (
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
)

// dashboard is the part of a Grafana dashboard the tests look at.
type dashboard struct {
	Title      string `json:"title"`
	UID        string `json:"uid"`
	Templating struct {
		List []struct {
			Name  string `json:"name"`
			Type  string `json:"type"`
			Query any    `json:"query"`
		} `json:"list"`
	} `json:"templating"`
	Panels []panel `json:"panels"`
}

type panel struct {
	ID         int    `json:"id"`
	Type       string `json:"type"`
	Title      string `json:"title"`
	Datasource *struct {
		Type string `json:"type"`
		UID  string `json:"uid"`
	} `json:"datasource"`
	GridPos struct {
		H, W, X, Y int
	} `json:"gridPos"`
	Targets []struct {
		Expr  string `json:"expr"`
		RefID string `json:"refId"`
	} `json:"targets"`
	Panels []panel `json:"panels"` // of a collapsed row
}

// plannedMetrics are the metrics Hanashi exposes (the operations issue);
// the dashboard draws every one.
var plannedMetrics = []string{
	"hanashi_connections",
	"hanashi_subscriptions",
	"hanashi_messages_received_total",
	"hanashi_messages_acked_total",
	"hanashi_deliveries_total",
	"hanashi_queue_overflows_total",
	"hanashi_resumes_total",
	"hanashi_resume_messages",        // histogram
	"hanashi_store_seconds",          // histogram, label op
	"hanashi_broker_publish_seconds", // histogram
}

var metricName = regexp.MustCompile(`\b(?:hanashi|go)_[a-z0-9_]+`)

func loadDashboard(t *testing.T) *dashboard {
	t.Helper()
	var d dashboard
	if err := json.Unmarshal(readFile(t, "grafana/hanashi.json"), &d); err != nil {
		t.Fatalf("grafana/hanashi.json: %v", err)
	}
	return &d
}

// graphPanels are the panels that draw something, rows' contents included.
func (d *dashboard) graphPanels() []panel {
	var out []panel
	var walk func([]panel)
	walk = func(ps []panel) {
		for _, p := range ps {
			if p.Type == "row" {
				walk(p.Panels)
				continue
			}
			out = append(out, p)
		}
	}
	walk(d.Panels)
	return out
}

// dashboardMetrics are the sample names the dashboard's queries use
// (hanashi_store_seconds_bucket, not hanashi_store_seconds).
func dashboardMetrics(t *testing.T) []string {
	seen := make(map[string]bool)
	for _, p := range loadDashboard(t).graphPanels() {
		for _, tg := range p.Targets {
			for _, m := range metricName.FindAllString(tg.Expr, -1) {
				seen[m] = true
			}
		}
	}
	var out []string
	for m := range seen {
		out = append(out, m)
	}
	sort.Strings(out)
	return out
}

func TestGrafanaDashboard(t *testing.T) {
	d := loadDashboard(t)
	if d.Title == "" || d.UID == "" {
		t.Errorf("title %q, uid %q: want both", d.Title, d.UID)
	}
	vars := make(map[string]bool)
	for _, v := range d.Templating.List {
		vars[v.Name] = true
		if v.Name == "datasource" && (v.Type != "datasource" || v.Query != "prometheus") {
			t.Errorf("variable datasource is a %s of %v; want a datasource variable for prometheus", v.Type, v.Query)
		}
	}
	if !vars["datasource"] {
		t.Error("no datasource variable: the dashboard would be tied to one Grafana's data source")
	}

	ids := make(map[int]bool)
	var all []panel
	for _, p := range d.Panels {
		all = append(all, p)
		all = append(all, p.Panels...)
	}
	for _, p := range all {
		if ids[p.ID] {
			t.Errorf("panel id %d is used twice", p.ID)
		}
		ids[p.ID] = true
		if g := p.GridPos; g.W <= 0 || g.H <= 0 || g.X < 0 || g.X+g.W > 24 {
			t.Errorf("panel %q: gridPos %+v is outside the 24 columns", p.Title, g)
		}
	}
	for i, a := range d.Panels {
		for _, b := range d.Panels[i+1:] {
			if overlap(a, b) {
				t.Errorf("panels %q and %q overlap", a.Title, b.Title)
			}
		}
	}

	used := make(map[string]bool)
	for _, p := range d.graphPanels() {
		t.Run(p.Title, func(t *testing.T) {
			if p.Datasource == nil || p.Datasource.UID != "${datasource}" {
				t.Errorf("datasource %+v; want the ${datasource} variable", p.Datasource)
			}
			if len(p.Targets) == 0 {
				t.Fatal("no query")
			}
			refs := make(map[string]bool)
			for _, tg := range p.Targets {
				if refs[tg.RefID] || tg.RefID == "" {
					t.Errorf("refId %q is empty or used twice", tg.RefID)
				}
				refs[tg.RefID] = true
				ms := metricName.FindAllString(tg.Expr, -1)
				if len(ms) == 0 {
					t.Errorf("query %q uses no hanashi_ or go_ metric", tg.Expr)
				}
				for _, m := range ms {
					used[m] = true
				}
				for _, problem := range promQLProblems(tg.Expr) {
					t.Errorf("query %q: %s", tg.Expr, problem)
				}
				for _, v := range regexp.MustCompile(`\$(\w+)`).FindAllStringSubmatch(tg.Expr, -1) {
					if !vars[v[1]] && !strings.HasPrefix(v[1], "__") {
						t.Errorf("query %q uses $%s, which is no variable of the dashboard", tg.Expr, v[1])
					}
				}
			}
		})
	}
	for _, m := range plannedMetrics {
		if !used[m] && !used[m+"_bucket"] {
			t.Errorf("no panel draws %s", m)
		}
	}
	if !slices.ContainsFunc(dashboardMetrics(t), func(m string) bool { return strings.HasPrefix(m, "go_") }) {
		t.Error("no panel draws the Go runtime (go_*)")
	}
}

func overlap(a, b panel) bool {
	ga, gb := a.GridPos, b.GridPos
	return ga.X < gb.X+gb.W && gb.X < ga.X+ga.W && ga.Y < gb.Y+gb.H && gb.Y < ga.Y+ga.H
}

// promQLProblems finds the usual mistakes with counters and histograms: a
// counter drawn raw (it only ever climbs) and a histogram's buckets used
// outside histogram_quantile.
func promQLProblems(expr string) []string {
	var p []string
	for _, loc := range metricName.FindAllStringIndex(expr, -1) {
		m := expr[loc[0]:loc[1]]
		before := expr[:loc[0]]
		inRate := regexp.MustCompile(`(rate|increase)\(\s*$`).MatchString(before)
		switch {
		case strings.HasSuffix(m, "_total") || strings.HasSuffix(m, "_count") || strings.HasSuffix(m, "_sum"):
			if !inRate {
				p = append(p, fmt.Sprintf("counter %s is not inside rate() or increase()", m))
			}
		case strings.HasSuffix(m, "_bucket"):
			if !inRate || !strings.Contains(before, "histogram_quantile(") {
				p = append(p, fmt.Sprintf("buckets %s are not rate()d inside histogram_quantile()", m))
			}
		}
		if strings.Contains(before, "histogram_quantile(") && strings.HasSuffix(m, "_bucket") &&
			!regexp.MustCompile(`by \([^)]*\ble\b`).MatchString(expr) {
			p = append(p, fmt.Sprintf("histogram_quantile over %s does not keep the le label", m))
		}
	}
	return p
}

func TestPromQLProblems(t *testing.T) {
	for expr, want := range map[string]int{
		`sum(rate(hanashi_deliveries_total[5m]))`:                                        0,
		`sum(hanashi_deliveries_total)`:                                                  1,
		`histogram_quantile(0.99, sum by (le) (rate(hanashi_store_seconds_bucket[5m])))`: 0,
		`histogram_quantile(0.99, sum(rate(hanashi_store_seconds_bucket[5m])))`:          1,
		`sum(hanashi_store_seconds_bucket)`:                                              1,
		`go_goroutines`:                                                                  0,
	} {
		if got := promQLProblems(expr); len(got) != want {
			t.Errorf("promQLProblems(%q) = %q; want %d problems", expr, got, want)
		}
	}
}
