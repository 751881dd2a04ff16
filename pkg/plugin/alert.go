package plugin

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/sheepdog-anomaly/sheepdog/internal/workpool"
	"github.com/sheepdog-anomaly/sheepdog/pkg/detector"
	"github.com/sheepdog-anomaly/sheepdog/pkg/engine"
	"github.com/sheepdog-anomaly/sheepdog/pkg/frames"
	"github.com/sheepdog-anomaly/sheepdog/pkg/source"
)

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

// alertCached answers an alert query from per-series causal streams of det
// kept between evaluations: after the first evaluation only a short tail is
// fetched, from each series' checkpoint before its provisional points.
func (d *Datasource) alertCached(ctx context.Context, q *queryContext, det detector.Streaming) ([]frames.Series, error) {
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
	// The step the source answered at, as on the panel path: it sizes the
	// span revisited at each evaluation (a few of the source's steps, not of
	// the planned ones), and is kept for the re-evaluations.
	q.noteSourceStep(series)
	revisit := d.cache.revisit(q.plan.Step).Milliseconds()
	series = dropShort(series, q.notes)
	final := newestPoint(series) - revisit
	cq := &cachedQuery{key: key, step: q.plan.Step, series: make(map[string]*seriesState, len(series))}
	states := make([]*seriesState, len(series))
	infos := make([]engine.Info, len(series))
	start := time.Now()
	// The executor recovers a panic (it would kill the plugin process) as this series' error.
	errs := workpool.Default().Run(ctx, len(series), func(ctx context.Context, i int) error {
		st, info, err := newSeriesState(ctx, det, series[i], q.opt, final, keepFrom)
		states[i], infos[i] = st, info
		return err
	})
	metricEngineSeconds.WithLabelValues(detector.NameEmbedded).Observe(time.Since(start).Seconds())
	// A series detection fails for is left out with a notice naming it, as in
	// panels; the others are still evaluated. It is not cached, so the next
	// evaluation sees it as new and recomputes, trying it again.
	var full []analysed
	var failed []string
	var firstErr error
	for i, st := range states {
		if err := errs[i]; err != nil {
			if ctx.Err() != nil {
				return nil, fmt.Errorf("causal detection for the alert of %d series: %w", len(series), ctx.Err())
			}
			failed = append(failed, displayOf(series[i]))
			if firstErr == nil {
				var crashed *workpool.PanicError
				if errors.As(err, &crashed) {
					err = fmt.Errorf("internal error while keeping the alert state: %w", err)
				}
				firstErr = fmt.Errorf("%s: %w", displayOf(series[i]), err)
			}
			continue
		}
		id := series[i].ID()
		if _, dup := cq.series[id]; dup {
			continue
		}
		cq.series[id] = st
		cq.order = append(cq.order, id)
		full = append(full, analysed{src: series[i], result: &engine.Result{Info: infos[i]}, engine: detector.NameEmbedded})
		metricSeries.WithLabelValues(detector.NameEmbedded).Inc()
	}
	if len(full) == 0 && firstErr != nil {
		return nil, fmt.Errorf("causal detection failed for every series of the alert: %w", firstErr)
	}
	noteFailed(q.notes, failed, firstErr)
	warmUpNotices(full, q.notes)
	out := statesToFrames(cq, q.plan.From.UnixMilli())
	if len(cq.series) > 0 {
		d.cache.put(cq)
	}
	return out, nil
}

// newestPoint is the newest point over the series (math.MinInt64 if none).
func newestPoint(series []source.Series) int64 {
	newest := int64(math.MinInt64)
	for _, s := range series {
		if n := len(s.Times); n > 0 {
			newest = max(newest, s.Times[n-1])
		}
	}
	return newest
}

// alertIncremental fetches the points from each series' checkpoint on and
// scores them again: the ones now older than the revisit span (a few of the
// step the source answered at, measured when the entry was computed) before
// the newest point become final, the newer ones stay provisional. ok is false
// when the cache cannot serve the query (a new series appeared, a series
// without a checkpoint, points out of order); the caller then recomputes from
// scratch.
func (d *Datasource) alertIncremental(ctx context.Context, q *queryContext, cq *cachedQuery, keepFrom int64) ([]frames.Series, bool, error) {
	// Each series is resumed from its own checkpoint. A series silent since
	// before the history window is left out (alerting reports it as no data;
	// if it comes back it is new and gets a full computation), so it cannot
	// drag every later evaluation's fetch back, nor force a recomputation.
	cq.dropStale(q.plan.FetchFrom().UnixMilli())
	if len(cq.series) == 0 {
		return nil, false, nil
	}
	from, newest, ok := cq.resumeFrom()
	if !ok || newest > q.plan.To.UnixMilli() {
		return nil, false, nil // no checkpoint yet, or the range moved back: the states are ahead of it
	}
	// The tail is too short to measure the source's step again: the entry's
	// is used (q.plan is left as planned until the cache answers, as a full
	// recomputation measures it again).
	step := max(cq.step, q.plan.Step)
	revisit := d.cache.revisit(step).Milliseconds()
	// Fetched even when the range has not moved on: provisional points may have changed.
	series, err := q.fetch(ctx, source.Range{From: time.UnixMilli(from), To: q.plan.To, Step: step})
	if err != nil {
		return nil, false, err
	}
	start := time.Now()
	fetched := make(map[string]source.Series, len(series))
	for _, s := range series {
		id := s.ID()
		if cq.series[id] == nil && s.PointCount() > 0 {
			return nil, false, nil // a new series needs its history
		}
		if _, dup := fetched[id]; !dup {
			fetched[id] = s // the first of duplicates, as in a full computation
		}
	}
	final := newestPoint(series) - revisit
	for id, st := range cq.series {
		s := fetched[id]
		if err := st.resume(s.Times, s.Values, final); err != nil {
			return nil, false, nil
		}
	}
	metricEngineSeconds.WithLabelValues(detector.NameEmbedded).Observe(time.Since(start).Seconds())
	for _, st := range cq.series {
		st.keepFrom(keepFrom)
	}
	q.adoptStep(cq.step) // with the notice a full computation gives
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
