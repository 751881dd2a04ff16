package provisioning_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sheepdog-anomaly/sheepdog/internal/provcheck"
)

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
