package remote

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/sheepdog-anomaly/sheepdog/pkg/detector"
	"github.com/sheepdog-anomaly/sheepdog/pkg/engine"
)

const testKey = "hs_live_9f8e7d6c5b4a39281706abcd"

var (
	buildOnce sync.Once
	buildDir  string
	buildPath string
	buildErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if buildDir != "" {
		_ = os.RemoveAll(buildDir)
	}
	os.Exit(code)
}

// serverBinary builds cmd/sheepdog-api once per test binary run.
func serverBinary(tb testing.TB) string {
	tb.Helper()
	buildOnce.Do(func() {
		buildDir, buildErr = os.MkdirTemp("", "sheepdog-api-test")
		if buildErr != nil {
			return
		}
		buildPath = filepath.Join(buildDir, "sheepdog-api")
		cmd := exec.Command("go", "build", "-o", buildPath, "github.com/sheepdog-anomaly/sheepdog/cmd/sheepdog-api")
		out, err := cmd.CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build cmd/sheepdog-api: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		tb.Fatal(buildErr)
	}
	return buildPath
}

// apiProcess is a real sheepdog-api process on a free 127.0.0.1 port.
type apiProcess struct {
	URL    string
	cmd    *exec.Cmd
	stderr *syncBuffer
	done   chan struct{}
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func startServer(tb testing.TB, args ...string) *apiProcess {
	tb.Helper()
	bin := serverBinary(tb)
	cmd := exec.Command(bin, append([]string{"--listen", "127.0.0.1:0", "--log-level", "warn"}, args...)...)
	cmd.Env = append(os.Environ(), "SHEEPDOG_API_KEYS="+testKey)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		tb.Fatal(err)
	}
	p := &apiProcess{cmd: cmd, stderr: &syncBuffer{}, done: make(chan struct{})}
	cmd.Stderr = p.stderr
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	go func() { _ = cmd.Wait(); close(p.done) }()
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if u, ok := strings.CutPrefix(sc.Text(), "listening on "); ok {
				addr <- u
			}
		}
	}()
	select {
	case p.URL = <-addr:
	case <-p.done:
		tb.Fatalf("sheepdog-api exited at start: %s", p.stderr)
	case <-time.After(15 * time.Second):
		p.stop()
		tb.Fatalf("sheepdog-api did not report its address: %s", p.stderr)
	}
	tb.Cleanup(p.stop)
	return p
}

// stop asks for a graceful shutdown and kills after a grace period.
func (p *apiProcess) stop() {
	select {
	case <-p.done:
		return
	default:
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(5 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.done
	}
}

// wave builds n one-minute points of a noisy daily-like wave with a spike at spikeAt (-1: none).
func wave(n, spikeAt int) engine.Series {
	s := engine.Series{Times: make([]int64, n), Values: make([]float64, n)}
	t0 := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC).UnixMilli()
	for i := range n {
		s.Times[i] = t0 + int64(i)*60_000
		s.Values[i] = 100 + 10*math.Sin(2*math.Pi*float64(i)/60) + 0.7*math.Sin(float64(i)*1.3)
		if i == spikeAt {
			s.Values[i] += 90
		}
	}
	return s
}

// waitGoroutines waits for the goroutine count to fall back near a baseline
// (idle connections and their readers take a moment to close).
func waitGoroutines(tb testing.TB, baseline int) int {
	tb.Helper()
	var n int
	// A generous deadline (CI is a loaded 2-core machine); it returns as soon as the count is back.
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		runtime.GC()
		if n = runtime.NumGoroutine(); n <= baseline+2 {
			return n
		}
	}
	buf := make([]byte, 1<<20)
	tb.Fatalf("goroutines %d did not return to baseline %d:\n%s", n, baseline, buf[:runtime.Stack(buf, true)])
	return n
}

func ctxTimeout(tb testing.TB, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	tb.Cleanup(cancel)
	return ctx
}

// detectVia detects as the plugin does: the client alone, or behind
// detector.Fallback with the embedded engine when cfg.Fallback is on.
func detectVia(c *Client, ctx context.Context, series []engine.Series, opt engine.Options) ([]Outcome, error) {
	if !c.cfg.Fallback {
		return c.Detect(ctx, series, opt)
	}
	return detector.Fallback{Primary: c, Secondary: detector.Embedded{}, Count: CountFallback, Logger: c.logger}.Detect(ctx, series, opt)
}
