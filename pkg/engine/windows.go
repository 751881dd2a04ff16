package engine

import (
	"fmt"
	"math"
	"time"
)

// minMissingRun is the number of consecutive missing points reported as a
// missing_data window.
const minMissingRun = 3

// BuildWindows groups per-point flags into anomaly windows (missing points
// inside a run do not break it) and adds a missing_data window for every run
// of at least three missing points. In batch mode runs shorter than
// opt.MinDuration are dropped; causal flags already include that delay.
func BuildWindows(s Series, r *Result, opt Options) []Window {
	n := min(len(s.Times), len(s.Values), len(r.Anomaly))
	interval := time.Duration(medianStep(s.Times)) * time.Millisecond
	var out []Window
	for i := 0; i < n; {
		if r.Anomaly[i] {
			j := i
			for k := i + 1; k < n && (r.Anomaly[k] || math.IsNaN(s.Values[k])); k++ {
				if r.Anomaly[k] {
					j = k
				}
			}
			dur := time.Duration(s.Times[j]-s.Times[i])*time.Millisecond + interval
			if opt.Causal || dur >= opt.MinDuration {
				w := makeWindow(s, r, i, j)
				if w.Type == WindowLevelShift {
					w.Note = levelShiftNote(opt, interval)
				}
				out = append(out, w)
			}
			i = j + 1
			continue
		}
		if math.IsNaN(s.Values[i]) {
			j := i
			for j+1 < n && math.IsNaN(s.Values[j+1]) {
				j++
			}
			if j-i+1 >= minMissingRun {
				out = append(out, Window{Start: s.Times[i], End: s.Times[j], Peak: s.Times[i],
					PeakValue: 0, PeakExpected: at(r.Expected, i), Severity: SeverityLow, Type: WindowMissingData})
			}
			i = j + 1
			continue
		}
		i++
	}
	return out
}

// adaptSteps bounds how many points of a lasting level shift a method flags
// before it accepts the new level as normal: the points in a row outside the
// band after which it re-levels, and for auto the sustained run plus the
// hold during which the long-term model alone judges.
func adaptSteps(opt Options) int {
	if opt.Method == MethodAuto || opt.Method == "" {
		return sustainRun + holdSteps
	}
	cfg := configFor(opt)
	return cfg.shiftRun
}

// levelShiftNote is a level_shift window's text: how soon the new level
// becomes the normal one.
func levelShiftNote(opt Options, interval time.Duration) string {
	n := adaptSteps(opt)
	if n <= 0 {
		return ""
	}
	if interval <= 0 {
		return fmt.Sprintf("level shift: a lasting new level is accepted as normal within %d points, and flags stop then", n)
	}
	return fmt.Sprintf("level shift: a lasting new level is accepted as normal within %d points (%s), and flags stop then", n, time.Duration(n)*interval)
}

func at(x []float64, i int) float64 {
	if i < len(x) {
		return x[i]
	}
	return 0
}

func makeWindow(s Series, r *Result, i, j int) Window {
	peak := i
	for k := i; k <= j; k++ {
		if r.Anomaly[k] && at(r.Score, k) > at(r.Score, peak) {
			peak = k
		}
	}
	w := Window{
		Start: s.Times[i], End: s.Times[j], Peak: s.Times[peak],
		PeakValue: s.Values[peak], PeakExpected: at(r.Expected, peak),
		MaxScore: at(r.Score, peak),
	}
	w.Severity = severityOf(w.MaxScore)
	if peak < len(r.Direction) {
		w.Direction = r.Direction[peak]
	}
	if w.Direction == 0 {
		w.Direction = 1
		if w.PeakValue < w.PeakExpected {
			w.Direction = -1
		}
	}
	w.Type = classify(s, r, i, j, w.Direction)
	return w
}

// classify names the shape of a window from its points: constant values are a
// flatline, residuals of both signs a variance change, a few points a spike or
// dip, residuals growing through the run a trend change, else a level shift.
func classify(s Series, r *Result, i, j int, dir int8) WindowType {
	var pos, neg, cnt int
	lo, hi := math.Inf(1), math.Inf(-1)
	var res []float64
	for k := i; k <= j; k++ {
		v := s.Values[k]
		if math.IsNaN(v) {
			continue
		}
		cnt++
		lo, hi = math.Min(lo, v), math.Max(hi, v)
		d := v - at(r.Expected, k)
		if d > 0 {
			pos++
		} else if d < 0 {
			neg++
		}
		res = append(res, math.Abs(d))
	}
	switch {
	case cnt >= 3 && hi-lo <= 1e-12*math.Max(math.Abs(hi), math.Abs(lo)):
		return WindowFlatline
	case cnt >= 4 && pos*4 >= cnt && neg*4 >= cnt:
		return WindowVarianceChange
	case cnt <= 3:
		if dir < 0 {
			return WindowDip
		}
		return WindowSpike
	case growing(res):
		return WindowTrendChange
	}
	return WindowLevelShift
}

// growing reports whether x rises steadily (correlation with its index > 0.8
// and the last quarter well above the first).
func growing(x []float64) bool {
	n := float64(len(x))
	var sx, sy, sxx, syy, sxy float64
	for i, v := range x {
		f := float64(i)
		sx, sy, sxx, syy, sxy = sx+f, sy+v, sxx+f*f, syy+v*v, sxy+f*v
	}
	den := math.Sqrt((n*sxx - sx*sx) * (n*syy - sy*sy))
	if den == 0 {
		return false
	}
	q := len(x) / 4
	var first, last float64
	for k := 0; k < q; k++ {
		first += x[k]
		last += x[len(x)-1-k]
	}
	return (n*sxy-sx*sy)/den > 0.8 && last > 2*first
}
