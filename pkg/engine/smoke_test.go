package engine

import (
	"context"
	"math"
	"math/rand/v2"
	"testing"
)

func synth(n int, seed uint64) Series {
	rng := rand.New(rand.NewPCG(seed, 1))
	s := Series{Times: make([]int64, n), Values: make([]float64, n)}
	for i := range s.Times {
		s.Times[i] = int64(i) * 60000
		s.Values[i] = 10 + 3*math.Sin(2*math.Pi*float64(i)/1440) + rng.NormFloat64()*0.2
	}
	return s
}

func TestSmokeSpike(t *testing.T) {
	for _, m := range []Method{MethodBasic, MethodRobust, MethodAgile, MethodChangepoint, MethodAuto} {
		s := synth(5000, 1)
		s.Values[4000] += 5
		r, err := Detect(context.Background(), s, Options{Method: m, Causal: true})
		if err != nil {
			t.Fatal(err)
		}
		fl := 0
		for _, a := range r.Anomaly {
			if a {
				fl++
			}
		}
		t.Logf("%s: flagged %d, spike flagged %v score %.3f, info %+v windows %d", m, fl, r.Anomaly[4000], r.Score[4000], r.Info, len(r.Windows))
	}
}
