package engine

import (
	"math"
	"slices"
	"time"
)

// modelConfig selects the parts of the shared streaming model that a method
// uses. Every method is the same O(1)-per-point recursion with different
// parts switched on, so they share one well-tested implementation.
type modelConfig struct {
	method    Method
	levelWin  float64 // level time constant, in steps
	scaleWin  float64 // scale time constant, in steps
	trendWin  float64 // trend time constant, in steps; 0 disables the trend
	seasonWin float64 // seasonal profile time constant, in periods
	seasonal  bool    // detect and model seasonality
	follow    bool    // take the period from another model (adoptPeriod) instead of scanning
	period    time.Duration
	seed      []float64 // batch mode: seasonal profile over one period from the whole series (read-only)
	clip      float64   // residuals beyond clip robust SDs are winsorised before they update the state
	shiftRun  int       // outliers in a row on one side that mean a new level (0 never re-levels)
	cusum     bool      // accumulate small persistent deviations (level shifts)
	cusumK    float64   // CUSUM allowance, robust SDs
	cusumH    float64   // CUSUM decision threshold, robust SDs
}

const (
	initPoints   = 16                 // points buffered to start the model from a median and MAD
	recentSize   = 16                 // recent raw values kept for re-levelling
	maxBuckets   = 2048               // seasonal buckets per period
	gauss        = 1.2533141373155003 // sigma / mean absolute deviation for a normal law
	madToSigma   = 1.4826
	zLimit       = 1e12 // z scores are clamped here so they never overflow
	relScaleMin  = 1e-4 // scale floor relative to the level: a change of 0.01 % of the level is not a deviation on its own
	maxRateSteps = 10   // a gap weighs like at most this many steps
)

// model is the streaming detector state. Its zero value is not usable; build
// one with newModel. Copying it needs clone (it owns slices).
type model struct {
	cfg modelConfig

	n        int   // finite points observed
	lastT    int64 // time of the last finite point
	interval float64
	init     []float64
	initT    []int64

	level, trend, scale float64
	scaleN              float64 // points the scale has averaged (the running-mean start, see step)
	resolution          float64 // smallest non-zero step between consecutive values
	same                int     // points in a row equal to the one before (a constant run's length - 1)
	lastV               float64

	cacheDt               int64
	aL, aT, aS, aSeaDt    float64
	steps                 float64 // sampling steps in cacheDt (at most maxRateSteps)
	trendGain, seasonGain float64
	trendDamp             float64 // per-step decay of the trend (damped trend)
	phase                 int64   // offset of lastT into the period

	// seasonality
	periodMs     int64
	bucketsPerMs float64
	season       []float64
	lastNorm     int64
	hist         *history
	nextScan     int
	settleN      int // the seasonal profile learns only from this point count on
	seasonAge    int // periods the profile has learned for (seeded profiles count as learned)

	// level shifts
	cusumPos, cusumNeg float64
	runDir             int8
	runLen             int
	recent             [recentSize]float64
	recentN            int
	shifted            bool // re-levelled at the latest point (the stream reads and clears it)
	lastShiftDir       int8 // direction of the run that caused the latest re-level
	frozen             bool // forecast and score but learn nothing (level, trend, profile, scale)
}

func newModel(cfg modelConfig) *model {
	m := &model{cfg: cfg, lastV: math.NaN(), resolution: math.Inf(1)}
	m.init = make([]float64, 0, initPoints)
	m.initT = make([]int64, 0, initPoints)
	return m
}

func (m *model) clone() *model {
	c := *m
	c.init = slices.Clone(m.init)
	c.initT = slices.Clone(m.initT)
	c.season = slices.Clone(m.season)
	if m.hist != nil {
		c.hist = m.hist.clone()
	}
	return &c
}

// floor is the smallest scale used: a change of one quantisation step is not
// an anomaly, and a constant series must not divide by zero.
func (m *model) floor() float64 {
	f := relScaleMin * math.Abs(m.level)
	if m.resolution > f && m.resolution < math.Inf(1) {
		f = m.resolution
	}
	return max(f, 1e-300)
}

func (m *model) bucket(t int64) int {
	return m.bucketOfPhase(m.phaseAt(t))
}

// phaseAt is t's offset into the period. It steps on from the last point's
// phase, so regular data pays a subtraction rather than a 64-bit modulo.
func (m *model) phaseAt(t int64) int64 {
	p := m.phase + (t - m.lastT)
	if p >= m.periodMs || p < 0 {
		p = t % m.periodMs
		if p < 0 {
			p += m.periodMs
		}
	}
	return p
}

// bucketOfPhase maps a phase to its bucket. Regular data sits exactly on
// bucket edges, where p·bucketsPerMs can round to just below the integer: the
// small offset keeps such a point in its own bucket rather than, now and
// then, the one before (which smeared every seasonal profile by a step).
func (m *model) bucketOfPhase(p int64) int {
	return min(int(float64(p)*m.bucketsPerMs+bucketEps), len(m.season)-1)
}

const bucketEps = 1e-6

// step forecasts the point at t, scores v against the forecast and, when v is
// finite, updates the state. It returns the forecast, the robust scale and the
// signed anomaly statistic in robust SDs.
func (m *model) step(t int64, v float64) (expected, scale, z float64) {
	if m.n < initPoints {
		return m.stepInit(t, v)
	}
	dt := t - m.lastT
	if dt != m.cacheDt {
		m.setRates(dt)
	}
	level := m.level + m.trend*m.steps
	expected = level
	b := -1
	var phase int64
	if m.season != nil {
		phase = m.phaseAt(t)
		b = m.bucketOfPhase(phase)
		expected += m.season[b]
	}
	scale = m.scale
	if f := m.floor(); scale < f {
		scale = f
	}
	if v != v { // missing (the stream turns ±Inf into NaN)
		return expected, scale, 0
	}
	r := v - expected
	z = r / scale
	if z > zLimit {
		z = zLimit
	} else if z < -zLimit {
		z = -zLimit
	}

	// Winsorise: an outlier moves the state no more than a clip-SD point would,
	// so one spike cannot widen the band or drag the baseline.
	lim := m.cfg.clip * scale
	rc := r
	if rc > lim {
		rc = lim
	} else if rc < -lim {
		rc = -lim
	}
	if m.frozen {
		rc = 0 // a held level shift (see Stream.hold): do not learn it
	}
	m.level = level + m.aL*rc
	if m.cfg.trendWin > 0 {
		// damped trend: the slope forgets over its own time constant, so
		// level, trend and seasonal profile cannot feed each other into a
		// growing oscillation (an undamped Holt-Winters recursion with a
		// long period drifts that way over a few hundred periods)
		m.trend = m.trend*m.trendDamp + m.trendGain*rc
	}
	if b >= 0 {
		if m.n >= m.settleN {
			m.season[b] += m.seasonGain * rc
		}
		m.phase = phase
	}
	ar := math.Abs(r)
	if ar > lim {
		ar = lim
	}
	if !m.frozen {
		// The scale averages its first points (gain 1/points so far, the
		// init buffer's MAD counting as initPoints of them) before it
		// settles into the EW: a start that happened to be quiet must not
		// leave the band narrow for a whole scale time constant.
		as := m.aS
		if m.scaleN < m.cfg.scaleWin {
			m.scaleN++
			as = max(as, 1/m.scaleN)
		}
		m.scale += as * (gauss*ar - m.scale)
	}

	if m.cfg.cusum {
		// one point adds at most shiftZ, so a lone spike cannot trip it
		zc := max(-shiftZ, min(shiftZ, z))
		m.cusumPos = max(0, m.cusumPos+zc-m.cfg.cusumK)
		m.cusumNeg = max(0, m.cusumNeg-zc-m.cfg.cusumK)
		// the CUSUM, in the same units, replaces z when it is the stronger evidence
		if cz := scoreZ0 * m.cusumPos / m.cfg.cusumH; cz > math.Abs(z) {
			z = cz
		}
		if cz := scoreZ0 * m.cusumNeg / m.cfg.cusumH; cz > math.Abs(z) {
			z = -cz
		}
	}
	// level-shift tracking and bookkeeping, written out here rather than
	// called: this is the per-point hot path.
	m.recent[m.recentN&(recentSize-1)] = v
	m.recentN++
	switch {
	case r > shiftZ*scale:
		if m.runDir == 1 {
			m.runLen++
		} else {
			m.runDir, m.runLen = 1, 1
		}
	case r < -shiftZ*scale:
		if m.runDir == -1 {
			m.runLen++
		} else {
			m.runDir, m.runLen = -1, 1
		}
	default:
		m.runDir, m.runLen = 0, 0
	}
	if (m.cfg.shiftRun > 0 && m.runLen >= m.cfg.shiftRun) ||
		(m.cfg.cusum && (m.cusumPos >= m.cfg.cusumH || m.cusumNeg >= m.cfg.cusumH)) {
		// a run of shiftRun outliers on one side is a level shift (the
		// stream tells its tail calibrator); a CUSUM trip can come from a
		// few moderate points and is not
		m.shifted, m.lastShiftDir = m.runLen >= m.cfg.shiftRun && m.cfg.shiftRun > 0, m.runDir
		m.relevel(b)
	}
	if d := math.Abs(v - m.lastV); d < m.resolution && d > 0 {
		m.resolution = d
	}
	if v == m.lastV {
		m.same++
	} else {
		m.same = 0
	}
	m.lastV = v
	m.lastT = t
	m.n++
	if m.hist != nil {
		m.observeHistory(t, v)
	}
	if m.season != nil && t-m.lastNorm >= m.periodMs {
		m.normaliseSeason()
		m.lastNorm = t
	}
	return expected, scale, z
}

// relevel moves the level to the median of the recent run of points.
func (m *model) relevel(b int) {
	k := min(m.recentN, recentSize, max(m.runLen, 4))
	var buf [recentSize]float64
	for i := 0; i < k; i++ {
		buf[i] = m.recent[(m.recentN-1-i)&(recentSize-1)]
	}
	med := medianInPlace(buf[:k])
	if b >= 0 {
		med -= m.season[b]
	}
	m.level = med
	m.trend = 0
	m.cusumPos, m.cusumNeg = 0, 0
	m.runDir, m.runLen = 0, 0
}

// shiftZ is the deviation, in robust SDs, that counts towards a level shift.
const shiftZ = 3

func (m *model) observeRaw(t int64, v float64) {
	// (a NaN lastV makes d NaN, and NaN < resolution is false)
	if d := math.Abs(v - m.lastV); d > 0 && d < m.resolution {
		m.resolution = d
	}
	if v == m.lastV {
		m.same++
	} else {
		m.same = 0
	}
	m.lastV = v
	m.lastT = t
	m.n++
	if m.hist != nil {
		m.observeHistory(t, v)
	}
	if m.season != nil && t-m.lastNorm >= m.periodMs {
		m.normaliseSeason()
		m.lastNorm = t
	}
}

func (m *model) observeHistory(t int64, v float64) {
	m.hist.add(t, v, m.interval)
	if m.n >= m.nextScan {
		m.scanPeriod()
	}
}

// setRates turns the time constants into per-point weights for a step of dt.
func (m *model) setRates(dt int64) {
	m.cacheDt = dt
	steps := float64(dt) / m.interval
	if steps <= 0 || math.IsNaN(steps) {
		steps = 1
	}
	// A long gap says nothing about the scale and little about the level:
	// one point after it must not replace what was learnt, so the weight a
	// point gets is capped at that of maxRateSteps steps.
	rs := min(steps, maxRateSteps)
	m.aL = -math.Expm1(-rs / m.cfg.levelWin)
	m.aS = -math.Expm1(-rs / m.cfg.scaleWin)
	// and the trend is extrapolated over at most as many steps: a day-long
	// gap must not turn a tiny slope into a large jump
	m.steps = min(steps, maxRateSteps)
	if m.cfg.trendWin > 0 {
		m.aT = -math.Expm1(-rs / m.cfg.trendWin)
		m.trendGain = m.aT * m.aL / max(steps, 1)
		m.trendDamp = math.Exp(-rs / m.cfg.trendWin)
	}
	if m.season != nil {
		m.aSeaDt = -math.Expm1(-1 / m.cfg.seasonWin)
		// A profile learning from scratch averages its first periods
		// (gain 1/periods so far) before it settles into the EW: the band
		// is right after a couple of periods rather than after seasonWin.
		m.seasonGain = max(m.aSeaDt, 1/float64(m.seasonAge+1)) * (1 - m.aL)
	}
}

// stepInit serves the first points from the median and MAD of a small buffer,
// then starts the recursion from them, so early outliers cannot poison it.
func (m *model) stepInit(t int64, v float64) (expected, scale, z float64) {
	if len(m.init) == 0 {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			// nothing seen yet: no forecast (NaN, drawn as null), not a
			// zero-width band at 0
			return math.NaN(), math.NaN(), 0
		}
		expected, scale = v, math.Max(relScaleMin*math.Abs(v), 1e-300)
	} else {
		expected, scale = medianMAD(m.init)
		// with a handful of points the MAD is often 0; a quarter of the
		// range keeps the provisional band from collapsing onto the median
		lo, hi := slices.Min(m.init), slices.Max(m.init)
		scale = max(scale, (hi-lo)/4, relScaleMin*math.Abs(expected))
		if f := m.floor(); scale < f {
			scale = f
		}
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return expected, scale, 0
		}
		z = math.Max(-zLimit, math.Min(zLimit, (v-expected)/scale))
	}
	m.init = append(m.init, v)
	m.initT = append(m.initT, t)
	m.observeRaw(t, v)
	if m.n == initPoints {
		m.start()
	}
	return expected, scale, z
}

func (m *model) start() {
	m.level, m.scale = medianMAD(m.init)
	m.scaleN = initPoints
	dts := make([]int64, 0, len(m.initT)-1)
	for i := 1; i < len(m.initT); i++ {
		dts = append(dts, m.initT[i]-m.initT[i-1])
	}
	slices.Sort(dts)
	m.interval = float64(dts[len(dts)/2])
	if m.interval <= 0 {
		m.interval = 1
	}
	m.cacheDt = -1
	// The level starts from the first few points, which may be mid-incident;
	// until it has settled (three level time constants) its residuals would
	// write the error into the seasonal profile, where it would come back at
	// the same phase every period. So the profile starts learning then, and
	// a series that starts during an incident scores like one that does not.
	m.settleN = m.n + int(3*m.cfg.levelWin)
	if m.cfg.seasonal && m.cfg.period > 0 {
		m.setPeriod(m.cfg.period.Milliseconds(), nil)
		if m.season != nil && m.cfg.seed != nil {
			// batch mode: start from the profile of the whole series, and
			// from the level of the first points net of it
			m.seasonAge = learnedAge
			for j := range m.season {
				m.season[j] = m.cfg.seed[min(len(m.cfg.seed)-1, (2*j+1)*len(m.cfg.seed)/(2*len(m.season)))]
			}
			for i, t := range m.initT {
				m.init[i] -= m.season[m.bucket(t)]
			}
			m.level, m.scale = medianMAD(m.init)
			// A profile seeded from the whole series is already right: holding
			// its learning back would push its small errors into level and trend.
			m.settleN = m.n
		}
	} else if m.cfg.seasonal && !m.cfg.follow {
		m.hist = newHistory()
		for i, t := range m.initT { // the history starts at the first point
			m.hist.add(t, m.init[i], m.interval)
		}
		m.nextScan = m.scanAfter(m.n)
	}
	m.init, m.initT = nil, nil
}

func (m *model) setPeriod(periodMs int64, profile []float64) {
	nb := int(math.Round(float64(periodMs) / m.interval))
	if nb < 2 {
		return
	}
	nb = min(nb, maxBuckets)
	m.periodMs = periodMs
	m.bucketsPerMs = float64(nb) / float64(periodMs)
	m.phase = m.lastT % periodMs
	if m.phase < 0 {
		m.phase += periodMs
	}
	m.season = make([]float64, nb)
	m.seasonAge = 0
	if profile != nil {
		copy(m.season, profile)
		m.seasonAge = learnedAge
	}
	m.lastNorm = m.lastT
	m.cacheDt = -1
}

// adoptPeriod switches to the period (and current profile) of src, which
// scans the same points, so auto pays for one period scan, not two.
func (m *model) adoptPeriod(src *model) {
	if m.n < initPoints || src.season == nil || src.periodMs == m.periodMs {
		return
	}
	old := 0.0
	if m.season != nil {
		old = m.season[m.bucket(m.lastT)]
	}
	m.setPeriod(src.periodMs, src.season)
	if m.season != nil {
		m.seasonAge = src.seasonAge
		m.level += old - m.season[m.bucket(m.lastT)]
	}
}

// normaliseSeason keeps the seasonal profile centred so level and season do
// not drift against each other.
func (m *model) normaliseSeason() {
	var s float64
	for _, x := range m.season {
		s += x
	}
	mean := s / float64(len(m.season))
	for i := range m.season {
		m.season[i] -= mean
	}
	m.level += mean
	if m.seasonAge < learnedAge {
		m.seasonAge++
		m.cacheDt = -1 // the profile's gain changes with its age
	}
}

// learnedAge is the age (in periods) of a profile seeded from history: past
// the running-mean start, so it learns at the EW rate at once.
const learnedAge = 64

func (m *model) periods() []time.Duration {
	if m.periodMs > 0 {
		return []time.Duration{time.Duration(m.periodMs) * time.Millisecond}
	}
	return nil
}

// medianInPlace returns the median of s in O(len(s)) expected time,
// reordering s (quickselect).
func medianInPlace(s []float64) float64 {
	n := len(s)
	if n == 0 {
		return 0
	}
	hi := selectK(s, n/2)
	if n%2 == 1 {
		return hi
	}
	lo := s[0] // after selectK, s[:n/2] holds the smaller half
	for _, v := range s[1 : n/2] {
		lo = max(lo, v)
	}
	return (lo + hi) / 2
}

// selectK reorders s so s[k] is the k-th smallest, smaller ones before it.
func selectK(s []float64, k int) float64 {
	lo, hi := 0, len(s)-1
	for lo < hi {
		// median of three pivot keeps sorted input linear
		mid := lo + (hi-lo)/2
		if s[mid] < s[lo] {
			s[mid], s[lo] = s[lo], s[mid]
		}
		if s[hi] < s[lo] {
			s[hi], s[lo] = s[lo], s[hi]
		}
		if s[hi] < s[mid] {
			s[hi], s[mid] = s[mid], s[hi]
		}
		pivot := s[mid]
		i, j := lo, hi
		for i <= j {
			for s[i] < pivot {
				i++
			}
			for s[j] > pivot {
				j--
			}
			if i <= j {
				s[i], s[j] = s[j], s[i]
				i++
				j--
			}
		}
		switch {
		case k <= j:
			hi = j
		case k >= i:
			lo = i
		default:
			return s[k]
		}
	}
	return s[k]
}

// medianMAD returns the median and the MAD scaled to a normal SD.
func medianMAD(x []float64) (float64, float64) {
	d := slices.Clone(x)
	med := medianInPlace(d)
	for i, v := range x {
		d[i] = math.Abs(v - med)
	}
	return med, madToSigma * medianInPlace(d)
}
