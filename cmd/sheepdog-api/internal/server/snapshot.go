package server

import (
	"fmt"
	"math"
	"net/http"
	"sort"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/sheepdog-anomaly/sheepdog/pkg/apicontract"
	"github.com/sheepdog-anomaly/sheepdog/pkg/engine"
)

const (
	maxMetricsPerSnapshot = 256
	maxMetricNameBytes    = 200
)

// historyStore keeps, per caller and metric, the most recent points so a
// snapshot is judged against that metric's own past. Memory is bounded by
// callers x metrics per caller x points per metric.
type historyStore struct {
	points, metricsPerKey, keys int
	mu                          sync.Mutex
	byCaller                    map[int]*callerHistory
}

type callerHistory struct {
	mu      sync.Mutex
	metrics map[string]*metricHistory
}

type metricHistory struct {
	times   []int64
	values  []float64
	updated time.Time
}

func newHistoryStore(points, metricsPerKey, keys int) *historyStore {
	return &historyStore{points: points, metricsPerKey: metricsPerKey, keys: keys, byCaller: map[int]*callerHistory{}}
}

func (hs *historyStore) caller(id int) *callerHistory {
	hs.mu.Lock()
	defer hs.mu.Unlock()
	ch := hs.byCaller[id]
	if ch == nil {
		if len(hs.byCaller) >= hs.keys {
			for k := range hs.byCaller { // callers are the configured keys, so this only trims if the config shrank
				delete(hs.byCaller, k)
				break
			}
		}
		ch = &callerHistory{metrics: map[string]*metricHistory{}}
		hs.byCaller[id] = ch
	}
	return ch
}

// observe appends (t, v) to every metric and returns copies of the histories
// to judge, so detection runs without holding the lock.
func (hs *historyStore) observe(id int, t int64, values map[string]float64, now time.Time) (map[string]engine.Series, error) {
	ch := hs.caller(id)
	ch.mu.Lock()
	defer ch.mu.Unlock()
	for name := range values {
		if h := ch.metrics[name]; h != nil && len(h.times) > 0 && t < h.times[len(h.times)-1] {
			return nil, &apiError{status: http.StatusBadRequest, code: apicontract.CodeInvalidTimestamp,
				message: fmt.Sprintf("metric %q: timestamp %d is older than its last observation (%d); snapshots must arrive in time order",
					truncate(name, 60), t/1000, h.times[len(h.times)-1]/1000)}
		}
	}
	out := make(map[string]engine.Series, len(values))
	for name, v := range values {
		h := ch.metrics[name]
		if h == nil {
			if len(ch.metrics) >= hs.metricsPerKey {
				ch.evictOldest()
			}
			h = &metricHistory{}
			ch.metrics[name] = h
		}
		if n := len(h.times); n > 0 && h.times[n-1] == t {
			h.values[n-1] = v // a repeated snapshot replaces, not duplicates
		} else {
			if len(h.times) >= hs.points {
				drop := len(h.times) - hs.points + 1
				h.times = append(h.times[:0], h.times[drop:]...)
				h.values = append(h.values[:0], h.values[drop:]...)
			}
			h.times = append(h.times, t)
			h.values = append(h.values, v)
		}
		h.updated = now
		out[name] = engine.Series{Times: append([]int64(nil), h.times...), Values: append([]float64(nil), h.values...)}
	}
	return out, nil
}

func (ch *callerHistory) evictOldest() {
	var oldest string
	var at time.Time
	for name, h := range ch.metrics {
		if oldest == "" || h.updated.Before(at) {
			oldest, at = name, h.updated
		}
	}
	delete(ch.metrics, oldest)
}

func (s *Server) handleSnapshot(w http.ResponseWriter, r *http.Request, c caller) {
	var req apicontract.SnapshotRequest
	if err := decodeBody(r.Body, &req); err != nil {
		s.fail(w, err)
		return
	}
	now := time.Now()
	values, t, err := validateSnapshot(&req, now)
	if err != nil {
		s.fail(w, err)
		return
	}
	histories, err := s.history.observe(c.id, t, values, now)
	if err != nil {
		s.fail(w, err)
		return
	}
	names := make([]string, 0, len(histories))
	for name := range histories {
		names = append(names, name)
	}
	sort.Strings(names)
	resp := apicontract.SnapshotResponse{Timestamp: t / 1000, Details: make(map[string]apicontract.SnapshotDetail, len(names))}
	top := -1.0
	for _, name := range names {
		d, err := judgeLatest(r, histories[name])
		if err != nil {
			s.engineFail(w, r, fmt.Errorf("metric %q: %w", truncate(name, 60), err))
			return
		}
		resp.Details[name] = d
		if d.IsAnomaly {
			resp.IsAnomaly = true
		}
		if d.Score > resp.Confidence {
			resp.Confidence = d.Score
		}
		if d.IsAnomaly && d.Score > top {
			top = d.Score
			resp.AnomalyType = d.AnomalyType
		}
	}
	writeJSON(w, http.StatusOK, resp)
}

func validateSnapshot(req *apicontract.SnapshotRequest, now time.Time) (map[string]float64, int64, error) {
	if len(req.Metrics) == 0 {
		return nil, 0, badRequest(apicontract.CodeBadArgument, `metrics is required: an object of metric name to number, e.g. {"cpu_usage": 95.5}`)
	}
	if len(req.Metrics) > maxMetricsPerSnapshot {
		return nil, 0, badRequest(apicontract.CodeBadArgument, "snapshot has %d metrics; at most %d are accepted", len(req.Metrics), maxMetricsPerSnapshot)
	}
	values := make(map[string]float64, len(req.Metrics))
	for name, v := range req.Metrics {
		if name == "" || len(name) > maxMetricNameBytes || !utf8.ValidString(name) {
			return nil, 0, badRequest(apicontract.CodeBadArgument, "metric name %q must be 1..%d bytes of UTF-8", truncate(name, 60), maxMetricNameBytes)
		}
		if v == nil || math.IsNaN(*v) || math.IsInf(*v, 0) {
			return nil, 0, badRequest(apicontract.CodeBadArgument, "metric %q: value must be a finite number", truncate(name, 60))
		}
		values[name] = *v
	}
	t := now.UnixMilli()
	if req.Timestamp != nil {
		ts := *req.Timestamp
		if !(ts > 0 && ts < 1e11) { // 1e11 s is the year 5138: anything larger is milliseconds sent by mistake
			return nil, 0, badRequest(apicontract.CodeInvalidTimestamp, "timestamp %v must be unix seconds", ts)
		}
		t = int64(ts * 1000)
	}
	return values, t, nil
}

// judgeLatest runs the causal engine over one metric's history and reports its newest point.
func judgeLatest(r *http.Request, s engine.Series) (apicontract.SnapshotDetail, error) {
	n := len(s.Times)
	last := n - 1
	d := apicontract.SnapshotDetail{Value: s.Values[last], Expected: s.Values[last], Lower: s.Values[last], Upper: s.Values[last], HistoryPoints: n}
	if n < 3 {
		return d, nil // nothing to compare with yet
	}
	res, err := engine.Detect(r.Context(), s, engine.Options{Causal: true})
	if err != nil {
		return d, err
	}
	if len(res.Expected) != n || len(res.Score) != n || len(res.Anomaly) != n {
		return d, fmt.Errorf("engine returned %d points for %d", len(res.Expected), n)
	}
	d.Expected = finite(res.Expected[last])
	d.Lower = finite(res.Lower[last])
	d.Upper = finite(res.Upper[last])
	d.Score = clamp01(res.Score[last])
	d.IsAnomaly = res.Anomaly[last]
	d.WarmedUp = res.Info.WarmUpMet
	switch {
	case d.Value > d.Upper:
		d.Direction = "up"
	case d.Value < d.Lower:
		d.Direction = "down"
	}
	if d.IsAnomaly {
		t := s.Times[last]
		typ := string(engine.WindowSpike)
		if d.Direction == "down" {
			typ = string(engine.WindowDip)
		}
		for _, w := range res.Windows {
			if w.Start <= t && t <= w.End && w.Type != "" {
				typ = string(w.Type)
			}
		}
		d.AnomalyType = &typ
	}
	return d, nil
}
