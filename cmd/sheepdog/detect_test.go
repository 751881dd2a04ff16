package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sheepdog-anomaly/sheepdog/pkg/engine"
	"github.com/sheepdog-anomaly/sheepdog/pkg/tscsv"
)

// The band columns are the engine's numbers to bandDigits significant
// digits, the score to 4 decimals, and a missing number is an empty cell.
func TestDetectOutputPrecision(t *testing.T) {
	in := "timestamp,value\n1699999880,\n1699999940,null\n" + string(sineCSV(5000)[len("timestamp,value\n"):])
	var out, errOut bytes.Buffer
	if err := run(context.Background(), []string{"detect", "--method", "robust"}, strings.NewReader(in), &out, &errOut); err != nil {
		t.Fatal(err)
	}
	tab, err := tscsv.Read(strings.NewReader(in), tscsv.Options{})
	if err != nil {
		t.Fatal(err)
	}
	want, err := engine.Detect(context.Background(), engine.Series{Times: tab.Times, Values: tab.Columns[0]},
		engine.Options{Method: engine.MethodRobust}.WithSensitivity(engine.DefaultSensitivity))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")[1:]
	if len(lines) != len(tab.Times) {
		t.Fatalf("%d rows for %d points", len(lines), len(tab.Times))
	}
	tol := 0.5 * math.Pow(10, 1-bandDigits) * (1 + 1e-9)
	for i, line := range lines {
		cells := strings.Split(line, ",")
		for c, v := range map[int]float64{2: want.Expected[i], 3: want.Lower[i], 4: want.Upper[i]} {
			if math.IsNaN(v) {
				if cells[c] != "" {
					t.Fatalf("row %d column %d: %q for NaN, want an empty cell", i, c, cells[c])
				}
				continue
			}
			got, err := strconv.ParseFloat(cells[c], 64)
			if err != nil || math.Abs(got-v) > tol*math.Abs(v) {
				t.Fatalf("row %d column %d: %q for %v (%v)", i, c, cells[c], v, err)
			}
			mant, _, _ := strings.Cut(strings.TrimPrefix(cells[c], "-"), "e")
			if digits := strings.TrimLeft(strings.ReplaceAll(mant, ".", ""), "0"); len(digits) > bandDigits {
				t.Fatalf("row %d column %d: %q has more than %d significant digits", i, c, cells[c], bandDigits)
			}
		}
		if got := cells[5]; got != strconv.FormatFloat(want.Score[i], 'f', 4, 64) {
			t.Fatalf("row %d: score %q for %v", i, got, want.Score[i])
		}
	}
	if !strings.HasPrefix(lines[0], "1699999880,,,,,") {
		t.Errorf("a row without a value or a forecast: %q", lines[0])
	}
}

// The value cell is the input's own text (spaces trimmed), an empty cell for
// "null" or "NaN", and a repeated timestamp's rows all show the cell of its
// last row, the value analysed; the first value column is used when none is
// named value.
func TestDetectEchoesValueCells(t *testing.T) {
	for _, quoted := range []bool{false, true} { // quotes take encoding/csv's path
		var b strings.Builder
		b.WriteString("timestamp,other,Value\n")
		cells := []string{"1.50", "1e3", " 2.0 ", "null", "NaN", "", "-0", "0.30000000000000004", "7", "8.000"}
		for i := 0; i < 300; i++ {
			c := cells[i%len(cells)]
			if quoted && i == 5 {
				c = `"` + c + `"`
			}
			fmt.Fprintf(&b, "%d,%d,%s\n", 1_700_000_000+60*i, -i, c)
			if i == 100 {
				fmt.Fprintf(&b, "%d,0,%s\n", 1_700_000_000+60*i, "42.00") // re-sent sample
			}
		}
		out, err := runCLI(t, b.String(), "detect")
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")[1:]
		if len(lines) != 301 {
			t.Fatalf("%d rows, want 301", len(lines))
		}
		for row, line := range lines {
			i := row
			if row > 100 {
				i--
			}
			want := strings.TrimSpace(cells[i%len(cells)])
			if row == 100 || row == 101 {
				want = "42.00"
			}
			if want == "null" || want == "NaN" {
				want = ""
			}
			if got := strings.Split(line, ",")[1]; got != want {
				t.Fatalf("quoted %v, row %d: value cell %q, want %q", quoted, row, got, want)
			}
		}
	}
	// With no column named value, the first value column is echoed.
	out, err := runCLI(t, "t,a,b\n1700000000,1.0,5\n1700000060,2.0,6\n", "detect")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(strings.Split(out, "\n")[2], "1700000060,2.0,") {
		t.Errorf("first value column not echoed:\n%s", out)
	}
}

// failAfter fails every write once n bytes have been written.
type failAfter struct{ n int }

func (f *failAfter) Write(p []byte) (int, error) {
	if f.n -= len(p); f.n < 0 {
		return 0, errors.New("disk full")
	}
	return len(p), nil
}

// writeResult stops at a failed write or a crashed block with an error,
// and leaves no goroutine behind, however far ahead formatting ran.
func TestWriteResultStops(t *testing.T) {
	in := sineCSV(200_000) // many more blocks than outputWindow
	tab, err := tscsv.Read(bytes.NewReader(in), tscsv.Options{RawValues: true})
	if err != nil {
		t.Fatal(err)
	}
	s := engine.Series{Times: tab.Times, Values: tab.Columns[0]}
	r, err := engine.Detect(context.Background(), s, engine.Options{Method: engine.MethodBasic})
	if err != nil {
		t.Fatal(err)
	}
	short := *r
	short.Upper = short.Upper[:len(short.Upper)/2] // block formatting crashes halfway
	before := runtime.NumGoroutine()
	for _, c := range []struct {
		name string
		out  io.Writer
		r    *engine.Result
		want string
	}{
		{"write fails", &failAfter{n: 3 << 20}, r, "write output: disk full"},
		{"block crashes", io.Discard, &short, "format output: crashed unexpectedly"},
	} {
		done := make(chan error, 1)
		go func() { done <- writeResult(c.out, tab, tab.RawValues[0], s, c.r) }()
		select {
		case err := <-done:
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("%s: %v, want %q", c.name, err, c.want)
			}
		case <-time.After(time.Minute):
			t.Fatalf("%s: writeResult hangs", c.name)
		}
	}
	for i := 0; runtime.NumGoroutine() > before; i++ {
		if i == 500 {
			t.Fatalf("%d goroutines left behind", runtime.NumGoroutine()-before)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
