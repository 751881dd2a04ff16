package engine

import "time"

// MedianStep is a series' typical spacing: the median of its first
// thousand gaps (0 with fewer than two points). The engine reads the
// sampling interval this way, and so do the remote client and the API server,
// so the three agree on a series' step.
func MedianStep(times []int64) time.Duration {
	return time.Duration(medianStep(times)) * time.Millisecond
}
