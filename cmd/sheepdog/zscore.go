package main

import "math"

// zScoreFlags is the comparison baseline: a plain rolling z-score flagging a
// point more than k standard deviations from the mean of the points in the
// preceding window (no seasonality, no robustness), once warmUp points are in
// the window. It is causal and O(1) amortised per point.
func zScoreFlags(times []int64, values []float64, window int64, k float64, warmUp int) []bool {
	flags := make([]bool, len(times))
	var ref, sum, sumSq float64
	haveRef := false
	head, cnt := 0, 0
	for i, t := range times {
		for head < i && times[head] <= t-window {
			if v := values[head]; !math.IsNaN(v) {
				d := v - ref
				sum -= d
				sumSq -= d * d
				cnt--
			}
			head++
		}
		v := values[i]
		if math.IsNaN(v) {
			continue
		}
		if !haveRef {
			ref, haveRef = v, true
		}
		if cnt >= warmUp && cnt > 1 {
			mean := sum / float64(cnt)
			variance := math.Max(sumSq/float64(cnt)-mean*mean, 0)
			flags[i] = math.Abs(v-ref-mean) > k*math.Sqrt(variance)
		}
		d := v - ref
		sum += d
		sumSq += d * d
		cnt++
	}
	return flags
}

// baselineWarmUp is the number of points the z-score window needs before it
// flags: 30 like the engine's default warm-up, but at most half a day so
// hourly series (24 points a day) are scored at all.
func baselineWarmUp(intervalSeconds float64) int {
	perDay := 86400 / math.Max(intervalSeconds, 1)
	return int(math.Max(2, math.Min(30, perDay/2)))
}
