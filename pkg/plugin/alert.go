package plugin

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/sheepdog-anomaly/sheepdog/pkg/engine"
	"github.com/sheepdog-anomaly/sheepdog/pkg/frames"
	"github.com/sheepdog-anomaly/sheepdog/pkg/source"
)

// seriesID identifies a series among a query's series: name and sorted labels.
func seriesID(s source.Series) string {
	keys := make([]string, 0, len(s.Labels))
	for k := range s.Labels {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	b.WriteString(s.Name)
	for _, k := range keys {
		b.WriteString("\x00" + k + "\x01" + s.Labels[k])
	}
	return b.String()
}

// alertKey identifies an alert query's stream state: the instance, the
// source and detector settings, the step and the span of recent outputs kept.
func (d *Datasource) alertKey(q *queryContext) string {
	h := sha256.New()
	src, _ := json.Marshal(q.pq.Raw.Source)
	det, _ := json.Marshal(q.pq.Raw.Detector)
	fmt.Fprintf(h, "%s\x00%d\x00%s\x00%s\x00%d\x00%d\x00%d", d.uid, d.updated.UnixNano(), src, det,
		q.plan.Step, q.plan.To.Sub(q.plan.From), q.pq.Alert.Window)
	return hex.EncodeToString(h.Sum(nil))
}

// alertCached answers an alert query from per-series causal streams kept
// between evaluations: after the first evaluation only points newer than the
// cached state are fetched and pushed.
func (d *Datasource) alertCached(ctx context.Context, q *queryContext) ([]frames.Series, error) {
	key := d.alertKey(q)
	keepFrom := q.plan.From.Add(-q.pq.Alert.Window).UnixMilli()
	if cq := d.cache.take(key); cq != nil {
		if out, ok, err := d.alertIncremental(ctx, q, cq, keepFrom); err != nil {
			return nil, err
		} else if ok {
			d.cache.put(cq)
			return out, nil
		}
	}
	series, err := q.fetch(ctx, q.plan.FetchRange())
	if err != nil {
		return nil, err
	}
	series = dropShort(series, q.notes)
	cq := &cachedQuery{key: key, series: make(map[string]*seriesState, len(series))}
	states := make([]*seriesState, len(series))
	errs := make([]error, len(series))
	results := make([]*engine.Result, len(series))
	var wg sync.WaitGroup
	sem := make(chan struct{}, maxWorkers())
	start := time.Now()
	for i, s := range series {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			// A panic here would kill the plugin process: it becomes this series' error.
			defer func() {
				if p := recover(); p != nil {
					errs[i] = fmt.Errorf("%s: internal error while keeping the alert state: %v", displayOf(s), p)
				}
			}()
			res, stream, err := safeDetectStream(ctx, s, q.opt)
			if err != nil {
				errs[i] = fmt.Errorf("%s: %w", displayOf(s), err)
				return
			}
			results[i] = res
			st := &seriesState{meta: s, stream: stream}
			st.meta.Times, st.meta.Values = nil, nil
			if n := len(s.Times); n > 0 {
				st.lastT = s.Times[n-1]
			}
			from := sort.Search(len(s.Times), func(j int) bool { return s.Times[j] >= keepFrom })
			st.times = append([]int64(nil), s.Times[from:]...)
			st.values = append([]float64(nil), s.Values[from:]...)
			st.score = append([]float64(nil), res.Score[from:]...)
			st.anomaly = append([]bool(nil), res.Anomaly[from:]...)
			states[i] = st
		}()
	}
	wg.Wait()
	metricEngineSeconds.WithLabelValues("embedded").Observe(time.Since(start).Seconds())
	var full []analysed
	for i, st := range states {
		if errs[i] != nil {
			if ctx.Err() != nil {
				return nil, fmt.Errorf("causal detection for the alert of %d series: %w", len(series), ctx.Err())
			}
			return nil, errs[i]
		}
		id := seriesID(series[i])
		if _, dup := cq.series[id]; dup {
			continue
		}
		cq.series[id] = st
		cq.order = append(cq.order, id)
		full = append(full, analysed{src: series[i], result: results[i], engine: "embedded"})
		metricSeries.WithLabelValues("embedded").Inc()
	}
	warmUpNotices(full, q.notes)
	out := statesToFrames(cq, q.plan.From.UnixMilli())
	if len(cq.series) > 0 {
		d.cache.put(cq)
	}
	return out, nil
}

// alertIncremental fetches the points after the cached state and pushes them.
// ok is false when the cache cannot serve the query (a new series appeared, a
// gap too long to bridge); the caller then recomputes from scratch.
func (d *Datasource) alertIncremental(ctx context.Context, q *queryContext, cq *cachedQuery, keepFrom int64) ([]frames.Series, bool, error) {
	// Each series is fed up to its own last point. A series silent since
	// before the history window is left out (alerting reports it as no data;
	// if it comes back it is new and gets a full computation), so it cannot
	// drag every later evaluation's fetch back, nor force a recomputation.
	cq.dropStale(q.plan.FetchFrom().UnixMilli())
	if len(cq.series) == 0 {
		return nil, false, nil
	}
	oldest, newest := cq.lastRange()
	if newest > q.plan.To.UnixMilli() {
		return nil, false, nil // the range moved back: the states are ahead of it
	}
	if q.plan.To.UnixMilli() > oldest {
		series, err := q.fetch(ctx, source.Range{From: time.UnixMilli(oldest), To: q.plan.To, Step: q.plan.Step})
		if err != nil {
			return nil, false, err
		}
		start := time.Now()
		for _, s := range series {
			if cq.series[seriesID(s)] == nil && s.PointCount() > 0 {
				return nil, false, nil // a new series needs its history
			}
		}
		for _, s := range series {
			st := cq.series[seriesID(s)]
			if st == nil {
				continue
			}
			if err := st.push(s.Times, s.Values); err != nil {
				return nil, false, nil
			}
		}
		metricEngineSeconds.WithLabelValues("embedded").Observe(time.Since(start).Seconds())
	}
	for _, st := range cq.series {
		st.keepFrom(keepFrom)
	}
	return statesToFrames(cq, q.plan.From.UnixMilli()), true, nil
}

// statesToFrames turns cached recent outputs into frame input; series with no
// point left in the range are left out (alerting reports them as no data).
func statesToFrames(cq *cachedQuery, from int64) []frames.Series {
	out := make([]frames.Series, 0, len(cq.order))
	for _, id := range cq.order {
		st := cq.series[id]
		if len(st.times) == 0 || st.times[len(st.times)-1] < from {
			continue
		}
		out = append(out, frames.Series{
			Name: st.meta.Name, DisplayName: st.meta.DisplayName, Labels: st.meta.Labels, Unit: st.meta.Unit,
			// Copies: the state goes back to the cache, where the next evaluation changes it.
			Times: slices.Clone(st.times), Values: slices.Clone(st.values),
			Result: &engine.Result{Score: slices.Clone(st.score), Anomaly: slices.Clone(st.anomaly)},
		})
	}
	return out
}
