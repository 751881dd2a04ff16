//go:build integration

package integration

import (
	"bufio"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/grafana/grafana-plugin-sdk-go/data"

	"github.com/sheepdog-anomaly/sheepdog/internal/harness"
	"github.com/sheepdog-anomaly/sheepdog/internal/testprom"
)

// startAPI builds and starts the reference API server (cmd/sheepdog-api) on a
// free port with one API key, and returns its URL.
func startAPI(t *testing.T, key string, extra ...string) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "sheepdog-api")
	build := exec.Command("go", "build", "-o", bin, "./cmd/sheepdog-api")
	build.Dir = ".."
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build sheepdog-api: %v\n%s", err, out)
	}
	cmd := exec.Command(bin, append([]string{"-listen", "127.0.0.1:0"}, extra...)...)
	cmd.Env = append(os.Environ(), "SHEEPDOG_API_KEYS="+key)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = nil
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	lines := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if strings.HasPrefix(sc.Text(), "listening on ") {
				lines <- strings.TrimPrefix(sc.Text(), "listening on ")
			}
		}
	}()
	select {
	case u := <-lines:
		return u
	case <-time.After(30 * time.Second):
		t.Fatal("sheepdog-api did not print its address")
	}
	return ""
}

// closedURL is an address where nothing listens.
func closedURL(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return "http://" + addr
}

func notices(fs data.Frames) string {
	var out []string
	for _, f := range fs {
		if f.Meta != nil {
			for _, n := range f.Meta.Notices {
				out = append(out, n.Text)
			}
		}
	}
	return strings.Join(out, "\n")
}

func remoteInstance(uid, promURL, apiURL, key string, fallback bool) harness.Instance {
	return harness.Instance{UID: uid,
		JSONData: map[string]any{"engine": "remote", "remoteUrl": apiURL, "remoteFallback": fallback, "remoteRetries": 1,
			"remoteTimeout": "5s", "remoteBackoffBase": "50ms", "remoteBackoffMax": "200ms", "prometheusUrl": promURL},
		Secure: map[string]string{"remoteApiKey": key}}
}

// TestRemoteEngine runs detection on the real reference API server, then with
// a wrong key and with the API down: the fallback answers with a notice, the
// health check says what is wrong, and the key never shows.
func TestRemoteEngine(t *testing.T) {
	prom := testprom.Start(t, testprom.Options{})
	ds := prom.Data
	const key = "sk_remote_test_key_0123456789"
	api := startAPI(t, key)
	from, to := ds.End.Add(-36*time.Hour), ds.End
	q := promQuery("A", "cpu_usage", from, to, nil)

	in := remoteInstance("remote-ok", prom.URL, api, key, true)
	h, err := plugin.CheckHealth(ctxT(t), in.PluginContext())
	if err != nil {
		t.Fatal(err)
	}
	if h.Status != backend.HealthStatusOk || !strings.Contains(h.Message, "Remote engine OK") {
		t.Errorf("health = %v %q", h.Status, h.Message)
	}
	resp, err := plugin.QueryData(ctxT(t), in.QueryRequest(false, q))
	if err != nil {
		t.Fatal(err)
	}
	fs := mustOK(t, resp, "A")
	if n := notices(fs); strings.Contains(n, "fell back") {
		t.Errorf("healthy remote fell back: %s", n)
	}
	ws := windows(t, annotationFrame(t, fs))
	for _, a := range ds.AnomaliesOf("cpu_usage", map[string]string{"host": "a"}) {
		if a.Kind == testprom.KindDip && len(overlapping(ws, a.Start, a.End, time.Minute, "host:a")) == 0 {
			t.Errorf("remote engine missed the dip at %v", a.Start)
		}
	}

	// Wrong key: health fails, queries fall back with a notice.
	wrong := remoteInstance("remote-wrong", prom.URL, api, "sk_wrong_key_987654321", true)
	h, _ = plugin.CheckHealth(ctxT(t), wrong.PluginContext())
	if h.Status != backend.HealthStatusError || strings.Contains(h.Message, "sk_wrong") {
		t.Errorf("wrong key health = %v %q", h.Status, h.Message)
	}
	t.Logf("wrong key: %s", h.Message)
	resp, _ = plugin.QueryData(ctxT(t), wrong.QueryRequest(false, q))
	if n := notices(mustOK(t, resp, "A")); !strings.Contains(n, "fell back to the embedded engine") {
		t.Errorf("wrong key: no fallback notice in %q", n)
	}

	// API down: fallback answers; without fallback the query fails clearly.
	down := remoteInstance("remote-down", prom.URL, closedURL(t), key, true)
	h, _ = plugin.CheckHealth(ctxT(t), down.PluginContext())
	if h.Status != backend.HealthStatusError || !strings.Contains(h.Message, "cannot reach") || !strings.Contains(h.Message, "fall back") {
		t.Errorf("down health = %v %q", h.Status, h.Message)
	}
	resp, _ = plugin.QueryData(ctxT(t), down.QueryRequest(false, q))
	fs = mustOK(t, resp, "A")
	if n := notices(fs); !strings.Contains(n, "fell back") {
		t.Errorf("down: no fallback notice in %q", n)
	}
	if len(seriesFrames(fs)) != 2 {
		t.Errorf("down with fallback: %d series frames", len(seriesFrames(fs)))
	}
	strict := remoteInstance("remote-strict", prom.URL, closedURL(t), key, false)
	resp, _ = plugin.QueryData(ctxT(t), strict.QueryRequest(false, q))
	if e := resp.Responses["A"].Error; e == nil || !strings.Contains(e.Error(), "remote") {
		t.Errorf("down without fallback: error %v", e)
	}
	text, err := plugin.CollectMetrics(ctxT(t), in.PluginContext())
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range []string{"sheepdog_remote_requests_total", "sheepdog_engine_fallbacks_total", `sheepdog_series_total{engine="remote"}`, `sheepdog_series_total{engine="fallback"}`} {
		if !strings.Contains(text, m) {
			t.Errorf("metrics lack %s", m)
		}
	}
	for _, secret := range []string{key, "sk_wrong_key_987654321"} {
		if strings.Contains(plugin.Logs(), secret) {
			t.Errorf("the plugin logged an API key")
		}
	}
}

// TestRemoteAzureFlavourHealth: Save & test on an Azure-compatible base URL
// (…/anomalydetector/v1.1) against the reference server. That flavour has no
// health route, so the check must probe a detection route instead of 404ing.
// Save & test is Grafana's checkDatasourceHealth (grafana/grafana
// pkg/api/datasources.go): it calls the plugin's CheckHealth and answers 400
// for any status but OK, so an error here fails Save & test.
func TestRemoteAzureFlavourHealth(t *testing.T) {
	const key = "sk_azure_flavour_key_0123456789"
	api := startAPI(t, key)
	in := remoteInstance("remote-azure", "", api+"/anomalydetector/v1.1", key, false)
	h, err := plugin.CheckHealth(ctxT(t), in.PluginContext())
	if err != nil {
		t.Fatal(err)
	}
	if h.Status != backend.HealthStatusOk || !strings.Contains(h.Message, "Remote engine OK") || strings.Contains(h.Message, key) {
		t.Errorf("azure-flavour health = %v %q", h.Status, h.Message)
	}
}

// TestSecretsNotReflected: an upstream on 127.0.0.1 that echoes every request
// header into its error answers, its Prometheus buildinfo version and its
// remote health status. Neither Save & test nor a query may show the remote
// key, the Prometheus bearer token, the basic-auth password (raw or as the
// header's base64 user:password) or a custom header value.
//
// Where the texts go, per Grafana's code: checkDatasourceHealth
// (grafana/grafana pkg/api/datasources.go) copies CheckHealthResult.Message
// and the unmarshalled JSONDetails into the HTTP answer the editor shows;
// writeDataResponseJSON (grafana-plugin-sdk-go backend/json.go) writes
// DataResponse.Error.Error() as the "error" the panel shows to any viewer.
func TestSecretsNotReflected(t *testing.T) {
	const (
		apiKey = "sk_echo_remote_key_55aa66bb"
		token  = "glc_echo_bearer_77cc88dd"
		user   = "echo-user"
		pass   = "echo-pass/+=99ee"
		tenant = "echo-tenant-secret-1234"
	)
	echo := func(r *http.Request) string {
		var parts []string
		for k, v := range r.Header {
			parts = append(parts, k+"="+strings.Join(v, ","))
		}
		sort.Strings(parts)
		return strings.Join(parts, " ")
	}
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Path == "/v1/health":
			_ = json.NewEncoder(w).Encode(map[string]any{"status": "ok " + echo(r), "version": echo(r), "keyAccepted": true})
		case strings.HasSuffix(r.URL.Path, "/status/buildinfo"):
			_ = json.NewEncoder(w).Encode(map[string]any{"status": "success", "data": map[string]any{"version": echo(r)}})
		case strings.HasSuffix(r.URL.Path, "/query_range"):
			w.WriteHeader(http.StatusBadRequest)
			_ = json.NewEncoder(w).Encode(map[string]any{"status": "error", "errorType": "bad_data", "error": "echo " + echo(r)})
		default:
			w.WriteHeader(http.StatusInternalServerError)
			_, _ = w.Write([]byte("echo " + echo(r)))
		}
	}))
	defer upstream.Close()
	basic := base64.StdEncoding.EncodeToString([]byte(user + ":" + pass))
	secrets := []string{apiKey, token, pass, basic, tenant}
	for _, auth := range []string{"bearer", "basic"} {
		in := remoteInstance("echo-"+auth, upstream.URL, upstream.URL, apiKey, false)
		jd := in.JSONData.(map[string]any)
		jd["prometheusAuth"] = auth
		jd["prometheusUser"] = user
		jd["prometheusHeaderName1"] = "X-Scope-OrgID"
		in.Secure["prometheusToken"] = token
		in.Secure["prometheusPassword"] = pass
		in.Secure["prometheusHeaderValue1"] = tenant
		h, err := plugin.CheckHealth(ctxT(t), in.PluginContext())
		if err != nil {
			t.Fatal(err)
		}
		texts := map[string]string{"health message": h.Message, "health details": string(h.JSONDetails)}
		now := time.Now()
		resp, err := plugin.QueryData(ctxT(t), in.QueryRequest(false, promQuery("A", "up", now.Add(-time.Hour), now, nil)))
		if err != nil {
			t.Fatal(err)
		}
		if e := resp.Responses["A"].Error; e != nil {
			texts["query error"] = e.Error()
		} else {
			t.Errorf("%s: the echoing Prometheus gave no query error", auth)
		}
		for what, text := range texts {
			for _, s := range secrets {
				if strings.Contains(text, s) {
					t.Errorf("%s auth: %s holds the secret %q: %s", auth, what, s, text)
				}
			}
		}
		if !strings.Contains(texts["health message"], "[redacted]") {
			t.Errorf("%s auth: health message shows no redaction (did the echo reach it?): %s", auth, texts["health message"])
		}
	}
}

// wideCSV is an inline CSV of cols series × rows one-minute points.
func wideCSV(cols, rows int) string {
	var b strings.Builder
	b.WriteString("time")
	for c := range cols {
		fmt.Fprintf(&b, ",s%d", c)
	}
	t0 := time.Unix(1700000000, 0).UTC()
	for r := range rows {
		b.WriteString("\n" + t0.Add(time.Duration(r)*time.Minute).Format(time.RFC3339))
		for c := range cols {
			fmt.Fprintf(&b, ",%g", 10+math.Sin(float64(r+c)))
		}
	}
	return b.String()
}

// remoteRequests reads sheepdog-api's own request counter for one endpoint.
func remoteRequests(t *testing.T, api, endpoint string) int {
	t.Helper()
	resp, err := http.Get(api + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	total := 0
	for _, line := range strings.Split(string(body), "\n") {
		if strings.HasPrefix(line, "sheepdog_api_requests_total{") && strings.Contains(line, `endpoint="`+endpoint+`"`) {
			var v float64
			fmt.Sscanf(line[strings.LastIndex(line, " ")+1:], "%g", &v)
			total += int(v)
		}
	}
	return total
}

// TestRemoteCallAmplification: a 300-column inline CSV (any viewer can send
// one) costs 6 batch requests on the reference server instead of 300; on the
// Azure-compatible URL (no batch route) the per-query call cap refuses it
// with an error naming remoteMaxCallsPerQuery, before any call. The 400 is
// DataResponse.Status, which writeDataResponseJSON (grafana-plugin-sdk-go
// backend/json.go) sends to Grafana as the query's "status".
func TestRemoteCallAmplification(t *testing.T) {
	const key = "sk_amplification_key_0123456789"
	api := startAPI(t, key)
	q := csvQuery("A", wideCSV(300, 30))

	batched := remoteInstance("remote-batch", "", api, key, false)
	resp, err := plugin.QueryData(ctxT(t), batched.QueryRequest(false, q))
	if err != nil {
		t.Fatal(err)
	}
	if e := resp.Responses["A"].Error; e != nil {
		t.Fatalf("batched query: %v", e)
	}
	if n := remoteRequests(t, api, "/v1/timeseries/entire/detect/batch"); n != 6 {
		t.Errorf("%d batch requests for 300 series, want 6", n)
	}
	if n := remoteRequests(t, api, "/v1/timeseries/entire/detect"); n != 0 {
		t.Errorf("%d single requests next to the batch route", n)
	}

	azure := remoteInstance("remote-azure-cap", "", api+"/anomalydetector/v1.1", key, true)
	azure.JSONData.(map[string]any)["remoteMaxCallsPerQuery"] = 100
	resp, err = plugin.QueryData(ctxT(t), azure.QueryRequest(false, q))
	if err != nil {
		t.Fatal(err)
	}
	if r := resp.Responses["A"]; r.Error == nil || !strings.Contains(r.Error.Error(), "remoteMaxCallsPerQuery") || r.Status != backend.StatusBadRequest {
		t.Errorf("300 calls over a cap of 100: status %d, error %v; want 400 naming remoteMaxCallsPerQuery", r.Status, r.Error)
	}
	if n := remoteRequests(t, api, "/v1/timeseries/entire/detect"); n != 0 {
		t.Errorf("%d requests made before the cap refused the query", n)
	}
}
