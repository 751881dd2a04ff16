package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/sheepdog-anomaly/sheepdog/cmd/sheepdog-demo/demogen"
	"github.com/sheepdog-anomaly/sheepdog/internal/testprom"
)

func newGen(t *testing.T) *demogen.Generator {
	t.Helper()
	g, err := demogen.New(demogen.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	return g
}

func TestMetricsEndpoint(t *testing.T) {
	g := newGen(t)
	at := time.Date(2026, 3, 10, 14, 0, 0, 0, time.UTC)
	srv := httptest.NewServer(demogen.NewHandler(g, func() time.Time { return at }))
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("parse exposition: %v", err)
	}
	for _, name := range demogen.ExportedMetrics() {
		f, ok := fams[name]
		if !ok {
			t.Errorf("metric %s missing", name)
			continue
		}
		want := len(g.Hosts())
		if name == demogen.MetricIncidentActive {
			want *= len(demogen.Metrics)
		}
		if len(f.Metric) != want {
			t.Errorf("%s: %d series, want %d", name, len(f.Metric), want)
		}
	}
	if typ := fams[demogen.MetricRequests].GetType().String(); typ != "COUNTER" {
		t.Errorf("request_count is a %s, want a counter", typ)
	}
	// Values are the generator's at the scrape time.
	for _, m := range fams[demogen.MetricCPU].Metric {
		host := m.Label[0].GetValue()
		want, _ := g.Value(host, demogen.MetricCPU, at)
		if got := m.GetGauge().GetValue(); got != want {
			t.Errorf("cpu_usage{host=%q} = %v, want %v", host, got, want)
		}
	}
}

func TestIncidentsEndpoint(t *testing.T) {
	g := newGen(t)
	at := time.Date(2026, 3, 10, 14, 0, 0, 0, time.UTC)
	srv := httptest.NewServer(demogen.NewHandler(g, func() time.Time { return at }))
	defer srv.Close()

	get := func(q string) (*http.Response, []byte) {
		resp, err := http.Get(srv.URL + "/incidents" + q)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, b
	}
	resp, body := get("?from=-6h&to=" + strconv.FormatInt(at.Unix(), 10))
	if resp.StatusCode != 200 {
		t.Fatalf("status %d: %s", resp.StatusCode, body)
	}
	var s demogen.Schedule
	if err := json.Unmarshal(body, &s); err != nil {
		t.Fatal(err)
	}
	want := g.Incidents(at.Add(-6*time.Hour), at)
	if len(s.Incidents) != len(want) || len(want) < 6 {
		t.Fatalf("%d incidents, want %d (>= 6)", len(s.Incidents), len(want))
	}
	for i, in := range s.Incidents {
		if !in.Start.Equal(want[i].Start) || in.Host != want[i].Host || in.Kind != want[i].Kind || in.Active != want[i].Active(at) {
			t.Errorf("incident %d = %+v, want %+v", i, in, want[i])
		}
	}
	for _, bad := range []string{"?from=yesterday", "?from=0&to=0", "?from=0&to=99999999"} {
		if resp, body := get(bad); resp.StatusCode != http.StatusBadRequest {
			t.Errorf("%s: status %d (%s), want 400", bad, resp.StatusCode, body)
		}
	}
}

func TestCommandErrors(t *testing.T) {
	ctx := context.Background()
	for _, args := range [][]string{
		{"frobnicate"},
		{"backfill", "--days", "0"},
		{"backfill", "--days", "1", "--incident-every", "1m"},
		{"backfill", "--days", "1", "--end", "soon"},
		{"backfill", "--days", "1", "--labels", "job"},
		{"backfill", "--days", "1", "--labels", "host=x"},
		{"backfill", "--days", "1", "--labels", "bad-name=x"},
		{"serve", "--hosts", "0"},
		{"serve", "--incidents", "volcano"},
		{"serve", "--listen", "256.0.0.1:1"},
	} {
		var out, errb bytes.Buffer
		if err := run(ctx, args, &out, &errb); err == nil {
			t.Errorf("%v: no error", args)
		}
	}
}

// logWatch is serve's stderr: it keeps the log and hands over the address
// from the "sheepdog-demo serving" line, serve's ready signal.
type logWatch struct {
	mu    sync.Mutex
	buf   bytes.Buffer
	addr  chan string
	found bool
}

func (l *logWatch) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf.Write(p)
	if !l.found {
		for _, line := range strings.Split(l.buf.String(), "\n") {
			var rec struct {
				Msg  string `json:"msg"`
				Addr string `json:"addr"`
			}
			if json.Unmarshal([]byte(line), &rec) == nil && rec.Msg == "sheepdog-demo serving" && rec.Addr != "" {
				l.found = true
				l.addr <- rec.Addr
				break
			}
		}
	}
	return len(p), nil
}

func (l *logWatch) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

func TestServeShutsDown(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	logs := &logWatch{addr: make(chan string, 1)}
	go func() { done <- run(ctx, []string{"serve", "--listen", "127.0.0.1:0"}, io.Discard, logs) }()
	// Ready: serve logged its address and answers a scrape there.
	var addr string
	select {
	case addr = <-logs.addr:
	case err := <-done:
		t.Fatalf("serve returned before serving: %v (%s)", err, logs)
	case <-time.After(30 * time.Second):
		t.Fatalf("serve did not log its address within 30s: %s", logs)
	}
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatalf("scrape the serving exporter: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("/metrics: status %d", resp.StatusCode)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("serve: %v (%s)", err, logs)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("serve did not stop within 30s of cancel")
	}
	if !strings.Contains(logs.String(), "sheepdog-demo stopped") {
		t.Errorf("no stop log line: %s", logs)
	}
	if _, err := http.Get("http://" + addr + "/metrics"); err == nil {
		t.Error("exporter still answering after shutdown")
	}
}

// needTool finds a Prometheus tool. A missing one fails the test: CI
// installs the Debian prometheus package, and a skip would hide its absence.
func needTool(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		t.Fatalf("%s not found: install the Debian package prometheus (apt-get install prometheus): %v", name, err)
	}
	return p
}

// backfillInto writes hours of history ending at end and imports it with the
// real promtool into dir.
func backfillInto(t *testing.T, dir string, end time.Time, hours float64, labels string) {
	t.Helper()
	promtool := needTool(t, "promtool")
	om := filepath.Join(t.TempDir(), "history.om")
	var errb bytes.Buffer
	args := []string{"backfill", "--days", strconv.FormatFloat(hours/24, 'f', -1, 64), "--end", strconv.FormatInt(end.Unix(), 10), "--out", om, "--labels", labels}
	if err := run(context.Background(), args, io.Discard, &errb); err != nil {
		t.Fatalf("backfill: %v", err)
	}
	cmd := exec.Command(promtool, "tsdb", "create-blocks-from", "openmetrics", om, dir)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("promtool rejected the backfill: %v\n%s", err, out)
	}
}

func TestBackfillAcceptedByPromtool(t *testing.T) {
	dir := t.TempDir()
	end := time.Date(2026, 3, 10, 14, 0, 0, 0, time.UTC)
	backfillInto(t, dir, end, 6, "")
	blocks, _ := filepath.Glob(filepath.Join(dir, "*", "meta.json"))
	if len(blocks) < 3 {
		t.Fatalf("promtool wrote %d blocks for 6h, want >= 3", len(blocks))
	}
	// promtool's own reader sees every series.
	out, err := exec.Command(needTool(t, "promtool"), "tsdb", "analyze", dir).CombinedOutput()
	if err != nil {
		t.Fatalf("promtool tsdb analyze: %v\n%s", err, out)
	}
	for _, name := range demogen.ExportedMetrics() {
		if !strings.Contains(string(out), name) {
			t.Errorf("analyze output lacks %s:\n%s", name, out)
		}
	}
}

// TestHistoryJoinsLiveInPrometheus is the stack in miniature: history
// backfilled with promtool, then a real Prometheus scraping the live exporter.
// The two must meet without a seam: backfilled samples equal the generator's
// values, and rate(request_count) across the join shows no reset or jump.
func TestHistoryJoinsLiveInPrometheus(t *testing.T) {
	if testing.Short() {
		t.Skip("starts Prometheus")
	}
	g := newGen(t)
	now := time.Now().Truncate(time.Second)
	exporter := httptest.NewServer(demogen.NewHandler(g, time.Now))
	t.Cleanup(exporter.Close) // after Prometheus (registered later) has stopped scraping it
	u, _ := url.Parse(exporter.URL)
	prom := testprom.Start(t, testprom.Options{
		// The history is the backfill command's own output, as the stack makes it.
		OpenMetrics: func(w io.Writer) error {
			var errb bytes.Buffer
			args := []string{"backfill", "--days", strconv.FormatFloat(2.0/24, 'f', -1, 64), "--end", strconv.FormatInt(now.Unix(), 10), "--out", "-", "--labels", "job=demo,instance=" + u.Host}
			if err := run(context.Background(), args, w, &errb); err != nil {
				return fmt.Errorf("backfill: %w (%s)", err, errb.String())
			}
			return nil
		},
		ScrapeConfigs:  fmt.Sprintf("- job_name: demo\n  static_configs: [{targets: [%q]}]", u.Host),
		ScrapeInterval: time.Second,
	})

	api := prom.URL + "/api/v1/"
	query := func(path string, v url.Values) (model.Matrix, error) {
		resp, err := http.Get(api + path + "?" + v.Encode())
		if err != nil {
			return nil, err
		}
		defer resp.Body.Close()
		var r struct {
			Status string `json:"status"`
			Error  string `json:"error"`
			Data   struct {
				Result json.RawMessage `json:"result"`
			} `json:"data"`
		}
		if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
			return nil, err
		}
		if r.Status != "success" {
			return nil, fmt.Errorf("%s", r.Error)
		}
		var m model.Matrix
		return m, json.Unmarshal(r.Data.Result, &m)
	}
	// Wait for a few live scrapes (every second; generous for a loaded CI machine).
	const liveWait = 60 * time.Second
	deadline := time.Now().Add(liveWait)
	for {
		m, err := query("query_range", url.Values{"query": {`cpu_usage{host="web-1"}`}, "start": {fmt.Sprint(now.Unix() + 1)}, "end": {fmt.Sprint(time.Now().Unix())}, "step": {"1"}})
		if err == nil && len(m) == 1 && len(m[0].Values) >= 8 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no live samples after %s (err %v, got %v)\nprometheus log:\n%s", liveWait, err, m, prom.LogTail())
		}
		time.Sleep(500 * time.Millisecond)
	}
	end := time.Now()

	// Backfilled samples are the generator's values, exactly.
	m, err := query("query_range", url.Values{"query": {"cpu_usage"}, "start": {fmt.Sprint(now.Add(-time.Hour).Truncate(15 * time.Second).Unix())}, "end": {fmt.Sprint(now.Unix())}, "step": {"15"}})
	if err != nil || len(m) != 3 {
		t.Fatalf("history query: %v, %d series", err, len(m))
	}
	for _, s := range m {
		host := string(s.Metric["host"])
		for _, p := range s.Values {
			want, _ := g.Value(host, "cpu_usage", p.Timestamp.Time())
			if float64(p.Value) != want {
				t.Fatalf("cpu_usage{host=%q} at %s = %v, want %v", host, p.Timestamp.Time(), p.Value, want)
			}
		}
	}

	// Across the join, the request rate stays within the generator's range:
	// no negative values and no jump that a seam or reset would make.
	m, err = query("query_range", url.Values{"query": {"rate(request_count[1m])"}, "start": {fmt.Sprint(now.Add(-10 * time.Minute).Unix())}, "end": {fmt.Sprint(end.Unix())}, "step": {"1"}})
	if err != nil || len(m) != 3 {
		t.Fatalf("rate query: %v, %d series", err, len(m))
	}
	for _, s := range m {
		host := string(s.Metric["host"])
		var after int
		for _, p := range s.Values {
			ts := p.Timestamp.Time()
			if ts.After(now) {
				after++
			}
			lo, hi := math.Inf(1), math.Inf(-1)
			// The true rate over the window [ts-1m, ts], allowing for incidents.
			for q := ts.Add(-time.Minute); !q.After(ts); q = q.Add(5 * time.Second) {
				a, _ := g.Value(host, "request_count", q.Add(-5*time.Second))
				b, _ := g.Value(host, "request_count", q)
				r := (b - a) / 5
				lo, hi = math.Min(lo, r), math.Max(hi, r)
			}
			if v := float64(p.Value); v < 0.8*lo || v > 1.2*hi {
				t.Errorf("rate(request_count{host=%q}) at %s = %.1f, true rate within [%.1f, %.1f]", host, ts.Format(time.TimeOnly), v, lo, hi)
			}
		}
		if after < 5 {
			t.Errorf("%s: only %d rate points after the join", host, after)
		}
	}
}

func TestAlertWebhookReceiver(t *testing.T) {
	srv := httptest.NewServer(demogen.NewHandler(newGen(t), time.Now))
	defer srv.Close()
	// The shape Grafana's webhook contact point sends (abridged).
	payload := `{"receiver":"sheepdog-demo-webhook","status":"firing","title":"[FIRING:1] Anomaly in cpu_usage",
	  "alerts":[{"status":"firing","labels":{"alertname":"Anomaly in cpu_usage","host":"web-1"},
	  "annotations":{"summary":"cpu_usage on web-1 is anomalous"},"startsAt":"2026-03-10T14:00:00Z","endsAt":"0001-01-01T00:00:00Z","values":{"B":0.5,"C":1}}]}`
	for i, c := range []struct {
		body string
		want int
	}{{payload, 204}, {`{"alerts":[]}`, 400}, {`not json`, 400}, {strings.Repeat(" ", 2<<20), 413}} {
		resp, err := http.Post(srv.URL+"/alerts", "application/json", strings.NewReader(c.body))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != c.want {
			t.Errorf("post %d: status %d, want %d", i, resp.StatusCode, c.want)
		}
	}
	resp, err := http.Get(srv.URL + "/alerts")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var got struct {
		Total         int                            `json:"total"`
		Notifications []demogen.ReceivedNotification `json:"notifications"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&got); err != nil {
		t.Fatal(err)
	}
	if got.Total != 1 || len(got.Notifications) != 1 || got.Notifications[0].Alerts[0].Labels["host"] != "web-1" {
		t.Fatalf("receiver kept %+v", got)
	}
}
