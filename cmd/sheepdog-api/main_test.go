package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

const testKey = "hs_main_test_0123456789abcdef"

func seriesBody(n int) string {
	var b strings.Builder
	b.WriteString(`{"series":[`)
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"timestamp":"%s","value":%d}`, time.Unix(1_700_000_000+int64(i)*60, 0).UTC().Format(time.RFC3339), 10+i%3)
	}
	b.WriteString(`]}`)
	return b.String()
}

// startRun runs the command in-process and returns its base URL.
func startRun(t *testing.T, ctx context.Context, env map[string]string, args ...string) (string, chan error, *bytes.Buffer) {
	t.Helper()
	pr, pw := io.Pipe()
	var logs bytes.Buffer
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, append([]string{"--listen", "127.0.0.1:0"}, args...), func(k string) string { return env[k] }, pw, &logs)
		pw.Close()
	}()
	line, err := bufio.NewReader(pr).ReadString('\n')
	if err != nil {
		t.Fatalf("no address line: %v (%v) %s", err, <-done, logs.String())
	}
	go func() { _, _ = io.Copy(io.Discard, pr) }()
	return strings.TrimSpace(strings.TrimPrefix(line, "listening on ")), done, &logs
}

// inFlight reads the server's sheepdog_api_in_flight_requests gauge from
// /metrics (which is not itself counted).
func inFlight(base string) (float64, error) {
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		return 0, fmt.Errorf("parse /metrics: %w", err)
	}
	f, ok := fams["sheepdog_api_in_flight_requests"]
	if !ok || len(f.Metric) != 1 {
		return 0, fmt.Errorf("/metrics has no sheepdog_api_in_flight_requests gauge")
	}
	return f.Metric[0].GetGauge().GetValue(), nil
}

// TestGracefulShutdown: a request in flight when shutdown starts is answered.
func TestGracefulShutdown(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// The injected latency keeps the request in flight long enough to see it
	// on /metrics and to cancel while it is still being served.
	url, done, logs := startRun(t, ctx, map[string]string{"SHEEPDOG_API_KEYS": testKey}, "--fault-latency", "3s")
	type result struct {
		status int
		err    error
	}
	got := make(chan result, 1)
	go func() {
		req, _ := http.NewRequest(http.MethodPost, url+"/v1/timeseries/entire/detect", strings.NewReader(seriesBody(30)))
		req.Header.Set("Authorization", "Bearer "+testKey)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			got <- result{err: err}
			return
		}
		resp.Body.Close()
		got <- result{status: resp.StatusCode}
	}()
	// Shut down only once the server counts the request as in flight.
	deadline := time.Now().Add(30 * time.Second)
	for {
		n, err := inFlight(url)
		if err == nil && n >= 1 {
			break
		}
		select {
		case r := <-got:
			t.Fatalf("request finished (%d %v) before it was seen in flight", r.status, r.err)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("request not in flight after 30s (gauge %v, %v)", n, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	var r result
	select {
	case r = <-got:
	case <-time.After(60 * time.Second):
		t.Fatal("in-flight request not answered within 60s of shutdown")
	}
	if r.err != nil || r.status != 200 {
		t.Fatalf("in-flight request during shutdown: %d %v", r.status, r.err)
	}
	if err := <-done; err != nil {
		t.Fatalf("run: %v", err)
	}
	if !strings.Contains(logs.String(), "shutting down") {
		t.Errorf("no shutdown log line: %s", logs.String())
	}
	if _, err := http.Get(url + "/v1/health"); err == nil {
		t.Fatal("server still answering after shutdown")
	}
	if strings.Contains(logs.String(), testKey) {
		t.Fatal("key in logs")
	}
}

func TestKeysFileAndFlags(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "keys")
	if err := os.WriteFile(file, []byte("# team keys\nhs_file_key_0123456789abcd, hs_file_key_2_0123456789ab\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	url, done, logs := startRun(t, ctx, nil, "--keys-file", file, "--log-format", "json")
	for key, want := range map[string]int{"hs_file_key_2_0123456789ab": 200, testKey: 401} {
		req, _ := http.NewRequest(http.MethodPost, url+"/v1/timeseries/entire/detect", strings.NewReader(seriesBody(20)))
		req.Header.Set("Authorization", "Bearer "+key)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("key %s: %d, want %d", key[:8], resp.StatusCode, want)
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if strings.Contains(logs.String(), "hs_file_key_2_0123456789ab") || !strings.Contains(logs.String(), `"keys":2`) {
		t.Fatalf("logs: %s", logs.String())
	}

	for _, args := range [][]string{
		{"--fault-error-rate", "1.5"},
		{"--log-format", "xml"},
		{"--keys-file", filepath.Join(dir, "missing")},
		{"stray"},
	} {
		err := run(context.Background(), append([]string{"--listen", "127.0.0.1:0"}, args...), func(string) string { return testKey }, io.Discard, io.Discard)
		if err == nil {
			t.Errorf("%v accepted", args)
		}
	}
	if err := run(context.Background(), nil, func(string) string { return "" }, io.Discard, io.Discard); err == nil || !strings.Contains(err.Error(), "no API keys") {
		t.Errorf("no keys: %v", err)
	}
	// --insecure-no-auth with keys used to serve keyless requests while the
	// admin believed the keys guarded the API: it must refuse to start.
	err := run(context.Background(), []string{"--listen", "127.0.0.1:0", "--insecure-no-auth"}, func(string) string { return testKey }, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "--insecure-no-auth") || !strings.Contains(err.Error(), "API key") {
		t.Errorf("--insecure-no-auth with keys: %v", err)
	}
}
