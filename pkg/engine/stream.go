package engine

import (
	"context"
	"fmt"
	"math"
	"slices"
	"time"
)

// configFor maps a method and the options to the shared model's parts.
// The time constants are in sampling steps, so the same method behaves the
// same on minutely and hourly data.
func configFor(opt Options) modelConfig {
	cfg := modelConfig{method: opt.Method, clip: 3, period: opt.Period}
	switch opt.Method {
	case MethodBasic:
		cfg.levelWin, cfg.scaleWin = 30, 200
		cfg.shiftRun = 60
	case MethodRobust:
		cfg.levelWin, cfg.scaleWin, cfg.seasonWin = 60, 300, 4
		cfg.seasonal = true
		cfg.shiftRun = 120
	case MethodAgile:
		cfg.levelWin, cfg.trendWin, cfg.scaleWin, cfg.seasonWin = 8, 60, 100, 3
		cfg.seasonal = true
		cfg.clip = 2.5
		cfg.shiftRun = 10
	case MethodChangepoint:
		cfg.levelWin, cfg.trendWin, cfg.scaleWin, cfg.seasonWin = 30, 200, 300, 4
		cfg.seasonal = true
		cfg.cusum, cfg.cusumK, cfg.cusumH = true, 1.5, 15
		cfg.shiftRun = 30
	default: // auto
		cfg.method = MethodAuto
		cfg.levelWin, cfg.scaleWin, cfg.seasonWin = 60, 300, 4
		cfg.seasonal = true
		cfg.shiftRun = 120
	}
	if opt.Period == NoSeasonality {
		cfg.seasonal = false
		cfg.period = 0
	}
	if opt.Period > 0 && opt.Method == MethodBasic {
		cfg.period = 0 // basic has no seasonality by definition
	}
	return cfg
}

// exitFrac: an open run of flags ends when the deviation falls below
// exitFrac·k (it starts at k): half the band, a 2-sigma wiggle at the
// default sensitivity (a Schmitt trigger, as alert rules use).
const exitFrac = 0.5

// holdSteps is how long, in sampling steps, a sustained level shift stays
// judged by auto's long-term model after its adaptive model re-levelled: long
// enough for a one-hour incident on minutely data to stay flagged, bounded so a
// lasting new normal is accepted (the long-term model re-levels after
// shiftRun=120 steps anyway).
const holdSteps = 60

// sustainRun is how many points in a row outside auto's long-term band make
// a sustained deviation (a level shift or a drift the adaptive model follows):
// twice the adaptive model's re-level run, so a brief excursion is still
// judged by the consensus of both models.
const sustainRun = 20

// youngSpan: until a series has shown two days, a daily cycle cannot be
// recognised (the period scan needs two cycles) and nothing says what its
// routine is, so a value it has already taken is not flagged
// (seenRangeDistance), whatever period is modelled so far.
const youngSpan = 48 * time.Hour

// incidentSpan is the time scale of one incident. A deviation no larger than
// one seen in the last incidentSpan belongs to the same incident and starts
// no new run of flags (recentPeaks); the latest incidentSpan of a young
// series does not count as seen (seenRangeDistance). It is time, not steps:
// on hourly data one step apart is already another incident.
const incidentSpan = time.Hour

// maxValue bounds input magnitudes (larger finite values are clamped) so the
// model's sums and the band never overflow.
const maxValue = 1e300

// Stream is a causal detector: each Push scores one new point against the
// state built from the points before it, then learns from it. Streams are not
// safe for concurrent use; Clone one per goroutine.
type Stream struct {
	opt      Options
	k        float64
	m        *model
	seen     int // finite points pushed
	count    int
	lastT    int64
	minDurMs int64
	runStart int64
	inRun    bool
	runDir   int8 // direction of the open run of flags
	tail     tailCalibrator
	recent   recentPeaks
	// auto also runs an agile model next to the robust one (see next)
	alt     *model
	altTail tailCalibrator
	usedAlt int
	// a sustained level shift that the adaptive model has adapted to is
	// judged by the long-term model alone for up to hold more points
	hold     int
	holdDir  int8
	usedHold int
	outRun   int // signed run of points outside the long-term band
	flat     flatline
	dir      int8 // +1 up only, -1 down only, 0 both
}

func newStream(opt Options, cfg modelConfig) *Stream {
	k := bandK(opt.Sensitivity)
	st := &Stream{opt: opt, k: k, m: newModel(cfg), minDurMs: opt.MinDuration.Milliseconds(),
		tail: newTailCalibrator(k), flat: newFlatline()}
	switch opt.Direction {
	case DirectionUp:
		st.dir = 1
	case DirectionDown:
		st.dir = -1
	}
	if cfg.method == MethodAuto {
		o2 := opt
		o2.Method = MethodAgile
		c2 := configFor(o2)
		c2.period, c2.seed = cfg.period, cfg.seed
		c2.seasonal = cfg.seasonal
		c2.follow = cfg.period == 0
		st.alt = newModel(c2)
		st.altTail = newTailCalibrator(k)
	}
	return st
}

// Clone returns an independent copy of the stream's state.
func (st *Stream) Clone() *Stream {
	c := *st
	c.m = st.m.clone()
	if st.alt != nil {
		c.alt = st.alt.clone()
	}
	return &c
}

// Push scores the next point (v may be NaN for a missing point). A point
// whose time does not follow the previous one is rejected with Err set.
func (st *Stream) Push(t int64, v float64) PointResult {
	if st.count > 0 && t <= st.lastT {
		return st.reject(t, v)
	}
	exp, lo, hi, score, anom, dir := st.next(t, v)
	return PointResult{Time: t, Value: v, Expected: exp, Lower: lo, Upper: hi,
		Score: score, Anomaly: anom, Direction: dir}
}

// reject is Push's error path, kept out of line so Push itself can inline.
func (st *Stream) reject(t int64, v float64) PointResult {
	return PointResult{Time: t, Value: v, Err: fmt.Errorf("point at %d does not follow the previous point at %d", t, st.lastT)}
}

// next scores a point whose time is known to follow the previous one.
// It returns scalars, not a struct: a struct result is spilled and copied
// through the stack on every point.
func (st *Stream) next(t int64, v float64) (outExp, outLo, outHi, outScore float64, outAnom bool, outDir int8) {
	st.count++
	st.lastT = t
	missing := false
	if !(math.Abs(v) <= maxValue) { // NaN, ±Inf, or too large to sum safely
		if math.IsInf(v, 0) || v != v {
			missing, v = true, math.NaN() // the models read NaN as missing
		} else {
			v = math.Copysign(maxValue, v)
		}
	}
	// the model's forecast, scale and z, then the band its tail calibration
	// set before this point (gain = k/thr turns z into units where k is the
	// threshold; the cached ratio saves a division per point)
	if st.alt != nil {
		st.m.frozen = st.hold > 0
	}
	exp, sc, z := st.m.step(t, v)
	rawZ := math.Abs(z) // the deviation in robust SDs, whatever the sensitivity
	// the tail calibration learns from the points the started model scored,
	// not from its first initPoints, whose z (against a model still
	// buffering) can be 30 or more on a clean series: counted as spikes they
	// used up the free spikes (calib.go) before the series had shown any
	if !missing && st.m.n > initPoints {
		st.tail.observe(math.Abs(z))
		if st.m.shifted {
			st.m.shifted = false
			st.tail.levelShift()
		}
	}
	thr, gain := st.tail.usedThr, st.tail.usedGain
	infl := 1.0
	if st.seen < evidenceSteps {
		if !st.tail.timed && st.m.n >= initPoints {
			// the step is known: size the tail memory in time (calib.go)
			st.tail.setStep(st.m.interval)
			st.altTail.setStep(st.m.interval)
		}
		infl = st.evidence()
		thr, gain = thr*infl, gain/infl
	}
	lower, upper := exp-thr*sc, exp+thr*sc
	zn := z * gain // z in units where k is the threshold
	if (zn >= st.k || zn <= -st.k) && st.m.hist != nil && !missing {
		if st.m.season == nil {
			// no period modelled yet: a value the series took at the same
			// phase one calendar period ago is no surprise
			if d := st.m.samePhaseDistance(t, v) / sc * gain; d < math.Abs(zn) {
				zn = math.Copysign(d, zn)
			}
		}
		if t-st.m.hist.start < youngSpan.Milliseconds() { // the history starts at the first value
			// young series: only the distance beyond everything seen counts,
			// in robust SDs (not widened by the tail calibration, so a
			// 15-sigma spike above routine 7-sigma blips still pages)
			if d := st.m.seenRangeDistance(t, v) / sc; d < math.Abs(zn) {
				zn = math.Copysign(d, zn)
			}
		}
	}
	if st.alt != nil {
		// auto: a point is only as anomalous as the less surprised of the
		// slow seasonal baseline and the fast adaptive one, so a deviation
		// must be unexpected both for the long-term pattern and for the
		// recent dynamics. The band shown is the hull of the two bands (a
		// point outside it is outside both) and the expected value their
		// precision-weighted mean, so neither jumps between the models.
		if st.alt.periodMs != st.m.periodMs {
			st.alt.adoptPeriod(st.m)
		}
		e2, s2, z2 := st.alt.step(t, v)
		altShifted := false
		if !missing && st.alt.n > initPoints {
			st.altTail.observe(math.Abs(z2))
			if st.alt.shifted {
				st.alt.shifted, altShifted = false, true
				st.altTail.levelShift()
			}
		}
		if st.hold > 0 && !missing {
			st.hold--
			if zn*float64(st.holdDir) < st.k {
				st.hold = 0 // back inside the long-term band
			}
		}
		if !missing {
			switch {
			case zn >= st.k:
				st.outRun = max(st.outRun, 0) + 1
			case zn <= -st.k:
				st.outRun = min(st.outRun, 0) - 1
			default:
				st.outRun = 0
			}
		}
		// A hold starts once per run (when it reaches sustainRun points, not
		// at every point after), so a lasting new normal is accepted once
		// the hold has run out.
		if st.hold == 0 && (st.outRun == sustainRun || st.outRun == -sustainRun) {
			st.hold, st.holdDir = holdSteps, 1
			if st.outRun < 0 {
				st.holdDir = -1
			}
		}
		if st.hold == 0 && altShifted && zn*float64(st.alt.lastShiftDir) >= st.k {
			// The adaptive model has just re-levelled on a run that the
			// long-term model also finds far off: a sustained level shift.
			// The long-term model alone judges it for a while, so it stays
			// flagged as long as it lasts (up to holdSteps points) instead
			// of for the fast model's few points before it adapted.
			st.hold, st.holdDir = holdSteps, st.alt.lastShiftDir
		}
		if st.hold == 0 {
			rawZ = min(rawZ, math.Abs(z2)) // the consensus: the less surprised model
		}
		if st.hold > 0 {
			// long-term model's band and forecast: the points judged are
			// outside the drawn band, and the residuals keep one sign
			if !missing {
				st.usedHold++
			}
		} else {
			w1, w2 := 1/(sc*sc), 1/(s2*s2)
			if w := w1 + w2; w > 0 && !math.IsInf(w, 0) {
				exp = (w1*exp + w2*e2) / w
			}
			lower, upper = min(lower, e2-infl*st.altTail.usedThr*s2), max(upper, e2+infl*st.altTail.usedThr*s2)
			if zn2 := z2 * st.altTail.usedGain / infl; math.Abs(zn2) < math.Abs(zn) {
				zn = zn2
				if !missing {
					st.usedAlt++
				}
			}
		}
	}
	if !(math.Abs(lower) <= math.MaxFloat64 && math.Abs(upper) <= math.MaxFloat64) && exp == exp {
		lower, upper = -math.MaxFloat64, math.MaxFloat64
	}
	outExp, outLo, outHi = exp, lower, upper
	if missing {
		return // missing: forecast only; a run of flags bridges it
	}
	st.seen++
	flat := false
	if zf := st.flat.observe(v, st.seen); zf > math.Abs(zn) {
		// a value stuck for longer than this series ever sticks
		zn = math.Copysign(zf, v-exp)
		flat = true
	}
	// Measured in robust SDs before any threshold, so which points repeat
	// an incident does not depend on the sensitivity and more sensitivity
	// still flags a superset (TestSensitivityMonotone).
	// Only deviations in the chosen direction count: with direction up, a
	// dip is no incident and must not hide the spike after it.
	repeat := false
	if rawZ >= eventZ && st.m.n > initPoints && (st.dir == 0 || (v-exp)*float64(st.dir) > 0) { // the first points' z is against a model still buffering
		repeat = st.recent.repeats(t, rawZ, incidentSpan.Milliseconds()) && !flat
	}
	switch st.dir { // an int, not the option's string: this runs per point
	case 1:
		zn = max(zn, 0)
	case -1:
		zn = min(zn, 0)
	}
	if st.seen <= st.opt.WarmUp {
		st.inRun = false
		return // cold start: no score, no flag until the warm-up is met
	}
	outScore = squash(zn)
	// Hysteresis: a run of flags goes on while the deviation keeps its
	// direction and stays above exitFrac·k, so a deviation that hovers at
	// the threshold as the model adapts is one event, not a flicker of many.
	if st.inRun && zn*float64(st.runDir) >= st.k*exitFrac {
		outDir = st.runDir
	} else if repeat && !st.inRun && (zn >= st.k || zn <= -st.k) {
		// no larger than a deviation of the last incidentSpan: the same
		// incident, already reported (or judged routine) then
		return
	} else if zn >= st.k {
		outDir = 1
	} else if zn <= -st.k {
		outDir = -1
	} else {
		st.inRun = false
		return
	}
	if !st.inRun || outDir != st.runDir {
		st.inRun, st.runStart, st.runDir = true, t, outDir
	}
	outAnom = st.minDurMs == 0 || t-st.runStart+int64(st.m.interval) >= st.minDurMs
	return
}

// Info says what the stream has used so far.
func (st *Stream) Info() Info {
	return st.info()
}

func (st *Stream) info() Info {
	in := Info{
		Requested: st.opt.Method,
		Method:    st.m.cfg.method,
		Periods:   st.m.periods(),
		WarmUp:    st.opt.WarmUp,
		WarmUpMet: st.seen > st.opt.WarmUp,
		Causal:    st.opt.Causal,
		Interval:  time.Duration(st.m.interval) * time.Millisecond,
	}
	if st.alt != nil {
		in.Method = MethodRobust
		share := float64(st.usedAlt) / math.Max(float64(st.seen), 1)
		if share > 0.5 {
			in.Method = MethodAgile
		}
		in.Periods = st.m.periods()
		in.Notes = append(in.Notes, fmt.Sprintf("auto: consensus of robust (seasonal) and agile (adaptive): a point is flagged only outside both bands; agile was the less surprised for %.0f%% of points", 100*share))
		if st.usedHold > 0 {
			in.Notes = append(in.Notes, fmt.Sprintf("auto: %d points of sustained deviations (level shifts, drifts) judged by the long-term model alone", st.usedHold))
		}
	}
	return in
}

// Detect scores a whole series. With opt.Causal each point depends only on
// the points before it (exactly what pushing them into a Stream gives); in
// batch mode the period is detected on the whole series up front and runs
// reaching MinDuration are flagged from their first point.
func Detect(ctx context.Context, s Series, opt Options) (*Result, error) {
	opt, err := normalise(opt)
	if err != nil {
		return nil, err
	}
	if err := validate(s); err != nil {
		return nil, err
	}
	cfg := configFor(opt)
	var notes []string
	if !opt.Causal && cfg.seasonal && cfg.period == 0 {
		if p, profile := seriesPeriod(s); p > 0 {
			cfg.period = time.Duration(p) * time.Millisecond
			cfg.seed = profile
			notes = append(notes, "batch: period detected on the whole series, seasonal profile seeded from it")
		} else {
			cfg.seasonal = false
			notes = append(notes, "batch: no period found in the whole series")
		}
	}
	runOpt := opt
	if !opt.Causal {
		runOpt.MinDuration = 0
	}
	st := newStream(runOpt, cfg)
	r, err := st.run(ctx, s)
	if err != nil {
		return nil, err
	}
	if !opt.Causal && opt.MinDuration > 0 {
		dropShortRuns(s, r, opt.MinDuration, time.Duration(st.m.interval)*time.Millisecond)
	}
	r.Info = st.info()
	r.Info.Causal = opt.Causal
	r.Info.Notes = append(r.Info.Notes, notes...)
	r.Windows = BuildWindows(s, r, opt)
	return r, nil
}

// DetectStream scores s causally and returns the stream positioned after its
// last point, ready for Push.
func DetectStream(ctx context.Context, s Series, opt Options) (*Result, *Stream, error) {
	opt.Causal = true
	opt, err := normalise(opt)
	if err != nil {
		return nil, nil, err
	}
	if err := validate(s); err != nil {
		return nil, nil, err
	}
	st := newStream(opt, configFor(opt))
	r, err := st.run(ctx, s)
	if err != nil {
		return nil, nil, err
	}
	r.Info = st.info()
	r.Windows = BuildWindows(s, r, opt)
	return r, st, nil
}

func (st *Stream) run(ctx context.Context, s Series) (*Result, error) {
	n := len(s.Times)
	r := &Result{
		Expected:  make([]float64, n),
		Lower:     make([]float64, n),
		Upper:     make([]float64, n),
		Score:     make([]float64, n),
		Anomaly:   make([]bool, n),
		Direction: make([]int8, n),
	}
	times, values := s.Times[:n], s.Values[:n]
	exp, lo, hi, score, anom, dir := r.Expected[:n], r.Lower[:n], r.Upper[:n], r.Score[:n], r.Anomaly[:n], r.Direction[:n]
	for i := 0; i < n; i++ {
		if i&4095 == 0 {
			if err := ctx.Err(); err != nil {
				return nil, fmt.Errorf("detect: %w", err)
			}
		}
		t := times[i]
		if st.count > 0 && t <= st.lastT {
			return nil, fmt.Errorf("point %d: time %d does not follow the stream's last point at %d", i, t, st.lastT)
		}
		exp[i], lo[i], hi[i], score[i], anom[i], dir[i] = st.next(t, values[i])
	}
	return r, nil
}

// seriesPeriod detects the period of a whole series (batch mode). A history
// of a long series has coarse bins (a million minutely points make 8-hour
// bins), in which a daily cycle cannot be seen; so besides the whole series
// it scans the series' last 6.1 cycles of each calendar period, as a causal
// stream would have, and keeps the strongest period (the shortest one within
// 0.05 of it). The profile comes from the last 6.1 cycles of the period
// chosen, at the finest resolution that span allows.
func seriesPeriod(s Series) (int64, []float64) {
	iv := medianStep(s.Times)
	if iv <= 0 || len(s.Times) == 0 {
		return 0, nil
	}
	sc := &scratch{}
	end := s.Times[len(s.Times)-1]
	whole := end - s.Times[0]
	// hist is the history of the points from time from on.
	hist := func(from int64) *history {
		h := newHistory()
		i0, _ := slices.BinarySearch(s.Times, from)
		for i := i0; i < len(s.Values); i++ {
			if v := s.Values[i]; !math.IsNaN(v) && !math.IsInf(v, 0) {
				h.add(s.Times[i], v, float64(iv))
			}
		}
		return h
	}
	scan := func(from int64) (int64, float64) {
		h := hist(from)
		if h.used == 0 {
			return 0, 0
		}
		sc.reset()
		x, width := h.values(sc)
		p, _, str := detectPeriod(x, h.start, width, sc)
		return p, str
	}
	bestP, bestS := scan(s.Times[0])
	for _, c := range calendarPeriods {
		span := int64(6.1 * float64(c.Milliseconds()))
		if span >= whole || span < 100*iv {
			continue
		}
		if p, str := scan(end - span); p > 0 && (bestP == 0 || str > bestS+0.05 || (p < bestP && str >= bestS-0.05)) {
			bestP, bestS = p, str
		}
	}
	if bestP == 0 {
		return 0, nil
	}
	// the profile from the last 6.1 cycles of the period, where the bins
	// are finest
	from := s.Times[0]
	if span := int64(6.1 * float64(bestP)); span < whole {
		from = end - span
	}
	h := hist(from)
	sc.reset()
	x, width := h.values(sc)
	_, prof := seasonalStrength(winsorise(x, sc), h.start, width, bestP, sc)
	if prof == nil {
		return 0, nil
	}
	return bestP, slices.Clone(prof)
}

func medianStep(times []int64) int64 {
	if len(times) < 2 {
		return 0
	}
	d := make([]int64, 0, min(len(times)-1, 1000))
	for i := 1; i < len(times) && len(d) < cap(d); i++ {
		d = append(d, times[i]-times[i-1])
	}
	slices.Sort(d)
	return d[len(d)/2]
}

// dropShortRuns unflags runs of anomalies shorter than minDur (batch mode).
func dropShortRuns(s Series, r *Result, minDur, interval time.Duration) {
	n := len(r.Anomaly)
	for i := 0; i < n; {
		if !r.Anomaly[i] {
			i++
			continue
		}
		j := i
		for k := i + 1; k < n && (r.Anomaly[k] || math.IsNaN(s.Values[k])); k++ {
			if r.Anomaly[k] {
				j = k
			}
		}
		if time.Duration(s.Times[j]-s.Times[i])*time.Millisecond+interval < minDur {
			for k := i; k <= j; k++ {
				r.Anomaly[k] = false
			}
		}
		i = j + 1
	}
}

// evidenceSteps: past this many points the evidence widening is below 0.1 %
// and is dropped.
const evidenceSteps = 4096

// evidence is how much wider than k the band is while the scale rests on few
// points: the Student-t quantile with as many degrees of freedom as points
// seen, at the Gaussian tail probability of k, over k (Cornish-Fisher
// expansion of the t quantile). It is 1.16 at the end of the default
// warm-up, 1.02 after 300 points and tends to 1: the band starts wide and
// narrows as evidence grows.
func (st *Stream) evidence() float64 {
	nu := float64(max(st.seen+initPoints, 2)) // the init buffer counts
	z := st.k
	z2 := z * z
	g1 := (z2 + 1) * z / 4
	g2 := ((5*z2+16)*z2 + 3) * z / 96
	g3 := (((3*z2+19)*z2+17)*z2 - 15) * z / 384
	return (z + g1/nu + g2/(nu*nu) + g3/(nu*nu*nu)) / z
}

// recentPeaks holds the deviations (robust SDs of at least eventZ) of the
// last incidentSpan that no later one exceeded: a decreasing queue whose
// front is the largest. Its capacity bounds the work per point; when full
// the smallest is dropped, which can only make a repeat look new.
type recentPeaks struct {
	t     [recentCap]int64
	z     [recentCap]float64
	first int // index of the front in the ring
	n     int
}

const recentCap = 32

// repeats says whether a deviation of z (at least eventZ) at t is no larger
// than one within spanMs before it, then records z. Smaller deviations are
// neither recorded nor checked, so the common point costs one comparison.
func (r *recentPeaks) repeats(t int64, z float64, spanMs int64) bool {
	for r.n > 0 && r.t[r.first] < t-spanMs {
		r.first, r.n = (r.first+1)%recentCap, r.n-1
	}
	rep := r.n > 0 && z <= r.z[r.first]
	for r.n > 0 && r.z[(r.first+r.n-1)%recentCap] <= z {
		r.n--
	}
	if r.n == recentCap {
		r.n-- // drop the smallest
	}
	i := (r.first + r.n) % recentCap
	r.t[i], r.z[i] = t, z
	r.n++
	return rep
}
