package provcheck

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/sheepdog-anomaly/sheepdog/cmd/sheepdog-demo/demogen"
)

// DemoPrometheus is a real Prometheus (Debian's binary) serving the demo
// generator's history, backfilled exactly as the compose stack does it.
type DemoPrometheus struct {
	URL string
	Gen *demogen.Generator
	End time.Time // last backfilled sample
}

// StartDemoPrometheus backfills hours of the generator's history ending at
// end with the given extra labels (the job/instance the stack's scrape adds),
// imports it with promtool and starts Prometheus on a free 127.0.0.1 port.
// It stops Prometheus when t ends. Missing binaries fail the test.
func StartDemoPrometheus(t testing.TB, gen *demogen.Generator, end time.Time, hours float64, labels map[string]string) *DemoPrometheus {
	t.Helper()
	prom, promtool := lookTool(t, "prometheus"), lookTool(t, "promtool")
	dir := t.TempDir()
	om := filepath.Join(dir, "history.om")
	f, err := os.Create(om)
	if err != nil {
		t.Fatal(err)
	}
	from := end.Add(-time.Duration(hours * float64(time.Hour)))
	if _, err := demogen.WriteOpenMetrics(context.Background(), f, gen, from, end, 15*time.Second, labels); err != nil {
		t.Fatalf("write backfill: %v", err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	tsdb := filepath.Join(dir, "tsdb")
	if out, err := exec.Command(promtool, "tsdb", "create-blocks-from", "openmetrics", om, tsdb).CombinedOutput(); err != nil {
		t.Fatalf("promtool: %v\n%s", err, out)
	}
	cfg := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(cfg, []byte("global: {scrape_interval: 15s}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	logf, err := os.Create(filepath.Join(dir, "prometheus.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(prom, "--config.file="+cfg, "--storage.tsdb.path="+tsdb, "--web.listen-address="+addr,
		"--storage.tsdb.retention.time=3650d")
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_, _ = cmd.Process.Wait()
		logf.Close()
	})
	p := &DemoPrometheus{URL: "http://" + addr, Gen: gen, End: end}
	deadline := time.Now().Add(60 * time.Second)
	for {
		res, err := p.QueryRange(context.Background(), "count(cpu_usage)", end.Add(-time.Minute), end, 15*time.Second)
		if err == nil && len(res) == 1 {
			return p
		}
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(filepath.Join(dir, "prometheus.log"))
			t.Fatalf("Prometheus did not serve the backfill within 60s (%v)\n%s", err, log)
		}
		time.Sleep(300 * time.Millisecond)
	}
}

func lookTool(t testing.TB, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		t.Fatalf("%s not found: install Debian's prometheus package (apt-get install prometheus): %v", name, err)
	}
	return p
}

// Series is one series of a query_range answer.
type Series struct {
	Metric map[string]string `json:"metric"`
	Values [][2]any          `json:"values"`
}

// QueryRange runs a range query and returns its matrix, or Prometheus's error.
func (p *DemoPrometheus) QueryRange(ctx context.Context, expr string, start, end time.Time, step time.Duration) ([]Series, error) {
	v := url.Values{
		"query": {expr},
		"start": {strconv.FormatInt(start.Unix(), 10)},
		"end":   {strconv.FormatInt(end.Unix(), 10)},
		"step":  {strconv.FormatFloat(step.Seconds(), 'f', -1, 64)},
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.URL+"/api/v1/query_range", bytes.NewBufferString(v.Encode()))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	var r struct {
		Status string `json:"status"`
		Error  string `json:"error"`
		Data   struct {
			ResultType string   `json:"resultType"`
			Result     []Series `json:"result"`
		} `json:"data"`
	}
	if err := json.Unmarshal(body, &r); err != nil {
		return nil, fmt.Errorf("decode answer (%d): %w", resp.StatusCode, err)
	}
	if r.Status != "success" {
		return nil, fmt.Errorf("%s", r.Error)
	}
	return r.Data.Result, nil
}
