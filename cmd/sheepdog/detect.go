package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/sheepdog-anomaly/sheepdog/internal/numfmt"
	"github.com/sheepdog-anomaly/sheepdog/internal/workpool"
	"github.com/sheepdog-anomaly/sheepdog/pkg/duration"
	"github.com/sheepdog-anomaly/sheepdog/pkg/engine"
	"github.com/sheepdog-anomaly/sheepdog/pkg/tscsv"
)

// detectorFlags registers the options shared by detect and eval.
type detectorFlags struct {
	method, direction, period, minDuration string
	sensitivity                            float64
	causal                                 bool
	warmUp                                 int
}

func (d *detectorFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&d.method, "method", engine.Methods[0].Value, "detector: "+engine.OneOf(engine.Methods))
	fs.Float64Var(&d.sensitivity, "sensitivity", engine.DefaultSensitivity, "0 (only extreme points) .. 100 (flag eagerly)")
	fs.StringVar(&d.direction, "direction", engine.Directions[0].Value, engine.OneOf(engine.Directions))
	// --seasonality is the query option's name; --period stays as an alias.
	fs.StringVar(&d.period, "seasonality", "", strings.Join(engine.Values(engine.Seasonalities), ", ")+" or a duration such as 6h")
	fs.StringVar(&d.period, "period", "", "alias of --seasonality")
	fs.StringVar(&d.minDuration, "min-duration", "", "shortest anomaly reported, e.g. 5m")
	fs.IntVar(&d.warmUp, "warmup", 0, "points before any flag (0 picks a default)")
}

func (d *detectorFlags) options() (engine.Options, error) {
	var opt engine.Options
	var err error
	if opt.Method, err = engine.ParseMethod(d.method); err != nil {
		return opt, err
	}
	if opt.Direction, err = engine.ParseDirection(d.direction); err != nil {
		return opt, err
	}
	if d.sensitivity < 0 || d.sensitivity > 100 {
		return opt, fmt.Errorf("--sensitivity %v out of range 0..100", d.sensitivity)
	}
	opt = opt.WithSensitivity(d.sensitivity)
	if opt.Period, err = engine.ParseSeasonality(d.period); err != nil {
		return opt, fmt.Errorf("--seasonality (alias --period): %w", err)
	}
	if d.minDuration != "" {
		if opt.MinDuration, err = duration.Parse(d.minDuration); err != nil {
			return opt, fmt.Errorf("--min-duration: %w", err)
		}
	}
	if d.warmUp < 0 {
		return opt, fmt.Errorf("--warmup %d is negative", d.warmUp)
	}
	opt.WarmUp = d.warmUp
	opt.Causal = d.causal
	return opt, nil
}

// detectOutput says what detect writes, for its help and the command's usage.
var detectOutput = `  detect writes timestamp,value,expected,lower,upper,score,is_anomaly, one row per input row:
  timestamp and value as written in the input, expected, lower and upper to ` + strconv.Itoa(bandDigits) + `
  significant digits, score to 4 decimals, and an empty cell where there is no number.`

func runDetect(ctx context.Context, args []string, in io.Reader, out, errOut io.Writer) error {
	fs := flag.NewFlagSet("detect", flag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage: sheepdog detect [flags] < in.csv > out.csv\n%s\n\nflags:\n", detectOutput)
		fs.PrintDefaults()
	}
	var df detectorFlags
	df.register(fs)
	fs.BoolVar(&df.causal, "causal", false, "each output uses only the rows at or before it")
	info := fs.Bool("info", false, "print what the detector used and the anomaly windows to stderr")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("detect reads CSV from stdin; unexpected argument %q", fs.Arg(0))
	}
	opt, err := df.options()
	if err != nil {
		return err
	}
	// Nearly everything detect allocates (the input, the table, the result,
	// the output blocks) stays live until it returns: on 1 M rows
	// collections took a third of the CPU time and kept the peak only 20%
	// lower. So none runs unless GOGC asks; GOMEMLIMIT still bounds memory.
	if _, set := os.LookupEnv("GOGC"); !set {
		defer debug.SetGCPercent(debug.SetGCPercent(-1))
	}
	tab, err := tscsv.Read(in, tscsv.Options{RawValues: true})
	if err != nil {
		return fmt.Errorf("read input: %w", err)
	}
	col := 0
	for i, name := range tab.Names {
		if strings.EqualFold(name, "value") {
			col = i
			break
		}
	}
	s := engine.Series{Times: tab.Times, Values: tab.Columns[col]}
	r, err := engine.Detect(ctx, s, opt)
	if err != nil {
		return fmt.Errorf("detect: %w", err)
	}
	if *info {
		printInfo(errOut, r)
	}
	if tab.Duplicates > 0 {
		fmt.Fprintf(errOut, "note: %d rows repeated the previous row's timestamp; the last value of each timestamp was analysed and every row gets that timestamp's result\n", tab.Duplicates)
	}
	return writeResult(out, tab, tab.RawValues[col], s, r)
}

func printInfo(w io.Writer, r *engine.Result) {
	in := r.Info
	method := string(in.Method)
	if in.Requested == engine.MethodAuto {
		// auto ran both models; say which judged most points rather than
		// printing a bare method name that reads as if auto was ignored.
		method = fmt.Sprintf("auto (robust and agile side by side; %s judged most points)", in.Method)
	}
	interval := in.Interval.String()
	if in.Interval <= 0 {
		interval = "unknown (fewer than two points)"
	}
	periods := "none"
	if len(in.Periods) > 0 {
		periods = fmt.Sprint(in.Periods)
	}
	fmt.Fprintf(w, "method %s, periods %s, interval %s, warm-up %d points (met: %v), causal %v\n",
		method, periods, interval, in.WarmUp, in.WarmUpMet, in.Causal)
	for _, n := range in.Notes {
		fmt.Fprintln(w, "note:", n)
	}
	for _, win := range r.Windows {
		fmt.Fprintf(w, "window %s .. %s peak %s: %s %s, value %g expected %g, score %.3f\n",
			time.UnixMilli(win.Start).UTC().Format(time.RFC3339), time.UnixMilli(win.End).UTC().Format(time.RFC3339),
			time.UnixMilli(win.Peak).UTC().Format(time.RFC3339), win.Severity, win.Type, win.PeakValue, win.PeakExpected, win.MaxScore)
	}
}

// writeResult writes one row per input row: rows that repeated a timestamp
// (tab.RowPoint) get the result of the point they were merged into. The
// timestamp and value cells are echoed as written (rawValues are the value
// column's cells).
//
// Blocks of rows are formatted on every core while this goroutine writes
// the finished ones in order, so writing overlaps formatting and a core
// slowed by other work takes fewer blocks; block b waits until block
// b-outputWindow is written, which bounds the memory held.
func writeResult(out io.Writer, tab *tscsv.Table, rawValues []string, s engine.Series, r *engine.Result) error {
	rows := len(s.Times)
	if tab.RowPoint != nil {
		rows = len(tab.RowPoint)
	}
	if _, err := io.WriteString(out, "timestamp,value,expected,lower,upper,score,is_anomaly\n"); err != nil {
		return fmt.Errorf("write output: %w", err)
	}
	blocks := (rows + outputBlockRows - 1) / outputBlockRows
	ready := make([]chan []byte, blocks)
	written := make([]chan struct{}, blocks)
	for b := range blocks {
		ready[b] = make(chan []byte, 1)
		written[b] = make(chan struct{})
	}
	free := make(chan []byte, outputWindow) // written buffers, for reuse
	stop := make(chan struct{})             // closed when the writer gives up, or a block crashed
	var stopOnce sync.Once
	halt := func() { stopOnce.Do(func() { close(stop) }) }
	defer halt()
	formatted := make(chan error, 1)
	go func() {
		var first error
		for _, err := range workpool.Default().Run(context.Background(), blocks, func(_ context.Context, b int) error {
			defer func() {
				if p := recover(); p != nil {
					halt() // the blocks waiting on this one give up
					panic(p)
				}
			}()
			if b >= outputWindow {
				select {
				case <-written[b-outputWindow]:
				case <-stop:
					return nil
				}
			}
			var buf []byte
			select {
			case buf = <-free:
			default:
			}
			lo := b * outputBlockRows
			ready[b] <- formatRows(buf[:0], tab, rawValues, s, r, lo, min(lo+outputBlockRows, rows))
			return nil
		}) {
			if err != nil && first == nil {
				first = err
			}
		}
		formatted <- first
	}()
	for b := range blocks {
		var buf []byte
		select {
		case buf = <-ready[b]:
		case err := <-formatted:
			if err != nil {
				return fmt.Errorf("format output: %w", err)
			}
			buf = <-ready[b] // every block is done
		}
		if _, err := out.Write(buf); err != nil {
			return fmt.Errorf("write output: %w", err)
		}
		close(written[b])
		select {
		case free <- buf:
		default:
		}
	}
	return nil
}

// Output is formatted in blocks of outputBlockRows rows (about 600 kB), at
// most outputWindow of them ahead of the writer.
const (
	outputBlockRows = 1 << 13
	outputWindow    = 8
)

// bandDigits is the significant digits written for expected, lower and
// upper: far finer than the model's own uncertainty, fine enough to show a
// band around a large value that moves little (a counter near 10^11 moving
// by ones), and 3-4 times faster to write than the shortest exact form.
const bandDigits = 12

// formatRows appends output rows lo..hi-1; a missing number is an empty cell.
func formatRows(buf []byte, tab *tscsv.Table, rawValues []string, s engine.Series, r *engine.Result, lo, hi int) []byte {
	num := func(v float64) {
		if v == v {
			buf = numfmt.AppendG(buf, v, bandDigits)
		}
		buf = append(buf, ',')
	}
	for row := lo; row < hi; row++ {
		i := row
		if tab.RowPoint != nil {
			i = tab.RowPoint[row]
		}
		buf = appendCSVField(buf, tab.RawTimes[i])
		buf = append(buf, ',')
		if v := s.Values[i]; v == v {
			// The user's own number (a number has nothing CSV quotes),
			// where "null" or "NaN" leave the cell empty.
			buf = append(buf, rawValues[i]...)
		}
		buf = append(buf, ',')
		num(r.Expected[i])
		num(r.Lower[i])
		num(r.Upper[i])
		buf = numfmt.AppendF(buf, r.Score[i], 4)
		if r.Anomaly[i] {
			buf = append(buf, ",1\n"...)
		} else {
			buf = append(buf, ",0\n"...)
		}
	}
	return buf
}

// appendCSVField quotes a field only when CSV needs it (RFC3339 never does).
func appendCSVField(buf []byte, f string) []byte {
	plain := true
	for i := 0; i < len(f); i++ {
		if c := f[i]; c == ',' || c == '"' || c == '\n' || c == '\r' {
			plain = false
			break
		}
	}
	if plain {
		return append(buf, f...)
	}
	buf = append(buf, '"')
	buf = append(buf, strings.ReplaceAll(f, `"`, `""`)...)
	return append(buf, '"')
}
