package engine

import (
	"math/rand/v2"
	"testing"
)

// Routine is a rate, not a count: on an hourly series with a 3-hour incident
// of 8 SDs every five days, or every three, ten weeks long, every incident
// pages. With three free spikes in a four-week memory the fourth and later
// incidents were learnt as routine and hidden; with a quarter a day free,
// the incidents every three days were (7 of 22 missed).
func TestRareIncidentsStayIncidents(t *testing.T) {
	for _, everyDays := range []int{5, 3} {
		rareIncidentsStayIncidents(t, everyDays)
	}
}

func rareIncidentsStayIncidents(t *testing.T, everyDays int) {
	rng := rand.New(rand.NewPCG(11, 5))
	const hour, n = 60 * minute, 70 * 24
	s := Series{Times: make([]int64, n), Values: make([]float64, n)}
	var starts []int
	for i := range s.Values {
		s.Times[i] = 1_700_000_000_000 + int64(i)*hour
		s.Values[i] = 10 + rng.NormFloat64()
	}
	for at := 100; at+3 < n; at += everyDays * 24 {
		starts = append(starts, at)
		for i := at; i < at+3; i++ {
			s.Values[i] += 8
		}
	}
	for _, m := range []Method{MethodAuto, MethodRobust, MethodBasic} {
		r := mustDetect(t, s, Options{Method: m, Causal: true, Period: NoSeasonality})
		missed := 0
		for _, at := range starts {
			if countFlags(r, at, at+3) == 0 {
				missed++
			}
		}
		if missed > 0 {
			t.Errorf("%s: %d of %d incidents (one in %d days) not flagged", m, missed, len(starts), everyDays)
		}
	}
}
