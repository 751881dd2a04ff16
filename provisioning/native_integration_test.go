//go:build integration

package provisioning_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestNativeGrafanaScriptDryRuns: scripts/native-grafana.sh's run dry run
// links ./dist and copies the provisioning where the GF_PATHS_* it sets
// point, and install prints the grafana.ini settings. It needs the built
// plugin: without dist/ it fails (run npm run build first), it does not skip.
func TestNativeGrafanaScriptDryRuns(t *testing.T) {
	root := repoRoot(t)
	if _, err := os.Stat(filepath.Join(root, "dist", "plugin.json")); err != nil {
		t.Fatalf("no dist/ build: the run and install dry runs need one (run npm run build first): %v", err)
	}
	state := t.TempDir()
	out := runNativeScript(t, state, "run", "--dry-run")
	for _, want := range []string{
		"ln -s " + filepath.Join(root, "dist") + " " + filepath.Join(state, "plugins", "sheepdog-anomaly-datasource"),
		"GF_PATHS_PLUGINS=" + filepath.Join(state, "plugins"),
		"GF_PATHS_PROVISIONING=" + filepath.Join(state, "provisioning"),
		"anomalies-overview.json",
		"rules.yaml",
		"grafana",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("run --dry-run output lacks %q:\n%s", want, out)
		}
	}
	out = runNativeScript(t, state, "install", "--dry-run", "--plugins-dir", filepath.Join(state, "p"), "--provisioning-dir", filepath.Join(state, "prov"))
	if !strings.Contains(out, "allow_loading_unsigned_plugins = sheepdog-anomaly-datasource") {
		t.Errorf("install does not print the grafana.ini settings:\n%s", out)
	}
}
