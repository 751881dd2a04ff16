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
	"sync"
	"syscall"
	"testing"
	"time"
)

// Default binaries, from Debian's prometheus package.
const (
	DefaultPrometheus = "/usr/bin/prometheus"
	DefaultPromtool   = "/usr/bin/promtool"
)

// Server is a running Prometheus serving a generated Dataset.
type Server struct {
	URL  string   // http://127.0.0.1:<port>, https:// with Options.TLS
	Data *Dataset // the ground truth it serves
	Dir  string   // temp dir holding the OpenMetrics input, the TSDB and the log
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

// Start generates data for opt, backfills it with promtool, starts Prometheus
// on a free 127.0.0.1 port and waits until it serves the data. It stops the
// server when t ends. A missing binary fails the test: CI installs the Debian
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
	data := Generate(opt)
	input := filepath.Join(dir, "data.om")
	f, err := os.Create(input)
	if err != nil {
		t.Fatalf("testprom: %v", err)
	}
	if err := data.WriteOpenMetrics(f); err != nil {
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

	config := filepath.Join(dir, "prometheus.yml")
	// No scrape jobs: the server serves only the backfilled blocks.
	if err := os.WriteFile(config, []byte("global:\n  scrape_interval: 1h\nscrape_configs: []\n"), 0o600); err != nil {
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
	t.Cleanup(srv.Stop)
	if err := srv.checkLoaded(); err != nil {
		t.Fatalf("testprom: %v\n%s", err, srv.LogTail())
	}
	t.Logf("testprom: %d series × %d points backfilled in %s; Prometheus serving them at %s after %s",
		len(data.Series), len(data.Series[0].Times), backfilled.Round(time.Millisecond), srv.URL, time.Since(began).Round(time.Millisecond))
	return srv
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
// dropped (out of retention or outside the queryable window).
func (s *Server) checkLoaded() error {
	q := url.Values{
		"query": {"count({__name__=~\".+\"})"},
		"time":  {strconv.FormatInt(s.Data.End.Unix(), 10)},
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
	want := strconv.Itoa(len(s.Data.Series))
	if body.Status != "success" || len(body.Data.Result) != 1 || body.Data.Result[0].Value[1] != want {
		return fmt.Errorf("prometheus does not serve the %s backfilled series at %s (answer %+v)", want, s.Data.End.Format(time.RFC3339), body)
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
