package engine

import (
	"math"
	"math/rand/v2"
	"testing"
)

// burstSeries is a 5-minute series (level 10, bounded noise of SD 1, plus
// an hourly cycle of the given amplitude) with a 30-minute burst of +20 at
// each of the given hours.
func burstSeries(hours int, hourly float64, burstsAt ...int) Series {
	rng := rand.New(rand.NewPCG(7, 11))
	var s Series
	for i := 0; i < hours*12; i++ {
		v := 10 + hourly*math.Sin(2*math.Pi*float64(i)/12) + math.Sqrt(3)*(2*rng.Float64()-1)
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

// While a series is young it has not shown its routine yet: a value it has
// already taken (more than an hour ago) is no news, so a burst that repeats
// the first one pages once, not every time (seenRangeDistance), while a
// burst higher than anything seen still pages. That holds whether or not a
// short period (here an hourly cycle) is modelled already.
func TestYoungSeriesRepeatsAreNotNews(t *testing.T) {
	for _, hourly := range []float64{0, 3} {
		s := burstSeries(40, hourly, 3, 9, 15, 30)
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
				t.Errorf("hourly cycle %v, %s: windows start at hours %v, want [3 17] (the first burst and the higher one)", hourly, m, hours)
			}
		}
	}
}

// A deviation within an hour of a larger one is the same incident: it
// starts no new run of flags, whichever its direction, while a larger one
// (the incident escalates) and one more than an hour later (a new incident)
// do. Flags stay a superset at higher sensitivity (TestSensitivityMonotone).
func TestRepeatWithinAnHourIsOneIncident(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 8))
	const start = 3 * 1440 // past the young series' first two days
	n := start + 600
	s := Series{Times: make([]int64, n), Values: make([]float64, n)}
	for i := range s.Values {
		s.Times[i] = 1_700_000_000_000 + int64(i)*minute
		s.Values[i] = 100 + math.Sqrt(3)*(2*rng.Float64()-1)
	}
	spikes := []struct {
		at   int
		size float64
		want bool
	}{
		{0, 20, true},    // a new incident
		{20, 12, false},  // 20 minutes later and smaller: the same incident
		{30, -12, false}, // a dip no larger: the same incident too
		{40, 30, true},   // it escalates
		{200, 25, true},  // smaller, but over two hours on: a new incident
	}
	for _, sp := range spikes {
		s.Values[start+sp.at] += sp.size
	}
	for _, m := range []Method{MethodAuto, MethodRobust, MethodAgile, MethodBasic, MethodChangepoint} {
		r := mustDetect(t, s, Options{Method: m, Causal: true})
		for _, sp := range spikes {
			if got := r.Anomaly[start+sp.at]; got != sp.want {
				t.Errorf("%s: %+.0f-sigma spike at minute %d flagged %v, want %v", m, sp.size, sp.at, got, sp.want)
			}
		}
	}
	// With direction up a dip is no incident: it does not hide the spike
	// that follows it within the hour.
	s.Values[start+300] -= 60
	s.Values[start+320] += 35
	for _, m := range []Method{MethodAuto, MethodRobust, MethodBasic} {
		r := mustDetect(t, s, Options{Method: m, Causal: true, Direction: DirectionUp})
		if !r.Anomaly[start+320] {
			t.Errorf("%s, direction up: the +35-sigma spike 20 minutes after a -60-sigma dip is not flagged", m)
		}
	}
}
