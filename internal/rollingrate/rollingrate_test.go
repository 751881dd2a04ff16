package rollingrate

import (
	"testing"
	"time"
)

type event struct {
	at     time.Duration // after t0
	failed bool
}

func TestWindow(t *testing.T) {
	t0 := time.Unix(1_700_000_000, 0)
	tests := []struct {
		name      string
		events    []event // in time order, as callers add them
		at        time.Duration
		wantRate  float64
		wantTotal int64
	}{
		{"empty", nil, 0, 0, 0},
		{"half failed", []event{{0, true}, {0, false}}, 0, 0.5, 2},
		{"spread over the window", []event{{0, true}, {2 * time.Minute, false}, {2 * time.Minute, false}, {3 * time.Minute, false}}, 4 * time.Minute, 0.25, 4},
		{"old events forgotten", []event{{0, true}, {0, false}}, 6 * time.Minute, 0, 0},
		{"bucket reused after a full turn", []event{{0, true}, {5 * time.Minute, false}}, 5 * time.Minute, 0, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := New(5*time.Minute, 30)
			for _, e := range tc.events {
				w.Add(t0.Add(e.at), e.failed)
			}
			rate, total := w.Rate(t0.Add(tc.at))
			if rate != tc.wantRate || total != tc.wantTotal {
				t.Fatalf("Rate = %v over %d, want %v over %d", rate, total, tc.wantRate, tc.wantTotal)
			}
		})
	}
}
