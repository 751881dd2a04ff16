package tscsv

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"testing"
)

func TestReadAccepts(t *testing.T) {
	tests := []struct {
		name      string
		in        string
		opt       Options
		wantNames []string
		wantTimes []int64
		wantCols  [][]float64
	}{
		{
			name:      "unix seconds",
			in:        "timestamp,value\n1700000000,1.5\n1700000060,2\n",
			wantNames: []string{"value"},
			wantTimes: []int64{1700000000000, 1700000060000},
			wantCols:  [][]float64{{1.5, 2}},
		},
		{
			name:      "rfc3339 with extra columns and nulls",
			in:        "time,cpu,mem\n2023-11-14T22:13:20Z,1,\n2023-11-14T22:14:20+00:00,null,4\n",
			wantNames: []string{"cpu", "mem"},
			wantTimes: []int64{1700000000000, 1700000060000},
			wantCols:  [][]float64{{1, math.NaN()}, {math.NaN(), 4}},
		},
		{
			name:      "space separated UTC and selected column",
			in:        "timestamp,value,label\n2023-11-14 22:13:20,3,0\n2023-11-14 22:14:20,-4e3,1\n",
			opt:       Options{Columns: []string{"value"}},
			wantNames: []string{"value"},
			wantTimes: []int64{1700000000000, 1700000060000},
			wantCols:  [][]float64{{3, -4000}},
		},
		{
			name:      "fractional seconds, CRLF, BOM, blank lines",
			in:        "\ufefftimestamp,value\r\n1700000000.25,1\r\n\r\n1700000000.5,2\r\n",
			wantNames: []string{"value"},
			wantTimes: []int64{1700000000250, 1700000000500},
			wantCols:  [][]float64{{1, 2}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Read(strings.NewReader(tc.in), tc.opt)
			if err != nil {
				t.Fatalf("Read: %v", err)
			}
			if strings.Join(got.Names, ",") != strings.Join(tc.wantNames, ",") {
				t.Errorf("names %v, want %v", got.Names, tc.wantNames)
			}
			if len(got.Times) != len(tc.wantTimes) {
				t.Fatalf("times %v, want %v", got.Times, tc.wantTimes)
			}
			for i := range tc.wantTimes {
				if got.Times[i] != tc.wantTimes[i] {
					t.Errorf("time[%d] = %d, want %d", i, got.Times[i], tc.wantTimes[i])
				}
			}
			for c := range tc.wantCols {
				for i, want := range tc.wantCols[c] {
					v := got.Columns[c][i]
					if !(v == want || math.IsNaN(v) && math.IsNaN(want)) {
						t.Errorf("col %d row %d = %v, want %v", c, i, v, want)
					}
				}
			}
			if len(got.RawTimes) != len(tc.wantTimes) {
				t.Errorf("raw times %v", got.RawTimes)
			}
		})
	}
}

func TestReadRejects(t *testing.T) {
	tests := []struct {
		name     string
		in       string
		opt      Options
		wantLine int // 0: no line expected
		wantText string
	}{
		{"empty", "", Options{}, 0, "empty input"},
		{"header only", "timestamp,value\n", Options{}, 0, "no data rows"},
		{"missing header", "1700000000,1\n1700000060,2\n", Options{}, 1, "missing header"},
		{"one column", "timestamp\n1\n", Options{}, 1, "at least one value column"},
		{"non-numeric value", "timestamp,value\n1700000000,1\n1700000060,abc\n", Options{}, 3, `value "abc" is not a number`},
		{"bad timestamp", "timestamp,value\nyesterday,1\n", Options{}, 2, `timestamp "yesterday"`},
		{"decreasing", "timestamp,value\n1700000060,1\n1700000000,2\n", Options{}, 3, "earlier than"},
		{"ragged row", "timestamp,value\n1700000000,1,2\n", Options{}, 2, "expected 2 columns"},
		{"unknown column", "timestamp,value\n1700000000,1\n", Options{Columns: []string{"cpu"}}, 1, `no "cpu" column`},
		{"milliseconds", "timestamp,value\n1700000000000,1\n", Options{}, 2, "out of range"},
		{"too many rows", "timestamp,value\n1,1\n2,2\n3,3\n", Options{MaxRows: 2}, 4, "more than 2 rows"},
		{"too many bytes", manyRows(100), Options{MaxBytes: 64}, 0, "more than 64 bytes"},
		{"bad quoting", "timestamp,value\n1700000000,\"1\n", Options{}, 2, "quote"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Read(strings.NewReader(tc.in), tc.opt)
			if err == nil {
				t.Fatal("expected an error")
			}
			if !strings.Contains(err.Error(), tc.wantText) {
				t.Errorf("error %q does not mention %q", err, tc.wantText)
			}
			var le *LineError
			if tc.wantLine > 0 {
				if !errors.As(err, &le) || le.Line != tc.wantLine {
					t.Errorf("error %q: want line %d", err, tc.wantLine)
				}
			}
		})
	}
}

func TestParseTime(t *testing.T) {
	tests := []struct {
		in   string
		want int64
		ok   bool
	}{
		{"0", 0, true},
		{"-60", -60000, true},
		{"1700000000", 1700000000000, true},
		{"2023-11-14T22:13:20.5Z", 1700000000500, true},
		{"2023-11-15T00:13:20+02:00", 1700000000000, true},
		{"2023-11-14 22:13:20", 1700000000000, true},
		{"2023-11-14 22:13", 1699999980000, true},
		{"", 0, false},
		{"NaN", 0, false},
		{"2023-13-01 00:00:00", 0, false},
		{"1e400", 0, false},
	}
	for _, tc := range tests {
		got, err := ParseTime(tc.in)
		if (err == nil) != tc.ok || tc.ok && got != tc.want {
			t.Errorf("ParseTime(%q) = %d, %v; want %d ok=%v", tc.in, got, err, tc.want, tc.ok)
		}
	}
}

func FuzzRead(f *testing.F) {
	f.Add("timestamp,value\n1700000000,1\n")
	f.Add("time,a,b\n2023-11-14T22:13:20Z,1,\n")
	f.Fuzz(func(t *testing.T, in string) {
		tab, err := Read(strings.NewReader(in), Options{MaxBytes: 1 << 16})
		if err != nil {
			return
		}
		for i := 1; i < len(tab.Times); i++ {
			if tab.Times[i] <= tab.Times[i-1] {
				t.Fatalf("times not increasing: %v", tab.Times)
			}
		}
		for _, c := range tab.Columns {
			if len(c) != len(tab.Times) {
				t.Fatalf("column length %d != %d", len(c), len(tab.Times))
			}
		}
	})
}

func manyRows(n int) string {
	var b strings.Builder
	b.WriteString("timestamp,value\n")
	for i := 0; i < n; i++ {
		b.WriteString(strconv.Itoa(1700000000+60*i) + ",1\n")
	}
	return b.String()
}

// A repeated timestamp keeps the last row's values (issue 11: real data repeats
// samples); a timestamp going backwards is still an error.
func TestReadDuplicateTimestamps(t *testing.T) {
	in := "timestamp,a,b\n100,1,10\n200,2,20\n200,3,30\n200,4,40\n300,5,50\n"
	tab, err := Read(strings.NewReader(in), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if want := []int64{100_000, 200_000, 300_000}; !slices.Equal(tab.Times, want) {
		t.Fatalf("times %v, want %v", tab.Times, want)
	}
	if want := []float64{1, 4, 5}; !slices.Equal(tab.Columns[0], want) {
		t.Errorf("column a %v, want the last value per timestamp %v", tab.Columns[0], want)
	}
	if want := []float64{10, 40, 50}; !slices.Equal(tab.Columns[1], want) {
		t.Errorf("column b %v, want %v", tab.Columns[1], want)
	}
	if tab.Duplicates != 2 {
		t.Errorf("duplicates %d, want 2", tab.Duplicates)
	}
	if want := []int{0, 1, 1, 1, 2}; !slices.Equal(tab.RowPoint, want) {
		t.Errorf("row to point %v, want %v", tab.RowPoint, want)
	}
	if len(tab.RawTimes) != len(tab.Times) {
		t.Errorf("%d raw times for %d points", len(tab.RawTimes), len(tab.Times))
	}
	if tab.RawValues != nil {
		t.Errorf("raw values %v kept without Options.RawValues", tab.RawValues)
	}
	// The raw cells are those of the row each value came from, on both
	// paths (quotes take encoding/csv's); an empty cell stays empty.
	for _, text := range []string{"timestamp,a,b\n100,1.0,10\n200,2,20\n200, 3e0 ,\n300,null,5E1\n",
		"timestamp,a,b\n100,\"1.0\",10\n200,2,20\n200, 3e0 ,\n300,null,5E1\n"} {
		raw, err := Read(strings.NewReader(text), Options{RawValues: true})
		if err != nil {
			t.Fatal(err)
		}
		if got, want := fmt.Sprint(raw.RawValues), "[[1.0 3e0 null] [10  5E1]]"; got != want {
			t.Errorf("%q: raw values %s, want %s", text, got, want)
		}
	}

	clean, err := Read(strings.NewReader("timestamp,v\n1,1\n2,2\n"), Options{})
	if err != nil || clean.Duplicates != 0 || clean.RowPoint != nil {
		t.Fatalf("no duplicates: err %v, duplicates %d, rows %v", err, clean.Duplicates, clean.RowPoint)
	}
	if _, err := Read(strings.NewReader("timestamp,v\n2,1\n1,2\n"), Options{}); err == nil || !strings.Contains(err.Error(), "earlier than") {
		t.Fatalf("backwards timestamp: %v, want an error", err)
	}
	// Duplicate rows count against MaxRows: they cost parsing all the same.
	if _, err := Read(strings.NewReader(in), Options{MaxRows: 4}); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("MaxRows 4 with 5 rows: %v, want ErrTooLarge", err)
	}
}

// CheckHeader sees the value columns before any row: a refusal there costs
// nothing per row (the rows below would not even parse).
func TestCheckHeaderBeforeRows(t *testing.T) {
	var seen []string
	refuse := errors.New("too wide")
	_, err := Read(strings.NewReader("t,a,label,b\nnot a row at all\n"), Options{CheckHeader: func(names []string) error {
		seen = names
		return refuse
	}})
	if !errors.Is(err, refuse) || !strings.Contains(err.Error(), "line 1") {
		t.Fatalf("err = %v, want the header check's error on line 1", err)
	}
	if strings.Join(seen, ",") != "a,label,b" {
		t.Errorf("CheckHeader saw %q, want the value columns", seen)
	}
	if _, err := Read(strings.NewReader("t,a\n1,1\n"), Options{CheckHeader: func([]string) error { return nil }}); err != nil {
		t.Errorf("accepted header: %v", err)
	}
}
