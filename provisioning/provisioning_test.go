// Package provisioning_test checks the demo stack as code: docker-compose.yaml
// (loaded by compose-go, the loader `docker compose config` uses), the
// Dockerfile's targets, and every provisioned data source, dashboard and
// alert rule: valid files, resolving references, Sheepdog queries the
// backend's model accepts, PromQL that a real Prometheus loaded with the
// generator's history answers, and metric names that really exist.
package provisioning_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"text/template"
	"time"

	"github.com/compose-spec/compose-go/v2/cli"
	"github.com/compose-spec/compose-go/v2/types"
	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	dfparser "github.com/moby/buildkit/frontend/dockerfile/parser"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/sheepdog-anomaly/sheepdog/cmd/sheepdog-demo/demogen"
	"github.com/sheepdog-anomaly/sheepdog/internal/provcheck"
	"github.com/sheepdog-anomaly/sheepdog/pkg/models"
)

func repoRoot(t testing.TB) string {
	t.Helper()
	root, err := provcheck.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	return root
}

// loadCompose loads docker-compose.yaml with its defaults (no .env, no OS
// environment), validating it against the Compose specification's schema.
func loadCompose(t testing.TB) *types.Project {
	t.Helper()
	root := repoRoot(t)
	opts, err := cli.NewProjectOptions([]string{filepath.Join(root, "docker-compose.yaml")},
		cli.WithWorkingDirectory(root), cli.WithName("sheepdog"), cli.WithEnv(nil))
	if err != nil {
		t.Fatal(err)
	}
	p, err := opts.LoadProject(context.Background())
	if err != nil {
		t.Fatalf("docker-compose.yaml does not load: %v", err)
	}
	return p
}

func service(t testing.TB, p *types.Project, name string) types.ServiceConfig {
	t.Helper()
	s, ok := p.Services[name]
	if !ok {
		t.Fatalf("compose: no service %q", name)
	}
	return s
}

// grafanaEnv is the environment Grafana gets in the stack: what its
// provisioning files expand.
func grafanaEnv(t testing.TB) map[string]string {
	t.Helper()
	env := map[string]string{}
	for k, v := range service(t, loadCompose(t), "grafana").Environment {
		if v != nil {
			env[k] = *v
		}
	}
	return env
}

// flagValue returns the value of --name=value or --name value in args.
func flagValue(args []string, name string) (string, bool) {
	for i, a := range args {
		if v, ok := strings.CutPrefix(a, "--"+name+"="); ok {
			return v, true
		}
		if a == "--"+name && i+1 < len(args) {
			return args[i+1], true
		}
	}
	return "", false
}

func TestDockerComposeConfig(t *testing.T) {
	p := loadCompose(t)
	for _, name := range []string{"grafana", "prometheus", "prometheus-backfill", "sheepdog-api", "sheepdog-demo"} {
		service(t, p, name)
	}
	root := repoRoot(t)

	// `docker compose config` too, where the Compose CLI plugin exists (it
	// needs no engine). Here only the docker CLI is installed.
	if out, err := exec.Command("docker", "compose", "version").CombinedOutput(); err == nil {
		cmd := exec.Command("docker", "compose", "-f", filepath.Join(root, "docker-compose.yaml"), "config", "--quiet")
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("docker compose config: %v\n%s", err, out)
		}
	} else {
		t.Logf("docker compose unavailable (%s): validated with compose-go only", bytes.TrimSpace(out))
	}

	// Build targets exist in the Dockerfile; bind mounts exist in the repo.
	stages := dockerfileStages(t)
	for name, s := range p.Services {
		if s.Build != nil {
			if !stages[s.Build.Target] {
				t.Errorf("service %s builds target %q, not a Dockerfile stage (%v)", name, s.Build.Target, stages)
			}
		}
		for _, v := range s.Volumes {
			if v.Type == types.VolumeTypeBind {
				if _, err := os.Stat(v.Source); err != nil {
					t.Errorf("service %s mounts %s: %v", name, v.Source, err)
				}
			}
		}
	}

	// Grafana: unsigned loading for exactly our plugin id, the service
	// account feature, and the URLs provisioning uses pointing at services.
	env := grafanaEnv(t)
	pluginID := pluginJSON(t)["id"].(string)
	if got := env["GF_PLUGINS_ALLOW_LOADING_UNSIGNED_PLUGINS"]; got != pluginID {
		t.Errorf("GF_PLUGINS_ALLOW_LOADING_UNSIGNED_PLUGINS=%q, want exactly %q", got, pluginID)
	}
	if !slices.Contains(strings.Split(env["GF_FEATURE_TOGGLES_ENABLE"], ","), "externalServiceAccounts") {
		t.Errorf("GF_FEATURE_TOGGLES_ENABLE=%q lacks externalServiceAccounts", env["GF_FEATURE_TOGGLES_ENABLE"])
	}
	checkServiceURL(t, p, env["SHEEPDOG_PROMETHEUS_URL"], "prometheus", 9090)
	checkServiceURL(t, p, env["SHEEPDOG_API_URL"], "sheepdog-api", 8080)
	checkServiceURL(t, p, env["SHEEPDOG_ALERT_WEBHOOK_URL"], "sheepdog-demo", 9464)

	// The API accepts the key Grafana sends.
	api := service(t, p, "sheepdog-api")
	if k := api.Environment["SHEEPDOG_API_KEYS"]; k == nil || *k != env["SHEEPDOG_DEMO_API_KEY"] || !strings.HasPrefix(*k, "hs_") {
		t.Errorf("sheepdog-api keys %v vs Grafana's SHEEPDOG_DEMO_API_KEY %q", k, env["SHEEPDOG_DEMO_API_KEY"])
	}

	// The backfill writes the history the live exporter continues: same
	// generator flags, and the labels Prometheus gives the live series.
	demo, backfill := service(t, p, "sheepdog-demo").Command, service(t, p, "prometheus-backfill").Command
	for _, f := range []string{"hosts", "seed", "incident-every"} {
		a, _ := flagValue(demo, f)
		b, _ := flagValue(backfill, f)
		if a != b {
			t.Errorf("--%s: exporter %q, backfill %q: history would not join the live series", f, a, b)
		}
	}
	labels, _ := flagValue(backfill, "labels")
	job, target := scrapeJobFor(t, "sheepdog-demo")
	if want := "job=" + job + ",instance=" + target; labels != want {
		t.Errorf("backfill --labels=%q, want %q (provisioning/prometheus/prometheus.yml)", labels, want)
	}
	// Prometheus starts after the backfill finished.
	if dep, ok := service(t, p, "prometheus").DependsOn["prometheus-backfill"]; !ok || dep.Condition != types.ServiceConditionCompletedSuccessfully {
		t.Errorf("prometheus must depend on prometheus-backfill completing: %+v", dep)
	}
}

func checkServiceURL(t *testing.T, p *types.Project, raw, svc string, port int) {
	t.Helper()
	want := fmt.Sprintf("http://%s:%d", svc, port)
	if !strings.HasPrefix(raw, want) {
		t.Errorf("URL %q: want it to start with %s", raw, want)
	}
	service(t, p, svc)
}

// parseDockerfile parses the Dockerfile with BuildKit's own parser, as
// `docker build` would: syntax, flags and heredocs.
func parseDockerfile(t testing.TB) []instructions.Stage {
	t.Helper()
	f, err := os.Open(filepath.Join(repoRoot(t), "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	res, err := dfparser.Parse(f)
	if err != nil {
		t.Fatalf("Dockerfile: %v", err)
	}
	for _, w := range res.Warnings {
		t.Errorf("Dockerfile: %s", w.Short)
	}
	stages, _, err := instructions.Parse(res.AST, nil)
	if err != nil {
		t.Fatalf("Dockerfile: %v", err)
	}
	return stages
}

func dockerfileStages(t testing.TB) map[string]bool {
	t.Helper()
	stages := map[string]bool{}
	installsPlugin := false
	for _, st := range parseDockerfile(t) {
		if stages[st.Name] {
			t.Errorf("Dockerfile: stage %s defined twice", st.Name)
		}
		for _, c := range st.Commands {
			cp, ok := c.(*instructions.CopyCommand)
			if !ok {
				continue
			}
			if cp.From != "" && !stages[cp.From] {
				t.Errorf("Dockerfile: stage %s copies --from=%s, not an earlier stage", st.Name, cp.From)
			}
			if st.Name == "grafana" && cp.DestPath == "/opt/sheepdog/plugins/sheepdog-anomaly-datasource/" {
				installsPlugin = true
			}
		}
		stages[st.Name] = true
	}
	// The grafana stage must bake the plugin under its id, the way the
	// entrypoint's GF_PATHS_PLUGINS expects.
	if !installsPlugin {
		t.Error("Dockerfile: the grafana stage does not install the plugin at /opt/sheepdog/plugins/sheepdog-anomaly-datasource/")
	}
	return stages
}

func pluginJSON(t testing.TB) map[string]any {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(repoRoot(t), "src", "plugin.json"))
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// scrapeJobFor returns the job name and first target of the scrape job whose
// target host is svc.
func scrapeJobFor(t testing.TB, svc string) (job, target string) {
	t.Helper()
	for _, j := range promConfig(t).ScrapeConfigs {
		for _, sc := range j.StaticConfigs {
			for _, tg := range sc.Targets {
				if strings.HasPrefix(tg, svc+":") && j.MetricsPath == "" {
					return j.JobName, tg
				}
			}
		}
	}
	t.Fatalf("prometheus.yml: no scrape job for %s", svc)
	return "", ""
}

type scrapeJob struct {
	JobName       string `json:"job_name"`
	MetricsPath   string `json:"metrics_path"`
	StaticConfigs []struct {
		Targets []string `json:"targets"`
	} `json:"static_configs"`
}

func promConfig(t testing.TB) struct{ ScrapeConfigs []scrapeJob } {
	t.Helper()
	path := filepath.Join(repoRoot(t), "provisioning", "prometheus", "prometheus.yml")
	// promtool is the authority on Prometheus's config.
	if promtool, err := exec.LookPath("promtool"); err == nil {
		if out, err := exec.Command(promtool, "check", "config", path).CombinedOutput(); err != nil {
			t.Fatalf("promtool check config: %v\n%s", err, out)
		}
	}
	var cfg struct {
		ScrapeConfigs []scrapeJob `json:"scrape_configs"`
	}
	if err := yamlToJSON(t, path, &cfg); err != nil {
		t.Fatal(err)
	}
	return struct{ ScrapeConfigs []scrapeJob }{cfg.ScrapeConfigs}
}

func TestPrometheusScrapesTheStack(t *testing.T) {
	p := loadCompose(t)
	cfg := promConfig(t)
	want := map[string]string{ // target -> metrics path
		"sheepdog-demo:9464": "",
		"sheepdog-api:8080":  "",
		"grafana:3000":       "/metrics/plugins/" + pluginJSON(t)["id"].(string),
	}
	for target, path := range want {
		found := false
		for _, j := range cfg.ScrapeConfigs {
			for _, sc := range j.StaticConfigs {
				if slices.Contains(sc.Targets, target) && j.MetricsPath == path {
					found = true
				}
			}
		}
		if !found {
			t.Errorf("prometheus.yml does not scrape %s%s", target, path)
		}
		svc, port, _ := strings.Cut(target, ":")
		checkListens(t, service(t, p, svc), port)
	}
}

// checkListens checks the service's command (or its image default) listens on port.
func checkListens(t *testing.T, s types.ServiceConfig, port string) {
	t.Helper()
	if s.Name == "grafana" {
		return // Grafana's default port
	}
	listen, ok := flagValue(s.Command, "listen")
	if !ok || !strings.HasSuffix(listen, ":"+port) || strings.HasPrefix(listen, "127.") {
		t.Errorf("service %s: --listen=%q, want 0.0.0.0:%s", s.Name, listen, port)
	}
}

// TestComposeCommandsRun starts the real sheepdog-api and sheepdog-demo
// binaries with the exact flags and environment compose gives them (only the
// listen address moved to a free loopback port), and runs the backfill
// service's flags through sheepdog-demo and promtool.
func TestComposeCommandsRun(t *testing.T) {
	p := loadCompose(t)
	bin := t.TempDir()
	root := repoRoot(t)
	build := exec.Command("go", "build", "-o", bin+"/", "./cmd/sheepdog-api", "./cmd/sheepdog-demo")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	for _, name := range []string{"sheepdog-api", "sheepdog-demo"} {
		s := service(t, p, name)
		port := freePort(t)
		args := make([]string, len(s.Command))
		for i, a := range s.Command {
			if strings.HasPrefix(a, "--listen=") {
				a = "--listen=127.0.0.1:" + port
			}
			args[i] = a
		}
		cmd := exec.Command(filepath.Join(bin, name), args...)
		cmd.Env = os.Environ()
		for k, v := range s.Environment {
			if v != nil {
				cmd.Env = append(cmd.Env, k+"="+*v)
			}
		}
		var logs bytes.Buffer
		cmd.Stdout, cmd.Stderr = &logs, &logs
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		health := map[string]string{"sheepdog-api": "/v1/health", "sheepdog-demo": "/healthz"}[name]
		base := "http://127.0.0.1:" + port
		waitHTTP(t, base+health, &logs)
		if name == "sheepdog-api" {
			// The demo key is accepted.
			env := grafanaEnv(t)
			req, _ := http.NewRequest(http.MethodPost, base+"/v1/anomaly/detect", strings.NewReader(`{"metrics":{"cpu_usage":50},"timestamp":1700000000}`))
			req.Header.Set("Authorization", "Bearer "+env["SHEEPDOG_DEMO_API_KEY"])
			req.Header.Set("Content-Type", "application/json")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 {
				t.Errorf("sheepdog-api refused the demo key: %d %s", resp.StatusCode, b)
			}
		}
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	}

	// The backfill service's flags, on a short range.
	s := service(t, p, "prometheus-backfill")
	om := filepath.Join(t.TempDir(), "h.om")
	args := []string{"backfill", "--out", om}
	for _, a := range s.Command {
		if !strings.HasPrefix(a, "--days=") {
			args = append(args, a)
		}
	}
	args = append(args, "--days=0.05")
	if out, err := exec.Command(filepath.Join(bin, "sheepdog-demo"), args...).CombinedOutput(); err != nil {
		t.Fatalf("sheepdog-demo %v: %v\n%s", args, err, out)
	}
	if promtool, err := exec.LookPath("promtool"); err == nil {
		if out, err := exec.Command(promtool, "tsdb", "create-blocks-from", "openmetrics", om, t.TempDir()).CombinedOutput(); err != nil {
			t.Fatalf("promtool: %v\n%s", err, out)
		}
	}
}

func freePort(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
}

func waitHTTP(t testing.TB, url string, logs *bytes.Buffer) {
	t.Helper()
	const wait = 30 * time.Second // generous: CI is a loaded 2-core machine
	deadline := time.Now().Add(wait)
	for {
		resp, err := http.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s not healthy after %s (%v)\n%s", url, wait, err, logs)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// ---- data sources ----

func datasources(t testing.TB) []provcheck.Datasource {
	t.Helper()
	ds, err := provcheck.LoadDatasources(filepath.Join(repoRoot(t), "provisioning", "datasources"), grafanaEnv(t))
	if err != nil {
		t.Fatal(err)
	}
	return ds
}

func TestDatasources(t *testing.T) {
	ds := datasources(t)
	byUID := map[string]provcheck.Datasource{}
	for _, d := range ds {
		if d.UID == "" || d.Name == "" || d.Type == "" {
			t.Errorf("%s: data source %+v lacks uid, name or type", d.File, d)
		}
		if _, dup := byUID[d.UID]; dup {
			t.Errorf("uid %q provisioned twice", d.UID)
		}
		byUID[d.UID] = d
	}
	for _, uid := range []string{"prometheus", "sheepdog", "sheepdog-remote"} {
		if _, ok := byUID[uid]; !ok {
			t.Errorf("no data source with uid %q", uid)
		}
	}
	if byUID["prometheus"].Type != "prometheus" {
		t.Errorf("uid prometheus has type %q", byUID["prometheus"].Type)
	}
	for _, d := range ds {
		if d.Type != provcheck.PluginType {
			continue
		}
		jsonData, _ := json.Marshal(d.JSONData)
		cfg, err := models.ParseSettings(jsonData, d.SecureJSONData)
		if err != nil {
			t.Errorf("%s: the backend rejects jsonData: %v", d.UID, err)
			continue
		}
		for _, a := range d.JSONData["allowedDatasources"].([]any) {
			if _, ok := byUID[a.(string)]; !ok {
				t.Errorf("%s: allowedDatasources names %q, not a provisioned uid", d.UID, a)
			}
		}
		_ = cfg
		if d.JSONData["engine"] == models.EngineRemote {
			if key := d.SecureJSONData[models.SecureRemoteAPIKey]; !strings.HasPrefix(key, "hs_") {
				t.Errorf("%s: remote API key %q is not an hs_ key from $SHEEPDOG_DEMO_API_KEY", d.UID, key)
			}
			if _, inJSON := d.JSONData[models.SecureRemoteAPIKey]; inJSON {
				t.Errorf("%s: the API key must live in secureJsonData only", d.UID)
			}
		}
	}
	if r := byUID["sheepdog-remote"]; r.JSONData["engine"] != models.EngineRemote || r.JSONData["remoteUrl"] != "http://sheepdog-api:8080" {
		t.Errorf("sheepdog-remote: engine %v remoteUrl %v", r.JSONData["engine"], r.JSONData["remoteUrl"])
	}
}

// ---- dashboards ----

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

func dsByUID(t testing.TB) map[string]provcheck.Datasource {
	m := map[string]provcheck.Datasource{}
	for _, d := range datasources(t) {
		m[d.UID] = d
	}
	return m
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

// ---- alerting ----

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

// ---- queries against the real stack components ----

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

func yamlToJSON(t testing.TB, path string, v any) error {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	return provcheck.DecodeYAMLAsJSON(data, v)
}

// runNativeScript runs scripts/native-grafana.sh with its state in state.
func runNativeScript(t *testing.T, state string, args ...string) string {
	t.Helper()
	cmd := exec.Command("bash", append([]string{filepath.Join(repoRoot(t), "scripts", "native-grafana.sh")}, args...)...)
	cmd.Env = append(os.Environ(), "SHEEPDOG_NATIVE_DIR="+state)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("native-grafana.sh %v: %v\n%s", args, err, out)
	}
	return string(out)
}

// TestNativeGrafanaScript checks scripts/native-grafana.sh without a Grafana
// binary: the environment it gives Grafana expands every provisioning file.
// Its run and install dry runs need dist/ and are checked by
// TestNativeGrafanaScriptDryRuns (build tag integration, after npm run build).
func TestNativeGrafanaScript(t *testing.T) {
	root := repoRoot(t)
	state := t.TempDir()
	env := map[string]string{}
	for _, line := range strings.Split(runNativeScript(t, state, "env"), "\n") {
		if k, v, ok := strings.Cut(strings.TrimPrefix(line, "export "), "="); ok {
			env[k] = v
		}
	}
	if env["GF_PLUGINS_ALLOW_LOADING_UNSIGNED_PLUGINS"] != pluginJSON(t)["id"] || env["GF_FEATURE_TOGGLES_ENABLE"] != "externalServiceAccounts" {
		t.Errorf("native env lacks the plugin's Grafana settings: %v", env)
	}
	// Every provisioning file expands with that environment, pointing at localhost.
	ds, err := provcheck.LoadDatasources(filepath.Join(root, "provisioning", "datasources"), env)
	if err != nil {
		t.Fatalf("data sources with the native environment: %v", err)
	}
	for _, d := range ds {
		if d.URL != "" && !strings.HasPrefix(d.URL, "http://localhost:") {
			t.Errorf("%s: native URL %q", d.UID, d.URL)
		}
	}
	if _, err := provcheck.LoadAlerting(filepath.Join(root, "provisioning", "alerting"), env); err != nil {
		t.Errorf("alerting with the native environment: %v", err)
	}
	if p, err := provcheck.LoadDashboardProviders(filepath.Join(root, "provisioning", "dashboards"), env); err != nil || p[0].Options.Path != filepath.Join(state, "provisioning", "dashboards") {
		t.Errorf("dashboard provider with the native environment: %+v, %v", p, err)
	}
}

// dockerfileScript returns the heredoc script the Dockerfile installs at path.
func dockerfileScript(t *testing.T, path string) string {
	t.Helper()
	for _, st := range parseDockerfile(t) {
		for _, c := range st.Commands {
			if cp, ok := c.(*instructions.CopyCommand); ok && cp.DestPath == path && len(cp.SourceContents) == 1 {
				return cp.SourceContents[0].Data
			}
		}
	}
	t.Fatalf("Dockerfile: no heredoc script for %s", path)
	return ""
}

// TestDockerfileScripts runs the images' two shell scripts with /bin/sh,
// pointed at temporary directories: the backfill init (twice: the second run
// must skip) and Grafana's entrypoint in both modes.
func TestDockerfileScripts(t *testing.T) {
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		t.Fatalf("promtool not found (Debian package prometheus): %v", err)
	}
	bin := t.TempDir()
	build := exec.Command("go", "build", "-o", bin+"/", "./cmd/sheepdog-demo")
	build.Dir = repoRoot(t)
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	_ = os.Symlink(promtool, filepath.Join(bin, "promtool"))
	data := t.TempDir()
	script := strings.Replace(dockerfileScript(t, "/bin/sheepdog-backfill"), "data=/prometheus", "data="+data, 1)
	path := filepath.Join(t.TempDir(), "backfill.sh")
	os.WriteFile(path, []byte(script), 0o755)
	args := append([]string{path}, service(t, loadCompose(t), "prometheus-backfill").Command...)
	for i, a := range args {
		if strings.HasPrefix(a, "--days=") {
			args[i] = "--days=0.05"
		}
	}
	runSh := func() string {
		cmd := exec.Command("/bin/sh", args...)
		cmd.Env = append(os.Environ(), "PATH="+bin+":"+os.Getenv("PATH"))
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("backfill script: %v\n%s", err, out)
		}
		return string(out)
	}
	runSh()
	blocks, _ := filepath.Glob(filepath.Join(data, "*", "meta.json"))
	if len(blocks) == 0 {
		t.Fatal("the backfill script wrote no TSDB block")
	}
	if out := runSh(); !strings.Contains(out, "skipping") {
		t.Errorf("second run did not skip: %s", out)
	}
	if again, _ := filepath.Glob(filepath.Join(data, "*", "meta.json")); len(again) != len(blocks) {
		t.Errorf("second run wrote blocks again: %d -> %d", len(blocks), len(again))
	}

	// Grafana's entrypoint: /run.sh replaced by a probe printing the plugin path.
	entry := dockerfileScript(t, "/sheepdog-entrypoint.sh")
	src := t.TempDir()
	entry = strings.ReplaceAll(entry, "/sheepdog-src", src)
	entry = strings.Replace(entry, `exec /run.sh "$@"`, `echo "plugins=$GF_PATHS_PLUGINS"`, 1)
	epath := filepath.Join(t.TempDir(), "entry.sh")
	os.WriteFile(epath, []byte(entry), 0o755)
	for _, c := range []struct {
		dev, want string
		fails     bool
	}{
		{"false", "plugins=/opt/sheepdog/plugins", false},
		{"true", "run 'npm run dev'", true}, // no dist/ yet
	} {
		cmd := exec.Command("/bin/sh", epath)
		cmd.Env = append(os.Environ(), "DEVELOPMENT="+c.dev)
		out, err := cmd.CombinedOutput()
		if (err != nil) != c.fails || !strings.Contains(string(out), c.want) {
			t.Errorf("DEVELOPMENT=%s: %v\n%s", c.dev, err, out)
		}
	}
	os.MkdirAll(filepath.Join(src, "dist"), 0o755)
	os.WriteFile(filepath.Join(src, "dist", "plugin.json"), []byte("{}"), 0o644)
	cmd := exec.Command("/bin/sh", epath)
	cmd.Env = append(os.Environ(), "DEVELOPMENT=true")
	if out, err := cmd.CombinedOutput(); err != nil || !strings.Contains(string(out), "plugins=/opt/sheepdog/dev-plugins") {
		t.Errorf("DEVELOPMENT=true with a dist/: %v\n%s", err, out)
	}
}
