package engine

import (
	"math/rand/v2"
	"slices"
	"testing"
)

func TestMedianMatchesSort(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for n := 1; n < 200; n++ {
		for _, gen := range []func(int) float64{
			func(int) float64 { return rng.NormFloat64() },
			func(i int) float64 { return float64(i) },         // sorted
			func(i int) float64 { return float64(-i) },        // reversed
			func(int) float64 { return float64(rng.IntN(3)) }, // many ties
		} {
			x := make([]float64, n)
			for i := range x {
				x[i] = gen(i)
			}
			s := slices.Clone(x)
			slices.Sort(s)
			want := s[n/2]
			if n%2 == 0 {
				want = (s[n/2-1] + s[n/2]) / 2
			}
			if got := medianInPlace(slices.Clone(x)); got != want {
				t.Fatalf("n=%d: median %v, want %v (input %v)", n, got, want, x)
			}
		}
	}
}
