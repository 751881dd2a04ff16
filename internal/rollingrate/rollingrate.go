// Package rollingrate keeps the failure share of a sliding time window in fixed
// memory: events are counted in time buckets, and buckets older than the
// window are ignored and reused.
package rollingrate

import (
	"sync"
	"time"
)

// Window is safe for concurrent use.
type Window struct {
	mu      sync.Mutex
	width   time.Duration
	buckets []bucket
}

type bucket struct {
	slot          int64 // unix time / width: which period the counts belong to
	total, failed int64
}

// New returns a window of the given length split into n buckets.
func New(window time.Duration, n int) *Window {
	return &Window{width: window / time.Duration(n), buckets: make([]bucket, n)}
}

// Add counts one event at now.
func (w *Window) Add(now time.Time, failed bool) {
	slot := now.UnixNano() / int64(w.width)
	w.mu.Lock()
	defer w.mu.Unlock()
	b := &w.buckets[slot%int64(len(w.buckets))]
	if b.slot != slot {
		*b = bucket{slot: slot}
	}
	b.total++
	if failed {
		b.failed++
	}
}

// Rate returns the failed share and the number of events in the window ending at now.
func (w *Window) Rate(now time.Time) (float64, int64) {
	slot := now.UnixNano() / int64(w.width)
	oldest := slot - int64(len(w.buckets)) + 1
	w.mu.Lock()
	defer w.mu.Unlock()
	var total, failed int64
	for _, b := range w.buckets {
		if b.slot >= oldest && b.slot <= slot {
			total += b.total
			failed += b.failed
		}
	}
	if total == 0 {
		return 0, 0
	}
	return float64(failed) / float64(total), total
}
