// Command sheepdog-demo generates the demo metrics of the Sheepdog stack.
//
//	sheepdog-demo [serve] [flags]      Prometheus exporter: /metrics, /incidents, /healthz
//	sheepdog-demo backfill [flags]     history as OpenMetrics for `promtool tsdb create-blocks-from openmetrics`
//	sheepdog-demo incidents [flags]    print the incident schedule as JSON
//
// The exporter and the backfill share one generator, a pure function of the
// seed and the time, so backfilled history and live scrapes join seamlessly.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/sheepdog-anomaly/sheepdog/cmd/sheepdog-demo/demogen"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(0)
		}
		fmt.Fprintln(os.Stderr, "sheepdog-demo:", err)
		os.Exit(1)
	}
}

const usage = `usage:
  sheepdog-demo [serve] [flags]     run the Prometheus exporter
  sheepdog-demo backfill [flags]    write history as OpenMetrics for promtool
  sheepdog-demo incidents [flags]   print the incident schedule as JSON
Run a command with -h for its flags.`

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cmd := "serve"
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		cmd, args = args[0], args[1:]
	}
	switch cmd {
	case "serve":
		return serve(ctx, args, stderr)
	case "backfill":
		return backfill(ctx, args, stdout, stderr)
	case "incidents":
		return incidents(args, stdout, stderr)
	case "help":
		fmt.Fprintln(stdout, usage)
		return nil
	}
	return fmt.Errorf("unknown command %q\n%s", cmd, usage)
}

// generatorFlags registers the flags every command shares.
func generatorFlags(fs *flag.FlagSet) func() (*demogen.Generator, error) {
	def := demogen.DefaultConfig()
	hosts := fs.String("hosts", strings.Join(def.Hosts, ","), "comma-separated host names, or a count N for host-1..host-N")
	seed := fs.Uint64("seed", def.Seed, "random seed: one seed, one history")
	every := fs.Duration("incident-every", def.IncidentEvery, "one incident per interval, at a seeded time inside it (minimum 10m)")
	kinds := fs.String("incidents", "", "comma-separated incident kinds to schedule (default all: spike,dip,level_shift,drift,flatline)")
	noise := fs.Float64("noise", def.NoiseScale, "noise scale (0 = no noise, 1 = default)")
	return func() (*demogen.Generator, error) {
		cfg := def
		cfg.Seed, cfg.IncidentEvery, cfg.NoiseScale = *seed, *every, *noise
		hs, err := parseHosts(*hosts)
		if err != nil {
			return nil, err
		}
		cfg.Hosts = hs
		if *kinds != "" {
			for _, k := range strings.Split(*kinds, ",") {
				cfg.Kinds = append(cfg.Kinds, demogen.Kind(strings.TrimSpace(k)))
			}
		}
		return demogen.New(cfg)
	}
}

func parseHosts(s string) ([]string, error) {
	if n, err := strconv.Atoi(strings.TrimSpace(s)); err == nil {
		if n < 1 || n > 1000 {
			return nil, fmt.Errorf("--hosts %d: want 1..1000 hosts", n)
		}
		hs := make([]string, n)
		for i := range hs {
			hs[i] = fmt.Sprintf("host-%d", i+1)
		}
		return hs, nil
	}
	var hs []string
	for _, h := range strings.Split(s, ",") {
		if h = strings.TrimSpace(h); h != "" {
			hs = append(hs, h)
		}
	}
	return hs, nil
}

func serve(ctx context.Context, args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	listen := fs.String("listen", "127.0.0.1:9464", "address to serve /metrics and /incidents on (use 0.0.0.0:9464 in a container)")
	newGen := generatorFlags(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	gen, err := newGen()
	if err != nil {
		return err
	}
	log := slog.New(slog.NewJSONHandler(stderr, nil))
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", *listen, err)
	}
	srv := &http.Server{
		Handler:           demogen.NewHandler(gen, time.Now),
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      30 * time.Second,
	}
	cfg := gen.Config()
	log.Info("sheepdog-demo serving", "addr", ln.Addr().String(), "hosts", cfg.Hosts, "seed", cfg.Seed, "incidentEvery", cfg.IncidentEvery.String())
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	shutCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutCtx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	log.Info("sheepdog-demo stopped")
	return nil
}

func backfill(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("backfill", flag.ContinueOnError)
	fs.SetOutput(stderr)
	days := fs.Float64("days", 3, "days of history to write, ending at --end")
	step := fs.Duration("step", 15*time.Second, "sample interval (match Prometheus's scrape interval)")
	end := fs.String("end", "", "last timestamp (unix seconds or RFC3339; default now)")
	out := fs.String("out", "-", "output file (- for stdout)")
	labels := fs.String("labels", "", "labels to add to every series, as Prometheus adds them when scraping: job=sheepdog-demo,instance=sheepdog-demo:9464")
	newGen := generatorFlags(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *days <= 0 || *days > 60 {
		return fmt.Errorf("--days %v: want more than 0 and at most 60", *days)
	}
	gen, err := newGen()
	if err != nil {
		return err
	}
	to, err := demogen.ParseTimeParam(*end, time.Now())
	if err != nil {
		return fmt.Errorf("--end: %w", err)
	}
	from := to.Add(-time.Duration(*days * float64(24*time.Hour)))
	w := stdout
	var f *os.File
	if *out != "-" {
		// Write to a temporary name and rename, so a crash never leaves a
		// truncated file that promtool would half-import.
		f, err = os.CreateTemp(dirOf(*out), ".backfill-*.om")
		if err != nil {
			return fmt.Errorf("create backfill file: %w", err)
		}
		defer os.Remove(f.Name())
		w = f
	}
	extra, err := parseLabels(*labels)
	if err != nil {
		return fmt.Errorf("--labels: %w", err)
	}
	n, err := demogen.WriteOpenMetrics(ctx, w, gen, from, to, *step, extra)
	if err != nil {
		if f != nil {
			f.Close()
		}
		return err
	}
	if f != nil {
		if err := f.Chmod(0o644); err != nil {
			f.Close()
			return fmt.Errorf("backfill file permissions: %w", err)
		}
		if err := f.Close(); err != nil {
			return fmt.Errorf("close backfill file: %w", err)
		}
		if err := os.Rename(f.Name(), *out); err != nil {
			return fmt.Errorf("move backfill file into place: %w", err)
		}
	}
	fmt.Fprintf(stderr, "sheepdog-demo: wrote %d samples from %s to %s every %s\n", n, from.UTC().Format(time.RFC3339), to.UTC().Format(time.RFC3339), *step)
	return nil
}

func parseLabels(s string) (map[string]string, error) {
	out := map[string]string{}
	for _, kv := range strings.Split(s, ",") {
		if kv = strings.TrimSpace(kv); kv == "" {
			continue
		}
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("%q: want name=value", kv)
		}
		out[strings.TrimSpace(k)] = strings.TrimSpace(v)
	}
	return out, nil
}

func dirOf(path string) string {
	if i := strings.LastIndexByte(path, '/'); i >= 0 {
		if i == 0 {
			return "/"
		}
		return path[:i]
	}
	return "."
}

func incidents(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("incidents", flag.ContinueOnError)
	fs.SetOutput(stderr)
	from := fs.String("from", "-24h", "start (unix seconds, RFC3339 or a duration relative to now)")
	to := fs.String("to", "24h", "end (unix seconds, RFC3339 or a duration relative to now)")
	newGen := generatorFlags(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	gen, err := newGen()
	if err != nil {
		return err
	}
	now := time.Now()
	f, err := demogen.ParseTimeParam(*from, now)
	if err != nil {
		return fmt.Errorf("--from: %w", err)
	}
	t, err := demogen.ParseTimeParam(*to, now)
	if err != nil {
		return fmt.Errorf("--to: %w", err)
	}
	if !t.After(f) {
		return errors.New("--to must be after --from")
	}
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(demogen.NewSchedule(gen, f, t, now))
}
