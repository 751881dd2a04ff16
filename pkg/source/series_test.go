package source

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/sheepdog-anomaly/sheepdog/pkg/models"
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

func TestRangeIntervalDefaultsAndFloor(t *testing.T) {
	from := time.Date(2026, 1, 10, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name string
		r    Range
		want time.Duration
	}{
		{"neither step nor maxDataPoints: default maxDataPoints", Range{From: from, To: from.Add(time.Hour)}, 5 * time.Second},
		{"neither, a day", Range{From: from, To: from.Add(24 * time.Hour)}, 2 * time.Minute},
		{"neither, a minute: floored", Range{From: from, To: from.Add(time.Minute)}, time.Second},
		{"1ms step floored", Range{From: from, To: from.Add(time.Hour), Step: time.Millisecond}, time.Second},
		{"step kept without maxDataPoints", Range{From: from, To: from.Add(24 * time.Hour), Step: 15 * time.Second}, 15 * time.Second},
		{"maxDataPoints only", Range{From: from, To: from.Add(time.Hour), MaxDataPoints: 240}, 15 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.r.Interval(); got != tt.want {
				t.Errorf("interval %s, want %s", got, tt.want)
			}
		})
	}
}

func TestDSQueryBodyNeverAsksForMillisecondSteps(t *testing.T) {
	from := time.Date(2026, 1, 10, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name       string
		r          Range
		wantStep   int64
		maxMaxDPts int64
	}{
		{"no interval, no maxDataPoints", Range{From: from, To: from.Add(time.Hour)}, 5000, DefaultMaxDataPoints + 1},
		{"1ms interval", Range{From: from, To: from.Add(time.Hour), Step: time.Millisecond}, 1000, 3601},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body, err := buildDSQueryBody(models.DataSourceRef{UID: "p"}, nil, tt.r, "A", DefaultNestedMaxDataPoints)
			if err != nil {
				t.Fatal(err)
			}
			var got struct {
				Queries []struct {
					IntervalMs    int64 `json:"intervalMs"`
					MaxDataPoints int64 `json:"maxDataPoints"`
				} `json:"queries"`
			}
			if err := json.Unmarshal(body, &got); err != nil {
				t.Fatal(err)
			}
			q := got.Queries[0]
			if q.IntervalMs != tt.wantStep || q.MaxDataPoints > tt.maxMaxDPts {
				t.Errorf("intervalMs %d maxDataPoints %d, want %d and at most %d", q.IntervalMs, q.MaxDataPoints, tt.wantStep, tt.maxMaxDPts)
			}
		})
	}
}
