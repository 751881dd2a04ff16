package provisioning_test

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/sheepdog-anomaly/sheepdog/internal/provcheck"
	"github.com/sheepdog-anomaly/sheepdog/pkg/models"
)

func dashboards(t testing.TB) []provcheck.Dashboard {
	t.Helper()
	dir := filepath.Join(repoRoot(t), "provisioning", "dashboards")
	d, err := provcheck.LoadDashboards(dir)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// queryCase is one concrete query: a dashboard or alert query with its
// variables replaced by one combination of their values.
type queryCase struct {
	where  string
	dsUID  string
	dsType string
	model  map[string]any // variables substituted
}

// expandTargets substitutes every combination of the dashboard's variables
// into its targets, as Grafana would before sending them.
func expandTargets(t *testing.T, d provcheck.Dashboard, dsByUID map[string]provcheck.Datasource) []queryCase {
	t.Helper()
	multi := map[string][]string{}
	builtinAll := map[string]string{}
	for _, v := range d.Variables() {
		switch v.Type {
		case "custom":
			multi[v.Name] = v.CustomOptions()
		case "datasource":
			var uids []string
			for _, ds := range dsByUID {
				if ds.Type == v.Query {
					uids = append(uids, ds.UID)
				}
			}
			slices.Sort(uids)
			if len(uids) == 0 {
				t.Errorf("%s: data source variable %s of type %v matches no provisioned data source", d.Title, v.Name, v.Query)
			}
			multi[v.Name] = uids
		case "query":
			// One demo host as a repeated panel sees it; "All" as a regex
			// (${host:regex}). The variable's own query is checked against Prometheus.
			multi[v.Name] = []string{"web-1"}
			builtinAll[v.Name+":regex"] = "(web-1|web-2|db-1)"
		default:
			t.Errorf("%s: variable %s has unchecked type %s", d.Title, v.Name, v.Type)
		}
	}
	// Grafana's built-in interval variables.
	builtin := map[string]string{"__rate_interval": "1m", "__interval": "15s", "__range": "6h"}
	for k, v := range builtinAll {
		builtin[k] = v
	}
	combos := []map[string]string{builtin}
	for name, vals := range multi {
		var next []map[string]string
		for _, c := range combos {
			for _, v := range vals {
				m := map[string]string{name: v}
				for k, x := range c {
					m[k] = x
				}
				next = append(next, m)
			}
		}
		combos = next
	}
	var out []queryCase
	for _, tg := range d.Targets() {
		for _, c := range combos {
			raw, _ := json.Marshal(tg.Model)
			ds, _ := json.Marshal(tg.Datasource)
			sub, unknown := provcheck.Substitute(string(raw), c)
			dsSub, unknown2 := provcheck.Substitute(string(ds), c)
			if len(unknown)+len(unknown2) > 0 {
				t.Errorf("%s %s: unknown variables %v", d.Title, tg.Where, append(unknown, unknown2...))
				continue
			}
			var model, dsRef map[string]any
			_ = json.Unmarshal([]byte(sub), &model)
			_ = json.Unmarshal([]byte(dsSub), &dsRef)
			numericSensitivity(model)
			uid, _ := dsRef["uid"].(string)
			typ, _ := dsRef["type"].(string)
			out = append(out, queryCase{where: d.Title + " " + tg.Where + " " + fmt.Sprint(c), dsUID: uid, dsType: typ, model: model})
		}
	}
	return out
}

// numericSensitivity turns an interpolated "$sensitivity" into a number, as
// the frontend's interpolateOwnFields (src/query.ts) does before sending.
func numericSensitivity(model map[string]any) {
	det, _ := model["detector"].(map[string]any)
	if s, ok := det["sensitivity"].(string); ok {
		if f, err := strconv.ParseFloat(s, 64); err == nil {
			det["sensitivity"] = f
		}
	}
}

func TestDashboards(t *testing.T) {
	byUID := dsByUID(t)
	ds := dashboards(t)
	want := map[string]bool{"Anomalies overview": false, "Detection API health": false}
	uids := map[string]bool{}
	env := grafanaEnv(t)
	providers, err := provcheck.LoadDashboardProviders(filepath.Join(repoRoot(t), "provisioning", "dashboards"), env)
	if err != nil || len(providers) != 1 || providers[0].Options.Path != "/etc/grafana/provisioning/dashboards" {
		t.Errorf("dashboard provider: %+v, %v (want one, reading the mounted directory)", providers, err)
	}
	for _, d := range ds {
		want[d.Title] = true
		if d.UID == "" || uids[d.UID] {
			t.Errorf("%s: uid %q missing or duplicated", d.File, d.UID)
		}
		uids[d.UID] = true
		ids := map[float64]bool{}
		for _, p := range panelsOf(d) {
			id, _ := p["id"].(float64)
			if ids[id] {
				t.Errorf("%s: panel id %v twice", d.Title, id)
			}
			ids[id] = true
		}
		cases := expandTargets(t, d, byUID)
		if len(cases) == 0 {
			t.Errorf("%s: no queries", d.Title)
		}
		for _, c := range cases {
			checkQueryCase(t, c, byUID)
		}
		// Annotation filters point at panels that exist.
		for _, a := range annotationsOf(d) {
			if f, ok := a["filter"].(map[string]any); ok {
				for _, id := range f["ids"].([]any) {
					if !ids[id.(float64)] {
						t.Errorf("%s: annotation %v filters on missing panel %v", d.Title, a["name"], id)
					}
				}
			}
		}
	}
	for title, ok := range want {
		if !ok {
			t.Errorf("dashboard %q is not provisioned", title)
		}
	}
}

func panelsOf(d provcheck.Dashboard) []map[string]any {
	var out []map[string]any
	var walk func([]any)
	walk = func(ps []any) {
		for _, p := range ps {
			if m, ok := p.(map[string]any); ok {
				out = append(out, m)
				if n, ok := m["panels"].([]any); ok {
					walk(n)
				}
			}
		}
	}
	ps, _ := d.Raw["panels"].([]any)
	walk(ps)
	return out
}

func annotationsOf(d provcheck.Dashboard) []map[string]any {
	var out []map[string]any
	a, _ := d.Raw["annotations"].(map[string]any)
	list, _ := a["list"].([]any)
	for _, x := range list {
		if m, ok := x.(map[string]any); ok {
			out = append(out, m)
		}
	}
	return out
}

// checkQueryCase checks one query's data source reference and, for Sheepdog
// queries, that the backend's model accepts it and its source is allowed.
func checkQueryCase(t *testing.T, c queryCase, byUID map[string]provcheck.Datasource) {
	t.Helper()
	ds, ok := byUID[c.dsUID]
	if !ok {
		t.Errorf("%s: data source uid %q is not provisioned", c.where, c.dsUID)
		return
	}
	if c.dsType != "" && c.dsType != ds.Type {
		t.Errorf("%s: type %q but uid %q is a %s", c.where, c.dsType, c.dsUID, ds.Type)
	}
	switch ds.Type {
	case provcheck.PluginType:
		raw, _ := json.Marshal(c.model)
		pq, err := models.ParseQuery(raw)
		if err != nil {
			t.Errorf("%s: the backend rejects the query: %v", c.where, err)
			return
		}
		switch pq.Raw.Source.Type {
		case models.SourcePrometheus:
			if ds.JSONData["prometheusUrl"] == nil || ds.JSONData["prometheusUrl"] == "" {
				t.Errorf("%s: prometheus source on %s, which has no prometheusUrl", c.where, ds.UID)
			}
		case models.SourceDatasource:
			ref := pq.Raw.Source.Datasource.UID
			allowed := false
			for _, a := range ds.JSONData["allowedDatasources"].([]any) {
				allowed = allowed || a == ref
			}
			if _, ok := byUID[ref]; !ok || !allowed {
				t.Errorf("%s: source data source %q is not provisioned or not in %s's allow-list", c.where, ref, ds.UID)
			}
		}
	case "prometheus":
		if expr, _ := c.model["expr"].(string); strings.TrimSpace(expr) == "" {
			t.Errorf("%s: empty PromQL", c.where)
		}
	}
}
