package source

import (
	"bytes"
	"fmt"
	"io"
	"math"
	"net/http"
)

// PointLimitError is a fetch stopped because the source answered more points
// than Range.MaxPoints allowed: counted while decoding (Points), or judged
// from the answer's size before decoding it (Bytes).
type PointLimitError struct {
	Limit  int64 // Range.MaxPoints
	Points int64 // points decoded when the fetch stopped (over Limit); 0 when stopped by size
	Bytes  int64 // the answer size allowed (BytesForPoints(Limit)) when stopped by size, else 0
}

func (e *PointLimitError) Error() string {
	if e.Bytes > 0 {
		return fmt.Sprintf("the source's answer is larger than %s, more than %d points can take", humanBytes(e.Bytes), e.Limit)
	}
	return fmt.Sprintf("the source answered more than %d points (stopped reading at %d)", e.Limit, e.Points)
}

// Sizing an answer by the points it may hold: a point takes about 20-40
// bytes of JSON in a Prometheus matrix or in the SDK's data frames (a time
// and a value, in columns or pairs), so bytesPerPoint is generous, and the
// floor leaves room for labels, names and the envelope of small answers.
const (
	bytesPerPoint  = 64
	minBudgetBytes = 1 << 20
)

// BytesForPoints is the largest answer read for a limit of points.
func BytesForPoints(points int64) int64 {
	if points <= 0 || points > (math.MaxInt64-minBudgetBytes)/bytesPerPoint {
		return math.MaxInt64
	}
	return points*bytesPerPoint + minBudgetBytes
}

// readBodyFor reads an answer that may hold at most points points: it stops
// with a *PointLimitError past BytesForPoints(points), or with readBody's
// error past limit, whichever is smaller. points <= 0 means no point limit.
func readBodyFor(resp *http.Response, limit, points int64) ([]byte, error) {
	if limit <= 0 {
		limit = DefaultMaxResponseBytes
	}
	capBytes := BytesForPoints(points)
	if points <= 0 || capBytes >= limit {
		return readBody(resp, limit)
	}
	tooLarge := &PointLimitError{Limit: points, Bytes: capBytes}
	if resp.ContentLength > capBytes {
		return nil, tooLarge
	}
	var buf bytes.Buffer
	if resp.ContentLength > 0 {
		buf.Grow(int(resp.ContentLength) + bytes.MinRead)
	}
	if _, err := buf.ReadFrom(io.LimitReader(resp.Body, capBytes+1)); err != nil {
		return nil, fmt.Errorf("read response: %w", err)
	}
	if int64(buf.Len()) > capBytes {
		return nil, tooLarge
	}
	return buf.Bytes(), nil
}
