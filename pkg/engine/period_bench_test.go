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
	cpu0 := threadCPU()
	sc := &scratch{}
	for b.Loop() {
		sc.reset()
		_, _, _ = detectPeriod(x, 0, 600_000, sc)
	}
	b.ReportMetric(float64((threadCPU()-cpu0).Nanoseconds())/float64(b.N), "cpu-ns/op")
}

// TestFFTMatchesDFT checks the FFT against a direct DFT.
func TestFFTMatchesDFT(t *testing.T) {
	rng := rand.New(rand.NewPCG(2, 2))
	for _, n := range []int{1, 2, 8, 64} {
		a := make([]complex128, n)
		for i := range a {
			a[i] = complex(rng.NormFloat64(), rng.NormFloat64())
		}
		want := make([]complex128, n)
		for k := range want {
			for j, x := range a {
				sn, cs := math.Sincos(-2 * math.Pi * float64(j*k) / float64(n))
				want[k] += x * complex(cs, sn)
			}
		}
		got := append([]complex128(nil), a...)
		fft(got, false)
		for k := range got {
			if d := got[k] - want[k]; math.Hypot(real(d), imag(d)) > 1e-9 {
				t.Fatalf("n=%d: bin %d = %v, want %v", n, k, got[k], want[k])
			}
		}
		fft(got, true)
		for k := range got {
			if d := got[k]/complex(float64(n), 0) - a[k]; math.Hypot(real(d), imag(d)) > 1e-9 {
				t.Fatalf("n=%d: inverse bin %d = %v, want %v", n, k, got[k], a[k])
			}
		}
	}
}
