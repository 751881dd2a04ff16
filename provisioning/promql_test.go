package provisioning_test

import (
	"bytes"
	"context"
	"go/ast"
	"go/parser"
	"go/token"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/sheepdog-anomaly/sheepdog/cmd/sheepdog-demo/demogen"
	"github.com/sheepdog-anomaly/sheepdog/internal/provcheck"
	"github.com/sheepdog-anomaly/sheepdog/pkg/models"
)

// promExprs returns every PromQL expression the provisioning sends to
// Prometheus, directly or through Sheepdog's prometheus source.
func promExprs(t *testing.T) map[string]string {
	t.Helper()
	out := map[string]string{} // expr -> where
	byUID := dsByUID(t)
	for _, d := range dashboards(t) {
		for _, c := range expandTargets(t, d, byUID) {
			switch byUID[c.dsUID].Type {
			case "prometheus":
				out[c.model["expr"].(string)] = c.where
			case provcheck.PluginType:
				if src, ok := c.model["source"].(map[string]any); ok {
					if src["type"] == models.SourcePrometheus {
						out[src["expr"].(string)] = c.where
					}
					if q, ok := src["query"].(map[string]any); ok {
						out[q["expr"].(string)] = c.where
					}
				}
			}
		}
		for _, v := range d.Variables() {
			if v.Type == "query" {
				def, _ := v.Raw["definition"].(string)
				if m := regexp.MustCompile(`^label_values\(([^,]+),\s*([A-Za-z_]+)\)$`).FindStringSubmatch(def); m != nil {
					out[m[1]] = d.Title + " variable " + v.Name
				} else {
					t.Errorf("%s: variable %s query %q is not label_values(metric, label)", d.Title, v.Name, def)
				}
			}
		}
	}
	for _, g := range alerting(t).Groups {
		for _, r := range g.Rules {
			for _, q := range r.Data {
				if src, ok := q.Model["source"].(map[string]any); ok && src["type"] == models.SourcePrometheus {
					out[src["expr"].(string)] = "rule " + r.UID
				}
			}
		}
	}
	return out
}

// exportedNames returns every metric name the stack's processes expose:
// the demo exporter's (scraped from its handler), the API server's (from the
// real binary after one request of each kind) and the plugin's (from the Go
// source of pkg/plugin and pkg/remote, which register them).
func exportedNames(t *testing.T) (demo, other map[string]bool) {
	t.Helper()
	gen, err := demogen.New(demogen.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(demogen.NewHandler(gen, time.Now))
	defer srv.Close()
	demo = scrapeNames(t, srv.URL+"/metrics")
	other = map[string]bool{"up": true}
	for n := range apiServerNames(t) {
		other[n] = true
	}
	root := repoRoot(t)
	for _, dir := range []string{"pkg/plugin", "pkg/remote"} {
		for n := range registeredNames(t, filepath.Join(root, dir)) {
			other[n] = true
		}
	}
	return demo, other
}

func scrapeNames(t *testing.T, url string) map[string]bool {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("parse %s: %v", url, err)
	}
	names := map[string]bool{}
	for name, f := range fams {
		names[name] = true
		if f.GetType().String() == "HISTOGRAM" {
			for _, s := range []string{"_bucket", "_sum", "_count"} {
				names[name+s] = true
			}
		}
	}
	return names
}

func apiServerNames(t *testing.T) map[string]bool {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "sheepdog-api")
	build := exec.Command("go", "build", "-o", bin, "./cmd/sheepdog-api")
	build.Dir = repoRoot(t)
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	port := freePort(t)
	cmd := exec.Command(bin, "--listen=127.0.0.1:"+port, "--insecure-no-auth")
	var logs bytes.Buffer
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	base := "http://127.0.0.1:" + port
	waitHTTP(t, base+"/v1/health", &logs)
	// A detection populates the labelled request counters and histograms.
	resp, err := http.Post(base+"/v1/anomaly/detect", "application/json", strings.NewReader(`{"metrics":{"cpu_usage":50},"timestamp":1700000000}`))
	if err == nil {
		resp.Body.Close()
	}
	return scrapeNames(t, base+"/metrics")
}

// registeredNames reads the metric names a package registers from its
// prometheus.*Opts literals (Namespace_Subsystem_Name).
func registeredNames(t *testing.T, dir string) map[string]bool {
	t.Helper()
	fset := token.NewFileSet()
	names := map[string]bool{}
	files, _ := filepath.Glob(filepath.Join(dir, "*.go"))
	for _, path := range files {
		if strings.HasSuffix(path, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, path, nil, 0)
		if err != nil {
			t.Fatalf("parse %s: %v", path, err)
		}
		ast.Inspect(f, func(n ast.Node) bool {
			lit, ok := n.(*ast.CompositeLit)
			if !ok {
				return true
			}
			sel, ok := lit.Type.(*ast.SelectorExpr)
			if !ok || !strings.HasSuffix(sel.Sel.Name, "Opts") {
				return true
			}
			parts := map[string]string{}
			for _, e := range lit.Elts {
				kv, ok := e.(*ast.KeyValueExpr)
				if !ok {
					continue
				}
				key, _ := kv.Key.(*ast.Ident)
				val, _ := kv.Value.(*ast.BasicLit)
				if key != nil && val != nil && val.Kind == token.STRING {
					parts[key.Name], _ = strconv.Unquote(val.Value)
				}
			}
			if parts["Name"] == "" {
				return true
			}
			var full []string
			for _, k := range []string{"Namespace", "Subsystem", "Name"} {
				if parts[k] != "" {
					full = append(full, parts[k])
				}
			}
			name := strings.Join(full, "_")
			names[name] = true
			if sel.Sel.Name == "HistogramOpts" {
				for _, s := range []string{"_bucket", "_sum", "_count"} {
					names[name+s] = true
				}
			}
			return true
		})
	}
	if len(names) == 0 {
		t.Fatalf("no metrics registered in %s", dir)
	}
	return names
}

// TestQueriesAgainstRealPrometheus runs every PromQL expression of the
// provisioning on a real Prometheus holding the generator's backfilled
// history: each must parse and evaluate, each metric it names must be one a
// stack process exports, and queries of demo metrics must return data for
// every demo host.
func TestQueriesAgainstRealPrometheus(t *testing.T) {
	demo, other := exportedNames(t)
	for _, want := range []string{"cpu_usage", "memory_usage", "request_count", "error_rate"} {
		if !demo[want] {
			t.Fatalf("the generator does not export %s", want)
		}
	}
	gen, err := demogen.New(demogen.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	job, target := scrapeJobFor(t, "sheepdog-demo")
	end := time.Now().Truncate(time.Minute)
	prom := provcheck.StartDemoPrometheus(t, gen, end, 3, map[string]string{"job": job, "instance": target})
	exprs := promExprs(t)
	if len(exprs) < 10 {
		t.Fatalf("only %d PromQL expressions found", len(exprs))
	}
	ctx := context.Background()
	for expr, where := range exprs {
		names := provcheck.MetricNames(expr)
		usesDemo := false
		for _, n := range names {
			switch {
			case demo[n]:
				usesDemo = true
			case !other[n]:
				t.Errorf("%s: %q reads %s, which no stack process exports", where, expr, n)
			}
		}
		res, err := prom.QueryRange(ctx, expr, end.Add(-time.Hour), end, time.Minute)
		if err != nil {
			t.Errorf("%s: Prometheus rejects %q: %v", where, expr, err)
			continue
		}
		if usesDemo {
			hosts := map[string]bool{}
			for _, s := range res {
				hosts[s.Metric["host"]] = true
			}
			if len(res) == 0 || (!hosts["web-1"]) {
				t.Errorf("%s: %q returned %d series (hosts %v) from the demo history", where, expr, len(res), hosts)
			}
		}
	}
}
