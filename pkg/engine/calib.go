package engine

import "math"

// tailCalibrator widens the band to each series' own tail. It keeps a
// decaying histogram of past |z| *spikes* (a run of at most maxSpikeLen
// large deviations counts once, at its peak; longer runs such as outages do
// not count at all) and finds the
// smallest z whose rarity — the share of past events at least that large,
// shrunk towards the Gaussian tail and ignoring the last few events — is
// below the Gaussian rarity of the band k. On Gaussian noise that is k
// itself; on a series where 10-sigma spikes happen every hour it is more
// than 10, so routine spikes stop paging while a never-seen deviation
// still does. Because the first eventsFree events never count, one or two
// past outages cannot hide the next one.
type tailCalibrator struct {
	bins     [tailBins]float64
	total    float64 // decayed weight of all points
	w        float64 // weight of the newest point (grows instead of decaying the rest)
	runLen   int
	runMax   float64
	sinceFit int
	zThr     float64 // band half-width in robust SDs (>= k) from the last fit
	usedThr  float64 // the half-width that applied to the latest point
	usedGain float64 // k/usedThr
	k, pK    float64
	maxBin   int // highest bin ever used
	dirty    bool
}

// tailEdges and tailGauss are read-only tables: the lower |z| edge of each
// bin and the Gaussian two-sided tail probability there.
var tailEdges, tailGauss = func() (e, g [tailBins + 1]float64) {
	for b := range e {
		oct, sub := b/tailSub, b%tailSub
		e[b] = math.Ldexp(1+float64(sub)/tailSub, oct)
		g[b] = math.Erfc(e[b] / math.Sqrt2)
	}
	return e, g
}()

const (
	tailSub     = 8 // bins per octave of |z|
	tailOctaves = 20
	tailBins    = tailSub * tailOctaves
	tailDecay   = 1.0 / 20000 // per point: memory of ~20k points
	tailPrior   = 1000.0      // Gaussian pseudo-points
	eventsFree  = 3.0         // past events that never make a deviation "normal"
	eventZ      = 3.0         // |z| that starts an event
	maxSpikeLen = 10          // longest event (points) that counts as a routine spike
	refitEvery  = 32
	refitIdle   = 1024
)

func newTailCalibrator(k float64) tailCalibrator {
	return tailCalibrator{w: 1, zThr: k, usedThr: k, usedGain: 1, k: k, pK: math.Erfc(k / math.Sqrt2)}
}

func tailBin(z float64) int {
	frac, exp := math.Frexp(z) // z = frac * 2^exp, frac in [0.5,1)
	b := (exp-1)*tailSub + int((frac-0.5)*2*tailSub)
	return min(max(b, 0), tailBins-1)
}

// observe records a point's |z|; usedThr/usedGain give the band that
// applied to it (fitted before it was seen).
func (c *tailCalibrator) observe(az float64) {
	if c.usedThr != c.zThr {
		c.usedThr, c.usedGain = c.zThr, c.k/c.zThr
	}
	c.total += c.w
	if az >= eventZ {
		c.runLen++
		c.runMax = max(c.runMax, az)
	} else if c.runLen > 0 {
		// Only short events (spikes) teach the series' tail: a sustained
		// deviation such as an outage never makes the next one look normal.
		if c.runLen <= maxSpikeLen {
			b := tailBin(c.runMax)
			c.bins[b] += c.w
			c.maxBin = max(c.maxBin, b)
			c.dirty = true
		}
		c.runLen, c.runMax = 0, 0
	}
	c.w *= 1 + tailDecay
	if c.w > 1e100 {
		for i := range c.bins {
			c.bins[i] /= c.w
		}
		c.total /= c.w
		c.w = 1
	}
	// Refit soon after a new event, and now and then as the point count
	// grows (which makes past events rarer).
	c.sinceFit++
	if (c.dirty && c.sinceFit >= refitEvery) || c.sinceFit >= refitIdle {
		c.sinceFit, c.dirty = 0, false
		c.fit()
	}
}

// fit finds the smallest bin edge z >= k whose calibrated rarity is below pK.
func (c *tailCalibrator) fit() {
	n := c.total/c.w + tailPrior
	free := eventsFree
	// suffix sums from the top; the rarity falls as z grows, so the
	// threshold is just above the highest bin that is still too common.
	suffix := 0.0
	thr := c.k
	inv := 1 / c.w
	limit := c.pK * n
	for b := c.maxBin; b >= 0; b-- {
		suffix += c.bins[b] * inv
		if tailEdges[b+1] <= c.k {
			break // any threshold found below here would be under k anyway
		}
		if math.Max(0, suffix-free)+tailPrior*tailGauss[b] > limit {
			thr = math.Max(c.k, tailEdges[b+1])
			break
		}
	}
	c.zThr = thr
}
