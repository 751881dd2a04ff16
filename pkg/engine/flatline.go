package engine

import "math"

// flatline notices a lively series getting stuck: a value repeated for much
// longer than the series has ever repeated one. The threshold is three times
// the second longest run of repeats seen in normal data (slowly forgotten),
// and at least flatMinRun. Runs that were flagged do not raise it, so one stuck
// episode does not hide the next; a series that rarely changes (a constant,
// a step) is never judged.
type flatline struct {
	last    float64
	run     int     // repeats of last so far
	longest float64 // longest unflagged run seen, decaying
	second  float64 // second longest, decaying: the one the threshold uses
	n       int     // finite points seen (as of the last slow-path call)
	flagged bool

	// Value changes are counted per block of flatDecayAt points (points
	// minus repeats), so a new value costs the fast path nothing but a store.
	changes      float64 // changes up to blockStart, decaying
	blockStart   int
	blockRepeats int
	decayAt      int // point count that closes the block
	slowAt       int // observe's fast path applies below this point count
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

func newFlatline() flatline {
	return flatline{last: math.NaN(), decayAt: flatDecayAt, slowAt: flatDecayAt}
}

// observe takes the next finite value and returns a z-like score for the
// current run of repeats: scoreZ0 at the threshold, growing with the run.
// A new value with no run open and no block to close is the inlined fast path.
// n is the stream's count of finite points, this one included.
func (f *flatline) observe(v float64, n int) float64 {
	if v != f.last && n < f.slowAt {
		f.last = v
		return 0
	}
	return f.observeSlow(v, n)
}

//go:noinline // keeps observe small enough to inline
func (f *flatline) observeSlow(v float64, n int) float64 {
	f.n = n
	if f.n >= f.decayAt {
		f.changes = (f.changes + float64(f.n-1-f.blockStart-f.blockRepeats)) * flatBlockDecay
		f.longest *= flatBlockDecay
		f.second *= flatBlockDecay
		f.blockStart, f.blockRepeats = f.n-1, 0
		f.decayAt = f.n - 1 + flatDecayAt
	}
	z := 0.0
	if v != f.last {
		f.last = v
		if f.run > 0 {
			f.endRun()
		}
	} else {
		f.blockRepeats++
		f.run++
		if f.run >= flatMinRun/2 {
			z = f.judge()
		}
	}
	f.slowAt = f.decayAt
	if f.run > 0 {
		f.slowAt = 0 // while a run is open every point takes the slow path
	}
	return z
}

func (f *flatline) endRun() {
	if !f.flagged || f.n < flatWarm {
		f.record(float64(f.run))
	}
	f.run, f.flagged = 0, false
}

// record keeps the two longest runs. The threshold follows the second, so a
// single past stuck episode (one that could not be judged yet, e.g. in the
// first points of a series) never hides the next one, and the result does not
// depend on whether the series happened to start before such an episode.
func (f *flatline) record(run float64) {
	if run > f.longest {
		f.longest, f.second = run, f.longest
	} else {
		f.second = max(f.second, run)
	}
}

func (f *flatline) judge() float64 {
	changes := f.changes + float64(f.n-f.blockStart-f.blockRepeats)
	if f.n < flatWarm || changes < flatLively {
		return 0 // recorded when the run ends
	}
	limit := max(flatMinRun, 3*f.second+1)
	if float64(f.run) < limit/2 {
		return 0
	}
	z := scoreZ0 * float64(f.run) / limit
	if z >= scoreZ0 {
		f.flagged = true
	}
	return z
}
