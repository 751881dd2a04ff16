package engine

import (
	"math"
	"math/rand/v2"
	"testing"
)

// BenchmarkDetectPeriod is the cost of one period scan over a full scan buffer.
func BenchmarkDetectPeriod(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 1))
	x := make([]float64, scanBins)
	for i := range x {
		x[i] = math.Sin(2*math.Pi*float64(i)/144) + rng.NormFloat64()
	}
	b.ReportAllocs()
	for b.Loop() {
		detectPeriod(x, 0, 600_000)
	}
}
