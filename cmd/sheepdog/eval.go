package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/sheepdog-anomaly/sheepdog/pkg/engine"
	"github.com/sheepdog-anomaly/sheepdog/pkg/tscsv"
)

type manifest struct {
	Series []manifestSeries `json:"series"`
}

type manifestSeries struct {
	File            string     `json:"file"`
	IntervalSeconds float64    `json:"interval_seconds"`
	AnomalyWindows  [][2]int64 `json:"anomaly_windows"`
}

// baselineName labels the rolling z-score comparison in the tables.
const baselineName = "zscore-1d-3sigma"

type evalJob struct {
	idx int
	ms  manifestSeries
}

type evalOut struct {
	idx    int
	folder string
	scores map[string]seriesScore
	secs   map[string]float64
	err    error
}

func runEval(ctx context.Context, args []string, out, errOut io.Writer) error {
	fs := flag.NewFlagSet("eval", flag.ContinueOnError)
	var df detectorFlags
	df.register(fs)
	manifestPath := fs.String("manifest", "../shared/datasets/manifest.json", "dataset manifest (series CSVs are relative to it)")
	workers := fs.Int("workers", 2, "series evaluated in parallel")
	every := fs.Int("every", 1, "evaluate every k-th series only (quick iterations)")
	maxPoints := fs.Int("max-points", 0, "truncate each series to its first N points (0 = all)")
	folder := fs.String("folder", "", "only series under this folder")
	perSeries := fs.Bool("per-series", false, "also print found/windows and false alarms per series")
	var externals externalFlags
	fs.Var(&externals, "external", "NAME=DIR: also score another detector's flags, read from DIR/<series file> (timestamp,is_anomaly; one row per input row); repeatable")
	if err := fs.Parse(args); err != nil {
		return err
	}
	df.causal = true
	var methods []engine.Options
	var names []string
	for _, m := range strings.Split(df.method, ",") {
		d := df
		d.method = strings.TrimSpace(m)
		opt, err := d.options()
		if err != nil {
			return err
		}
		methods = append(methods, opt)
		names = append(names, string(opt.Method))
	}
	names = append(names, baselineName)
	for _, e := range externals {
		names = append(names, e.name)
	}

	raw, err := os.ReadFile(*manifestPath)
	if err != nil {
		return fmt.Errorf("read manifest: %w", err)
	}
	var man manifest
	if err := json.Unmarshal(raw, &man); err != nil {
		return fmt.Errorf("parse manifest %s: %w", *manifestPath, err)
	}
	base := filepath.Dir(*manifestPath)
	var jobs []evalJob
	for i, s := range man.Series {
		if *every > 1 && i%*every != 0 {
			continue
		}
		if *folder != "" && folderOf(s.File) != *folder {
			continue
		}
		jobs = append(jobs, evalJob{i, s})
	}
	if len(jobs) == 0 {
		return fmt.Errorf("no series selected from %s", *manifestPath)
	}

	jobCh := make(chan evalJob)
	outCh := make(chan evalOut)
	var wg sync.WaitGroup
	for w := 0; w < max(*workers, 1); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range jobCh {
				outCh <- evalSeries(ctx, base, j, methods, externals, *maxPoints)
			}
		}()
	}
	go func() {
		defer close(jobCh)
		for _, j := range jobs {
			select {
			case jobCh <- j:
			case <-ctx.Done():
				return
			}
		}
	}()
	go func() { wg.Wait(); close(outCh) }()

	sums := map[string]map[string]*summary{} // folder -> method -> summary
	var firstErr error
	for o := range outCh {
		if o.err != nil {
			if firstErr == nil {
				firstErr = o.err
			}
			continue
		}
		if *perSeries {
			line := man.Series[o.idx].File
			for _, name := range names {
				sc := o.scores[name]
				line += fmt.Sprintf("  %s %d/%d fa=%d", name, sc.Found, sc.Windows, sc.FalseAlarms)
			}
			fmt.Fprintln(errOut, line)
		}
		for _, f := range []string{o.folder, "overall"} {
			if sums[f] == nil {
				sums[f] = map[string]*summary{}
			}
			for name, sc := range o.scores {
				if sums[f][name] == nil {
					sums[f][name] = &summary{}
				}
				sums[f][name].add(sc, o.secs[name])
			}
		}
	}
	if firstErr != nil {
		return firstErr
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	printTable(out, sums, names)
	return nil
}

func folderOf(file string) string {
	if i := strings.IndexByte(file, '/'); i > 0 {
		return file[:i]
	}
	return "."
}

func evalSeries(ctx context.Context, base string, j evalJob, methods []engine.Options, externals externalFlags, maxPoints int) evalOut {
	o := evalOut{idx: j.idx, folder: folderOf(j.ms.File), scores: map[string]seriesScore{}, secs: map[string]float64{}}
	f, err := os.Open(filepath.Join(base, j.ms.File))
	if err != nil {
		o.err = fmt.Errorf("open series: %w", err)
		return o
	}
	defer f.Close()
	tab, err := tscsv.Read(f, tscsv.Options{})
	if err != nil {
		o.err = fmt.Errorf("read %s: %w", j.ms.File, err)
		return o
	}
	valueCol, labelCol := 0, -1
	for i, name := range tab.Names {
		switch strings.ToLower(name) {
		case "value":
			valueCol = i
		case "label", "is_anomaly", "anomaly":
			labelCol = i
		}
	}
	s := engine.Series{Times: tab.Times, Values: tab.Columns[valueCol]}
	var labels []float64
	if labelCol >= 0 {
		labels = tab.Columns[labelCol]
	}
	if maxPoints > 0 && len(s.Times) > maxPoints {
		s.Times, s.Values = s.Times[:maxPoints], s.Values[:maxPoints]
		if labels != nil {
			labels = labels[:maxPoints]
		}
	}
	last := s.Times[len(s.Times)-1]
	var windows []span
	if j.ms.AnomalyWindows == nil && labels != nil {
		windows = windowsFromLabels(s.Times, labels) // manifests without windows: use the label column
	}
	for _, w := range j.ms.AnomalyWindows {
		if w[0]*1000 <= last {
			windows = append(windows, span{w[0] * 1000, w[1] * 1000})
		}
	}
	if j.ms.IntervalSeconds <= 0 && len(s.Times) > 1 {
		j.ms.IntervalSeconds = engine.MedianStep(s.Times).Seconds()
	}
	intervalDays := j.ms.IntervalSeconds / 86400
	for _, opt := range methods {
		start := time.Now()
		r, err := engine.Detect(ctx, s, opt)
		if err != nil {
			o.err = fmt.Errorf("%s on %s: %w", opt.Method, j.ms.File, err)
			return o
		}
		o.secs[string(opt.Method)] = time.Since(start).Seconds()
		o.scores[string(opt.Method)] = scoreSeries(s.Times, r.Anomaly, windows, intervalDays)
	}
	start := time.Now()
	flags := zScoreFlags(s.Times, s.Values, 24*time.Hour.Milliseconds(), 3, baselineWarmUp(j.ms.IntervalSeconds))
	o.secs[baselineName] = time.Since(start).Seconds()
	o.scores[baselineName] = scoreSeries(s.Times, flags, windows, intervalDays)
	for _, e := range externals {
		flags, err := readExternalFlags(filepath.Join(e.dir, j.ms.File), s.Times)
		if err != nil {
			o.err = fmt.Errorf("%s on %s: %w", e.name, j.ms.File, err)
			return o
		}
		o.scores[e.name] = scoreSeries(s.Times, flags, windows, intervalDays)
	}
	return o
}

// externalFlags are other detectors' flags to score beside Sheepdog's (the
// peers in bench/peers write them), so every detector meets one scorer.
type externalFlags []struct{ name, dir string }

func (e *externalFlags) String() string { return fmt.Sprint(*e) }

func (e *externalFlags) Set(v string) error {
	name, dir, ok := strings.Cut(v, "=")
	if !ok || name == "" || dir == "" {
		return fmt.Errorf("want NAME=DIR, got %q", v)
	}
	*e = append(*e, struct{ name, dir string }{name, dir})
	return nil
}

// readExternalFlags reads a timestamp,is_anomaly file aligned with times
// (the first len(times) rows: eval may truncate series with --max-points).
func readExternalFlags(path string, times []int64) ([]bool, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	tab, err := tscsv.Read(f, tscsv.Options{Columns: []string{"is_anomaly"}})
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	if len(tab.Times) < len(times) {
		return nil, fmt.Errorf("%s has %d rows for %d points", path, len(tab.Times), len(times))
	}
	flags := make([]bool, len(times))
	for i := range times {
		if tab.Times[i] != times[i] {
			return nil, fmt.Errorf("%s row %d is at %d, the series at %d", path, i+1, tab.Times[i], times[i])
		}
		flags[i] = tab.Columns[0][i] == 1
	}
	return flags, nil
}

// windowsFromLabels turns a 0/1 label column into [first, last] windows.
func windowsFromLabels(times []int64, labels []float64) []span {
	var out []span
	for i := 0; i < len(labels); i++ {
		if labels[i] != 1 {
			continue
		}
		j := i
		for j+1 < len(labels) && labels[j+1] == 1 {
			j++
		}
		out = append(out, span{times[i], times[j]})
		i = j
	}
	return out
}

func printTable(out io.Writer, sums map[string]map[string]*summary, names []string) {
	var folders []string
	for f := range sums {
		if f != "overall" {
			folders = append(folders, f)
		}
	}
	sort.Strings(folders)
	folders = append(folders, "overall")
	fmt.Fprintln(out, "| folder | detector | series | windows | found | false alarms | precision | recall | F1 | false alarms/day | median delay | points/s |")
	fmt.Fprintln(out, "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
	for _, f := range folders {
		for _, name := range names {
			s := sums[f][name]
			if s == nil {
				continue
			}
			fmt.Fprintf(out, "| %s | %s | %d | %d | %d | %d | %.3f | %.3f | **%.3f** | %.2f | %s | %s |\n",
				f, name, s.Series, s.Windows, s.Found, s.FalseAlarms, s.precision(), s.recall(), s.f1(),
				s.falsePerDay(), fmtDelay(s.medianDelay()), fmtRate(s.pointsPerSecond()))
		}
	}
	fmt.Fprintln(out)
	fmt.Fprintln(out, "Early-detection event score (NAB scheme: 0 = never fires, 100 = every anomaly at its first point, no false event; below 0 = false events cost more than the detections earn):")
	fmt.Fprintln(out)
	header := "| folder | detector |"
	rule := "|---|---|"
	for _, p := range eventProfiles {
		header += " event score, " + p.Name + " |"
		rule += "---:|"
	}
	fmt.Fprintln(out, header)
	fmt.Fprintln(out, rule)
	for _, f := range folders {
		for _, name := range names {
			s := sums[f][name]
			if s == nil {
				continue
			}
			line := fmt.Sprintf("| %s | %s |", f, name)
			for p := range eventProfiles {
				line += fmt.Sprintf(" %.1f |", s.Event.normalised(p))
			}
			fmt.Fprintln(out, line)
		}
	}
}

func fmtDelay(ms float64) string {
	if math.IsNaN(ms) {
		return "-"
	}
	return (time.Duration(ms) * time.Millisecond).String()
}

func fmtRate(r float64) string {
	switch {
	case r == 0:
		return "-" // an --external detector: its time is not ours to measure
	case r >= 1e6:
		return fmt.Sprintf("%.1fM", r/1e6)
	case r >= 1e3:
		return fmt.Sprintf("%.0fk", r/1e3)
	}
	return fmt.Sprintf("%.0f", r)
}
