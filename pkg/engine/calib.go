package engine

import "math"

// tailCalibrator widens the band to each series' own tail. It keeps a
// decaying histogram of past |z| *events* (a run of consecutive large
// deviations counts once, so a long outage is one event) and finds the
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
	inRun    bool
	sinceFit int
	zThr     float64 // cached band half-width in robust SDs (>= k)
	k, pK    float64
}

const (
	tailSub     = 8 // bins per octave of |z|
	tailOctaves = 20
	tailBins    = tailSub * tailOctaves
	tailDecay   = 1.0 / 20000 // per point: memory of ~20k points
	tailPrior   = 1000.0      // Gaussian pseudo-points
	eventsFree  = 3.0         // past events that never make a deviation "normal"
	eventZ      = 3.0         // |z| that starts an event
	refitEvery  = 32
)

func newTailCalibrator(k float64) tailCalibrator {
	return tailCalibrator{w: 1, zThr: k, k: k, pK: math.Erfc(k / math.Sqrt2)}
}

func tailBin(z float64) int {
	frac, exp := math.Frexp(z) // z = frac * 2^exp, frac in [0.5,1)
	b := (exp-1)*tailSub + int((frac-0.5)*2*tailSub)
	return min(max(b, 0), tailBins-1)
}

func tailEdge(b int) float64 {
	oct, sub := b/tailSub, b%tailSub
	return math.Ldexp(1+float64(sub)/tailSub, oct)
}

// observe records a point's |z| and returns the band half-width in robust SDs.
func (c *tailCalibrator) observe(az float64) float64 {
	thr := c.zThr
	c.total += c.w
	if az >= eventZ {
		if !c.inRun {
			c.bins[tailBin(az)] += c.w
		}
		c.inRun = true
	} else {
		c.inRun = false
	}
	c.w *= 1 + tailDecay
	if c.w > 1e100 {
		for i := range c.bins {
			c.bins[i] /= c.w
		}
		c.total /= c.w
		c.w = 1
	}
	c.sinceFit++
	if c.sinceFit >= refitEvery {
		c.sinceFit = 0
		c.fit()
	}
	return thr
}

// fit finds the smallest bin edge z >= k whose calibrated rarity is below pK.
func (c *tailCalibrator) fit() {
	n := c.total/c.w + tailPrior
	free := eventsFree
	// suffix sums from the top; the rarity falls as z grows, so the
	// threshold is just above the highest bin that is still too common.
	suffix := 0.0
	thr := c.k
	for b := tailBins - 1; b >= 0; b-- {
		suffix += c.bins[b] / c.w
		z := tailEdge(b)
		if z < c.k {
			break
		}
		p := (math.Max(0, suffix-free) + tailPrior*math.Erfc(z/math.Sqrt2)) / n
		if p > c.pK {
			thr = math.Max(c.k, tailEdge(b+1))
			break
		}
	}
	c.zThr = thr
}
