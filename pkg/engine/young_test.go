package engine

import (
	"math"
	"math/rand/v2"
	"testing"
)

// burstSeries is a flat 5-minute series (level 10, bounded noise of SD 1)
// with a 30-minute burst to 30 at each of the given hours.
func burstSeries(hours int, burstsAt ...int) Series {
	rng := rand.New(rand.NewPCG(7, 11))
	var s Series
	for i := 0; i < hours*12; i++ {
		v := 10 + math.Sqrt(3)*(2*rng.Float64()-1)
		for _, h := range burstsAt {
			if i >= h*12 && i < h*12+6 {
				v += 20
			}
		}
		s.Times = append(s.Times, 1_700_006_400_000+int64(i)*5*minute)
		s.Values = append(s.Values, v)
	}
	return s
}

// On its first day a series has not shown its routine yet: a value it has
// already taken (more than an hour ago) is no news, so a burst that repeats
// the first one pages once, not every time (seenRangeDistance), while a
// burst higher than anything seen still pages.
func TestYoungSeriesRepeatsAreNotNews(t *testing.T) {
	s := burstSeries(20, 3, 9, 15)
	for i := 17 * 12; i < 17*12+3; i++ {
		s.Values[i] += 60 // hour 17: higher than any burst before
	}
	for _, m := range []Method{MethodAuto, MethodRobust, MethodAgile, MethodChangepoint} {
		r := mustDetect(t, s, Options{Method: m, Causal: true})
		var hours []int
		for _, w := range r.Windows {
			hours = append(hours, int((w.Start-s.Times[0])/(3600_000)))
		}
		if len(hours) != 2 || hours[0] != 3 || hours[1] != 17 {
			t.Errorf("%s: windows start at hours %v, want [3 17] (the first burst and the higher one)", m, hours)
		}
	}
}
