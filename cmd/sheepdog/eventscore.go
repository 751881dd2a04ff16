package main

import (
	"math"
	"sort"
)

// The early-detection event score follows the scoring scheme of the Numenta
// Anomaly Benchmark (Lavin and Ahmad, "Evaluating Real-time Anomaly Detection
// Algorithms", 2015), written here from its description:
//
//   - every labelled anomaly gets a scoring window centred on it, wide enough
//     that all windows together cover a tenth of the series;
//   - the first detection inside a window earns A_TP·σ(y), where y is its
//     position relative to the window's end (−1 at the start, 0 at the end) and
//     σ(y) = 2/(1+e^{5y}) − 1, so detecting early earns almost the full reward
//     and the reward falls off smoothly towards the end; later detections in
//     the same window neither earn nor cost;
//   - each false event (a run of flags outside every window) costs A_FP·σ(y),
//     y measured from the end of the window before it (a flag just after a
//     window costs little, one far from any window costs A_FP);
//   - each window with no detection costs A_FN.
//
// The raw sum is normalised so that a detector that never fires scores 0 and
// a perfect one (every window caught at its first point, no false events)
// scores 100. A detector that raises many false events goes below 0.

// eventProfile is one weighting of rewards and costs.
type eventProfile struct {
	Name       string
	TP, FP, FN float64
}

// eventProfiles are NAB's three application profiles.
var eventProfiles = []eventProfile{
	{Name: "standard", TP: 1, FP: 0.11, FN: 1},
	{Name: "low FP", TP: 1, FP: 0.22, FN: 1},
	{Name: "low FN", TP: 1, FP: 0.11, FN: 2},
}

// windowShare is the fraction of a series that the scoring windows cover.
const windowShare = 0.1

// scaledSigmoid maps a relative position to a reward in (−1, 1): ≈0.987 at
// y = −1 (window start), 0 at the window's end, towards −1 after it.
func scaledSigmoid(y float64) float64 {
	if y > 3 {
		return -1
	}
	return 2/(1+math.Exp(5*y)) - 1
}

// eventScore holds the raw event-score sums for one series (or a folder):
// Raw[p] is the sum under eventProfiles[p]; Perfect and Null are the same
// profile's sums for a perfect detector and one that never fires.
type eventScore struct {
	Raw, Perfect, Null []float64
}

func newEventScore() eventScore {
	n := len(eventProfiles)
	return eventScore{Raw: make([]float64, n), Perfect: make([]float64, n), Null: make([]float64, n)}
}

func (e *eventScore) add(o eventScore) {
	if o.Raw == nil {
		return
	}
	if e.Raw == nil {
		*e = newEventScore()
	}
	for p := range eventProfiles {
		e.Raw[p] += o.Raw[p]
		e.Perfect[p] += o.Perfect[p]
		e.Null[p] += o.Null[p]
	}
}

// normalised returns profile p's score on the 0 (never fires) .. 100
// (perfect) scale; NaN when the data has no labelled anomaly.
func (e eventScore) normalised(p int) float64 {
	if e.Raw == nil || e.Perfect[p] == e.Null[p] {
		return math.NaN()
	}
	return 100 * (e.Raw[p] - e.Null[p]) / (e.Perfect[p] - e.Null[p])
}

// scoringWindows widens each labelled span, centred on it, to at least the
// NAB window length (windowShare of the series' duration split evenly
// between the spans) and merges windows that then overlap.
func scoringWindows(times []int64, labelled []span) []span {
	if len(times) == 0 || len(labelled) == 0 {
		return nil
	}
	total := float64(times[len(times)-1] - times[0])
	minLen := int64(windowShare * total / float64(len(labelled)))
	ws := make([]span, 0, len(labelled))
	for _, l := range labelled {
		if l.End-l.Start < minLen {
			pad := (minLen - (l.End - l.Start)) / 2
			l = span{l.Start - pad, l.End + pad}
		}
		ws = append(ws, l)
	}
	sort.Slice(ws, func(i, j int) bool { return ws[i].Start < ws[j].Start })
	out := ws[:1]
	for _, w := range ws[1:] {
		last := &out[len(out)-1]
		if w.Start <= last.End {
			last.End = max(last.End, w.End)
			continue
		}
		out = append(out, w)
	}
	return out
}

// scoreEvents computes the event score of one series' flags against its
// labelled spans (times and spans in one unit, ascending).
func scoreEvents(times []int64, flags []bool, labelled []span) eventScore {
	es := newEventScore()
	// A series with no labelled anomaly has no windows: its Perfect and Null
	// stay 0, so it adds the cost of its false events and no reachable reward.
	windows := scoringWindows(times, labelled)
	nw := float64(len(windows))
	for p, pr := range eventProfiles {
		es.Perfect[p] = pr.TP * scaledSigmoid(-1) * nw
		es.Null[p] = -pr.FN * nw
	}
	detected := make([]bool, len(windows))
	w := 0
	inFalse := false
	for i, t := range times {
		for w < len(windows) && windows[w].End < t {
			w++
		}
		inside := w < len(windows) && windows[w].Start <= t
		if !flags[i] {
			inFalse = false
			continue
		}
		if inside {
			inFalse = false
			if !detected[w] {
				detected[w] = true
				win := windows[w]
				y := -1.0
				if length := win.End - win.Start; length > 0 {
					y = float64(t-win.End) / float64(length)
				}
				for p, pr := range eventProfiles {
					es.Raw[p] += pr.TP * scaledSigmoid(y)
				}
			}
			continue
		}
		if inFalse {
			continue
		}
		inFalse = true
		cost := 1.0 // far from any window
		if w > 0 {
			prev := windows[w-1]
			if length := prev.End - prev.Start; length > 0 {
				cost = -scaledSigmoid(float64(t-prev.End) / float64(length))
			}
		}
		for p, pr := range eventProfiles {
			es.Raw[p] -= pr.FP * cost
		}
	}
	for _, d := range detected {
		if !d {
			for p, pr := range eventProfiles {
				es.Raw[p] -= pr.FN
			}
		}
	}
	return es
}
