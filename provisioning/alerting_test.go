package provisioning_test

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"text/template"
	"time"

	"github.com/sheepdog-anomaly/sheepdog/cmd/sheepdog-demo/demogen"
	"github.com/sheepdog-anomaly/sheepdog/internal/provcheck"
	"github.com/sheepdog-anomaly/sheepdog/pkg/models"
)

func alerting(t testing.TB) *provcheck.AlertFile {
	t.Helper()
	a, err := provcheck.LoadAlerting(filepath.Join(repoRoot(t), "provisioning", "alerting"), grafanaEnv(t))
	if err != nil {
		t.Fatal(err)
	}
	return a
}

var templateFuncs = template.FuncMap{
	"humanize": fmt.Sprint, "humanizePercentage": fmt.Sprint, "humanizeDuration": fmt.Sprint,
	"title": strings.ToUpper, "toUpper": strings.ToUpper, "toLower": strings.ToLower,
}

func TestAlerting(t *testing.T) {
	a := alerting(t)
	byUID := dsByUID(t)
	receivers := map[string]bool{}
	for _, cp := range a.ContactPoints {
		receivers[cp.Name] = true
		for _, r := range cp.Receivers {
			if r.Type != "webhook" {
				continue
			}
			u, _ := r.Settings["url"].(string)
			if !strings.HasPrefix(u, "http://sheepdog-demo:9464/alerts") {
				t.Errorf("contact point %s posts to %q, not the stack's receiver", cp.Name, u)
			}
		}
	}
	if len(a.Policies) != 1 || !receivers[a.Policies[0].Receiver] {
		t.Errorf("notification policy %+v must route to a provisioned contact point %v", a.Policies, receivers)
	}
	metricsCovered := map[string]bool{}
	uids := map[string]bool{}
	for _, g := range a.Groups {
		if g.Folder == "" || g.Name == "" || g.Interval == "" {
			t.Errorf("group %+v lacks folder, name or interval", g)
		}
		for _, r := range g.Rules {
			if uids[r.UID] || r.UID == "" || len(r.UID) > 40 {
				t.Errorf("rule %q: uid %q missing, duplicated or over 40 characters", r.Title, r.UID)
			}
			uids[r.UID] = true
			checkRule(t, r, byUID)
			metricsCovered[r.Labels["metric"]] = true
			for k, v := range r.Annotations {
				if _, err := template.New(k).Funcs(templateFuncs).Parse(v); err != nil {
					t.Errorf("rule %s: annotation %s is not a valid template: %v", r.UID, k, err)
				}
			}
		}
	}
	for _, m := range demogen.Metrics {
		if !metricsCovered[m] {
			t.Errorf("no anomaly alert rule for %s", m)
		}
	}
}

func checkRule(t *testing.T, r provcheck.AlertRule, byUID map[string]provcheck.Datasource) {
	t.Helper()
	refs := map[string]provcheck.AlertQuery{}
	for _, q := range r.Data {
		refs[q.RefID] = q
	}
	if _, ok := refs[r.Condition]; !ok {
		t.Errorf("rule %s: condition %q is not a refId", r.UID, r.Condition)
	}
	for _, q := range r.Data {
		if q.DatasourceUID == "__expr__" {
			expr, _ := q.Model["expression"].(string)
			if _, ok := refs[expr]; !ok {
				t.Errorf("rule %s: expression %s reads %q, not a refId", r.UID, q.RefID, expr)
			}
			continue
		}
		ds, ok := byUID[q.DatasourceUID]
		if !ok {
			t.Errorf("rule %s: query %s on unknown data source %q", r.UID, q.RefID, q.DatasourceUID)
			continue
		}
		if ds.Type != provcheck.PluginType {
			continue
		}
		raw, _ := json.Marshal(q.Model)
		pq, err := models.ParseQuery(raw)
		if err != nil {
			t.Errorf("rule %s: the backend rejects query %s: %v", r.UID, q.RefID, err)
			continue
		}
		if !pq.Alert.Enabled || pq.Alert.Mode != models.AlertAnomalyFraction || pq.Alert.Window != 10*time.Minute {
			t.Errorf("rule %s: alert options %+v, want enabled anomaly_fraction over 10m", r.UID, pq.Alert)
		}
		if from := q.RelativeTimeRange["from"]; time.Duration(from)*time.Second < pq.Alert.Window {
			t.Errorf("rule %s: relative range %ds is shorter than the trigger window", r.UID, from)
		}
	}
	// The recipe: Reduce(last) then Threshold.
	if b := refs["B"]; b.Model["type"] != "reduce" || b.Model["reducer"] != "last" {
		t.Errorf("rule %s: B = %v, want reduce last", r.UID, b.Model)
	}
	if c := refs["C"]; c.Model["type"] != "threshold" {
		t.Errorf("rule %s: C = %v, want threshold", r.UID, c.Model)
	}
}
