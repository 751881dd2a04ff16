package tscsv

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"runtime"
	"strconv"
	"strings"
	"unsafe"

	"github.com/sheepdog-anomaly/sheepdog/internal/workpool"
)

// Read parses r. Empty cells and "null"/"NaN" values become NaN. Timestamps
// must not go backwards; a row repeating the previous row's timestamp replaces
// its values (Table.Duplicates, Table.RowPoint).
//
// Plain input (no quotes, comments or carriage returns: what metric exports
// write) takes a fast path that splits lines itself and parses row blocks on
// several cores; anything else, and every input the fast path cannot accept
// as it is, goes through encoding/csv, which also words every error. Both
// paths give the same table for the same input (FuzzFastMatchesCSV).
func Read(r io.Reader, opt Options) (*Table, error) {
	data, err := readLimited(r, opt.MaxBytes)
	if err != nil {
		return nil, err
	}
	if t, ok := readFast(data, opt); ok {
		return t, nil
	}
	return readRecords(bytes.NewReader(data), opt)
}

// readLimited reads all of r, refusing more than limit bytes (0 = no limit)
// without holding more than limit+1 of them. A reader that knows its size
// (a file, a bytes or strings reader) is read into one buffer of that size
// instead of one grown by doubling, which copies the input about twice.
func readLimited(r io.Reader, limit int64) ([]byte, error) {
	if limit > 0 {
		r = io.LimitReader(r, limit+1)
	}
	size := sizeHint(r)
	if limit > 0 {
		size = min(size, limit+1)
	}
	b := make([]byte, 0, max(512, size+1)) // +1: the read that sees EOF needs room
	for {
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)]
		}
		n, err := r.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("read csv: %w", err)
		}
	}
	if limit > 0 && int64(len(b)) > limit {
		return nil, fmt.Errorf("%w: more than %d bytes", ErrTooLarge, limit)
	}
	return b, nil
}

// sizeHint is what is left to read of r when r can say, else 0.
func sizeHint(r io.Reader) int64 {
	if l, ok := r.(*io.LimitedReader); ok {
		return min(sizeHint(l.R), l.N)
	}
	if l, ok := r.(interface{ Len() int }); ok {
		return int64(l.Len())
	}
	f, ok := r.(interface {
		Stat() (fs.FileInfo, error)
		Seek(offset int64, whence int) (int64, error)
	})
	if !ok {
		return 0
	}
	fi, err := f.Stat()
	if err != nil || !fi.Mode().IsRegular() {
		return 0
	}
	at, err := f.Seek(0, io.SeekCurrent)
	if err != nil || at > fi.Size() {
		return 0
	}
	return fi.Size() - at
}

// fastBlockBytes is the smallest block of input worth a goroutine.
const fastBlockBytes = 1 << 20

// fastBlock is the parsed rows of one stretch of lines, before duplicate
// timestamps are merged.
type fastBlock struct {
	raw       []string
	times     []int64
	columns   [][]float64
	rawValues [][]string // with Options.RawValues
	ok        bool
}

// readFast parses plain CSV; ok is false whenever the input needs
// encoding/csv's rules or is invalid, and the caller then reads it that way.
func readFast(data []byte, opt Options) (*Table, bool) {
	if len(data) == 0 || bytes.IndexByte(data, '"') >= 0 || bytes.IndexByte(data, '\r') >= 0 ||
		data[0] == '#' || bytes.Contains(data, []byte("\n#")) {
		return nil, false
	}
	// The table's strings (raw timestamps) are views into data, which is ours
	// and never written again, instead of one allocation per row.
	text := unsafe.String(unsafe.SliceData(data), len(data))
	nl := strings.IndexByte(text, '\n')
	if nl < 0 {
		return nil, false
	}
	header := trimAll(strings.Split(text[:nl], ","))
	if len(header) < 2 || header[0] == "" {
		return nil, false
	}
	if _, err := parseValue(header[1]); err == nil {
		return nil, false // looks like data: let the slow path word it
	}
	indexes, names, err := selectColumns(header, opt.Columns)
	if err != nil {
		return nil, false
	}
	if opt.CheckHeader != nil && opt.CheckHeader(names) != nil {
		return nil, false
	}
	body := text[nl+1:]

	// Split the body into blocks at line ends, one per core when it is large.
	workers := min(runtime.GOMAXPROCS(0), max(1, len(body)/fastBlockBytes))
	var starts []int
	for w := 0; w < workers; w++ {
		at := len(body) * w / workers
		if w > 0 {
			i := strings.IndexByte(body[at:], '\n')
			if i < 0 {
				break
			}
			at += i + 1
			if at <= starts[len(starts)-1] {
				continue
			}
		}
		starts = append(starts, at)
	}
	blocks := make([]fastBlock, len(starts))
	// Blocks run on the process's bounded executor, which a query parsing
	// inline CSV is already running on; a panic there leaves the text to the
	// careful path.
	for _, err := range workpool.Default().Run(context.Background(), len(starts), func(_ context.Context, b int) error {
		end := len(body)
		if b+1 < len(starts) {
			end = starts[b+1]
		}
		blocks[b] = parseBlock(body[starts[b]:end], len(header), indexes, opt.RawValues)
		return nil
	}) {
		if err != nil {
			return nil, false
		}
	}

	rows := 0
	for _, b := range blocks {
		if !b.ok {
			return nil, false
		}
		rows += len(b.times)
	}
	if rows == 0 || (opt.MaxRows > 0 && rows > opt.MaxRows) {
		return nil, false
	}
	return mergeBlocks(blocks, header[0], names, rows, opt.RawValues)
}

// parseBlock parses whole lines of plain CSV with nCols fields each.
func parseBlock(body string, nCols int, indexes []int, keepRaw bool) fastBlock {
	est := strings.Count(body, "\n") + 1
	b := fastBlock{raw: make([]string, 0, est), times: make([]int64, 0, est), columns: make([][]float64, len(indexes))}
	for i := range b.columns {
		b.columns[i] = make([]float64, 0, est)
	}
	if keepRaw {
		b.rawValues = make([][]string, len(indexes))
		for i := range b.rawValues {
			b.rawValues[i] = make([]string, 0, est)
		}
	}
	fields := make([]string, nCols)
	for len(body) > 0 {
		line := body
		if i := strings.IndexByte(body, '\n'); i >= 0 {
			line, body = body[:i], body[i+1:]
		} else {
			body = ""
		}
		if line == "" {
			continue // encoding/csv skips empty lines too
		}
		n := 0
		for {
			i := strings.IndexByte(line, ',')
			if n == nCols || (i < 0 && n != nCols-1) {
				return fastBlock{} // a ragged row: let encoding/csv word the error
			}
			if i < 0 {
				fields[n] = line
				break
			}
			fields[n], line = line[:i], line[i+1:]
			n++
		}
		raw := strings.TrimSpace(fields[0])
		ts, ok := unixSeconds(raw)
		if !ok {
			var err error
			if ts, err = ParseTime(raw); err != nil {
				return fastBlock{}
			}
		}
		for k, col := range indexes {
			v, err := fastValue(fields[col])
			if err != nil {
				return fastBlock{}
			}
			b.columns[k] = append(b.columns[k], v)
			if keepRaw {
				b.rawValues[k] = append(b.rawValues[k], strings.TrimSpace(fields[col]))
			}
		}
		b.raw = append(b.raw, raw)
		b.times = append(b.times, ts)
	}
	b.ok = true
	return b
}

// mergeBlocks joins blocks in order, merging rows that repeat the previous
// row's timestamp exactly as readRecords does.
func mergeBlocks(blocks []fastBlock, timeHeader string, names []string, rows int, keepRaw bool) (*Table, bool) {
	t := &Table{TimeHeader: timeHeader, Names: names, Columns: make([][]float64, len(names))}
	if len(blocks) == 1 && strictlyIncreasing(blocks[0].times) {
		b := blocks[0]
		t.RawTimes, t.Times, t.Columns, t.RawValues = b.raw, b.times, b.columns, b.rawValues
		return t, true
	}
	t.RawTimes = make([]string, 0, rows)
	t.Times = make([]int64, 0, rows)
	for i := range t.Columns {
		t.Columns[i] = make([]float64, 0, rows)
	}
	if keepRaw {
		t.RawValues = make([][]string, len(names))
		for i := range t.RawValues {
			t.RawValues[i] = make([]string, 0, rows)
		}
	}
	for _, b := range blocks {
		for r, ts := range b.times {
			n := len(t.Times)
			if n > 0 && ts < t.Times[n-1] {
				return nil, false // the slow path words it with its line
			}
			repeat := n > 0 && ts == t.Times[n-1]
			t.notePoint(repeat, rows)
			if repeat {
				for k := range t.Columns {
					t.Columns[k][n-1] = b.columns[k][r]
				}
				for k := range t.RawValues {
					t.RawValues[k][n-1] = b.rawValues[k][r]
				}
				continue
			}
			for k := range t.Columns {
				t.Columns[k] = append(t.Columns[k], b.columns[k][r])
			}
			for k := range t.RawValues {
				t.RawValues[k] = append(t.RawValues[k], b.rawValues[k][r])
			}
			t.RawTimes = append(t.RawTimes, b.raw[r])
			t.Times = append(t.Times, ts)
		}
	}
	return t, true
}

func strictlyIncreasing(ts []int64) bool {
	for i := 1; i < len(ts); i++ {
		if ts[i] <= ts[i-1] {
			return false
		}
	}
	return true
}

// unixSeconds reads whole unix seconds of at most 11 digits (ParseTime's
// range) without the float parser; ok is false for any other form.
func unixSeconds(s string) (int64, bool) {
	if len(s) == 0 || len(s) > 11 {
		return 0, false
	}
	var sec int64
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		sec = sec*10 + int64(c-'0')
	}
	return sec * 1000, true
}

// fastValue is parseValue for the common case of a plain number.
func fastValue(s string) (float64, error) {
	if len(s) > 0 {
		if c := s[0]; c >= '0' && c <= '9' || c == '-' || c == '.' {
			if v, err := strconv.ParseFloat(s, 64); err == nil {
				return v, nil
			}
		}
	}
	return parseValue(s)
}
