package testprom

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/common/model"
)

// Default binaries, from Debian's prometheus package.
const (
	DefaultPrometheus = "/usr/bin/prometheus"
	DefaultPromtool   = "/usr/bin/promtool"
)

// Server is a running Prometheus serving a generated Dataset, or the
// OpenMetrics text given in Options.OpenMetrics.
type Server struct {
	URL  string   // http://127.0.0.1:<port>, https:// with Options.TLS
	Data *Dataset // the ground truth it serves; nil with Options.OpenMetrics
	Dir  string   // temp dir holding the OpenMetrics input, the TSDB and the log
	// BackfillEnd is the time of the last backfilled sample.
	BackfillEnd time.Time
	// CACertPEM is the server's self-signed certificate (Options.TLS), to trust as a CA.
	CACertPEM string
	// BasicAuth is set when the server demands BasicAuthUser/BasicAuthPassword.
	BasicAuth bool

	cmd     *exec.Cmd
	logPath string
	done    chan struct{}
	waitErr error
	stop    sync.Once
}

// Start writes the OpenMetrics input (the generated data for opt, or
// opt.OpenMetrics), backfills it with promtool, starts Prometheus on a free
// 127.0.0.1 port and waits until it serves the backfill. It stops the server
// when t ends. A missing binary fails the test: CI installs the Debian
// prometheus package, and a skipped integration test would hide that.
func Start(t testing.TB, opt Options) *Server {
	t.Helper()
	opt = opt.withDefaults(time.Now())
	prom := binary(opt.Prometheus, "SHEEPDOG_PROMETHEUS", DefaultPrometheus)
	promtool := binary(opt.Promtool, "SHEEPDOG_PROMTOOL", DefaultPromtool)
	for _, bin := range []string{prom, promtool} {
		if _, err := os.Stat(bin); err != nil {
			t.Fatalf("testprom: %s not found (%v): install the Debian package (apt-get install prometheus) or set SHEEPDOG_PROMETHEUS / SHEEPDOG_PROMTOOL", bin, err)
		}
	}

	dir := t.TempDir()
	var data *Dataset
	write := opt.OpenMetrics
	if write == nil {
		data = Generate(opt)
		write = data.WriteOpenMetrics
	}
	input := filepath.Join(dir, "data.om")
	f, err := os.Create(input)
	if err != nil {
		t.Fatalf("testprom: %v", err)
	}
	if err := write(f); err != nil {
		f.Close()
		t.Fatalf("testprom: write OpenMetrics: %v", err)
	}
	if err := f.Close(); err != nil {
		t.Fatalf("testprom: %v", err)
	}

	tsdb := filepath.Join(dir, "tsdb")
	began := time.Now()
	backfill := exec.Command(promtool, "tsdb", "create-blocks-from", "openmetrics", "--quiet", input, tsdb)
	if out, err := backfill.CombinedOutput(); err != nil {
		t.Fatalf("testprom: promtool backfill failed: %v\n%s", err, out)
	}
	backfilled := time.Since(began)
	end, err := blocksEnd(tsdb)
	if err != nil {
		t.Fatalf("testprom: %v", err)
	}

	config := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(config, []byte(promConfig(opt)), 0o600); err != nil {
		t.Fatalf("testprom: %v", err)
	}

	webConfig, caPEM, err := writeWebConfig(dir, opt)
	if err != nil {
		t.Fatalf("testprom: web config: %v", err)
	}

	var srv *Server
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		srv, lastErr = launch(prom, config, webConfig, caPEM, opt.BasicAuth, tsdb, dir, data)
		if lastErr == nil {
			break
		}
	}
	if lastErr != nil {
		t.Fatalf("testprom: %v", lastErr)
	}
	srv.BackfillEnd = end
	t.Cleanup(srv.Stop)
	if err := srv.checkLoaded(); err != nil {
		t.Fatalf("testprom: %v\n%s", err, srv.LogTail())
	}
	what := "the given OpenMetrics"
	if data != nil {
		what = fmt.Sprintf("%d series × %d points", len(data.Series), len(data.Series[0].Times))
	}
	t.Logf("testprom: %s backfilled in %s; Prometheus serving them at %s after %s",
		what, backfilled.Round(time.Millisecond), srv.URL, time.Since(began).Round(time.Millisecond))
	return srv
}

// promConfig is prometheus.yml: no scrape jobs unless opt asks for some.
func promConfig(opt Options) string {
	interval := opt.ScrapeInterval
	if interval <= 0 {
		interval = time.Hour
	}
	jobs := strings.TrimSpace(opt.ScrapeConfigs)
	if jobs == "" {
		jobs = "[]"
	} else {
		jobs = "\n" + jobs
	}
	return fmt.Sprintf("global:\n  scrape_interval: %s\nscrape_configs: %s\n", model.Duration(interval), jobs)
}

// blocksEnd is the end of the newest block promtool wrote: one past the last
// backfilled sample, in block meta's exclusive maxTime.
func blocksEnd(tsdb string) (time.Time, error) {
	metas, err := filepath.Glob(filepath.Join(tsdb, "*", "meta.json"))
	if err != nil || len(metas) == 0 {
		return time.Time{}, fmt.Errorf("promtool wrote no blocks into %s (empty OpenMetrics input?)", tsdb)
	}
	var maxT int64
	for _, p := range metas {
		b, err := os.ReadFile(p)
		if err != nil {
			return time.Time{}, fmt.Errorf("read block meta: %w", err)
		}
		var meta struct {
			MaxTime int64 `json:"maxTime"`
		}
		if err := json.Unmarshal(b, &meta); err != nil {
			return time.Time{}, fmt.Errorf("decode block meta %s: %w", p, err)
		}
		maxT = max(maxT, meta.MaxTime)
	}
	return time.UnixMilli(maxT - 1).UTC(), nil
}

func binary(explicit, env, def string) string {
	if explicit != "" {
		return explicit
	}
	if v := os.Getenv(env); v != "" {
		return v
	}
	return def
}

// launch starts Prometheus on a free port and waits for /-/ready. A port
// taken between choosing and binding shows as an early exit; Start retries.
func launch(prom, config, webConfig, caPEM string, basicAuth bool, tsdb, dir string, data *Dataset) (*Server, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	logPath := filepath.Join(dir, "prometheus.log")
	logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return nil, err
	}
	addr := "127.0.0.1:" + strconv.Itoa(port)
	args := []string{
		"--config.file=" + config,
		"--storage.tsdb.path=" + tsdb,
		"--storage.tsdb.retention.time=36500d",
		"--web.listen-address=" + addr,
		"--log.level=info",
	}
	if webConfig != "" {
		args = append(args, "--web.config.file="+webConfig)
	}
	cmd := exec.Command(prom, args...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = sysProcAttr()
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return nil, fmt.Errorf("start %s: %w", prom, err)
	}
	scheme := "http://"
	if caPEM != "" {
		scheme = "https://"
	}
	s := &Server{URL: scheme + addr, Data: data, Dir: dir, CACertPEM: caPEM, BasicAuth: basicAuth, cmd: cmd, logPath: logPath, done: make(chan struct{})}
	go func() {
		s.waitErr = cmd.Wait()
		logFile.Close()
		close(s.done)
	}()

	deadline := time.Now().Add(60 * time.Second)
	client := s.HTTPClient()
	client.Timeout = 2 * time.Second
	for time.Now().Before(deadline) {
		select {
		case <-s.done:
			return nil, fmt.Errorf("prometheus exited before it was ready (%v)\n%s", s.waitErr, s.LogTail())
		default:
		}
		resp, err := client.Get(s.URL + "/-/ready")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return s, nil
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	s.Stop()
	return nil, fmt.Errorf("prometheus not ready on %s after 60s\n%s", addr, s.LogTail())
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// checkLoaded makes sure the backfilled blocks are served, not silently
// dropped (out of retention or outside the queryable window): every
// generated series, or with Options.OpenMetrics at least one series, at the
// last backfilled sample.
func (s *Server) checkLoaded() error {
	q := url.Values{
		"query": {"count({__name__=~\".+\"})"},
		"time":  {strconv.FormatFloat(float64(s.BackfillEnd.UnixMilli())/1000, 'f', -1, 64)},
	}
	resp, err := s.HTTPClient().Get(s.URL + "/api/v1/query?" + q.Encode())
	if err != nil {
		return fmt.Errorf("query the backfilled data: %w", err)
	}
	defer resp.Body.Close()
	var body struct {
		Status string `json:"status"`
		Data   struct {
			Result []struct {
				Value [2]any `json:"value"`
			} `json:"result"`
		} `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		return fmt.Errorf("decode the check query: %w", err)
	}
	var got string
	if body.Status == "success" && len(body.Data.Result) == 1 {
		got, _ = body.Data.Result[0].Value[1].(string)
	}
	if s.Data != nil {
		if want := strconv.Itoa(len(s.Data.Series)); got != want {
			return fmt.Errorf("prometheus does not serve the %s backfilled series at %s (answer %+v)", want, s.BackfillEnd.Format(time.RFC3339), body)
		}
		return nil
	}
	if n, err := strconv.Atoi(got); err != nil || n < 1 {
		return fmt.Errorf("prometheus serves no backfilled series at %s (answer %+v)", s.BackfillEnd.Format(time.RFC3339), body)
	}
	return nil
}

// Stop terminates Prometheus (SIGTERM, then SIGKILL after 10s). Safe to call twice.
func (s *Server) Stop() {
	s.stop.Do(func() {
		if s.cmd.Process == nil {
			return
		}
		_ = s.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-s.done:
		case <-time.After(10 * time.Second):
			_ = s.cmd.Process.Kill()
			<-s.done
		}
	})
}

// LogTail is the end of Prometheus's log, for failure messages.
func (s *Server) LogTail() string {
	b, err := os.ReadFile(s.logPath)
	if err != nil {
		return ""
	}
	const max = 4000
	if len(b) > max {
		b = b[len(b)-max:]
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			b = b[i+1:]
		}
	}
	return string(b)
}

// Query runs an instant query and returns the raw JSON answer: a small helper
// for tests that want to look at the server directly.
func (s *Server) Query(ctx context.Context, expr string, at time.Time) ([]byte, error) {
	q := url.Values{"query": {expr}, "time": {strconv.FormatFloat(float64(at.UnixMilli())/1000, 'f', -1, 64)}}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.URL+"/api/v1/query?"+q.Encode(), nil)
	if err != nil {
		return nil, err
	}
	resp, err := s.HTTPClient().Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var buf bytes.Buffer
	if _, err := buf.ReadFrom(resp.Body); err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, errors.New(buf.String())
	}
	return buf.Bytes(), nil
}
