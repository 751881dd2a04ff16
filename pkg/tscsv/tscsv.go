// Package tscsv reads time-series CSV: a header, a timestamp column first, then
// one or more numeric columns. It is shared by the CLI and the plugin's
// inline-CSV source so both accept exactly the same input.
package tscsv

import (
	"bufio"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"
)

// Table is a parsed CSV. Columns[i] holds the values of Names[i], aligned with Times.
type Table struct {
	TimeHeader string
	Names      []string
	RawTimes   []string // timestamps exactly as written, for echoing back
	Times      []int64  // unix milliseconds, strictly increasing
	Columns    [][]float64
	// RawValues, only with Options.RawValues, holds the cells of Columns as
	// written (without surrounding spaces), for echoing back: the cell of
	// the row that gave each value, so the last row of a repeated timestamp.
	RawValues [][]string
	// Duplicates counts data rows whose timestamp repeated the previous row's.
	// Real data repeats samples (an agent re-sends, a clock repeats an hour at
	// a daylight-saving change); the last row of a run of equal timestamps
	// wins, as in Grafana's and Prometheus' own handling of a re-sent sample.
	Duplicates int
	// RowPoint maps each data row to its index in Times when Duplicates > 0
	// (several rows then share a point); nil when every row is its own point.
	RowPoint []int
}

// Options limit and shape a read. The zero value reads every column with no limits.
type Options struct {
	MaxBytes int64 // 0 = no limit
	MaxRows  int   // data rows; 0 = no limit
	// Columns selects value columns by header name; nil takes every column after the first.
	Columns []string
	// CheckHeader, when set, sees the value columns' names before any data
	// row is read, so a caller can refuse an input by its width (the cost
	// of a column is paid per row) without parsing it.
	CheckHeader func(names []string) error
	// RawValues keeps each value cell's text in Table.RawValues.
	RawValues bool
}

// LineError is a parse error tied to a 1-based line of the input.
type LineError struct {
	Line int
	Err  error
}

func (e *LineError) Error() string { return fmt.Sprintf("line %d: %v", e.Line, e.Err) }
func (e *LineError) Unwrap() error { return e.Err }

// ErrTooLarge reports input over Options.MaxBytes or Options.MaxRows.
var ErrTooLarge = errors.New("input too large")

// readRecords parses r with encoding/csv: the path for every input the fast
// path (Read) leaves, and the one whose errors users see.
func readRecords(r io.Reader, opt Options) (*Table, error) {
	counted := &countingReader{r: r, limit: opt.MaxBytes}
	cr := csv.NewReader(bufio.NewReader(counted))
	cr.FieldsPerRecord = -1
	cr.TrimLeadingSpace = true
	cr.ReuseRecord = true
	cr.Comment = '#'

	header, err := cr.Read()
	if err != nil {
		if errors.Is(err, io.EOF) {
			return nil, errors.New("empty input: expected a header such as timestamp,value")
		}
		return nil, wrapCSVError(err, counted)
	}
	header = trimAll(header)
	if len(header) < 2 {
		return nil, &LineError{Line: 1, Err: fmt.Errorf("header %q needs a timestamp column and at least one value column", strings.Join(header, ","))}
	}
	if _, err := strconv.ParseFloat(header[1], 64); err == nil {
		return nil, &LineError{Line: 1, Err: fmt.Errorf("missing header: the first line %q looks like data; start with a header such as timestamp,value", strings.Join(header, ","))}
	}
	indexes, names, err := selectColumns(header, opt.Columns)
	if err != nil {
		return nil, &LineError{Line: 1, Err: err}
	}
	if opt.CheckHeader != nil {
		if err := opt.CheckHeader(names); err != nil {
			return nil, &LineError{Line: 1, Err: err}
		}
	}

	t := &Table{TimeHeader: header[0], Names: names, Columns: make([][]float64, len(names))}
	if opt.RawValues {
		t.RawValues = make([][]string, len(names))
	}
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, wrapCSVError(err, counted)
		}
		line, _ := cr.FieldPos(0)
		if len(rec) == 1 && strings.TrimSpace(rec[0]) == "" {
			continue
		}
		if opt.MaxRows > 0 && len(t.Times)+t.Duplicates >= opt.MaxRows {
			return nil, &LineError{Line: line, Err: fmt.Errorf("%w: more than %d rows", ErrTooLarge, opt.MaxRows)}
		}
		if len(rec) != len(header) {
			return nil, &LineError{Line: line, Err: fmt.Errorf("expected %d columns like the header, got %d", len(header), len(rec))}
		}
		raw := strings.TrimSpace(rec[0])
		ts, err := ParseTime(raw)
		if err != nil {
			return nil, &LineError{Line: line, Err: err}
		}
		n := len(t.Times)
		if n > 0 && ts < t.Times[n-1] {
			return nil, &LineError{Line: line, Err: fmt.Errorf("timestamp %q is earlier than the previous row's; sort the rows by time", raw)}
		}
		repeat := n > 0 && ts == t.Times[n-1]
		for i, col := range indexes {
			v, err := parseValue(rec[col])
			if err != nil {
				return nil, &LineError{Line: line, Err: fmt.Errorf("column %q: %w", header[col], err)}
			}
			if repeat {
				t.Columns[i][n-1] = v
			} else {
				t.Columns[i] = append(t.Columns[i], v)
			}
			if t.RawValues != nil {
				cell := strings.TrimSpace(rec[col])
				if repeat {
					t.RawValues[i][n-1] = cell
				} else {
					t.RawValues[i] = append(t.RawValues[i], cell)
				}
			}
		}
		t.notePoint(repeat, n+1)
		if repeat {
			continue
		}
		t.RawTimes = append(t.RawTimes, raw)
		t.Times = append(t.Times, ts)
	}
	if len(t.Times) == 0 {
		return nil, errors.New("no data rows after the header")
	}
	return t, nil
}

// notePoint keeps Duplicates and RowPoint for the data row about to be
// added: repeat says it repeats the last point's timestamp (its values have
// replaced that point's); otherwise it becomes point len(t.Times). RowPoint
// is made, with room for rows, at the first repeat.
func (t *Table) notePoint(repeat bool, rows int) {
	n := len(t.Times)
	if !repeat {
		if t.RowPoint != nil {
			t.RowPoint = append(t.RowPoint, n)
		}
		return
	}
	if t.RowPoint == nil {
		t.RowPoint = make([]int, n, max(rows, n+1))
		for i := range t.RowPoint {
			t.RowPoint[i] = i
		}
	}
	t.Duplicates++
	t.RowPoint = append(t.RowPoint, n-1)
}

func selectColumns(header, wanted []string) ([]int, []string, error) {
	if wanted == nil {
		idx := make([]int, 0, len(header)-1)
		for i := 1; i < len(header); i++ {
			idx = append(idx, i)
		}
		return idx, append([]string(nil), header[1:]...), nil
	}
	idx := make([]int, 0, len(wanted))
	for _, w := range wanted {
		found := -1
		for i := 1; i < len(header); i++ {
			if strings.EqualFold(header[i], w) {
				found = i
				break
			}
		}
		if found < 0 {
			return nil, nil, fmt.Errorf("header %q has no %q column", strings.Join(header, ","), w)
		}
		idx = append(idx, found)
	}
	return idx, append([]string(nil), wanted...), nil
}

func parseValue(s string) (float64, error) {
	s = strings.TrimSpace(s)
	switch strings.ToLower(s) {
	case "", "null", "nan":
		return math.NaN(), nil
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return 0, fmt.Errorf("value %q is not a number", s)
	}
	return v, nil
}

// Layouts accepted besides unix seconds and RFC 3339; all are read as UTC.
var layouts = []string{"2006-01-02 15:04:05", "2006-01-02T15:04:05", "2006-01-02 15:04"}

// ParseTime reads unix seconds (integer or fractional), RFC 3339, or
// "YYYY-MM-DD HH:MM:SS" in UTC, and returns unix milliseconds.
func ParseTime(s string) (int64, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, errors.New("empty timestamp")
	}
	if c := s[0]; c >= '0' && c <= '9' || c == '-' {
		if !strings.ContainsAny(s[1:], "-:T") {
			sec, err := strconv.ParseFloat(s, 64)
			if err != nil || math.IsNaN(sec) || math.IsInf(sec, 0) {
				return 0, fmt.Errorf("timestamp %q is not unix seconds, RFC 3339 or YYYY-MM-DD HH:MM:SS", s)
			}
			if math.Abs(sec) > 1e11 {
				return 0, fmt.Errorf("timestamp %q is out of range for unix seconds (milliseconds are not accepted)", s)
			}
			return int64(math.Round(sec * 1000)), nil
		}
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t.UnixMilli(), nil
	}
	for _, layout := range layouts {
		if t, err := time.ParseInLocation(layout, s, time.UTC); err == nil {
			return t.UnixMilli(), nil
		}
	}
	return 0, fmt.Errorf("timestamp %q is not unix seconds, RFC 3339 or YYYY-MM-DD HH:MM:SS", s)
}

func trimAll(rec []string) []string {
	out := make([]string, len(rec))
	for i, s := range rec {
		out[i] = strings.TrimSpace(strings.TrimPrefix(s, "\ufeff"))
	}
	return out
}

func wrapCSVError(err error, counted *countingReader) error {
	if counted.exceeded {
		return fmt.Errorf("%w: more than %d bytes", ErrTooLarge, counted.limit)
	}
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return &LineError{Line: pe.Line, Err: pe.Err}
	}
	return fmt.Errorf("read csv: %w", err)
}

// countingReader fails once more than limit bytes were read, so an oversized
// input is refused without reading it all into memory.
type countingReader struct {
	r        io.Reader
	limit    int64
	n        int64
	exceeded bool
}

func (c *countingReader) Read(p []byte) (int, error) {
	if c.limit > 0 && c.n >= c.limit+1 {
		c.exceeded = true
		return 0, ErrTooLarge
	}
	if c.limit > 0 && int64(len(p)) > c.limit+1-c.n {
		p = p[:c.limit+1-c.n]
	}
	n, err := c.r.Read(p)
	c.n += int64(n)
	if c.limit > 0 && c.n > c.limit {
		c.exceeded = true
		return n, ErrTooLarge
	}
	return n, err
}
