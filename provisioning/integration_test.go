//go:build integration

// Integration checks of the provisioning through the real plugin binary
// (internal/harness, as Grafana runs it): every Sheepdog query of the
// provisioned dashboards and alert rules, on both provisioned Sheepdog data
// sources (embedded engine, and remote engine against a real sheepdog-api),
// against a real Prometheus holding the demo generator's backfilled history.
// The alert rules must fire on the generator's scheduled incidents and stay
// quiet elsewhere. Build first: npm run build (or go tool mage -v build:backend).
package provisioning_test

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/data"

	"github.com/sheepdog-anomaly/sheepdog/cmd/sheepdog-demo/demogen"
	"github.com/sheepdog-anomaly/sheepdog/internal/harness"
	"github.com/sheepdog-anomaly/sheepdog/internal/provcheck"
	"github.com/sheepdog-anomaly/sheepdog/pkg/models"
)

// replayEnd is the end of the backfilled history: a fixed time, so the
// replay (and the figures it logs) is the same on every run.
var replayEnd = time.Date(2026, 3, 12, 12, 0, 0, 0, time.UTC)

type stack struct {
	plugin    *harness.Plugin
	prom      *provcheck.DemoPrometheus
	instances map[string]harness.Instance // provisioned Sheepdog data sources by uid
}

// replayHours of demo history end at replayEnd in the Prometheus the tests
// share: enough for the longest replay and the history its queries fetch.
const replayHours = 62

// sharedProm is the Prometheus holding the replay's history, started by the
// first test that needs it and stopped when the package's tests are done:
// backfilling it is most of a stack's start-up, and every test reads the
// same history. Each test still gets its own plugin and sheepdog-api, so no
// cache or breaker state carries over.
var (
	sharedProm     *provcheck.DemoPrometheus
	sharedCleanups []func()
)

func TestMain(m *testing.M) {
	code := m.Run()
	for i := len(sharedCleanups) - 1; i >= 0; i-- {
		sharedCleanups[i]()
	}
	os.Exit(code)
}

// packageTB lends a test's TB to a resource the package's tests share: its
// cleanups and temporary directories outlive the test and go in TestMain.
type packageTB struct{ testing.TB }

func (packageTB) Cleanup(f func()) { sharedCleanups = append(sharedCleanups, f) }

func (p packageTB) TempDir() string {
	dir, err := os.MkdirTemp("", "provisioning-test-")
	if err != nil {
		p.Fatal(err)
	}
	sharedCleanups = append(sharedCleanups, func() { _ = os.RemoveAll(dir) })
	return dir
}

// startStack starts what Grafana would talk to: the plugin, the Prometheus
// with replayHours of demo history ending at replayEnd, and sheepdog-api with
// the demo key.
func startStack(t *testing.T) *stack {
	t.Helper()
	if sharedProm == nil {
		gen, err := demogen.New(demogen.DefaultConfig())
		if err != nil {
			t.Fatal(err)
		}
		job, target := scrapeJobFor(t, "sheepdog-demo")
		sharedProm = provcheck.StartDemoPrometheus(packageTB{t}, gen, replayEnd, replayHours, map[string]string{"job": job, "instance": target})
	}
	prom := sharedProm

	env := grafanaEnv(t)
	bin := filepath.Join(t.TempDir(), "sheepdog-api")
	build := exec.Command("go", "build", "-o", bin, "./cmd/sheepdog-api")
	build.Dir = repoRoot(t)
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	port := freePort(t)
	api := exec.Command(bin, "--listen=127.0.0.1:"+port)
	api.Env = append(api.Environ(), "SHEEPDOG_API_KEYS="+env["SHEEPDOG_DEMO_API_KEY"])
	var apiLog bytes.Buffer
	api.Stdout, api.Stderr = &apiLog, &apiLog
	if err := api.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = api.Process.Kill(); _ = api.Wait() })
	apiURL := "http://127.0.0.1:" + port
	waitHTTP(t, apiURL+"/v1/health", &apiLog)

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	p, err := harness.Start(ctx, harness.Options{})
	if err != nil {
		t.Fatalf("start the plugin (run npm run build first): %v", err)
	}
	t.Cleanup(p.Close)

	s := &stack{plugin: p, prom: prom, instances: map[string]harness.Instance{}}
	for i, d := range datasources(t) {
		if d.Type != provcheck.PluginType {
			continue
		}
		jd := map[string]any{}
		for k, v := range d.JSONData {
			jd[k] = v
		}
		// The stack's service names, as this machine reaches them.
		jd["prometheusUrl"] = prom.URL
		if _, ok := jd["remoteUrl"]; ok {
			jd["remoteUrl"] = apiURL
		}
		s.instances[d.UID] = harness.Instance{ID: int64(i + 1), UID: d.UID, Name: d.Name, JSONData: jd, Secure: d.SecureJSONData}
	}
	if len(s.instances) != 2 {
		t.Fatalf("want 2 provisioned Sheepdog data sources, got %d", len(s.instances))
	}
	return s
}

func (s *stack) query(t *testing.T, uid string, fromAlert bool, model map[string]any, from, to time.Time) (data.Frames, error) {
	t.Helper()
	in, ok := s.instances[uid]
	if !ok {
		t.Fatalf("no provisioned Sheepdog data source %q", uid)
	}
	ref, _ := model["refId"].(string)
	if ref == "" {
		ref = "A"
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	resp, err := s.plugin.QueryData(ctx, in.QueryRequest(fromAlert, harness.Query{RefID: ref, JSON: model, From: from, To: to, Interval: time.Minute, MaxDataPoints: 1000}))
	if err != nil {
		t.Fatalf("QueryData: %v\nplugin log:\n%s", err, tail(s.plugin.Logs(), 3000))
	}
	r := resp.Responses[ref]
	if r.Error != nil {
		return r.Frames, r.Error
	}
	return r.Frames, nil
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

// TestProvisionedQueriesThroughPlugin sends every provisioned dashboard query
// of every variable combination (sensitivity at its default) to the plugin.
func TestProvisionedQueriesThroughPlugin(t *testing.T) {
	end := replayEnd
	s := startStack(t)
	byUID := dsByUID(t)
	ran := 0
	for _, d := range dashboards(t) {
		for _, c := range expandTargets(t, d, byUID) {
			if byUID[c.dsUID].Type != provcheck.PluginType || !strings.Contains(c.where, "sensitivity:50") {
				continue
			}
			ran++
			frames, err := s.query(t, c.dsUID, false, c.model, end.Add(-6*time.Hour), end)
			if err != nil {
				t.Errorf("%s: %v", c.where, err)
				continue
			}
			raw, _ := json.Marshal(c.model)
			pq, _ := models.ParseQuery(raw)
			checkPanelFrames(t, c.where, frames, pq, c.dsUID == "sheepdog-remote")
		}
	}
	if ran < 10 {
		t.Fatalf("only %d Sheepdog queries ran", ran)
	}
	t.Logf("%d provisioned Sheepdog queries answered by the plugin", ran)
}

func checkPanelFrames(t *testing.T, where string, frames data.Frames, pq *models.ParsedQuery, remote bool) {
	t.Helper()
	var series, annotations int
	hosts := map[string]bool{}
	for _, f := range frames {
		if f.Meta != nil {
			for _, n := range f.Meta.Notices {
				if remote && strings.Contains(n.Text, "fell back") {
					t.Errorf("%s: the remote engine fell back: %s", where, n.Text)
				}
			}
		}
		if f.Meta != nil && f.Meta.DataTopic == data.DataTopicAnnotations {
			annotations++
			continue
		}
		series++
		var bandFill, score, flags bool
		for _, fl := range f.Fields[1:] {
			if h := fl.Labels["host"]; h != "" {
				hosts[h] = true
			}
			if fl.Config != nil && fl.Config.Custom != nil && fl.Config.Custom["fillBelowTo"] != nil {
				bandFill = true
			}
			score = score || strings.HasSuffix(fl.Name, " score")
			flags = flags || strings.HasSuffix(fl.Name, " anomaly")
		}
		if pq.Outputs.Bands && !bandFill {
			t.Errorf("%s: frame %q has no band (no field with fillBelowTo)", where, f.Name)
		}
		if pq.Outputs.Score && !score {
			t.Errorf("%s: frame %q has no score field", where, f.Name)
		}
		if pq.Outputs.Flags && !flags {
			t.Errorf("%s: frame %q has no anomaly flag field", where, f.Name)
		}
	}
	wantHosts := 3
	if strings.Contains(pq.Raw.Source.Expr, `host="`) {
		wantHosts = 1
	}
	if pq.Outputs.Bands || pq.Outputs.Score || pq.Outputs.Flags {
		if len(hosts) != wantHosts {
			t.Errorf("%s: series for hosts %v, want %d hosts", where, hosts, wantHosts)
		}
	}
	if pq.Outputs.Windows && annotations != 1 {
		t.Errorf("%s: %d annotation frames, want 1", where, annotations)
	}
}

// alertFractions evaluates a rule's Sheepdog query as Grafana's alerting does
// and returns Reduce(last) per host: the value the Threshold compares.
func alertFractions(t *testing.T, s *stack, r provcheck.AlertRule, at time.Time) map[string]float64 {
	t.Helper()
	q := r.Data[0]
	from := at.Add(-time.Duration(q.RelativeTimeRange["from"]) * time.Second)
	frames, err := s.query(t, q.DatasourceUID, true, q.Model, from, at)
	if err != nil {
		t.Fatalf("rule %s at %s: %v", r.UID, at.Format(time.TimeOnly), err)
	}
	out := map[string]float64{}
	for _, f := range frames {
		for _, fl := range f.Fields {
			if fl.Type().Time() {
				continue
			}
			if strings.Contains(fl.Name, "expected") || strings.Contains(fl.Name, "lower") || strings.Contains(fl.Name, "upper") {
				t.Fatalf("rule %s: alert frame carries band field %q", r.UID, fl.Name)
			}
			last := math.NaN()
			for i := fl.Len() - 1; i >= 0; i-- {
				if v, ok := fl.ConcreteAt(i); ok {
					switch x := v.(type) {
					case float64:
						last = x
					}
					if !math.IsNaN(last) {
						break
					}
				}
			}
			out[fl.Labels["host"]] = last
		}
	}
	return out
}

// TestAlertRulesFireOnIncidents replays ten hours of the demo the way
// Grafana evaluates the provisioned rules: every rule once a minute, in time
// order (so re-evaluations go through the plugin's stream cache), each time
// Reduce(last) of the Sheepdog query against the rule's threshold. No rule may
// fire on a host/metric without an incident in the last 40 minutes; every
// spike and at least half of all incidents must fire. Today the causal (alert)
// detection misses some sustained incidents (level shifts, long dips, an
// error_rate flatline) that batch panels flag: SHEEPDOG_STRICT_ALERTS=1
// requires every incident but drifts to fire.
func TestAlertRulesFireOnIncidents(t *testing.T) {
	end := replayEnd
	s := startStack(t)
	gen := s.prom.Gen
	type incidentKey struct {
		start        time.Time
		host, metric string
	}
	incs := gen.Incidents(end.Add(-10*time.Hour), end.Add(-15*time.Minute))
	peak := map[incidentKey]float64{}
	evaluations, quiet, falseAlarms := 0, 0, 0
	began := time.Now()
	for _, g := range alerting(t).Groups {
		for _, r := range g.Rules {
			metric := r.Labels["metric"]
			threshold := ruleThreshold(t, r)
			for at := end.Add(-10 * time.Hour); !at.After(end); at = at.Add(time.Minute) {
				fr := alertFractions(t, s, r, at)
				evaluations++
				if len(fr) != 3 {
					t.Fatalf("rule %s at %s: alert series for %v, want 3 hosts", r.UID, at.Format("15:04"), fr)
				}
				for host, v := range fr {
					if len(incidentsOn(gen, host, metric, at.Add(-40*time.Minute), at)) == 0 {
						quiet++
						if v > threshold {
							falseAlarms++
							t.Errorf("rule %s fires on quiet %s at %s: %.2f > %.2f", r.UID, host, at.Format("15:04"), v, threshold)
						}
					}
				}
				for _, in := range incs {
					if in.Metric == metric && !at.Before(in.Start) && !at.After(in.End.Add(10*time.Minute)) {
						k := incidentKey{in.Start, in.Host, in.Metric}
						peak[k] = max(peak[k], fr[in.Host])
					}
				}
			}
		}
	}
	t.Logf("%d rule evaluations in %s; %d quiet host-minutes, %d false alarms", evaluations, time.Since(began).Round(time.Millisecond), quiet, falseAlarms)
	strict := os.Getenv("SHEEPDOG_STRICT_ALERTS") == "1"
	fired := 0
	for _, in := range incs {
		v := peak[incidentKey{in.Start, in.Host, in.Metric}]
		threshold := 0.3
		for _, g := range alerting(t).Groups {
			for _, r := range g.Rules {
				if r.Labels["metric"] == in.Metric {
					threshold = ruleThreshold(t, r)
				}
			}
		}
		ok := v > threshold
		if ok {
			fired++
		}
		t.Logf("%s %-11s %-13s on %-5s: peak anomaly fraction %.2f -> fires: %v", in.Start.Format("15:04"), in.Kind, in.Metric, in.Host, v, ok)
		mustFire := in.Kind == demogen.KindSpike || (strict && in.Kind != demogen.KindDrift)
		if mustFire && !ok {
			t.Errorf("the %s of %s on %s at %s does not fire its rule: peak %.2f <= %.2f", in.Kind, in.Metric, in.Host, in.Start.Format("15:04"), v, threshold)
		}
	}
	t.Logf("rules fired on %d of %d scheduled incidents", fired, len(incs))
	if len(incs) < 8 {
		t.Fatalf("only %d incidents in the replay", len(incs))
	}
	if 2*fired < len(incs) {
		t.Errorf("rules fired on %d of %d incidents, want at least half", fired, len(incs))
	}
}

// ruleThreshold reads the rule's Threshold expression (> x).
func ruleThreshold(t *testing.T, r provcheck.AlertRule) float64 {
	t.Helper()
	for _, q := range r.Data {
		if q.RefID == r.Condition {
			conds, _ := q.Model["conditions"].([]any)
			if len(conds) == 1 {
				ev, _ := conds[0].(map[string]any)["evaluator"].(map[string]any)
				params, _ := ev["params"].([]any)
				if ev["type"] == "gt" && len(params) == 1 {
					if f, ok := params[0].(float64); ok {
						return f
					}
				}
			}
		}
	}
	t.Fatalf("rule %s: condition %s is not a single 'gt' threshold", r.UID, r.Condition)
	return 0
}

func incidentsOn(g *demogen.Generator, host, metric string, from, to time.Time) []demogen.Incident {
	var out []demogen.Incident
	for _, in := range g.Incidents(from, to) {
		if in.Host == host && in.Metric == metric {
			out = append(out, in)
		}
	}
	return out
}

// TestOverviewAnnotationsFindIncidents runs the overview's annotation query
// (every host, default sensitivity, embedded engine) over twelve hours per
// metric and compares its windows with the generator's schedule: recall over
// the incidents (drifts excluded), and precision over the windows.
func TestOverviewAnnotationsFindIncidents(t *testing.T) {
	end := replayEnd
	s := startStack(t)
	from := end.Add(-12 * time.Hour)
	byUID := dsByUID(t)
	found, total, windows, onIncident := 0, 0, 0, 0
	for _, d := range dashboards(t) {
		for _, c := range expandTargets(t, d, byUID) {
			if !strings.HasPrefix(c.where, d.Title+" annotation") || c.dsUID != "sheepdog" || !strings.Contains(c.where, "sensitivity:50") {
				continue
			}
			frames, err := s.query(t, c.dsUID, false, c.model, from, end)
			if err != nil {
				t.Fatalf("%s: %v", c.where, err)
			}
			metric := ""
			for _, m := range demogen.Metrics {
				if strings.Contains(c.model["source"].(map[string]any)["expr"].(string), m) {
					metric = m
				}
			}
			type win struct {
				host       string
				start, end time.Time
			}
			var ws []win
			for _, f := range frames {
				if f.Meta == nil || f.Meta.DataTopic != data.DataTopicAnnotations {
					continue
				}
				times, ends, tags := f.Fields[0], f.Fields[1], f.Fields[4]
				if tags.Name != "tags" {
					t.Fatalf("%s: annotation frame field 4 is %q, want tags", c.where, tags.Name)
				}
				for i := 0; i < f.Rows(); i++ {
					w := win{start: asTime(times.At(i)), end: asTime(ends.At(i))}
					for _, tag := range tagList(t, tags, i) {
						if h, ok := strings.CutPrefix(tag, "host:"); ok {
							w.host = h
						}
					}
					ws = append(ws, w)
				}
			}
			incs := s.prom.Gen.Incidents(from, end)
			for _, in := range incs {
				if in.Metric != metric || in.Kind == demogen.KindDrift {
					continue
				}
				total++
				for _, w := range ws {
					if w.host == in.Host && w.start.Before(in.End.Add(2*time.Minute)) && w.end.After(in.Start.Add(-2*time.Minute)) {
						found++
						break
					}
				}
			}
			for _, w := range ws {
				windows++
				for _, in := range incs {
					if in.Metric == metric && w.host == in.Host && w.start.Before(in.End.Add(10*time.Minute)) && w.end.After(in.Start.Add(-2*time.Minute)) {
						onIncident++
						break
					}
				}
			}
			t.Logf("%-13s: %d windows", metric, len(ws))
		}
	}
	t.Logf("overview annotations: %d of %d incidents marked (drifts excluded); %d of %d windows on an incident", found, total, onIncident, windows)
	if total < 8 || 10*found < 6*total {
		t.Errorf("annotations marked %d of %d incidents, want at least 60 %%", found, total)
	}
	if windows == 0 || 4*onIncident < 3*windows {
		t.Errorf("%d of %d windows lie on an incident, want at least 75 %%", onIncident, windows)
	}
}

func asTime(v any) time.Time {
	switch x := v.(type) {
	case time.Time:
		return x
	case *time.Time:
		if x != nil {
			return *x
		}
	}
	return time.Time{}
}

// tagList reads one event's tags: a JSON string array (pkg/frames.Windows).
func tagList(t *testing.T, f *data.Field, i int) []string {
	t.Helper()
	v, _ := f.ConcreteAt(i)
	raw, ok := v.(json.RawMessage)
	if !ok {
		t.Fatalf("tags field holds %T, want JSON string arrays", v)
	}
	var tags []string
	if err := json.Unmarshal(raw, &tags); err != nil {
		t.Fatalf("tags %s: %v", raw, err)
	}
	return tags
}
