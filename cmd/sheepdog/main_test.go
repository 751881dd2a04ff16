package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func runCLI(t *testing.T, stdin string, args ...string) (string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	err := run(context.Background(), args, strings.NewReader(stdin), &out, &errOut)
	return out.String(), err
}

// noisyCSV writes n minutely rows with a spike at row spike, in the given time format.
func noisyCSV(n, spike int, format func(i int) string, label bool) string {
	rng := rand.New(rand.NewPCG(1, 2))
	var b strings.Builder
	b.WriteString("timestamp,value")
	if label {
		b.WriteString(",label")
	}
	b.WriteString("\n")
	for i := 0; i < n; i++ {
		v := 10 + rng.NormFloat64()
		if i == spike {
			v += 25
		}
		fmt.Fprintf(&b, "%s,%.4f", format(i), v)
		if label {
			b.WriteString(",0")
		}
		b.WriteString("\n")
	}
	return b.String()
}

func TestDetectCSV(t *testing.T) {
	formats := map[string]func(i int) string{
		"unix":    func(i int) string { return fmt.Sprint(1_700_000_000 + 60*i) },
		"rfc3339": func(i int) string { return fmt.Sprintf("2024-03-01T%02d:%02d:00Z", i/60, i%60) },
		"sql":     func(i int) string { return fmt.Sprintf("2024-03-01 %02d:%02d:00", i/60, i%60) },
	}
	for name, f := range formats {
		for _, args := range [][]string{{"detect"}, {"detect", "--causal", "--method", "basic"}, {"detect", "--sensitivity", "80", "--direction", "up"}} {
			in := noisyCSV(300, 200, f, name == "unix")
			out, err := runCLI(t, in, args...)
			if err != nil {
				t.Fatalf("%s %v: %v", name, args, err)
			}
			lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
			if lines[0] != "timestamp,value,expected,lower,upper,score,is_anomaly" {
				t.Fatalf("header %q", lines[0])
			}
			inLines := strings.Split(strings.TrimSuffix(in, "\n"), "\n")
			if len(lines) != len(inLines) {
				t.Fatalf("%s: %d output rows for %d input rows", name, len(lines), len(inLines))
			}
			for i := 1; i < len(lines); i++ {
				cols := strings.Split(lines[i], ",")
				if len(cols) != 7 {
					t.Fatalf("%s row %d: %q", name, i, lines[i])
				}
				if want := strings.Split(inLines[i], ",")[0]; cols[0] != want {
					t.Fatalf("%s row %d: timestamp %q, want it echoed as %q", name, i, cols[0], want)
				}
				for _, c := range cols[2:6] {
					if _, err := parseFloat(c); err != nil {
						t.Fatalf("%s row %d: bad number %q", name, i, c)
					}
				}
				wantFlag := "0"
				if i-1 == 200 {
					wantFlag = "1"
				}
				if cols[6] != wantFlag && i-1 == 200 {
					t.Errorf("%s %v: spike row not flagged: %q", name, args, lines[i])
				}
			}
		}
	}
}

func parseFloat(s string) (float64, error) {
	var f float64
	_, err := fmt.Sscan(s, &f)
	if err == nil && (math.IsNaN(f) || math.IsInf(f, 0)) {
		err = fmt.Errorf("non-finite")
	}
	return f, err
}

func TestDetectInfo(t *testing.T) {
	var out, errOut bytes.Buffer
	in := noisyCSV(300, 200, func(i int) string { return fmt.Sprint(1_700_000_000 + 60*i) }, false)
	if err := run(context.Background(), []string{"detect", "--info", "--method", "robust"}, strings.NewReader(in), &out, &errOut); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"method robust,", "warm-up 30 points (met: true)", "window 2023-11-15T01:33:20Z", "critical spike"} {
		if !strings.Contains(errOut.String(), want) {
			t.Errorf("--info output lacks %q:\n%s", want, errOut.String())
		}
	}
}

// The --info line says what auto decided, and an input too short to have a
// step does not claim an interval of 0s (issue 13).
func TestDetectInfoWording(t *testing.T) {
	cases := []struct {
		name, csv string
		args      []string
		want      []string
		dontWant  []string
	}{
		{"auto", noisyCSV(300, 200, func(i int) string { return fmt.Sprint(1_700_000_000 + 60*i) }, false),
			[]string{"--method", "auto"}, []string{"method auto (robust and agile side by side; "}, []string{"(requested auto)"}},
		{"one point", "timestamp,value\n1700000000,1\n", nil,
			[]string{"interval unknown (fewer than two points)", "periods none"}, []string{"interval 0s"}},
		{"seasonality flag and its alias", noisyCSV(300, 200, func(i int) string { return fmt.Sprint(1_700_000_000 + 60*i) }, false),
			[]string{"--seasonality", "1h", "--method", "robust"}, []string{"periods [1h0m0s]"}, nil},
		{"period alias", noisyCSV(300, 200, func(i int) string { return fmt.Sprint(1_700_000_000 + 60*i) }, false),
			[]string{"--period", "1h", "--method", "robust"}, []string{"periods [1h0m0s]"}, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			args := append([]string{"detect", "--info"}, c.args...)
			if err := run(context.Background(), args, strings.NewReader(c.csv), &out, &errOut); err != nil {
				t.Fatal(err)
			}
			for _, w := range c.want {
				if !strings.Contains(errOut.String(), w) {
					t.Errorf("--info lacks %q:\n%s", w, errOut.String())
				}
			}
			for _, w := range c.dontWant {
				if strings.Contains(errOut.String(), w) {
					t.Errorf("--info has %q:\n%s", w, errOut.String())
				}
			}
		})
	}
}

func TestDetectErrors(t *testing.T) {
	cases := []struct {
		in   string
		args []string
		want string
	}{
		{"timestamp,value\n1,1\n2,x\n", nil, "line 3"},
		{"timestamp,value\n2,1\n1,2\n", nil, "line 3"}, // backwards in time
		{"timestamp,value\n5,1\n2,2\n", nil, "line 3"},
		{"timestamp,value\nyesterday,1\n", nil, "line 2"},
		{"", nil, "empty input"},
		{"timestamp,value\n1,1\n", []string{"--method", "magic"}, "unknown method"},
		{"timestamp,value\n1,1\n", []string{"--direction", "left"}, "unknown direction"},
		{"timestamp,value\n1,1\n", []string{"--sensitivity", "101"}, "out of range"},
		{"timestamp,value\n1,1\n", []string{"--period", "weekly-ish"}, "--period"},
		{"timestamp,value\n1,1\n", []string{"extra"}, "unexpected argument"},
	}
	for _, c := range cases {
		_, err := runCLI(t, c.in, append([]string{"detect"}, c.args...)...)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("input %q args %v: error %v, want it to mention %q", c.in, c.args, err, c.want)
		}
	}
	if _, err := runCLI(t, "", "frobnicate"); err == nil {
		t.Error("unknown command accepted")
	}
}

// TestScoreSeries checks the event-level metric by hand.
func TestScoreSeries(t *testing.T) {
	times := []int64{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}
	windows := []span{{2, 4}, {8, 9}, {11, 11}}
	cases := []struct {
		name  string
		flags string // one char per point, x = flagged
		found int
		fa    int
		delay []float64
	}{
		{"nothing", "............", 0, 0, nil},
		{"all found", "...x....x..x", 3, 0, []float64{1, 0, 0}},
		{"one run outside counts once", "x...........", 0, 1, nil},
		{"runs split by a normal point", "x.....xx....", 0, 2, nil},
		{"run crossing into a window", ".xxx........", 1, 1, []float64{0}},
		{"run leaving a window", "....xxx.....", 1, 1, []float64{2}},
		{"flags between two windows", ".....x.x.x..", 1, 2, []float64{1}},
		{"everything flagged", "xxxxxxxxxxxx", 3, 3, []float64{0, 0, 0}},
	}
	for _, c := range cases {
		flags := make([]bool, len(times))
		for i, ch := range c.flags {
			flags[i] = ch == 'x'
		}
		sc := scoreSeries(times, flags, windows, 0.5)
		if sc.Found != c.found || sc.FalseAlarms != c.fa || sc.Windows != 3 {
			t.Errorf("%s: found %d false %d, want %d and %d", c.name, sc.Found, sc.FalseAlarms, c.found, c.fa)
		}
		if fmt.Sprint(sc.Delays) != fmt.Sprint(c.delay) && !(len(sc.Delays) == 0 && len(c.delay) == 0) {
			t.Errorf("%s: delays %v, want %v", c.name, sc.Delays, c.delay)
		}
		if sc.NormalDays != 3 { // 6 normal points x 0.5 day
			t.Errorf("%s: normal days %v, want 3", c.name, sc.NormalDays)
		}
	}

	var s summary
	s.add(seriesScore{Windows: 4, Found: 3, FalseAlarms: 1, NormalDays: 2, Delays: []float64{10, 30}, Points: 100}, 0.5)
	s.add(seriesScore{Windows: 2, Found: 1, FalseAlarms: 3, NormalDays: 2, Delays: []float64{20}, Points: 100}, 0.5)
	if p, r := s.precision(), s.recall(); p != 0.5 || math.Abs(r-4.0/6) > 1e-12 {
		t.Errorf("precision %v recall %v, want 0.5 and 0.667", p, r)
	}
	if f := s.f1(); math.Abs(f-4.0/7) > 1e-12 {
		t.Errorf("F1 %v, want 4/7", f)
	}
	if s.falsePerDay() != 1 || s.medianDelay() != 20 || s.pointsPerSecond() != 200 {
		t.Errorf("false/day %v delay %v rate %v", s.falsePerDay(), s.medianDelay(), s.pointsPerSecond())
	}
}

func TestZScoreBaseline(t *testing.T) {
	times := make([]int64, 200)
	values := make([]float64, 200)
	for i := range times {
		times[i] = int64(i) * 60_000
		values[i] = float64(i % 2) // 0,1,0,1: mean 0.5, sd 0.5
	}
	values[150] = 3   // z = 5
	values[160] = 1.9 // z = 2.8, under 3
	values[170] = math.NaN()
	f := zScoreFlags(times, values, 3600_000, 3, 30)
	for i, fl := range f {
		if fl != (i == 150) {
			t.Errorf("point %d flagged=%v", i, fl)
		}
	}
	// the window holds only the last hour: nothing can flag before 30 points
	if f := zScoreFlags(times[:20], values[:20], 3600_000, 3, 30); f[19] {
		t.Error("flag before the warm-up")
	}
}

// TestEvalRuns runs eval end to end on a tiny manifest.
func TestEvalRuns(t *testing.T) {
	dir := t.TempDir()
	type entry struct {
		File            string     `json:"file"`
		IntervalSeconds float64    `json:"interval_seconds"`
		AnomalyWindows  [][2]int64 `json:"anomaly_windows"`
	}
	var man struct {
		Series []entry `json:"series"`
	}
	for k, folder := range []string{"a", "b"} {
		if err := os.MkdirAll(filepath.Join(dir, folder), 0o755); err != nil {
			t.Fatal(err)
		}
		csv := noisyCSV(3000, 2000+k, func(i int) string { return fmt.Sprint(1_700_000_000 + 60*i) }, true)
		name := folder + "/s.csv"
		if err := os.WriteFile(filepath.Join(dir, name), []byte(csv), 0o644); err != nil {
			t.Fatal(err)
		}
		at := int64(1_700_000_000 + 60*(2000+k))
		man.Series = append(man.Series, entry{name, 60, [][2]int64{{at, at + 60}}})
	}
	raw, _ := json.Marshal(man)
	mpath := filepath.Join(dir, "manifest.json")
	if err := os.WriteFile(mpath, raw, 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := runCLI(t, "", "eval", "--manifest", mpath, "--method", "auto,basic")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"| a | auto | 1 | 1 | 1 |", "| b | basic | 1 | 1 | 1 |", "| overall | auto | 2 | 2 | 2 |", "| overall | zscore-1d-3sigma | 2 |"} {
		if !strings.Contains(out, want) {
			t.Errorf("eval output lacks %q:\n%s", want, out)
		}
	}
	// a manifest without windows or interval: windows come from the label column
	csv := "timestamp,value,label\n"
	for i := 0; i < 2000; i++ {
		v, l := 10+float64(i%7)*0.1, 0
		if i == 1500 {
			v, l = 40, 1
		}
		csv += fmt.Sprintf("%d,%g,%d\n", 1_700_000_000+60*i, v, l)
	}
	if err := os.WriteFile(filepath.Join(dir, "a", "l.csv"), []byte(csv), 0o644); err != nil {
		t.Fatal(err)
	}
	bare := filepath.Join(dir, "bare.json")
	if err := os.WriteFile(bare, []byte(`{"series":[{"file":"a/l.csv"}]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err = runCLI(t, "", "eval", "--manifest", bare, "--method", "basic")
	if err != nil || !strings.Contains(out, "| a | basic | 1 | 1 | 1 | 0 |") {
		t.Errorf("label-derived windows: %v\n%s", err, out)
	}
	if got := windowsFromLabels([]int64{1, 2, 3, 4, 5}, []float64{1, 0, 1, 1, 0}); fmt.Sprint(got) != "[{1 1} {3 4}]" {
		t.Errorf("windowsFromLabels = %v", got)
	}
	if _, err := runCLI(t, "", "eval", "--manifest", filepath.Join(dir, "missing.json")); err == nil {
		t.Error("missing manifest accepted")
	}
}

// Duplicate timestamps are accepted (the last value wins) and detect still
// writes one output row per input row, with a note on stderr (issue 11 #6).
func TestDetectDuplicateTimestamps(t *testing.T) {
	var b strings.Builder
	b.WriteString("timestamp,value\n")
	for i := 0; i < 200; i++ {
		fmt.Fprintf(&b, "%d,%d\n", 1_700_000_000+60*i, 10+i%3)
		if i == 120 {
			fmt.Fprintf(&b, "%d,%d\n", 1_700_000_000+60*i, 11) // re-sent sample
		}
	}
	var out, errOut bytes.Buffer
	if err := run(context.Background(), []string{"detect"}, strings.NewReader(b.String()), &out, &errOut); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if got, want := len(lines)-1, 201; got != want {
		t.Fatalf("%d output rows, want one per input row (%d)", got, want)
	}
	if lines[121] != lines[122] {
		t.Errorf("the two rows of one timestamp should carry its one result:\n%s\n%s", lines[121], lines[122])
	}
	if !strings.Contains(errOut.String(), "1 rows repeated the previous row's timestamp") {
		t.Errorf("stderr lacks the duplicate note: %q", errOut.String())
	}
}

// eval --external scores another detector's flag files with the same scorer.
func TestEvalExternalFlags(t *testing.T) {
	dir := t.TempDir()
	var csv, flagsCSV strings.Builder
	csv.WriteString("timestamp,value,label\n")
	flagsCSV.WriteString("timestamp,is_anomaly\n")
	for i := 0; i < 2000; i++ {
		ts := 1_700_000_000 + 60*i
		l, f := 0, 0
		if i == 1500 {
			l = 1
		}
		if i == 1500 || i == 700 { // one hit, one false event
			f = 1
		}
		fmt.Fprintf(&csv, "%d,%g,%d\n", ts, 10+float64(i%7)*0.1, l)
		fmt.Fprintf(&flagsCSV, "%d,%d\n", ts, f)
	}
	for _, p := range []string{filepath.Join(dir, "data", "a"), filepath.Join(dir, "peer", "a")} {
		if err := os.MkdirAll(p, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	os.WriteFile(filepath.Join(dir, "data", "a", "l.csv"), []byte(csv.String()), 0o644)
	os.WriteFile(filepath.Join(dir, "peer", "a", "l.csv"), []byte(flagsCSV.String()), 0o644)
	man := filepath.Join(dir, "data", "manifest.json")
	os.WriteFile(man, []byte(`{"series":[{"file":"a/l.csv","interval_seconds":60}]}`), 0o644)
	out, err := runCLI(t, "", "eval", "--manifest", man, "--method", "basic", "--external", "mypeer="+filepath.Join(dir, "peer"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "| a | mypeer | 1 | 1 | 1 | 1 | 0.500 | 1.000 |") {
		t.Errorf("external flags not scored as one hit and one false event:\n%s", out)
	}
	if _, err := runCLI(t, "", "eval", "--manifest", man, "--external", "broken"); err == nil {
		t.Error("--external without NAME=DIR accepted")
	}
	os.WriteFile(filepath.Join(dir, "peer", "a", "l.csv"), []byte("timestamp,is_anomaly\n1700000000,0\n"), 0o644)
	if _, err := runCLI(t, "", "eval", "--manifest", man, "--external", "mypeer="+filepath.Join(dir, "peer")); err == nil || !strings.Contains(err.Error(), "1 rows for 2000 points") {
		t.Errorf("short flag file: %v", err)
	}
}
