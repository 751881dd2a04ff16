package plugin

import (
	"container/list"
	"math"
	"sync"
	"time"

	"github.com/sheepdog-anomaly/sheepdog/pkg/engine"
	"github.com/sheepdog-anomaly/sheepdog/pkg/source"
)

// seriesState is one series' causal detector state and its recent outputs,
// kept between alert evaluations.
type seriesState struct {
	meta   source.Series // name, labels, unit, display name (no points)
	stream *engine.Stream
	lastT  int64
	// recent points and outputs, enough for the alert's range and trigger window
	times   []int64
	values  []float64
	score   []float64
	anomaly []bool
}

// push feeds the points after lastT into the stream and records their outputs.
func (st *seriesState) push(times []int64, values []float64) error {
	for i, t := range times {
		if t <= st.lastT {
			continue
		}
		p := st.stream.Push(t, values[i])
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
	series  map[string]*seriesState // by series identity
	order   []string                // series identities in source order
	updated time.Time
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

// lastRange is the oldest and newest last point over the series.
func (cq *cachedQuery) lastRange() (oldest, newest int64) {
	oldest, newest = math.MaxInt64, math.MinInt64
	for _, st := range cq.series {
		oldest, newest = min(oldest, st.lastT), max(newest, st.lastT)
	}
	return oldest, newest
}

// streamCache holds cachedQuery entries in LRU order, bounded by the total
// number of series and by age. An entry is taken out while a request uses it,
// so concurrent evaluations of one rule never share a stream.
type streamCache struct {
	mu        sync.Mutex
	maxSeries int
	ttl       time.Duration
	now       func() time.Time
	lru       *list.List // front = most recent; values *cachedQuery
	items     map[string]*list.Element
	series    int
}

func newStreamCache(maxSeries int, ttl time.Duration) *streamCache {
	return &streamCache{maxSeries: maxSeries, ttl: ttl, now: time.Now, lru: list.New(), items: map[string]*list.Element{}}
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
	if len(q.series) > c.maxSeries {
		return
	}
	q.updated = c.now()
	c.items[q.key] = c.lru.PushFront(q)
	c.series += len(q.series)
	metricCacheEntries.Add(float64(len(q.series)))
	for c.series > c.maxSeries {
		c.remove(c.lru.Back())
	}
	for el := c.lru.Back(); el != nil && c.now().Sub(el.Value.(*cachedQuery).updated) > c.ttl; el = c.lru.Back() {
		c.remove(el)
	}
}

func (c *streamCache) remove(el *list.Element) {
	q := el.Value.(*cachedQuery)
	c.lru.Remove(el)
	delete(c.items, q.key)
	c.series -= len(q.series)
	metricCacheEntries.Sub(float64(len(q.series)))
}

func (c *streamCache) clear() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.lru.Init()
	c.items = map[string]*list.Element{}
	metricCacheEntries.Sub(float64(c.series))
	c.series = 0
}

// len reports the number of cached queries and series.
func (c *streamCache) len() (queries, series int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.items), c.series
}
