package provisioning_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/cli"
	"github.com/compose-spec/compose-go/v2/types"
)

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
