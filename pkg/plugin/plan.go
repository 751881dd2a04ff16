package plugin

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/grafana/grafana-plugin-sdk-go/data"

	"github.com/sheepdog-anomaly/sheepdog/pkg/duration"
	"github.com/sheepdog-anomaly/sheepdog/pkg/engine"
	"github.com/sheepdog-anomaly/sheepdog/pkg/models"
	"github.com/sheepdog-anomaly/sheepdog/pkg/source"
)

// History defaults (documented in docs/backend.md).
const (
	// historySeasons is how many seasons are fetched before the range when the period is known.
	historySeasons = 3
	// autoHistory is fetched when seasonality is detected automatically.
	autoHistory = 24 * time.Hour
	// noSeasonHistoryPoints is fetched (in steps, at least minNoSeasonHistory) without seasonality.
	noSeasonHistoryPoints = 200
	minNoSeasonHistory    = time.Hour
	// maxHistory caps the history before the range. It is a duration, not a
	// number of steps, so a panel and an alert rule on the same query (which
	// ask for different steps) see the same history: 3 weekly seasons fit.
	maxHistory = 28 * 24 * time.Hour
	// maxHistoryPoints bounds the history per series in steps: when the
	// history would need more, the step is widened rather than the history cut.
	maxHistoryPoints = 20_000
	// maxNestedPoints bounds the points per series a Grafana data source is
	// asked for over the whole fetch (history and range): Grafana's Prometheus
	// widens the step of a longer range query itself (grafana/grafana
	// pkg/promlib/models/query.go calculatePrometheusInterval: step at least
	// gtime.RoundInterval(span / safeResolution), safeResolution = 11000), and
	// Prometheus refuses more than 11,000 points per series. Planning within
	// it keeps the step the one asked for: RoundUpInterval(span/10999) is
	// never below Grafana's RoundInterval(span/11000), the two rounding to
	// the same list of nice intervals.
	maxNestedPoints = source.DefaultNestedMaxDataPoints
	// minSourceStep is the smallest step asked of any source but inline CSV,
	// as Grafana's Prometheus data source does by default: alert rules send a
	// 1s interval, which would only repeat samples scraped every 15s or so.
	minSourceStep = 15 * time.Second
	// minPrometheusStep is kept for the Prometheus source's documentation and tests.
	minPrometheusStep = minSourceStep
)

// plan is what a query fetches and shows.
type plan struct {
	From, To      time.Time     // the panel's range
	Step          time.Duration // the interval points are fetched at
	History       time.Duration // fetched before From
	HistoryCapped bool          // History was cut to maxHistory
	StepWidened   bool          // Step was widened so the fetch fits in PointCap points per series
	PointCap      int           // the bound that widened Step: maxHistoryPoints or maxNestedPoints
	Trim          bool          // outputs are trimmed to From..To (not for a source with its own times, shown whole)
}

// FetchFrom is where fetching starts.
func (p plan) FetchFrom() time.Time { return p.From.Add(-p.History) }

// FetchRange is the range handed to the source.
func (p plan) FetchRange() source.Range {
	return source.Range{From: p.FetchFrom(), To: p.To, Step: p.Step}
}

// makePlan works out the step from the panel's interval and maxDataPoints and
// the history to fetch before the range.
func makePlan(pq *models.ParsedQuery, q backend.DataQuery) (plan, error) {
	kind := sourceKinds[pq.Raw.Source.Type]
	p := plan{From: q.TimeRange.From, To: q.TimeRange.To, Trim: !kind.ownTimes}
	if kind.ownTimes {
		return p, nil
	}
	visible := source.Range{From: p.From, To: p.To, Step: q.Interval, MaxDataPoints: q.MaxDataPoints}
	if err := visible.Validate(); err != nil {
		return p, badRequest(fmt.Errorf("time range: %w", err))
	}
	p.Step = max(visible.Interval(), minSourceStep)
	if kind.nested {
		// The nested query's own minimum interval, as its data source honours it.
		p.Step = max(p.Step, nestedMinInterval(pq.Raw.Source.Query))
	}
	p.History = historyFor(pq.Detector, p.Step)
	if p.History > maxHistory {
		p.History, p.HistoryCapped = maxHistory, true
	}
	if time.Duration(maxHistoryPoints)*p.Step < p.History {
		p.Step = source.RoundUpInterval(time.Duration(math.Ceil(float64(p.History) / maxHistoryPoints)))
		p.StepWidened, p.PointCap = true, maxHistoryPoints
	}
	if kind.nested {
		// One range query, no chunking: the whole fetch must fit.
		span := p.To.Sub(p.FetchFrom())
		if int64(span/p.Step)+1 > maxNestedPoints {
			p.Step = source.RoundUpInterval(time.Duration(math.Ceil(float64(span) / (maxNestedPoints - 1))))
			p.StepWidened, p.PointCap = true, maxNestedPoints
		}
	}
	return p, nil
}

// observedStep is the step a source actually answered at: the median
// spacing of the returned timestamps, over every series (0 when no series
// has two points). A data source may widen the step it was asked for: its
// own minimum interval (Prometheus's scrape interval setting) or its own
// resolution limit decide, not Sheepdog's plan.
func observedStep(series []source.Series) time.Duration {
	const maxSamples = 10_000 // enough for a median, whatever the size of the answer
	var gaps []int64
	for _, s := range series {
		stride := max(1, len(s.Times)/maxSamples)
		for i := stride; i < len(s.Times) && len(gaps) < maxSamples*4; i += stride {
			gaps = append(gaps, (s.Times[i]-s.Times[i-stride])/int64(stride))
		}
	}
	if len(gaps) == 0 {
		return 0
	}
	slices.Sort(gaps)
	return time.Duration(gaps[len(gaps)/2]) * time.Millisecond
}

// adoptObservedStep takes the step the source answered at when it is wider
// than the planned one, and reports whether it did. A narrower spacing (a
// source returning raw samples) is kept as planned: the plan's step is then
// an upper bound, not the sampling.
func (p *plan) adoptObservedStep(series []source.Series) bool {
	return p.adoptStep(observedStep(series))
}

// adoptStep takes step when it is wider than the planned one, and reports
// whether it did.
func (p *plan) adoptStep(step time.Duration) bool {
	if step <= p.Step || p.Step == 0 {
		return false
	}
	p.Step = step
	return true
}

// historyFor is the history a detector wants before the range.
func historyFor(d models.Detector, step time.Duration) time.Duration {
	if !d.HistoryAuto {
		return d.History
	}
	switch {
	case d.Period > 0:
		return historySeasons * d.Period
	case d.Period == 0:
		return autoHistory
	default:
		return max(minNoSeasonHistory, noSeasonHistoryPoints*step)
	}
}

// engineOptions maps the query's detector settings onto the engine's options.
func engineOptions(d models.Detector, causal bool) (engine.Options, error) {
	m, err := engine.ParseMethod(d.Method)
	if err != nil {
		return engine.Options{}, badRequest(fmt.Errorf("detector.method: %w", err))
	}
	dir, err := engine.ParseDirection(d.Direction)
	if err != nil {
		return engine.Options{}, badRequest(fmt.Errorf("detector.direction: %w", err))
	}
	opt := engine.Options{Method: m, Direction: dir, Sensitivity: d.Sensitivity, MinDuration: d.MinDuration, Causal: causal}
	if d.Sensitivity == 0 {
		opt.Sensitivity = -1 // the engine reads 0 as "default" and any negative value as 0
	}
	switch {
	case d.Period > 0:
		opt.Period = d.Period
	case d.Period < 0:
		opt.Period = engine.NoSeasonality
	}
	return opt, nil
}

// nestedMinInterval is the "interval" (min step, e.g. "30s" or ">30s") set
// in a nested query model, 0 when unset or not a fixed duration (a variable).
func nestedMinInterval(q json.RawMessage) time.Duration {
	var m struct {
		Interval string `json:"interval"`
	}
	if len(q) == 0 || json.Unmarshal(q, &m) != nil {
		return 0
	}
	d, err := duration.Parse(strings.TrimPrefix(strings.TrimSpace(m.Interval), ">"))
	if err != nil {
		return 0
	}
	return d
}

// noteSourceStep adopts the step the source answered at (adoptObservedStep)
// and tells the viewer when it is wider than asked, so a coarse answer is
// not mistaken for Sheepdog's choice.
func (q *queryContext) noteSourceStep(series []source.Series) {
	q.adoptStep(observedStep(series))
}

// adoptStep takes a step measured earlier (an alert cache entry's, or the
// source's answer) when it is wider than the planned one, with a notice.
func (q *queryContext) adoptStep(step time.Duration) {
	if asked := q.plan.Step; q.plan.adoptStep(step) {
		q.notes.add(data.NoticeSeverityInfo, "the source answered at a %s step, wider than the %s asked for (its own minimum interval or resolution limit)", q.plan.Step, asked)
	}
}
