package tscsv

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"testing/iotest"
)

// sameTable compares two tables, NaN equal to NaN.
func sameTable(a, b *Table) bool {
	if a.TimeHeader != b.TimeHeader || !reflect.DeepEqual(a.Names, b.Names) || !reflect.DeepEqual(a.RawTimes, b.RawTimes) ||
		!reflect.DeepEqual(a.Times, b.Times) || a.Duplicates != b.Duplicates || !reflect.DeepEqual(a.RowPoint, b.RowPoint) ||
		!reflect.DeepEqual(a.RawValues, b.RawValues) ||
		len(a.Columns) != len(b.Columns) {
		return false
	}
	for i := range a.Columns {
		if len(a.Columns[i]) != len(b.Columns[i]) {
			return false
		}
		for j, v := range a.Columns[i] {
			w := b.Columns[i][j]
			if v != w && !(math.IsNaN(v) && math.IsNaN(w)) {
				return false
			}
		}
	}
	return true
}

// checkSamePaths fails when the fast path accepts in but differs from
// encoding/csv's reading of it.
func checkSamePaths(t *testing.T, in string, opt Options) (fastTook bool) {
	t.Helper()
	return checkSamePathsIn(t, in, opt, fastBlockBytes)
}

// checkSamePathsIn is checkSamePaths with blocks of at least minBlock bytes.
func checkSamePathsIn(t *testing.T, in string, opt Options, minBlock int) (fastTook bool) {
	t.Helper()
	fast, ok := readFast([]byte(in), opt, minBlock)
	slow, err := readRecords(strings.NewReader(in), opt)
	if !ok {
		return false
	}
	if err != nil {
		t.Fatalf("fast path accepted what encoding/csv refuses (%v):\n%q", err, in)
	}
	if !sameTable(fast, slow) {
		t.Fatalf("paths differ on %q:\nfast %+v\nslow %+v", in, fast, slow)
	}
	return true
}

func TestFastPathMatchesCSV(t *testing.T) {
	cases := []struct {
		in       string
		wantFast bool
	}{
		{"timestamp,value\n1700000000,1\n1700000060,2\n", true},
		{"timestamp, value \n 1700000000 , 1.5 \n1700000060,null\n1700000060,NaN\n\n1700000120,\n", true},
		{"\ufefftime,a,b,label\n2023-11-14T22:13:20Z,1,2,0\n2023-11-14 22:14:20,3,4,1", true},
		{"t,a\n1,1\n1,2\n2,3\n2,4\n2,5\n", true},
		{"t,a\r\n1,1\r\n", false},     // CRLF: encoding/csv's rules
		{"t,a\n\"1\",1\n", false},     // quotes
		{"t,a\n# note\n1,1\n", false}, // comment line
		{"t,a\n1,1,1\n", false},       // ragged row: the slow path words the error
		{"t,a\n2,1\n1,1\n", false},    // backwards
		{"t,a\n1,x\n", false},         // not a number
		{"1,2\n3,4\n", false},         // no header
		{"t,a\n", false},              // no rows
		{"t,a\n   \n1,1\n", false},    // blank line of spaces
		{"t,a\n1,1\n", true},
	}
	for _, c := range cases {
		if got := checkSamePaths(t, c.in, Options{}); got != c.wantFast {
			t.Errorf("%q: fast path taken %v, want %v", c.in, got, c.wantFast)
		}
	}
	// Quotes, carriage returns and comments are refused wherever they are,
	// in an unselected column too, and in any block.
	for _, in := range []string{"t,a,b\n1,1,\"x,y\"\n", "t,a,b\n1,1,\"x\n2,2,y\"\n", "t,a,b\n1,1,x\r\n2,2,y\r\n", "t,a,b\n1,1,x\n#c\n2,2,y\n", "t,a,b\n1,1,x\n2,2,y\r"} {
		for _, minBlock := range []int{fastBlockBytes, 1} {
			if checkSamePathsIn(t, in, Options{Columns: []string{"a"}}, minBlock) {
				t.Errorf("%q (blocks of %d): fast path taken", in, minBlock)
			}
		}
	}
	// Column selection, raw cells and the header check behave the same on both paths.
	checkSamePaths(t, "t,a,b\n1,1,2\n", Options{Columns: []string{"B"}})
	for _, c := range cases {
		checkSamePaths(t, c.in, Options{RawValues: true, Columns: []string{"a"}})
	}
	refuse := func([]string) error { return fmt.Errorf("too wide") }
	if _, ok := readFast([]byte("t,a\n1,1\n"), Options{CheckHeader: refuse}, fastBlockBytes); ok {
		t.Error("the fast path ignored CheckHeader")
	}
	if _, err := Read(strings.NewReader("t,a\n1,1\n"), Options{CheckHeader: refuse}); err == nil || !strings.Contains(err.Error(), "too wide") {
		t.Errorf("Read with a refusing header check: %v", err)
	}
	if _, err := Read(strings.NewReader(manyRows(10)), Options{MaxRows: 5}); err == nil {
		t.Error("MaxRows ignored")
	}
	if _, err := Read(strings.NewReader(manyRows(10)), Options{MaxBytes: 20}); err == nil || !strings.Contains(err.Error(), "more than 20 bytes") {
		t.Errorf("MaxBytes: %v", err)
	}
}

// Inputs over fastBlockBytes are parsed in blocks on several goroutines; a
// duplicate timestamp and a backwards step across a block boundary are
// handled as in one pass.
func TestFastPathBlocks(t *testing.T) {
	var b bytes.Buffer
	b.WriteString("timestamp,value,other\n")
	rows := 3 * fastBlockBytes / 20
	for i := 0; i < rows; i++ {
		ts := 1_700_000_000 + 60*i
		if i%1000 == 7 {
			ts -= 60 // repeats the previous row's timestamp
		}
		if mid := rows / 2; i > mid-50 && i < mid+50 {
			ts = 1_700_000_000 + 60*(mid-50) // a run of repeats across the middle block boundary
		}
		switch {
		case i%997 == 3:
			b.WriteString("\n") // a blank line: a gap in its block's rows
		case i%1009 == 5:
			fmt.Fprintf(&b, " %d , 1e%d ,null\n", ts, i%7) // a line off the plain path
			continue
		}
		zero := ""
		if i%2 == 0 {
			zero = "0" // the same time written otherwise: a repeat keeps its first row's text
		}
		fmt.Fprintf(&b, "%s%d,%d.25,%d\n", zero, ts, i, -i)
	}
	in := b.String()
	if len(in) < 2*fastBlockBytes {
		t.Fatalf("input %d bytes is too small to split", len(in))
	}
	for _, procs := range []int{1, 2, 4} {
		t.Run(fmt.Sprint(procs), func(t *testing.T) {
			defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(procs))
			for _, opt := range []Options{{}, {RawValues: true}, {RawValues: true, Columns: []string{"other", "value", "other"}}} {
				if !checkSamePaths(t, in, opt) {
					t.Fatal("fast path not taken")
				}
			}
		})
	}
}

// plainNumber reads only what strconv.ParseFloat reads, to the same float64.
func FuzzPlainNumber(f *testing.F) {
	for _, s := range []string{"0", "-0", "1.5", ".5", "1.", "-.25", "9007199254740992", "9007199254740993",
		"0.1234567890123456789012", "0.12345678901234567890123", "1.2.3", "-", ".", "1e5", "+1", "00012.5000"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, end, ok := plainNumber(s, 0)
		if !ok {
			return
		}
		want, err := strconv.ParseFloat(s[:end], 64)
		if err != nil || math.Float64bits(v) != math.Float64bits(want) {
			t.Fatalf("plainNumber(%q) = %v (to %d), strconv %v %v", s, v, end, want, err)
		}
		if end < len(s) && s[end] >= '0' && s[end] <= '9' {
			t.Fatalf("plainNumber(%q) stopped at a digit (%d)", s, end)
		}
	})
}

func FuzzFastMatchesCSV(f *testing.F) {
	f.Add("timestamp,value\n1700000000,1\n")
	f.Add("t,a,b\n1,1,\n1,2,3\n 2 , null ,4\n")
	f.Add("time,a\n2023-11-14T22:13:20Z,1\n\n2023-11-14 22:14:20,2\n")
	f.Add("0,A,\n00,,\n0,,") // a repeat keeps the first row's raw timestamp
	f.Fuzz(func(t *testing.T, in string) {
		checkSamePaths(t, in, Options{})
		checkSamePaths(t, in, Options{RawValues: true})
		// Blocks of a few bytes: several per input, with repeats, blank
		// lines and backward steps across their boundaries.
		checkSamePathsIn(t, in, Options{RawValues: true}, 4)
	})
}

func BenchmarkRead1M(b *testing.B) {
	var buf bytes.Buffer
	buf.WriteString("timestamp,value\n")
	for i := 0; i < 1_000_000; i++ {
		fmt.Fprintf(&buf, "%d,%.4f\n", 1_700_000_000+60*i, 100+float64(i%1440)/7)
	}
	in := buf.Bytes()
	b.SetBytes(int64(len(in)))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := Read(bytes.NewReader(in), Options{}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)*1e6/b.Elapsed().Seconds(), "rows/s")
}

// A reader that knows its size is read into one buffer of that size (the
// point of sizeHint); one that does not is read all the same.
func TestReadLimitedSizes(t *testing.T) {
	text := manyRows(1000)
	path := filepath.Join(t.TempDir(), "in.csv")
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.Seek(10, io.SeekStart); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name  string
		r     io.Reader
		limit int64
		want  string
		exact bool // read into a buffer of exactly its size (+1 for EOF)
	}{
		{"strings", strings.NewReader(text), 0, text, true},
		{"file at an offset", f, 0, text[10:], true},
		{"limited", strings.NewReader(text), int64(len(text)), text, true},
		{"unsized", iotest.HalfReader(struct{ io.Reader }{strings.NewReader(text)}), 0, text, false},
	} {
		b, err := readLimited(c.r, c.limit)
		if err != nil || string(b) != c.want {
			t.Fatalf("%s: %d bytes, %v", c.name, len(b), err)
		}
		if c.exact && cap(b) != len(c.want)+1 {
			t.Errorf("%s: buffer of %d bytes for %d", c.name, cap(b), len(c.want))
		}
	}
	if _, err := readLimited(strings.NewReader(text), int64(len(text)-1)); !errors.Is(err, ErrTooLarge) {
		t.Errorf("over the limit: %v", err)
	}
}
