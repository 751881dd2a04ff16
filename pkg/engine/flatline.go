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
	flatMinRun = 10   // repeats before a flatline can be flagged
	flatLively = 50   // value changes (decaying) before flatlines are judged
	flatWarm   = 100  // points before flatlines are judged
	flatForget = 1e-4 // per-point decay of the longest run
)

func newFlatline() flatline { return flatline{last: math.NaN()} }

// observe takes the next finite value and returns a z-like score for the
// current run of repeats: scoreZ0 at the threshold, growing with the run.
func (f *flatline) observe(v float64) float64 {
	f.n++
	f.longest *= 1 - flatForget
	f.changes *= 1 - flatForget
	if v == f.last {
		f.run++
	} else {
		if !f.flagged || f.n < flatWarm {
			f.longest = max(f.longest, float64(f.run))
		}
		f.run, f.flagged = 0, false
		f.changes++
	}
	f.last = v
	if f.run < flatMinRun/2 {
		return 0
	}
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
