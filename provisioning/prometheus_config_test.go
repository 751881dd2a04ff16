package provisioning_test

import (
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/types"
)

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
