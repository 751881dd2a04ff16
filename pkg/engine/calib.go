package engine

import "math"

// tailCalibrator widens the band to each series' own tail. It keeps a
// decaying histogram of past |z| *spikes* (a run of at most maxSpikeLen
// large deviations counts once, at its peak; longer runs such as outages do
// not count at all) and finds the smallest z whose rarity — the share of
// past spikes at least that large, shrunk towards the Gaussian tail and
// ignoring the last few spikes — is below the Gaussian rarity of the band k.
// On Gaussian noise that is k itself; on a series where 10-sigma spikes
// happen every hour it is more than 10, so routine spikes stop paging while
// a never-seen deviation still does. Because the first eventsFree spikes
// never count, one or two past incidents cannot hide the next one.
//
// The per-point cost is a counter and two comparisons: spikes are weighted
// by exp(decay·(n−epoch)) when they end, and the decayed point count is
// computed in closed form when the threshold is refitted.
type tailCalibrator struct {
	bins     [tailBins]float64 // spike weights relative to epoch
	n, epoch int
	runLen   int
	runMax   float64
	lastFit  int
	nextFit  int
	slowAt   int     // observe takes its slow path from this point count
	zThr     float64 // band half-width in robust SDs (>= k) from the last fit
	usedThr  float64 // the half-width that applied to the latest point
	usedGain float64 // k/usedThr
	k, pK    float64
	maxBin   int     // highest bin ever used
	decay    float64 // per point: the sampling step over tailMemory
	idle     int     // points between refits when no spike ends
	timed    bool    // decay set from the series' step
	stepMs   float64 // the series' step, once known (setStep)
}

// tailEdges and tailGauss are read-only tables: the lower |z| edge of each
// bin and the Gaussian two-sided tail probability there.
// tailHeavy is the heavy-tailed prior (see fit): heavyPrior pseudo-spikes
// whose size beyond eventZ has a Student-t(4)-like tail, (eventZ/z)^heavyDoF.
var tailEdges, tailGauss, tailHeavy = func() (e, g, h [tailBins + 1]float64) {
	for b := range e {
		oct, sub := b/tailSub, b%tailSub
		e[b] = math.Ldexp(1+float64(sub)/tailSub, oct)
		g[b] = math.Erfc(e[b] / math.Sqrt2)
		h[b] = heavyPrior * min(1, math.Pow(eventZ/e[b], heavyDoF))
	}
	return e, g, h
}()

const (
	tailSub     = 8 // bins per octave of |z|
	tailOctaves = 20
	tailBins    = tailSub * tailOctaves
	tailMemory  = 28 * 86400e3     // ms: the memory is 20 000 points but at most four weeks (setStep)
	tailDecay   = 1.0 / 20000      // per point: a memory of ~20k points (two weeks of minutely data)
	tailPrior   = 1000.0           // Gaussian pseudo-points
	eventsFree  = 3.0              // past spikes that never make a deviation "normal"
	heavyPrior  = 3 * eventsFree   // pseudo-spikes of the heavy-tailed prior (tailHeavy, fit)
	heavyEngage = 6.0              // spikes of heavyZ or more that engage the prior fully (each one a sixth)
	heavyFadeMs = 7 * 86400e3      // ms: the prior fades over a week of the series' time (e-folding)
	heavyDoF    = 4.0              // its tail index: a Student-t with 4 degrees of freedom
	heavyZ      = 4.0              // spikes of at least this |z| (the default band, fixed so no state depends on k) engage it
	routineRate = 0.5              // spikes a day: rarer than one in two days is never routine (fit)
	eventZ      = 3.0              // |z| that starts a spike
	maxSpikeLen = 10               // longest run (points) that counts as a routine spike
	refitEvery  = 1                // refit at the next point after a spike ends
	refitIdle   = 1024             // and at least this often (past spikes grow rarer), in points on minutely data:
	refitIdleMs = refitIdle * 60e3 // in time (17 h), whatever the step
	refitMin    = 16               // but never more often than this many points (cost)
	maxExponent = 300.0            // rescale the weights before exp(decay·(n−epoch)) gets near overflow
)

func newTailCalibrator(k float64) tailCalibrator {
	return tailCalibrator{decay: tailDecay, idle: refitIdle, zThr: k, usedThr: k, usedGain: 1, k: k, pK: math.Erfc(k / math.Sqrt2), nextFit: refitIdle, slowAt: refitIdle}
}

func tailBin(z float64) int {
	frac, exp := math.Frexp(z) // z = frac * 2^exp, frac in [0.5,1)
	b := (exp-1)*tailSub + int((frac-0.5)*2*tailSub)
	return min(max(b, 0), tailBins-1)
}

// observe records a point's |z|; usedThr/usedGain give the band that
// applied to it (fitted before it was seen). The common case — a small
// deviation, nothing to refit — is a counter and a few comparisons, inlined.
func (c *tailCalibrator) observe(az float64) {
	c.n++
	if az >= eventZ || c.n >= c.slowAt {
		c.observeSlow(az)
	}
}

func (c *tailCalibrator) observeSlow(az float64) {
	if c.usedThr != c.zThr {
		c.usedThr, c.usedGain = c.zThr, c.k/c.zThr
	}
	if az >= eventZ {
		c.runLen++
		c.runMax = max(c.runMax, az)
	} else if c.runLen > 0 {
		c.endRun()
	}
	if c.n >= c.nextFit {
		c.fit()
	}
	// the next point takes the slow path too while a run is open or a new
	// threshold is waiting to apply, otherwise only at the next refit
	c.slowAt = c.nextFit
	if c.runLen > 0 || c.usedThr != c.zThr {
		c.slowAt = c.n + 1
	}
}

// endRun records a finished run of large deviations if it was a spike.
func (c *tailCalibrator) endRun() {
	if c.runLen <= maxSpikeLen {
		c.rescale()
		b := tailBin(c.runMax)
		c.bins[b] += math.Exp(c.decay * float64(c.n-c.epoch))
		c.maxBin = max(c.maxBin, b)
		c.nextFit = min(c.nextFit, c.lastFit+refitEvery)
	}
	c.runLen, c.runMax = 0, 0
}

// levelShift tells the calibrator that the open run of large deviations was a
// new level (the model re-levelled on it), not a spike: it must never count
// as routine, or every level shift would widen the band for the next one.
func (c *tailCalibrator) levelShift() {
	if c.runLen > 0 {
		c.runLen = maxSpikeLen + 1
	}
}

// rescale moves the epoch to now before the weights could overflow.
func (c *tailCalibrator) rescale() {
	if c.decay*float64(c.n-c.epoch) < maxExponent {
		return
	}
	f := math.Exp(-c.decay * float64(c.n-c.epoch))
	for i := range c.bins[:c.maxBin+1] {
		c.bins[i] *= f
	}
	c.epoch = c.n
}

// fit finds the smallest bin edge z >= k whose calibrated rarity is below pK.
func (c *tailCalibrator) fit() {
	c.lastFit, c.nextFit = c.n, c.n+c.idle
	c.rescale()
	// decayed number of points seen: sum of exp(-decay·i) for i < n
	points := -math.Expm1(-c.decay*float64(c.n)) / -math.Expm1(-c.decay)
	n := points + tailPrior
	toNow := math.Exp(-c.decay * float64(c.n-c.epoch))
	// suffix sums from the top; the rarity falls as z grows, so the
	// threshold is just above the highest bin that is still too common.
	suffix := 0.0
	thr := c.k
	limit := c.pK * n
	// Routine is a rate, not a count: spikes rarer than routineRate a day
	// never make a deviation look normal, however many of them the memory
	// holds: four weeks of hourly data hold six incidents at one in five
	// days, and with a count of three free the later ones were learnt as
	// routine and hidden (TestRareIncidentsStayIncidents).
	free := max(eventsFree, routineRate*points*c.stepMs/86400e3)
	// The heavy-tailed prior: while a series is young, nothing says how
	// heavy its tail is, and a spiky metric paged for each routine blip of
	// its first days. heavyPrior pseudo-spikes with a Student-t(4) tail
	// beyond eventZ are weighed against the points seen like real ones. It
	// engages with evidence counted in events: not at all after one spike of
	// heavyZ or more (so a first incident never widens the band, and one
	// spike alone hardly does: TestNoContamination), by a sixth with each
	// further one (a Gaussian series shows one every 16 000 points). Fully
	// engaged, the band is 2.3·k 500 points in and 1.4·k after 5000 on
	// minutely data; the prior fades over the series' first week of time
	// (heavyFadeMs), so hourly series, whose memory holds few points, are
	// not left with a wide band (TestRareIncidentsStayIncidents), and a
	// series whose spikes are routine replaces it with its own histogram.
	seen := 0.0
	for b := c.maxBin; b >= 0 && tailEdges[b] >= heavyZ; b-- {
		seen += c.bins[b]
	}
	heavy := min(1, max(0, seen*toNow-1)/heavyEngage)
	heavy *= math.Exp(-float64(c.n) * c.stepMs / heavyFadeMs)
	// in units of the band: at another sensitivity the prior widens the
	// band by the same factor as at the default k = heavyZ
	heavy *= c.pK / math.Erfc(heavyZ/math.Sqrt2) * math.Pow(c.k/heavyZ, heavyDoF)
	for b := c.maxBin; b >= 0; b-- {
		suffix += c.bins[b] * toNow
		if tailEdges[b+1] <= c.k {
			break // any threshold found below here would be under k anyway
		}
		if max(0, suffix-free)+tailPrior*tailGauss[b]+heavy*tailHeavy[b] > limit {
			thr = max(c.k, tailEdges[b+1])
			break
		}
	}
	c.zThr = thr
}

// setStep bounds the memory in time once the step is known: 20 000 points,
// but never more than four weeks. On minutely data that is two weeks, as
// before; on hourly data 20 000 points would be two years, so every incident
// of a series' life would count as routine and the band would only ever widen
// (on a crash-rate series with an incident every two days it grew from 4 to 36
// SDs in six weeks and hid most of them). The band is also refitted as often in
// time as on minutely data (every 17 points on hourly data, not every 1024:
// six weeks), so it narrows once old spikes have faded.
func (c *tailCalibrator) setStep(intervalMs float64) {
	c.stepMs = intervalMs
	c.timed = true // called once, after the model's first points: any spike recorded so far weighs ~1 either way
	c.decay = min(max(intervalMs/tailMemory, tailDecay), 0.1)
	c.idle = int(min(max(math.Round(refitIdleMs/intervalMs), refitMin), refitIdle))
	c.nextFit = min(c.nextFit, c.lastFit+c.idle)
	c.slowAt = min(c.slowAt, c.nextFit)
}
