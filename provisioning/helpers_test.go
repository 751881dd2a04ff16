// Package provisioning_test checks the demo stack as code: docker-compose.yaml
// (loaded by compose-go, the loader `docker compose config` uses), the
// Dockerfile's targets, and every provisioned data source, dashboard and
// alert rule: valid files, resolving references, Sheepdog queries the
// backend's model accepts, PromQL that a real Prometheus loaded with the
// generator's history answers, and metric names that really exist.
//
// One file per concern: compose_test.go (docker-compose.yaml and the
// commands it runs), dockerfile_test.go (targets and heredoc scripts),
// prometheus_config_test.go (scrape jobs), datasources_test.go,
// dashboards_test.go, alerting_test.go (the provisioned files against the
// backend's model), promql_test.go (every PromQL expression on a real
// Prometheus, metric names the stack exports), native_test.go
// (scripts/native-grafana.sh); helpers_test.go holds what they share. With
// the integration tag, integration_test.go replays the provisioning through
// the built plugin binary. This directory is a Go module of its own so that
// compose-go and BuildKit stay out of the plugin's go.mod.
package provisioning_test

import (
	"bytes"
	"encoding/json"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sheepdog-anomaly/sheepdog/internal/provcheck"
)

func repoRoot(t testing.TB) string {
	t.Helper()
	root, err := provcheck.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	return root
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

func yamlToJSON(t testing.TB, path string, v any) error {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	return provcheck.DecodeYAMLAsJSON(data, v)
}
