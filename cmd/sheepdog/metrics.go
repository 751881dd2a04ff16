package main

import (
	"math"
	"slices"
)

// span is a labelled anomaly window, both ends inclusive, in the series' time unit.
type span struct{ Start, End int64 }

// seriesScore holds the event-level counts for one series.
type seriesScore struct {
	Windows     int     // labelled windows
	Found       int     // labelled windows with at least one flag inside
	FalseAlarms int     // runs of consecutive flags outside every window
	NormalDays  float64 // days of unlabelled data (normal points x interval)
	Delays      []float64
	Points      int
	Event       eventScore // early-detection event score (eventscore.go)
}

// scoreSeries computes event-level figures: a window is found when a flag lands
// in it (the delay is from its start to the first such flag); flags outside
// every window, merged into runs of consecutive points, are false alarms.
// times and the windows use the same unit; intervalDays converts one step.
func scoreSeries(times []int64, flags []bool, windows []span, intervalDays float64) seriesScore {
	sc := seriesScore{Windows: len(windows), Points: len(times)}
	found := make([]bool, len(windows))
	w := 0
	inFalse := false
	normal := 0
	for i, t := range times {
		for w < len(windows) && windows[w].End < t {
			w++
		}
		inside := w < len(windows) && windows[w].Start <= t
		if !inside {
			normal++
		}
		if !flags[i] {
			inFalse = false
			continue
		}
		if inside {
			inFalse = false
			if !found[w] {
				found[w] = true
				sc.Found++
				sc.Delays = append(sc.Delays, float64(t-windows[w].Start))
			}
			continue
		}
		if !inFalse {
			sc.FalseAlarms++
			inFalse = true
		}
	}
	sc.NormalDays = float64(normal) * intervalDays
	sc.Event = scoreEvents(times, flags, windows)
	return sc
}

// summary aggregates series scores (micro-averaged over events).
type summary struct {
	Series, Windows, Found, FalseAlarms, Points int
	NormalDays                                  float64
	Delays                                      []float64
	Seconds                                     float64 // detector time, summed over series
	Event                                       eventScore
}

func (s *summary) add(sc seriesScore, seconds float64) {
	s.Series++
	s.Windows += sc.Windows
	s.Found += sc.Found
	s.FalseAlarms += sc.FalseAlarms
	s.NormalDays += sc.NormalDays
	s.Delays = append(s.Delays, sc.Delays...)
	s.Points += sc.Points
	s.Seconds += seconds
	s.Event.add(sc.Event)
}

func (s summary) precision() float64 { return ratio(s.Found, s.Found+s.FalseAlarms) }
func (s summary) recall() float64    { return ratio(s.Found, s.Windows) }
func (s summary) f1() float64 {
	p, r := s.precision(), s.recall()
	if p+r == 0 {
		return 0
	}
	return 2 * p * r / (p + r)
}
func (s summary) falsePerDay() float64 {
	if s.NormalDays == 0 {
		return 0
	}
	return float64(s.FalseAlarms) / s.NormalDays
}
func (s summary) medianDelay() float64 {
	if len(s.Delays) == 0 {
		return math.NaN()
	}
	d := slices.Clone(s.Delays)
	slices.Sort(d)
	if n := len(d); n%2 == 0 {
		return (d[n/2-1] + d[n/2]) / 2
	}
	return d[len(d)/2]
}
func (s summary) pointsPerSecond() float64 {
	if s.Seconds == 0 {
		return 0
	}
	return float64(s.Points) / s.Seconds
}

func ratio(a, b int) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}
