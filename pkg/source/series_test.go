package source

import (
	"fmt"
	"testing"
	"time"
)

func TestRangeWithHistoryKeepsThePanelStep(t *testing.T) {
	from := time.Date(2026, 1, 10, 0, 0, 0, 0, time.UTC)
	panel := Range{From: from, To: from.Add(6 * time.Hour), Step: 15 * time.Second, MaxDataPoints: 720}
	if got := panel.Interval(); got != 30*time.Second {
		t.Fatalf("panel interval = %s, want 30s (6h / 720 points)", got)
	}
	h := panel.WithHistory(3 * 24 * time.Hour)
	if !h.From.Equal(from.Add(-72*time.Hour)) || !h.To.Equal(panel.To) {
		t.Errorf("range %v..%v", h.From, h.To)
	}
	if got := h.Interval(); got != 30*time.Second {
		t.Errorf("interval with history = %s, want the panel's 30s", got)
	}
	if same := panel.WithHistory(0); !same.From.Equal(panel.From) {
		t.Errorf("zero history moved From")
	}
}

func TestSeriesTrim(t *testing.T) {
	s := Series{Times: []int64{1000, 2000, 3000, 4000}, Values: []float64{1, 2, 3, 4}}
	for _, tc := range []struct {
		from, to int64
		want     string
	}{
		{2000, 3000, "[2000 3000] [2 3]"},
		{1500, 3500, "[2000 3000] [2 3]"},
		{0, 10000, "[1000 2000 3000 4000] [1 2 3 4]"},
		{5000, 6000, "[] []"},
		{3000, 2000, "[] []"},
	} {
		got := s.Trim(time.UnixMilli(tc.from), time.UnixMilli(tc.to))
		if g := fmt.Sprint(got.Times, " ", got.Values); g != tc.want {
			t.Errorf("Trim(%d, %d) = %s, want %s", tc.from, tc.to, g, tc.want)
		}
	}
}
