package plugin

import (
	"container/list"
	"context"
	"math"
	"sort"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"

	"github.com/sheepdog-anomaly/sheepdog/pkg/detector"
	"github.com/sheepdog-anomaly/sheepdog/pkg/engine"
	"github.com/sheepdog-anomaly/sheepdog/pkg/models"
	"github.com/sheepdog-anomaly/sheepdog/pkg/source"
)

// recentPointBytes is what one kept recent point costs: time, value and score
// (8 bytes each) and the anomaly flag.
const recentPointBytes = 8 + 8 + 8 + 1

var metricCacheBytes = promauto.NewGauge(prometheus.GaugeOpts{
	Name: "sheepdog_stream_cache_bytes",
	Help: "Estimated bytes of the per-series stream states held for alert re-evaluation.",
})

// Revisiting: a source's newest samples can be provisional (a rate() over an
// incomplete window, a sample replaced later, data arriving late), so the
// points within the revisit span of a query's newest point are never learned
// into the kept state. Each evaluation restores from a checkpoint before them
// and judges them again on what the source returns now, as a fresh evaluation
// would.
const (
	defaultRevisitSteps = 2
	minRevisit          = time.Minute
)

// seriesState is one series' causal detector state and its recent outputs,
// kept between alert evaluations.
type seriesState struct {
	meta source.Series // name, labels, unit, display name (no points)
	// checkpoint is the detector state after the points up to cpT, the ones
	// taken as final; it is only pushed to with final points, and cloned to
	// score the provisional ones after it. nil when no point was final yet.
	checkpoint detector.Stream
	cpT        int64
	lastT      int64 // last point scored, provisional or not
	// recent points and outputs, enough for the alert's range and trigger window
	times   []int64
	values  []float64
	score   []float64
	anomaly []bool
}

// newSeriesState scores s causally: the points up to final build the
// checkpoint, the newer ones are scored on a clone of it. The outputs from
// keepFrom on are kept; info is the detector's account of the whole series.
func newSeriesState(ctx context.Context, det detector.Streaming, s source.Series, opt engine.Options, final, keepFrom int64) (*seriesState, engine.Info, error) {
	st := &seriesState{meta: s, cpT: math.MinInt64}
	st.meta.Times, st.meta.Values = nil, nil
	if n := len(s.Times); n > 0 {
		st.lastT = s.Times[n-1]
	}
	k := sort.Search(len(s.Times), func(j int) bool { return s.Times[j] > final })
	head := s
	if k > 0 {
		head.Times, head.Values = s.Times[:k], s.Values[:k]
	}
	res, stream, err := det.DetectStream(ctx, engine.Series{Times: head.Times, Values: head.Values}, opt)
	if err != nil {
		return nil, engine.Info{}, err
	}
	info := res.Info
	if k > 0 {
		st.checkpoint, st.cpT = stream, s.Times[k-1]
	} else {
		k = len(s.Times) // nothing final: scored whole, no checkpoint
	}
	from := sort.Search(k, func(j int) bool { return s.Times[j] >= keepFrom })
	st.times = append([]int64(nil), s.Times[from:k]...)
	st.values = append([]float64(nil), s.Values[from:k]...)
	st.score = append([]float64(nil), res.Score[from:k]...)
	st.anomaly = append([]bool(nil), res.Anomaly[from:k]...)
	if k < len(s.Times) {
		work := stream.Clone()
		if err := st.scoreInto(work, s.Times[k:], s.Values[k:]); err != nil {
			return nil, engine.Info{}, err
		}
		info = work.Info()
	}
	return st, info, nil
}

// resume drops the outputs after the checkpoint and scores the fetched points
// after it again: those up to final are learned into the checkpoint, the
// newer, provisional ones are scored on a clone of it. A series the fetch did
// not return (times empty) falls back to its checkpoint, as a fresh
// evaluation would not see its provisional points either.
func (st *seriesState) resume(times []int64, values []float64, final int64) error {
	st.dropAfter(st.cpT)
	st.lastT = st.cpT
	i := sort.Search(len(times), func(j int) bool { return times[j] > st.cpT })
	j := i + sort.Search(len(times)-i, func(j int) bool { return times[i+j] > final })
	if err := st.scoreInto(st.checkpoint, times[i:j], values[i:j]); err != nil {
		return err
	}
	if j > i {
		st.cpT = times[j-1]
	}
	if j == len(times) {
		return nil
	}
	return st.scoreInto(st.checkpoint.Clone(), times[j:], values[j:])
}

// scoreInto pushes points into stream and records their outputs.
func (st *seriesState) scoreInto(stream detector.Stream, times []int64, values []float64) error {
	for i, t := range times {
		p := stream.Push(t, values[i])
		if p.Err != nil {
			return p.Err
		}
		st.lastT = t
		st.times = append(st.times, t)
		st.values = append(st.values, values[i])
		st.score = append(st.score, p.Score)
		st.anomaly = append(st.anomaly, p.Anomaly)
	}
	return nil
}

// sizeBytes estimates the memory st holds: the checkpoint, the recent
// outputs (by capacity: keepFrom reuses the arrays) and the series' names.
func (st *seriesState) sizeBytes() int64 {
	n := int64(256) // the struct and its map entry
	if st.checkpoint != nil {
		n += st.checkpoint.SizeBytes()
	}
	n += int64(cap(st.times))*8 + int64(cap(st.values))*8 + int64(cap(st.score))*8 + int64(cap(st.anomaly))
	n += int64(len(st.meta.Name) + len(st.meta.DisplayName) + len(st.meta.Unit))
	for k, v := range st.meta.Labels {
		n += int64(len(k)+len(v)) + 64
	}
	return n
}

// dropAfter drops the recent outputs after t (unix ms).
func (st *seriesState) dropAfter(t int64) {
	n := len(st.times)
	for n > 0 && st.times[n-1] > t {
		n--
	}
	st.times, st.values, st.score, st.anomaly = st.times[:n], st.values[:n], st.score[:n], st.anomaly[:n]
}

// keepFrom drops recent outputs before t (unix ms), reusing the arrays' space.
func (st *seriesState) keepFrom(t int64) {
	i := 0
	for i < len(st.times) && st.times[i] < t {
		i++
	}
	if i == 0 {
		return
	}
	n := copy(st.times, st.times[i:])
	st.times = st.times[:n]
	copy(st.values, st.values[i:])
	st.values = st.values[:n]
	copy(st.score, st.score[i:])
	st.score = st.score[:n]
	copy(st.anomaly, st.anomaly[i:])
	st.anomaly = st.anomaly[:n]
}

// cachedQuery is the state of every series of one alert query.
type cachedQuery struct {
	key     string
	step    time.Duration           // the step the source answered at (plan.adoptObservedStep), sizing the revisit span
	series  map[string]*seriesState // by series identity
	order   []string                // series identities in source order
	updated time.Time
	bytes   int64 // estimated size, set by put
}

// sizeBytes estimates the memory cq holds.
func (cq *cachedQuery) sizeBytes() int64 {
	n := int64(len(cq.key)) + 128
	for id, st := range cq.series {
		n += int64(len(id)) + 16 + st.sizeBytes()
	}
	return n
}

// dropStale removes the series whose last point is before t (unix ms).
func (cq *cachedQuery) dropStale(t int64) {
	kept := cq.order[:0]
	for _, id := range cq.order {
		if cq.series[id].lastT < t {
			delete(cq.series, id)
			continue
		}
		kept = append(kept, id)
	}
	cq.order = kept
}

// resumeFrom is where a re-evaluation fetches from: the oldest checkpoint
// (inclusive, so a source's step grid stays aligned). ok is false when a
// series has no checkpoint yet. newest is the newest last point over the series.
func (cq *cachedQuery) resumeFrom() (from, newest int64, ok bool) {
	from, newest = math.MaxInt64, math.MinInt64
	for _, st := range cq.series {
		if st.checkpoint == nil {
			return 0, 0, false
		}
		from, newest = min(from, st.cpT), max(newest, st.lastT)
	}
	return from, newest, true
}

// streamCache holds cachedQuery entries in LRU order, bounded by the total
// number of series, by their estimated bytes and by age. Viewers set an alert
// query's range, window and series, so the byte bound is the one that holds:
// an entry is sized when it is put back, and one larger than the whole bound
// is not kept. An entry is taken out while a request uses it,
// so concurrent evaluations of one rule never share a stream.
type streamCache struct {
	mu           sync.Mutex
	maxSeries    int
	maxBytes     int64 // estimated bytes (jsonData alertCacheMaxMiB)
	ttl          time.Duration
	revisitSteps int // steps before a query's newest point taken as provisional (at least minRevisit)
	now          func() time.Time
	lru          *list.List // front = most recent; values *cachedQuery
	items        map[string]*list.Element
	series       int
	bytes        int64
}

func newStreamCache(maxSeries int, ttl time.Duration) *streamCache {
	return &streamCache{maxSeries: maxSeries, maxBytes: models.DefaultAlertCacheMaxMiB << 20, ttl: ttl, revisitSteps: defaultRevisitSteps, now: time.Now, lru: list.New(), items: map[string]*list.Element{}}
}

// take removes and returns the entry for key, or nil when absent or expired.
func (c *streamCache) take(key string) *cachedQuery {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.items[key]
	if !ok {
		metricCache.WithLabelValues("miss").Inc()
		return nil
	}
	q := el.Value.(*cachedQuery)
	c.remove(el)
	if c.now().Sub(q.updated) > c.ttl {
		metricCache.WithLabelValues("stale").Inc()
		return nil
	}
	metricCache.WithLabelValues("hit").Inc()
	return q
}

// put stores q as the most recent entry and evicts the least recent ones
// beyond the bounds.
func (c *streamCache) put(q *cachedQuery) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.items[q.key]; ok {
		c.remove(el)
	}
	q.bytes = q.sizeBytes()
	if len(q.series) > c.maxSeries || q.bytes > c.maxBytes {
		return
	}
	q.updated = c.now()
	c.items[q.key] = c.lru.PushFront(q)
	c.series += len(q.series)
	c.bytes += q.bytes
	metricCacheEntries.Add(float64(len(q.series)))
	metricCacheBytes.Add(float64(q.bytes))
	for c.series > c.maxSeries || c.bytes > c.maxBytes {
		c.remove(c.lru.Back())
	}
	for el := c.lru.Back(); el != nil && c.now().Sub(el.Value.(*cachedQuery).updated) > c.ttl; el = c.lru.Back() {
		c.remove(el)
	}
}

// revisit is the span before a query's newest point whose points are scored
// again at each evaluation.
func (c *streamCache) revisit(step time.Duration) time.Duration {
	return max(time.Duration(c.revisitSteps)*step, minRevisit)
}

func (c *streamCache) remove(el *list.Element) {
	q := el.Value.(*cachedQuery)
	c.lru.Remove(el)
	delete(c.items, q.key)
	c.series -= len(q.series)
	c.bytes -= q.bytes
	metricCacheEntries.Sub(float64(len(q.series)))
	metricCacheBytes.Sub(float64(q.bytes))
}

func (c *streamCache) clear() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.lru.Init()
	c.items = map[string]*list.Element{}
	metricCacheEntries.Sub(float64(c.series))
	metricCacheBytes.Sub(float64(c.bytes))
	c.series, c.bytes = 0, 0
}
