package engine

import "math"

// flatline notices a lively series getting stuck: a value repeated for much
// longer than the series has ever repeated one. The threshold is three times
// the longest run of repeats seen in normal data (slowly forgotten), and at
// least flatMinRun. Runs that were flagged do not raise it, so one stuck
// episode does not hide the next; a series that rarely changes (a constant,
// a step) is never judged.
type flatline struct {
	last    float64
	run     int     // repeats of last so far
	longest float64 // longest unflagged run seen, decaying
	n       int
	changes float64 // value changes seen, decaying
	flagged bool
}

const (
	flatMinRun  = 10   // repeats before a flatline can be flagged
	flatLively  = 50   // value changes (decaying) before flatlines are judged
	flatWarm    = 100  // points before flatlines are judged
	flatForget  = 1e-4 // per-point decay of the longest run and the change count
	flatDecayAt = 1024 // the decay is applied in blocks of this many points
)

// flatBlockDecay is (1-flatForget)^flatDecayAt.
var flatBlockDecay = math.Pow(1-flatForget, flatDecayAt)

func newFlatline() flatline { return flatline{last: math.NaN()} }

// observe takes the next finite value and returns a z-like score for the
// current run of repeats: scoreZ0 at the threshold, growing with the run.
// The common cases are kept small enough to inline.
func (f *flatline) observe(v float64) float64 {
	f.n++
	if f.n&(flatDecayAt-1) == 0 {
		f.decay()
	}
	if v != f.last {
		f.last = v
		f.changes++
		if f.run > 0 {
			f.endRun()
		}
		return 0
	}
	f.run++
	if f.run < flatMinRun/2 {
		return 0
	}
	return f.judge()
}

func (f *flatline) decay() {
	f.longest *= flatBlockDecay
	f.changes *= flatBlockDecay
}

func (f *flatline) endRun() {
	if !f.flagged || f.n < flatWarm {
		f.longest = max(f.longest, float64(f.run))
	}
	f.run, f.flagged = 0, false
}

func (f *flatline) judge() float64 {
	if f.n < flatWarm || f.changes < flatLively {
		f.longest = max(f.longest, float64(f.run))
		return 0
	}
	limit := max(flatMinRun, 3*f.longest+1)
	if float64(f.run) < limit/2 {
		return 0
	}
	z := scoreZ0 * float64(f.run) / limit
	if z >= scoreZ0 {
		f.flagged = true
	}
	return z
}
