package source

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/sheepdog-anomaly/sheepdog/internal/fakeprom"
	"github.com/sheepdog-anomaly/sheepdog/pkg/models"
)

// The Prometheus client stops as soon as the fetch's points pass
// Range.MaxPoints: 10 series × 40,000 points at 15s is four chunks of
// 11,000 steps; a limit of 150,000 points is passed in the second chunk, so
// the third and fourth are never asked for. Without a limit all four are read.
func TestPromQueryRangeStopsAtThePointLimit(t *testing.T) {
	srv := fakeprom.Start(t, 10)
	calls := &srv.Calls
	c, err := NewPromClient(PromConfig{URL: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	from := time.Unix(1_700_000_000, 0)
	r := Range{From: from, To: from.Add(40_000 * 15 * time.Second), Step: 15 * time.Second}

	r.MaxPoints = 150_000
	_, err = c.QueryRange(context.Background(), "m", r, "")
	var ple *PointLimitError
	if !errors.As(err, &ple) || ple.Limit != 150_000 || ple.Points != 150_001 {
		t.Fatalf("err = %v (%+v), want a PointLimitError at 150001 of 150000 points", err, ple)
	}
	if n := calls.Load(); n != 2 {
		t.Errorf("%d query_range calls, want 2 (stopped in the second chunk)", n)
	}

	calls.Store(0)
	r.MaxPoints = 0
	s, err := c.QueryRange(context.Background(), "m", r, "")
	if err != nil || len(s) != 10 || s[0].PointCount() != 40_001 || calls.Load() != 4 {
		t.Fatalf("no limit: %d series, %d calls, %v", len(s), calls.Load(), err)
	}
	// Exactly at the limit is within it.
	r.MaxPoints = 400_010
	if _, err := c.QueryRange(context.Background(), "m", r, ""); err != nil {
		t.Errorf("at the limit: %v", err)
	}
}

// An answer too large for the points it may hold is refused by its size,
// before it is decoded (a chunk of 300 series × 11,000 points here, about 88 MB).
func TestPromQueryRangeRefusesAnAnswerTooLargeForTheLimit(t *testing.T) {
	srv := fakeprom.Start(t, 300)
	sent := &srv.Sent
	c, _ := NewPromClient(PromConfig{URL: srv.URL})
	from := time.Unix(1_700_000_000, 0)
	r := Range{From: from, To: from.Add(10_999 * 15 * time.Second), Step: 15 * time.Second, MaxPoints: 20_000}
	_, err := c.QueryRange(context.Background(), "m", r, "")
	var ple *PointLimitError
	if !errors.As(err, &ple) || ple.Bytes != BytesForPoints(20_000) {
		t.Fatalf("err = %v, want a PointLimitError by size", err)
	}
	t.Logf("server wrote %d bytes, the client kept at most %d", sent.Load(), ple.Bytes)
}

// The /api/ds/query client caps the answer's size by the point limit: the
// SDK decodes frames only whole, so it cannot stop half-way.
func TestGrafanaQueryRefusesAnAnswerTooLargeForTheLimit(t *testing.T) {
	fg, srv := newFakeGrafana(t)
	fg.answer(http.StatusOK, "prometheus_range.json")
	c := newTestGrafanaClient(t, srv)
	ctx := context.Background()
	r := testRange
	all, err := c.Query(ctx, promRef, nil, r, GrafanaQueryOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var points int64
	for _, s := range all {
		points += int64(s.PointCount())
	}
	r.MaxPoints = points
	if _, err := c.Query(ctx, promRef, nil, r, GrafanaQueryOptions{}); err != nil {
		t.Errorf("at the limit: %v", err)
	}
	r.MaxPoints = points - 1
	var ple *PointLimitError
	if _, err := c.Query(ctx, promRef, nil, r, GrafanaQueryOptions{}); !errors.As(err, &ple) || ple.Points != points {
		t.Errorf("one point over: %v", err)
	}

	// A large answer: refused by its size, whatever its points.
	big := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if answerDataSourceType(w, r) {
			return
		}
		w.Write([]byte(`{"results":{"A":{"frames":[],"pad":"`))
		chunk := []byte(strings.Repeat("x", 1<<16))
		for range 64 { // 4 MiB
			if _, err := w.Write(chunk); err != nil {
				return
			}
		}
		w.Write([]byte(`"}}}`))
	}))
	defer big.Close()
	bc, _ := NewGrafanaClient(GrafanaConfig{AppURL: big.URL, Token: grafanaToken, Allowed: []string{promRef.UID}})
	defer bc.Close()
	r.MaxPoints = 10_000 // 64 bytes a point + 1 MiB: about 1.6 MiB
	_, err = bc.Query(ctx, models.DataSourceRef{UID: promRef.UID}, nil, r, GrafanaQueryOptions{})
	if !errors.As(err, &ple) || ple.Bytes != BytesForPoints(10_000) || !strings.Contains(err.Error(), "more than 10000 points can take") {
		t.Fatalf("err = %v, want a PointLimitError by size", err)
	}
}
