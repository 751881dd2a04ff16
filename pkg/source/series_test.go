package source

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/sheepdog-anomaly/sheepdog/pkg/models"
)

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
