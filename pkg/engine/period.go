package engine

import (
	"math"
	"math/cmplx"
	"slices"
	"time"
)

// history keeps a downsampled copy of everything the model has seen, in a
// fixed number of bins whose width doubles when they fill up, so the period
// can be (re)detected over long spans in O(histBins) memory.
type history struct {
	scratch      *scratch // reused by period scans; not cloned
	start, width int64
	perMs        float64 // 1/width
	sum          []float64
	cnt          []uint32
	used         int
}

const (
	histBins  = 2048
	scanBins  = 512 // the scan works on at most this many bins (pairs are merged)
	firstScan = 100 // points before the first period scan (see scanAfter for the rest)
	// maxScanSpan: once the history covers this much time, the last scan is
	// final and the history is dropped (weekly seasonality needs ~3 weeks).
	maxScanSpan = 5 * 7 * 24 * time.Hour
	minStrength = 0.3 // seasonal strength needed to model a period
	iqrToSigma  = 1.349
	// fewCyclesMargin is taken off the strength of a period seen fewer than
	// three times, so it needs strength 0.8 (most of the variance) then.
	fewCyclesMargin = 0.5
)

func newHistory() *history {
	return &history{sum: make([]float64, histBins), cnt: make([]uint32, histBins)}
}

func (h *history) clone() *history {
	c := *h
	c.scratch = nil
	c.sum = slices.Clone(h.sum)
	c.cnt = slices.Clone(h.cnt)
	return &c
}

func (h *history) add(t int64, v float64, interval float64) {
	if h.width == 0 {
		h.start = t
		h.width = max(int64(interval), 1)
		h.perMs = 1 / float64(h.width)
	}
	idx := int64(float64(t-h.start) * h.perMs)
	for idx >= histBins {
		h.compress()
		idx = int64(float64(t-h.start) * h.perMs)
	}
	h.sum[idx] += v
	h.cnt[idx]++
	h.used = max(h.used, int(idx)+1)
}

func (h *history) compress() {
	for i := 0; i < histBins/2; i++ {
		h.sum[i] = h.sum[2*i] + h.sum[2*i+1]
		h.cnt[i] = h.cnt[2*i] + h.cnt[2*i+1]
	}
	clear(h.sum[histBins/2:])
	clear(h.cnt[histBins/2:])
	h.width *= 2
	h.perMs = 1 / float64(h.width)
	h.used = (h.used + 1) / 2
}

// values returns at most scanBins bin means (merging adjacent bins when
// needed) and their width, carrying the last mean over empty bins.
func (h *history) values(sc *scratch) ([]float64, int64) {
	f := 1
	for h.used > f*scanBins {
		f *= 2
	}
	return h.merged(sc, f)
}

// merged returns the bin means with f adjacent bins merged (see values).
func (h *history) merged(sc *scratch, f int) ([]float64, int64) {
	out := sc.floats((h.used + f - 1) / f)
	last := math.NaN()
	for i := range out {
		var s float64
		var c uint32
		for j := i * f; j < min((i+1)*f, h.used); j++ {
			s += h.sum[j]
			c += h.cnt[j]
		}
		if c > 0 {
			last = s / float64(c)
		}
		out[i] = last
	}
	for i := range out { // leading empties take the first mean
		if !math.IsNaN(out[i]) {
			for j := 0; j < i; j++ {
				out[j] = out[i]
			}
			break
		}
	}
	return out, h.width * int64(f)
}

func (h *history) span() time.Duration {
	return time.Duration(int64(h.used)*h.width) * time.Millisecond
}

// scanPeriod looks for seasonality in the history and switches the model to
// the period found (with a profile seeded from the history).
func (m *model) scanPeriod() {
	m.nextScan = m.scanAfter(m.n)
	h := m.hist
	final := h.span() >= maxScanSpan
	if h.scratch == nil {
		h.scratch = &scratch{}
	}
	h.scratch.reset()
	x, width := h.values(h.scratch)
	p, profile, _ := detectPeriod(x, h.start, width, h.scratch)
	if p > 0 && p != m.periodMs {
		if width > h.width {
			// the scan merged bins; the profile of the period found is
			// worth the history's full resolution (sharp edges stay sharp)
			xf, wf := h.merged(h.scratch, 1)
			if _, pf := seasonalStrength(winsorise(xf, h.scratch), h.start, wf, p, h.scratch); pf != nil {
				x, width, profile = xf, wf, pf
			}
		}
		profile = median3(profile)
		nb := int(math.Round(float64(p) / m.interval))
		nb = min(nb, maxBuckets)
		seed := make([]float64, nb)
		// Each bucket takes the profile bin it falls in; when the bins are
		// coarser than the buckets (a long history), the profile
		// interpolated linearly between bin centres (circularly), so a
		// bin's mean is not put on the whole of its span.
		L := len(profile)
		for j := range seed {
			u := (float64(j) + 0.5) / float64(nb) * float64(L)
			if L >= nb {
				seed[j] = profile[min(int(u), L-1)]
				continue
			}
			i0 := math.Floor(u - 0.5)
			f := u - 0.5 - i0
			a := ((int(i0) % L) + L) % L
			seed[j] = (1-f)*profile[a] + f*profile[(a+1)%L]
		}
		old := 0.0
		if m.season != nil {
			old = m.season[m.bucket(m.lastT)]
		}
		m.setPeriod(p, seed)
		if m.season != nil {
			m.level += old - m.season[m.bucket(m.lastT)]
			if m.recentN > 0 {
				// the level so far followed what the old model missed of
				// the cycle, with a lag: restart it from the recent points
				// net of the new profile
				k := min(m.recentN, recentSize)
				var buf [recentSize]float64
				for j := 0; j < k; j++ {
					t := m.lastT - int64(float64(j)*m.interval)
					buf[j] = m.recent[(m.recentN-1-j)&(recentSize-1)] - m.season[m.bucket(t)]
				}
				m.level, m.trend = medianInPlace(buf[:k]), 0
			}
			m.scale = min(m.scale, remainderScale(x, h, width, p, profile))
		}
	}
	if final {
		m.hist = nil
	} else if m.n >= 1600 {
		h.scratch = nil // scans are rare from here on: keep long-lived streams small
	}
}

// median3 is the running median of three (circular) of a seasonal profile:
// an incident that fell into one phase bin of the few cycles the profile
// averages is not written into every following period, while steps (a
// square wave's edges) pass unchanged, which a mean filter would blur.
func median3(p []float64) []float64 {
	n := len(p)
	if n < 3 {
		return p
	}
	out := make([]float64, n)
	for j := range p {
		a, b, c := p[(j+n-1)%n], p[j], p[(j+1)%n]
		out[j] = max(min(a, b), min(max(a, b), c))
	}
	return out
}

// remainderScale estimates the noise left once the period p (profile: its
// phase means over bins of width) is modelled, from the history x: the
// robust SD of the remainder (bins minus a one-period centred moving average
// minus the profile) over the last two cycles, times √(points per bin) (bin
// means of white noise are √f too quiet; for a wandering remainder this errs
// wide). A scale measured before the period was modelled includes the cycle
// itself; the model's scale drops to this at once instead of over a scale
// time constant.
func remainderScale(x []float64, h *history, width, p int64, profile []float64) float64 {
	nb, n := len(profile), len(x)
	if n < 2*nb || nb < 2 {
		return math.Inf(1)
	}
	pre := make([]float64, n+1)
	for i, v := range x {
		pre[i+1] = pre[i] + v
	}
	half := nb / 2
	mlo, mhi := half, n-(nb-half)-1
	d := make([]float64, 0, 2*nb)
	for i := n - 2*nb; i < n; i++ {
		j := min(max(i, mlo), mhi)
		ma := (pre[j-half+nb] - pre[j-half]) / float64(nb)
		t := h.start + int64(i)*width + width/2
		d = append(d, x[i]-ma-profile[min(int((t%p)*int64(nb)/p), nb-1)])
	}
	med := medianInPlace(slices.Clone(d))
	for i := range d {
		d[i] = math.Abs(d[i] - med)
	}
	var pts, bins float64
	for i := range h.used {
		if h.cnt[i] > 0 {
			pts += float64(h.cnt[i])
			bins++
		}
	}
	f := max(1, pts/max(bins, 1)) * float64(width/h.width)
	return madToSigma * medianInPlace(d) * math.Sqrt(f)
}

// scanAfter schedules the next period scan: for periods of any length at
// point counts doubling up to 1600 and growing 4x after that, and for the
// calendar periods as soon as three cycles are in (so daily seasonality is
// modelled from the start of day four), then again at six cycles.
func (m *model) scanAfter(n int) int {
	growth := 4
	if n < 1600 {
		growth = 2 // short periods (tens to hundreds of points) are found early
	}
	regular := max(n*growth, firstScan)
	next := regular
	for _, c := range calendarPeriods {
		for _, cycles := range []float64{2.05, 3.05, 6.1} { // first chance, then with more data
			at := int(cycles*float64(c.Milliseconds())/m.interval) + initPoints
			// a calendar scan just before a regular one is left to the latter
			if at > n && at >= firstScan && at < next && float64(at) < 0.9*float64(regular) {
				next = at
			}
		}
	}
	return next
}

// Calendar periods that detection snaps to.
var calendarPeriods = []time.Duration{time.Hour, 24 * time.Hour, 7 * 24 * time.Hour}

// detectPeriod returns the strongest period in x (bins of width ms starting at
// start) and its profile (phase means, one per bin of the period), or 0.
// Candidates are the calendar periods plus the highest autocorrelation peaks;
// each is scored by seasonal strength (share of variance the phase means
// explain after removing a moving average, corrected for over-fitting).
func detectPeriod(x []float64, start, width int64, sc *scratch) (int64, []float64, float64) {
	n := len(x)
	if n < 48 {
		return 0, nil, 0
	}
	w := winsorise(x, sc)
	var cands []int64
	for _, c := range calendarPeriods {
		cands = append(cands, c.Milliseconds())
	}
	for _, lag := range acfPeaks(w, 3, sc) {
		p := int64(lag) * width
		for _, c := range calendarPeriods {
			cm := c.Milliseconds()
			if math.Abs(float64(p-cm)) <= 0.03*float64(cm) {
				p = cm
			}
		}
		if !slices.Contains(cands, p) {
			cands = append(cands, p)
		}
	}
	slices.Sort(cands)
	type scored struct {
		p       int64
		s       float64
		profile []float64
	}
	var best []scored
	for _, p := range cands {
		s, prof := seasonalStrength(w, start, width, p, sc)
		if s >= minStrength {
			best = append(best, scored{p, s, prof})
		}
	}
	if len(best) == 0 {
		return 0, nil, 0
	}
	top := slices.MaxFunc(best, func(a, b scored) int {
		if a.s < b.s {
			return -1
		} else if a.s > b.s {
			return 1
		}
		return 0
	})
	// A longer period always explains a bit more; prefer the shortest one
	// that is nearly as good.
	for _, c := range best {
		if c.s >= top.s-0.05 {
			return c.p, c.profile, c.s
		}
	}
	return top.p, top.profile, top.s
}

// winsorise clips x to median ± 5 MADs so outages do not dominate the scan.
func winsorise(x []float64, sc *scratch) []float64 {
	tmp := sc.floats(len(x))
	copy(tmp, x)
	med := medianInPlace(tmp)
	for i, v := range x {
		tmp[i] = math.Abs(v - med)
	}
	sd := madToSigma * medianInPlace(tmp)
	// The MAD of a two-level series (a square wave, on/off load) is the
	// spread of one level only, which would clip the other level away:
	// the interquartile range spans both.
	copy(tmp, x)
	q3 := selectK(tmp, len(x)*3/4)
	q1 := selectK(tmp[:len(x)*3/4], len(x)/4)
	sd = max(sd, (q3-q1)/iqrToSigma)
	out := sc.floats(len(x))
	if sd == 0 {
		copy(out, x)
		return out
	}
	lo, hi := med-5*sd, med+5*sd
	for i, v := range x {
		out[i] = math.Max(lo, math.Min(hi, v))
	}
	return out
}

// seasonalStrength scores period p (ms) on x: 1 - Var(remainder)/Var(detrended),
// with the remainder variance inflated by c/(c-1) for c cycles so noise scores ~0.
func seasonalStrength(x []float64, start, width, p int64, sc *scratch) (float64, []float64) {
	n := len(x)
	nb := int(math.Round(float64(p) / float64(width)))
	if nb < 4 || n < 2*nb {
		return 0, nil
	}
	// centred moving average over one period via prefix sums
	pre := sc.floats(n + 1)
	for i, v := range x {
		pre[i+1] = pre[i] + v
	}
	h := nb / 2
	lo, hi := h, n-(nb-h)
	// With fewer than three cycles the centred moving average would leave
	// less than two cycles to compare: the edges then take the nearest
	// moving average, so a period can be modelled after two cycles rather
	// than three (a level shift is still removed, which a fitted line
	// would write into the profile).
	mlo, mhi := lo, hi-1
	few := hi-lo < 2*nb
	if few {
		lo, hi = 0, n
	}
	d := sc.floats(hi - lo)[:0]
	phase := sc.ints(hi - lo)[:0]
	sums := sc.floats(nb)
	cnts := sc.floats(nb)
	for i := lo; i < hi; i++ {
		j := min(max(i, mlo), mhi)
		ma := (pre[j-h+nb] - pre[j-h]) / float64(nb)
		v := x[i] - ma
		t := start + int64(i)*width + width/2
		ph := int((t % p) * int64(nb) / p)
		d = append(d, v)
		phase = append(phase, ph)
		sums[ph] += v
		cnts[ph]++
	}
	prof := sc.floats(nb)
	for j := range prof {
		if cnts[j] > 0 {
			prof[j] = sums[j] / cnts[j]
		}
	}
	var vd, vr, md float64
	for _, v := range d {
		md += v
	}
	md /= float64(len(d))
	for i, v := range d {
		vd += (v - md) * (v - md)
		r := v - prof[phase[i]]
		vr += r * r
	}
	if vd <= 0 {
		return 0, nil
	}
	c := float64(len(d)) / float64(nb)
	s := 1 - vr*c/(c-1)/vd
	if few {
		// Two cycles cannot tell a cycle from a one-off change (a level
		// shift in one of them also repeats "at the same phase"): below
		// three cycles a period must explain most of the variance.
		s -= fewCyclesMargin
	}
	return s, prof
}

// acfPeaks returns up to k lags (>= 4, <= n/2.5) at local maxima of the
// autocorrelation of x (linearly detrended), highest first.
func acfPeaks(x []float64, k int, sc *scratch) []int {
	n := len(x)
	a, b := lineFit(x) // detrend by least squares
	size := 1
	for size < 2*n {
		size <<= 1
	}
	buf := sc.complexes(size)
	for i, v := range x {
		buf[i] = complex(v-a-b*float64(i), 0)
	}
	fft(buf, false)
	for i, c := range buf {
		buf[i] = complex(real(c)*real(c)+imag(c)*imag(c), 0)
	}
	fft(buf, true)
	r0 := real(buf[0])
	if r0 <= 0 {
		return nil
	}
	maxLag := int(float64(n) / 2.5)
	acf := func(l int) float64 { return real(buf[l]) / r0 }
	type peak struct {
		lag int
		v   float64
	}
	var peaks []peak
	for l := 4; l < maxLag; l++ {
		v := acf(l)
		if v > 0.2 && v > acf(l-1) && v >= acf(l+1) {
			peaks = append(peaks, peak{l, v})
		}
	}
	slices.SortFunc(peaks, func(a, b peak) int {
		if a.v > b.v {
			return -1
		} else if a.v < b.v {
			return 1
		}
		return a.lag - b.lag
	})
	var out []int
	for i := 0; i < len(peaks) && i < k; i++ {
		out = append(out, peaks[i].lag)
	}
	return out
}

// lineFit returns the least-squares line a + b·i through x.
func lineFit(x []float64) (a, b float64) {
	var sx, sy, sxx, sxy float64
	for i, v := range x {
		f := float64(i)
		sx += f
		sy += v
		sxx += f * f
		sxy += f * v
	}
	fn := float64(len(x))
	if den := fn*sxx - sx*sx; den != 0 {
		b = (fn*sxy - sx*sy) / den
	}
	return (sy - b*sx) / fn, b
}

// scratch hands out zeroed slices from arenas that are reused from one
// period scan to the next, so scans do not churn the garbage collector.
// Slices stay valid until reset (growing starts a new arena; the old one
// lives on while referenced).
type scratch struct {
	f      []float64
	c      []complex128
	i      []int
	nf, nc int
	ni     int
}

func (s *scratch) reset() { s.nf, s.nc, s.ni = 0, 0, 0 }

func (s *scratch) floats(n int) []float64 {
	if s.nf+n > len(s.f) {
		s.f, s.nf = make([]float64, max(2*len(s.f), n, 8192)), 0
	}
	out := s.f[s.nf : s.nf+n : s.nf+n]
	s.nf += n
	clear(out)
	return out
}

func (s *scratch) complexes(n int) []complex128 {
	if s.nc+n > len(s.c) {
		s.c, s.nc = make([]complex128, max(2*len(s.c), n)), 0
	}
	out := s.c[s.nc : s.nc+n : s.nc+n]
	s.nc += n
	clear(out)
	return out
}

func (s *scratch) ints(n int) []int {
	if s.ni+n > len(s.i) {
		s.i, s.ni = make([]int, max(2*len(s.i), n, 1024)), 0
	}
	out := s.i[s.ni : s.ni+n : s.ni+n]
	s.ni += n
	clear(out)
	return out
}

// fft is an in-place iterative radix-2 FFT; len(a) must be a power of two.
// The inverse is unnormalised (only ratios of the ACF are used).
func fft(a []complex128, inverse bool) {
	n := len(a)
	for i, j := 1, 0; i < n; i++ {
		bit := n >> 1
		for ; j&bit != 0; bit >>= 1 {
			j ^= bit
		}
		j ^= bit
		if i < j {
			a[i], a[j] = a[j], a[i]
		}
	}
	sign := -1.0
	if inverse {
		sign = 1
	}
	for length := 2; length <= n; length <<= 1 {
		w := cmplx.Exp(complex(0, sign*2*math.Pi/float64(length)))
		for i := 0; i < n; i += length {
			wn := complex(1, 0)
			for j := 0; j < length/2; j++ {
				u, v := a[i+j], a[i+j+length/2]*wn
				a[i+j], a[i+j+length/2] = u+v, u-v
				wn *= w
			}
		}
	}
}

// samePhaseDistance is, while no period is modelled yet, how far v lies
// outside the range of values the history holds at the same phase one
// calendar period (hour, day, week) before t, ±1 % of the period (at least
// one bin): 0 when v repeats what the series did then. It is +Inf when no
// calendar period has a full cycle in the history yet. A seasonal series
// whose period is not found yet (that takes two cycles) therefore does not
// call its own routine cycle an anomaly from its second cycle on: only the
// first occurrence of each transition can be flagged.
func (m *model) samePhaseDistance(t int64, v float64) float64 {
	h := m.hist
	best := math.Inf(1)
	if h == nil || h.width == 0 {
		return best
	}
	for _, c := range calendarPeriods {
		p := c.Milliseconds()
		if p < samePhaseMinBins*h.width || t-p < h.start {
			continue
		}
		w := max(int64(1), p/100/h.width)
		mid := (t - p - h.start) / h.width
		lo, hi := math.Inf(1), math.Inf(-1)
		for i := max(mid-w, 0); i <= min(mid+w, int64(h.used)-1); i++ {
			if h.cnt[i] > 0 {
				x := h.sum[i] / float64(h.cnt[i])
				lo, hi = min(lo, x), max(hi, x)
			}
		}
		switch {
		case lo > hi: // no data at that phase
		case v < lo:
			best = min(best, lo-v)
		case v > hi:
			best = min(best, v-hi)
		default:
			return 0
		}
	}
	return best
}

// samePhaseMinBins: a calendar period is compared at the same phase only when
// the history resolves it into at least this many bins.
const samePhaseMinBins = 8

// seenRangeDistance is how far v lies outside the range of the values the
// history holds up to incidentSpan before t: 0 when the series has already
// been there. While a series is young (youngSpan) nothing says what its
// routine is, so a value it has already taken is no surprise; one beyond
// anything seen still is. The latest incidentSpan does not count as seen, so
// an ongoing incident does not excuse itself.
func (m *model) seenRangeDistance(t int64, v float64) float64 {
	h := m.hist
	if h == nil || h.width == 0 {
		return math.Inf(1)
	}
	last := min(int64(h.used), (t-incidentSpan.Milliseconds()-h.start)/h.width) // bins wholly before the gap
	lo, hi := math.Inf(1), math.Inf(-1)
	for i := range last {
		if h.cnt[i] > 0 {
			x := h.sum[i] / float64(h.cnt[i])
			lo, hi = min(lo, x), max(hi, x)
		}
	}
	switch {
	case lo > hi:
		return math.Inf(1)
	case v < lo:
		return lo - v
	case v > hi:
		return v - hi
	}
	return 0
}
