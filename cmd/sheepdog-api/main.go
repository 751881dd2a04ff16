// Command sheepdog-api is the reference server of Sheepdog's open anomaly API
// (api/openapi.yaml), answering with the embedded engine. See docs/api.md.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/sheepdog-anomaly/sheepdog/cmd/sheepdog-api/internal/server"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	err := run(context.Background(), os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	switch {
	case errors.Is(err, flag.ErrHelp):
	case err != nil:
		fmt.Fprintln(os.Stderr, "sheepdog-api:", err)
		os.Exit(1)
	}
}

// run serves until ctx is cancelled or SIGINT/SIGTERM arrives, then shuts
// down gracefully. The listening address is printed on stdout.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("sheepdog-api", flag.ContinueOnError)
	var (
		listen          = fs.String("listen", "127.0.0.1:8080", "address to listen on (host:port; port 0 picks a free one)")
		keysFile        = fs.String("keys-file", "", "file of API keys, one per line or comma-separated (# comments); adds to $SHEEPDOG_API_KEYS")
		noAuth          = fs.Bool("insecure-no-auth", false, "serve without API keys (local demos only; refused when keys are configured)")
		authFailLimit   = fs.Int("auth-fail-limit", server.DefaultAuthFailLimit, "failed authentications from one client IP within --auth-fail-window that lock it out (429); -1 = never")
		authFailWindow  = fs.Duration("auth-fail-window", server.DefaultAuthFailWindow, "window in which --auth-fail-limit failures are counted")
		authLockout     = fs.Duration("auth-lockout", server.DefaultAuthLockout, "how long a locked-out client IP gets 429 with Retry-After")
		rateLimit       = fs.Float64("rate-limit", 0, "requests per second per key; 0 = unlimited")
		rateBurst       = fs.Int("rate-burst", 0, "rate-limit burst; 0 = ceil(rate-limit)")
		maxBody         = fs.Int64("max-body-bytes", server.DefaultMaxBodyBytes, "largest request body; larger gets 413")
		maxPoints       = fs.Int("max-points", server.DefaultMaxPoints, "most points per series; more gets 400")
		minPoints       = fs.Int("min-points", server.DefaultMinPoints, "fewest points per series; fewer gets 400")
		maxBatchItems   = fs.Int("max-batch-items", server.DefaultMaxBatchItems, "most series per request on the batch route; more gets 400")
		historyPoints   = fs.Int("history-points", server.DefaultHistoryPoints, "snapshot history kept per key and metric")
		maxMetrics      = fs.Int("max-metrics-per-key", server.DefaultMaxMetricsPerKey, "snapshot metrics tracked per key (least recently updated evicted)")
		readTimeout     = fs.Duration("read-timeout", 30*time.Second, "time to read a whole request")
		writeTimeout    = fs.Duration("write-timeout", 60*time.Second, "time to answer a request, from the end of its headers")
		idleTimeout     = fs.Duration("idle-timeout", 120*time.Second, "keep-alive idle timeout")
		shutdownTimeout = fs.Duration("shutdown-timeout", 30*time.Second, "grace for in-flight requests on SIGINT/SIGTERM")
		logFormat       = fs.String("log-format", "text", "log format: text or json")
		logLevel        = fs.String("log-level", "info", "log level: debug, info, warn, error")
		showVersion     = fs.Bool("version", false, "print the version and exit")

		faultLatency    = fs.Duration("fault-latency", 0, "FAULT: latency added to every detection request")
		faultJitter     = fs.Duration("fault-latency-jitter", 0, "FAULT: extra uniform random latency up to this")
		faultErrorRate  = fs.Float64("fault-error-rate", 0, "FAULT: share of detection requests answered with --fault-error-status (0..1)")
		faultErrStatus  = fs.Int("fault-error-status", 503, "FAULT: status of injected errors")
		faultThrottle   = fs.Float64("fault-429-rate", 0, "FAULT: share answered 429 (0..1)")
		faultRetryAfter = fs.Duration("fault-retry-after", time.Second, "FAULT: Retry-After on injected 429s; 0 sends none")
		faultDrop       = fs.Float64("fault-drop-rate", 0, "FAULT: share whose TCP connection is reset without an answer (0..1)")
		faultMalformed  = fs.Float64("fault-malformed-rate", 0, "FAULT: share answered 200 with truncated JSON (0..1)")
		faultFirst      = fs.Int("fault-first", 0, "FAULT: fault only the first N detection requests (a burst); 0 = all")
		faultSeed       = fs.Uint64("fault-seed", 1, "FAULT: random seed")
	)
	fs.SetOutput(stderr)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *showVersion {
		fmt.Fprintln(stdout, "sheepdog-api", version)
		return nil
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	logger, err := newLogger(*logFormat, *logLevel, stderr)
	if err != nil {
		return err
	}
	keys := server.ParseKeys(getenv("SHEEPDOG_API_KEYS"))
	if *keysFile != "" {
		text, err := os.ReadFile(*keysFile)
		if err != nil {
			return fmt.Errorf("read keys file: %w", err)
		}
		keys = append(keys, server.ParseKeys(string(text))...)
	}
	cfg := server.Config{
		Keys: keys, AllowNoAuth: *noAuth,
		RateLimit: *rateLimit, RateBurst: *rateBurst,
		MaxBodyBytes: *maxBody, MaxPoints: *maxPoints, MinPoints: *minPoints, MaxBatchItems: *maxBatchItems,
		HistoryPoints: *historyPoints, MaxMetricsPerKey: *maxMetrics,
		AuthFailLimit: *authFailLimit, AuthFailWindow: *authFailWindow, AuthLockout: *authLockout,
		Version: version, Logger: logger,
		Faults: server.Faults{
			Latency: *faultLatency, LatencyJitter: *faultJitter,
			ErrorRate: *faultErrorRate, ErrorStatus: *faultErrStatus,
			ThrottleRate: *faultThrottle, RetryAfter: *faultRetryAfter,
			DropRate: *faultDrop, MalformedRate: *faultMalformed,
			First: *faultFirst, Seed: *faultSeed,
		},
	}
	srv, err := server.New(cfg)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", *listen, err)
	}
	httpSrv := &http.Server{
		Handler:           srv.Handler(),
		ReadHeaderTimeout: min(*readTimeout, 10*time.Second),
		ReadTimeout:       *readTimeout,
		WriteTimeout:      *writeTimeout,
		IdleTimeout:       *idleTimeout,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	// The address line is printed on stdout so scripts and tests that pass
	// port 0 can read where the server is.
	fmt.Fprintf(stdout, "listening on http://%s\n", ln.Addr())
	logger.Info("sheepdog-api started", "addr", ln.Addr().String(), "version", version, "keys", len(keys),
		"no_auth", *noAuth, "rate_limit", *rateLimit, "faults", cfg.Faults.Enabled())
	if cfg.Faults.Enabled() {
		logger.Warn("fault injection is ON", "latency", *faultLatency, "error_rate", *faultErrorRate,
			"429_rate", *faultThrottle, "drop_rate", *faultDrop, "malformed_rate", *faultMalformed, "first", *faultFirst)
	}

	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	serveErr := make(chan error, 1)
	go func() { serveErr <- httpSrv.Serve(ln) }()
	select {
	case err := <-serveErr:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	logger.Info("shutting down: finishing in-flight requests", "grace", *shutdownTimeout)
	shutdownCtx, cancel := context.WithTimeout(context.Background(), *shutdownTimeout)
	defer cancel()
	if err := httpSrv.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-serveErr; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve: %w", err)
	}
	logger.Info("stopped")
	return nil
}

func newLogger(format, level string, out io.Writer) (*slog.Logger, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("--log-level: %w", err)
	}
	opts := &slog.HandlerOptions{Level: lv}
	switch strings.ToLower(format) {
	case "text":
		return slog.New(slog.NewTextHandler(out, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(out, opts)), nil
	}
	return nil, fmt.Errorf("--log-format %q: want text or json", format)
}
