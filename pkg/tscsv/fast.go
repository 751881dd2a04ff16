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
	if t, ok := readFast(data, opt, fastBlockBytes); ok {
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

// blockRows is where one stretch of lines is parsed to: its part of the
// table's slices, one element per line (blank lines leave theirs unused).
type blockRows struct {
	raw       []string
	times     []int64
	columns   [][]float64
	rawValues [][]string // with Options.RawValues
}

// readFast parses plain CSV; ok is false whenever the input needs
// encoding/csv's rules or is invalid, and the caller then reads it that way.
//
// The body is cut at line ends into blocks that run on every core twice:
// first to count a block's lines, then, once the table's slices are made
// for that many rows, to parse each block straight into its part of them
// (refusing, line by line, what needs encoding/csv). A last pass in order closes the gaps blank lines
// left and merges repeated timestamps.
// Blocks are at least minBlock bytes (fastBlockBytes; tests make them tiny).
func readFast(data []byte, opt Options, minBlock int) (*Table, bool) {
	if len(data) == 0 || data[0] == '#' {
		return nil, false
	}
	// The table's strings (raw timestamps and cells) are views into data,
	// which is ours and never written again, instead of one allocation per row.
	text := unsafe.String(unsafe.SliceData(data), len(data))
	nl := strings.IndexByte(text, '\n')
	if nl < 0 || strings.ContainsAny(text[:nl], "\"\r") {
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

	// A few blocks per core, so that a core slowed by other work takes
	// fewer of them.
	n := min(4*runtime.GOMAXPROCS(0), max(1, len(body)/minBlock))
	var starts []int
	for w := 0; w < n; w++ {
		at := len(body) * w / n
		if w > 0 {
			i := strings.IndexByte(body[at:], '\n')
			if i < 0 {
				break
			}
			at += i + 1
			if at <= starts[len(starts)-1] || at == len(body) {
				continue
			}
		}
		starts = append(starts, at)
	}
	block := func(b int) string {
		end := len(body)
		if b+1 < len(starts) {
			end = starts[b+1]
		}
		return body[starts[b]:end]
	}
	// Blocks run on the process's bounded executor, which a query parsing
	// inline CSV is already running on; a panic there leaves the text to the
	// careful path.
	run := func(fn func(b int) bool) bool {
		for _, err := range workpool.Default().Run(context.Background(), len(starts), func(_ context.Context, b int) error {
			if !fn(b) {
				return errNotPlain
			}
			return nil
		}) {
			if err != nil {
				return false
			}
		}
		return true
	}

	lines := make([]int, len(starts)+1) // lines[b+1]: lines up to block b's end
	if !run(func(b int) bool {
		// Quotes, carriage returns and comment lines, which need
		// encoding/csv, are refused line by line as the block is parsed.
		text := block(b)
		if text == "" {
			return false
		}
		lines[b+1] = strings.Count(text, "\n")
		if text[len(text)-1] != '\n' {
			lines[b+1]++
		}
		return true
	}) {
		return nil, false
	}
	for b := range starts {
		lines[b+1] += lines[b]
	}
	total := lines[len(starts)]
	all := blockRows{raw: make([]string, total), times: make([]int64, total), columns: make([][]float64, len(indexes))}
	for k := range all.columns {
		all.columns[k] = make([]float64, total)
	}
	if opt.RawValues {
		all.rawValues = make([][]string, len(indexes))
		for k := range all.rawValues {
			all.rawValues[k] = make([]string, total)
		}
	}
	rows := make([]int, len(starts))
	p := newLineParser(len(header), indexes)
	if !run(func(b int) bool {
		var ok bool
		rows[b], ok = p.parseBlock(block(b), all.slice(lines[b], lines[b+1]))
		return ok
	}) {
		return nil, false
	}
	t := &Table{TimeHeader: header[0], Names: names}
	if !t.gather(all, lines, rows) || len(t.Times) == 0 || (opt.MaxRows > 0 && len(t.Times)+t.Duplicates > opt.MaxRows) {
		return nil, false
	}
	return t, true
}

var errNotPlain = errors.New("not plain CSV")

func (r blockRows) slice(lo, hi int) blockRows {
	s := blockRows{raw: r.raw[lo:hi], times: r.times[lo:hi], columns: make([][]float64, len(r.columns))}
	for k := range r.columns {
		s.columns[k] = r.columns[k][lo:hi]
	}
	if r.rawValues != nil {
		s.rawValues = make([][]string, len(r.rawValues))
		for k := range r.rawValues {
			s.rawValues[k] = r.rawValues[k][lo:hi]
		}
	}
	return s
}

// gather makes the table from the rows parsed into all, block b's rows[b]
// rows starting at lines[b]: in place, moving rows down over the gaps and
// merging a row that repeats the previous row's timestamp into it (its
// values replace the point's) as readRecords does. ok is false when a
// timestamp goes backwards: the slow path words that with its line.
func (t *Table) gather(all blockRows, lines, rows []int) bool {
	dataRows := 0
	contiguous := true // no blank line left a gap before a later block
	for b, r := range rows {
		contiguous = contiguous && (r == lines[b+1]-lines[b] || b == len(rows)-1)
		dataRows += r
	}
	if contiguous && strictlyIncreasing(all.times[:dataRows]) {
		t.setRows(all, dataRows)
		return true
	}
	n := 0 // points so far: all[:n] is the table
	for b, r := range rows {
		for i := lines[b]; i < lines[b]+r; i++ {
			ts := all.times[i]
			if n > 0 && ts < all.times[n-1] {
				return false
			}
			t.Times = all.times[:n] // for notePoint
			repeat := n > 0 && ts == all.times[n-1]
			t.notePoint(repeat, dataRows)
			to := n
			if repeat {
				to = n - 1 // the point keeps its first row's raw timestamp
			} else {
				n++
			}
			if to == i {
				continue
			}
			if !repeat {
				all.raw[to] = all.raw[i]
				all.times[to] = ts
			}
			for k := range all.columns {
				all.columns[k][to] = all.columns[k][i]
			}
			for k := range all.rawValues {
				all.rawValues[k][to] = all.rawValues[k][i]
			}
		}
	}
	t.setRows(all, n)
	return true
}

// setRows makes the table's slices all's first n rows.
func (t *Table) setRows(all blockRows, n int) {
	t.RawTimes, t.Times = all.raw[:n], all.times[:n]
	t.Columns = make([][]float64, len(all.columns))
	for k := range all.columns {
		t.Columns[k] = all.columns[k][:n]
	}
	if all.rawValues != nil {
		t.RawValues = make([][]string, len(all.rawValues))
		for k := range all.rawValues {
			t.RawValues[k] = all.rawValues[k][:n]
		}
	}
}

// lineParser parses lines of plain CSV with nCols fields each, the columns
// indexes are selected.
type lineParser struct {
	nCols   int
	indexes []int
	// colOf[f] is the selected column field f fills, or -1; nil when a
	// column is selected twice (every line then takes parseLine).
	colOf []int
}

func newLineParser(nCols int, indexes []int) *lineParser {
	p := &lineParser{nCols: nCols, indexes: indexes, colOf: make([]int, nCols)}
	for f := range p.colOf {
		p.colOf[f] = -1
	}
	for k, f := range indexes {
		if p.colOf[f] >= 0 {
			p.colOf = nil
			break
		}
		p.colOf[f] = k
	}
	return p
}

// parseBlock parses whole lines into out, one element per line, and
// returns the number of rows, which blank lines leave below len(out.times).
// ok is false for a line the slow path must word (a ragged row, a value
// that is not a number, a timestamp in no accepted form).
func (p *lineParser) parseBlock(body string, out blockRows) (rows int, ok bool) {
	fields := make([]string, p.nCols)
	for i := 0; i < len(body); {
		next, ok := p.plainLine(body, i, out, rows)
		if !ok {
			end := strings.IndexByte(body[i:], '\n')
			if end < 0 {
				end = len(body)
			} else {
				end += i
			}
			next = end + 1
			line := body[i:end]
			if line == "" {
				i = next
				continue // encoding/csv skips empty lines too
			}
			if !p.parseLine(line, fields, out, rows) {
				return 0, false
			}
		}
		rows++
		i = next
	}
	return rows, true
}

// plainLine parses the line at body[i:] when it is the common case: whole
// unix seconds and plain decimal numbers, no spaces, quotes or carriage
// returns. It returns where the next line starts; ok is false for any other
// line, which parseLine then reads (over any cells written here).
func (p *lineParser) plainLine(body string, i int, out blockRows, row int) (next int, ok bool) {
	if p.colOf == nil {
		return 0, false
	}
	start := i
	var sec int64
	for ; i < len(body) && i-start < 12; i++ {
		c := body[i] - '0'
		if c > 9 {
			break
		}
		sec = sec*10 + int64(c)
	}
	if d := i - start; d == 0 || d > 11 || i == len(body) || body[i] != ',' {
		return 0, false
	}
	raw := body[start:i]
	// Values are written as they come: a later field's failure leaves them
	// for parseLine to overwrite.
	for f := 1; f < p.nCols; f++ {
		i++ // past the comma
		cell := i
		k := p.colOf[f]
		if k >= 0 {
			v, end, ok := plainNumber(body, i)
			if !ok {
				return 0, false
			}
			out.columns[k][row] = v
			i = end
		} else {
			for i < len(body) && body[i] != ',' && body[i] != '\n' {
				if body[i] == '"' || body[i] == '\r' {
					return 0, false
				}
				i++
			}
		}
		last := f == p.nCols-1
		if last && i < len(body) && body[i] != '\n' || !last && (i == len(body) || body[i] != ',') {
			return 0, false
		}
		if k >= 0 && out.rawValues != nil {
			out.rawValues[k][row] = body[cell:i]
		}
	}
	out.raw[row] = raw
	out.times[row] = sec * 1000
	return i + 1, true
}

// plainNumber reads -?digits[.digits] at s[i:] of at most 2^53 as digits
// and a fractional part of at most 22 digits: float64 holds the digits and
// the power of ten exactly, so the one division rounds correctly, as
// strconv.ParseFloat does (Clinger's fast path). ok is false for any
// other form, left to strconv.
func plainNumber(s string, i int) (v float64, end int, ok bool) {
	neg := i < len(s) && s[i] == '-'
	if neg {
		i++
	}
	var m uint64
	digits, frac := 0, -1
	for ; i < len(s); i++ {
		c := s[i]
		if c == '.' && frac < 0 {
			frac = 0
			continue
		}
		if c -= '0'; c > 9 {
			break
		}
		m = m*10 + uint64(c)
		if m > 1<<53 {
			return 0, 0, false
		}
		digits++
		if frac >= 0 {
			frac++
		}
	}
	if digits == 0 || frac > 22 {
		return 0, 0, false
	}
	v = float64(m)
	if frac > 0 {
		v /= float64pow10[frac]
	}
	if neg {
		v = -v
	}
	return v, i, true
}

var float64pow10 = [...]float64{
	1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
	1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
}

// parseLine parses a non-empty line with encoding/csv's rules for plain
// text (spaces kept in cells, trimmed from timestamps and numbers), into
// row; false for a line the slow path must word.
func (p *lineParser) parseLine(line string, fields []string, out blockRows, row int) bool {
	if line[0] == '#' || strings.ContainsAny(line, "\"\r") {
		return false // a comment, quotes or a carriage return: encoding/csv's rules
	}
	n := 0
	for {
		i := strings.IndexByte(line, ',')
		if n == p.nCols || (i < 0 && n != p.nCols-1) {
			return false // a ragged row: let encoding/csv word the error
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
			return false
		}
	}
	for k, col := range p.indexes {
		v, err := fastValue(fields[col])
		if err != nil {
			return false
		}
		out.columns[k][row] = v
		if out.rawValues != nil {
			out.rawValues[k][row] = strings.TrimSpace(fields[col])
		}
	}
	out.raw[row] = raw
	out.times[row] = ts
	return true
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
