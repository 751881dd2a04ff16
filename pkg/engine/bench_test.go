package engine

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"syscall"
	"testing"
	"time"
)

// benchSeries is a noisy daily-seasonal minutely series with a few spikes and
// a level shift, so every code path (clipping, re-levelling, seasonality) runs.
func benchSeries(n int) Series {
	rng := rand.New(rand.NewPCG(42, 7))
	s := Series{Times: make([]int64, n), Values: make([]float64, n)}
	level := 100.0
	for i := range s.Times {
		s.Times[i] = 1_700_000_000_000 + int64(i)*60_000
		if i%50_000 == 25_000 {
			level += 20
		}
		v := level + 10*math.Sin(2*math.Pi*float64(i)/1440) + rng.NormFloat64()
		if rng.IntN(1000) == 0 {
			v += 30
		}
		s.Values[i] = v
	}
	return s
}

// BenchmarkPush measures the causal per-point cost (the streaming path every
// method uses), reporting ns/point and points/s.
func BenchmarkPush(b *testing.B) {
	for _, m := range []Method{MethodBasic, MethodRobust, MethodAgile, MethodChangepoint, MethodAuto} {
		for _, n := range []int{10_000, 1_000_000} {
			s := benchSeries(n)
			b.Run(fmt.Sprintf("%s/n=%d", m, n), func(b *testing.B) {
				b.ReportAllocs()
				cpu0 := threadCPU()
				for b.Loop() {
					st, err := NewStream(Options{Method: m})
					if err != nil {
						b.Fatal(err)
					}
					for i, t := range s.Times {
						st.Push(t, s.Values[i])
					}
				}
				reportRate(b, n, cpu0)
			})
		}
	}
}

// BenchmarkDetectCausal measures the batch entry point in causal mode,
// including the result slices and window building.
func BenchmarkDetectCausal(b *testing.B) {
	for _, m := range []Method{MethodBasic, MethodAuto} {
		for _, n := range []int{10_000, 1_000_000} {
			s := benchSeries(n)
			b.Run(fmt.Sprintf("%s/n=%d", m, n), func(b *testing.B) {
				b.ReportAllocs()
				cpu0 := threadCPU()
				for b.Loop() {
					if _, err := Detect(context.Background(), s, Options{Method: m, Causal: true}); err != nil {
						b.Fatal(err)
					}
				}
				reportRate(b, n, cpu0)
			})
		}
	}
}

// reportRate reports wall-clock ns/point and points/s, and the process CPU
// time per point, which stays meaningful when other jobs share the machine.
func reportRate(b *testing.B, n int, cpu0 time.Duration) {
	points := float64(b.N) * float64(n)
	ns := float64(b.Elapsed().Nanoseconds()) / points
	b.ReportMetric(ns, "ns/point")
	b.ReportMetric(1e9/ns, "points/s")
	b.ReportMetric(float64((threadCPU()-cpu0).Nanoseconds())/points, "cpu-ns/point")
}

// threadCPU is the CPU time used by the process so far.
func threadCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

var calibrationSink float64

// BenchmarkCalibrationEWMA times a plain dependent EWMA loop (a chain of three
// floating-point operations, about 12 cycles or 4 ns per step at 3 GHz). It
// is the yardstick for the figures above on a shared machine: divide a
// ns/point figure by its ns/step to get the cost in "EWMA steps".
func BenchmarkCalibrationEWMA(b *testing.B) {
	v := make([]float64, 1<<20)
	for i := range v {
		v[i] = float64(i % 97)
	}
	cpu0 := threadCPU()
	for b.Loop() {
		x := 0.0
		for _, y := range v {
			x += 0.01 * (y - x)
		}
		calibrationSink = x
	}
	reportRate(b, len(v), cpu0)
}

// BenchmarkCalibrationThroughput times a loop of independent multiply-adds
// (eight accumulators), which is bound by how many instructions the core
// issues per cycle rather than by latency: about one element per cycle
// (~0.4 ns at 2.5 GHz) on an idle modern core. When another thread shares
// the core it slows down like the detectors do, so it tells how much of a
// ns/point figure is the machine rather than the code.
func BenchmarkCalibrationThroughput(b *testing.B) {
	v := make([]float64, 1<<16)
	for i := range v {
		v[i] = float64(i % 97)
	}
	cpu0 := threadCPU()
	for b.Loop() {
		var a0, a1, a2, a3, a4, a5, a6, a7 float64
		for i := 0; i+8 <= len(v); i += 8 {
			a0 += v[i] * 1.0001
			a1 += v[i+1] * 1.0001
			a2 += v[i+2] * 1.0001
			a3 += v[i+3] * 1.0001
			a4 += v[i+4] * 1.0001
			a5 += v[i+5] * 1.0001
			a6 += v[i+6] * 1.0001
			a7 += v[i+7] * 1.0001
		}
		calibrationSink = a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7
	}
	reportRate(b, len(v), cpu0)
}
