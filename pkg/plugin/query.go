package plugin

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/grafana/grafana-plugin-sdk-go/backend/log"
	"github.com/grafana/grafana-plugin-sdk-go/backend/tracing"
	"github.com/grafana/grafana-plugin-sdk-go/data"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"github.com/sheepdog-anomaly/sheepdog/internal/workpool"
	"github.com/sheepdog-anomaly/sheepdog/pkg/detector"
	"github.com/sheepdog-anomaly/sheepdog/pkg/engine"
	"github.com/sheepdog-anomaly/sheepdog/pkg/frames"
	"github.com/sheepdog-anomaly/sheepdog/pkg/models"
	"github.com/sheepdog-anomaly/sheepdog/pkg/source"
)

// QueryTypeAnnotations marks an annotation query; Grafana's annotation runner
// also sends annotation queries with refId "Anno".
const QueryTypeAnnotations = "annotations"

// PluginID is Sheepdog's plugin id, which is also the type of its data sources.
const PluginID = "sheepdog-anomaly-datasource"

// FromSheepdogHeader flags requests Sheepdog makes to Grafana's /api/ds/query
// (value "1"; the name on the wire is kept for compatibility). A
// request that arrives carrying it was sent by a Sheepdog query, so answering
// it could loop through Grafana without end; it is refused.
const FromSheepdogHeader = "X-Sheepdog-Depth"

// QueryData answers each query independently: one query's error never hides
// another query's frames.
func (d *Datasource) QueryData(ctx context.Context, req *backend.QueryDataRequest) (*backend.QueryDataResponse, error) {
	resp := backend.NewQueryDataResponse()
	// Responses are keyed by refId: a second query with the same refId would
	// silently replace the first one's answer, so both get an error instead.
	refs := make(map[string]int, len(req.Queries))
	for _, q := range req.Queries {
		refs[q.RefID]++
	}
	nested := nestedRequest(req)
	ctx = source.WithNestedQueryBudget(ctx, source.DefaultNestedQueriesPerRequest)
	budget := d.newRequestBudget()
	var run []backend.DataQuery
	for _, q := range req.Queries {
		if n := refs[q.RefID]; n > 1 {
			resp.Responses[q.RefID] = backend.ErrDataResponse(backend.StatusBadRequest,
				fmt.Sprintf("refId %q is used by %d queries in this request: give each query its own refId", q.RefID, n))
			continue
		}
		if nested {
			resp.Responses[q.RefID] = backend.ErrDataResponseWithSource(backend.StatusBadRequest, backend.ErrorSourceDownstream,
				fmt.Sprintf("query %s: this request came from a Sheepdog query (header %s): a Sheepdog query cannot use a Sheepdog data source as its source", q.RefID, FromSheepdogHeader))
			continue
		}
		run = append(run, q)
	}
	// Queries, their series and their frames share one bounded executor,
	// whose recovery turns a panic into that query's error response.
	answers := make([]backend.DataResponse, len(run))
	for i, err := range workpool.Default().Run(ctx, len(run), func(ctx context.Context, i int) error {
		answers[i] = d.query(ctx, req, run[i], budget)
		return nil
	}) {
		var crashed *workpool.PanicError
		if errors.As(err, &crashed) {
			d.logger.FromContext(ctx).Error("query panicked", "refId", run[i].RefID, "panic", fmt.Sprint(crashed.Value), "stack", string(crashed.Stack))
			answers[i] = backend.ErrDataResponse(backend.StatusInternal, fmt.Sprintf("internal error while answering query %s; see the Grafana server log", run[i].RefID))
		}
		resp.Responses[run[i].RefID] = answers[i]
	}
	return resp, nil
}

func (d *Datasource) query(ctx context.Context, req *backend.QueryDataRequest, q backend.DataQuery, budget *requestBudget) (resp backend.DataResponse) {
	start := time.Now()
	sourceType := "unknown"
	// A span per query (the SDK's default tracer, backend/tracing DefaultTracer,
	// exporting where Grafana's tracing settings point), parent of the
	// requests to sources; refId on every log line of the query (the SDK's
	// contextual attributes, read by Logger.FromContext).
	ctx, span := tracing.DefaultTracer().Start(ctx, "sheepdog.query", trace.WithAttributes(attribute.String("refId", q.RefID)))
	defer span.End()
	ctx = log.WithContextualAttributes(ctx, []any{"refId", q.RefID})
	answered := false // false in this defer: the query panicked (QueryData's executor recovers it)
	defer func() {
		outcome := "ok"
		if resp.Error != nil || !answered {
			outcome = "error"
		}
		span.SetAttributes(attribute.String("sourceType", sourceType), attribute.String("outcome", outcome))
		if resp.Error != nil {
			tracing.Error(span, resp.Error)
			if resp.ErrorSource == backend.ErrorSourceDownstream {
				d.logger.FromContext(ctx).Warn("query failed downstream", "sourceType", sourceType, "status", int(resp.Status), "error", resp.Error.Error())
			}
		}
		metricQueries.WithLabelValues(sourceType, outcome).Inc()
		metricQuerySeconds.Observe(time.Since(start).Seconds())
	}()

	frs, err := d.runQuery(ctx, req, q, budget, &sourceType)
	answered = true
	if err != nil {
		var qe *queryError
		if errors.As(err, &qe) {
			return backend.ErrDataResponseWithSource(qe.status, qe.source, fmt.Sprintf("query %s: %v", q.RefID, err))
		}
		if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
			return backend.ErrDataResponseWithSource(backend.StatusTimeout, backend.ErrorSourceDownstream, fmt.Sprintf("query %s: %v", q.RefID, err))
		}
		return backend.ErrDataResponse(backend.StatusInternal, fmt.Sprintf("query %s: %v", q.RefID, err))
	}
	return backend.DataResponse{Frames: frs}
}

// mode is what kind of answer a query wants.
type mode int

const (
	modePanel mode = iota
	modeAnnotations
	modeAlert
)

// queryContext carries one query through fetching, detection and framing.
type queryContext struct {
	d       *Datasource
	refID   string
	pq      *models.ParsedQuery
	plan    plan
	opt     engine.Options
	mode    mode
	headers map[string]string
	notes   *noticeSet
	budget  *requestBudget
	points  int64 // fetched so far by this query, history included
}

// fetch fetches r and charges what came back to the query's and the
// request's budgets before anything is detected or framed. Every fetch of a
// query (the alert cache's incremental ones too) goes through here.
func (q *queryContext) fetch(ctx context.Context, r source.Range) ([]source.Series, error) {
	start := time.Now()
	limit, key := q.fetchLimit()
	r.MaxPoints = limit
	series, err := q.d.fetcher.Fetch(ctx, FetchRequest{RefID: q.refID, Query: q.pq, Range: r, Headers: q.headers})
	metricFetchSeconds.WithLabelValues(q.pq.Raw.Source.Type).Observe(time.Since(start).Seconds())
	if err != nil {
		return nil, q.overBudget(err, key)
	}
	if err := q.charge(series); err != nil {
		return nil, err
	}
	return series, nil
}

// Budget refusals say which jsonData key an admin raises: the viewer who hit
// the limit usually cannot, so the message is for both.
const raiseHint = "raise jsonData.%s in the Sheepdog data source settings (an admin setting)"

// charge counts the fetched series and points against the budgets.
func (q *queryContext) charge(series []source.Series) error {
	b := q.d.cfg.Budgets
	if n := len(series); n > b.MaxSeriesPerQuery {
		return badRequest(fmt.Errorf("the source returned %d series, over the budget of %d series per query: narrow the query (e.g. aggregate by a label), or "+raiseHint,
			n, b.MaxSeriesPerQuery, "maxSeriesPerQuery"))
	}
	var pts int64
	for _, s := range series {
		pts += int64(s.PointCount())
	}
	q.points += pts
	if q.points > b.MaxPointsPerQuery {
		return badRequest(fmt.Errorf("the source returned %d points (%d series, history included), over the budget of %d points per query: shorten the range or the history, widen the step, or "+raiseHint,
			q.points, len(series), b.MaxPointsPerQuery, "maxPointsPerQuery"))
	}
	if used := q.budget.used.Add(pts); used > q.budget.max {
		return badRequest(fmt.Errorf("this request's queries fetched %d points, over the budget of %d points per request: split the queries across panels, shorten their ranges, or "+raiseHint,
			used, q.budget.max, "maxPointsPerRequest"))
	}
	return nil
}

// checkPlanBudget refuses, before anything is fetched, a query whose every
// series alone would be over a budget: points per series follow from the plan.
func (q *queryContext) checkPlanBudget() error {
	p := q.plan
	if p.Step <= 0 {
		return nil // inline CSV: counted from its header and rows when parsed
	}
	per := int64(p.To.Sub(p.FetchFrom())/p.Step) + 1
	b := q.d.cfg.Budgets
	if per > b.MaxPointsPerQuery {
		return badRequest(fmt.Errorf("the range (%s plus %s of history) at a %s step is %d points per series, over the budget of %d points per query: shorten the range or the history (detector.history), widen the step, or "+raiseHint,
			p.To.Sub(p.From), p.History, p.Step, per, b.MaxPointsPerQuery, "maxPointsPerQuery"))
	}
	if used := q.budget.used.Load(); used+per > q.budget.max {
		return badRequest(fmt.Errorf("this request's queries fetched %d points and this one needs %d per series, over the budget of %d points per request: split the queries across panels, shorten their ranges, or "+raiseHint,
			used, per, q.budget.max, "maxPointsPerRequest"))
	}
	return nil
}

// requestBudget counts the points a request's queries fetched; they run
// concurrently. Grafana sends all the queries of one /api/ds/query call that
// name this data source in one QueryDataRequest, with the maxDataPoints,
// interval and range the caller chose (grafana/grafana
// pkg/services/query/query.go: parseMetricRequest, handleQuerySingleDatasource).
type requestBudget struct {
	used atomic.Int64
	max  int64
}

func (d *Datasource) newRequestBudget() *requestBudget {
	b := &requestBudget{max: math.MaxInt64}
	if d.cfg != nil {
		b.max = d.cfg.Budgets.MaxPointsPerRequest
	}
	return b
}

// nestedRequest reports whether another Sheepdog query sent the request.
func nestedRequest(req *backend.QueryDataRequest) bool {
	for k := range req.Headers {
		if strings.EqualFold(k, FromSheepdogHeader) || strings.EqualFold(k, "http_"+FromSheepdogHeader) {
			return true
		}
	}
	return false
}

// checkNotSelf refuses a data-source source that is Sheepdog itself: the
// nested /api/ds/query would call this plugin again, and again.
func (d *Datasource) checkNotSelf(src models.Source) error {
	if src.Type != models.SourceDatasource || src.Datasource == nil {
		return nil
	}
	if src.Datasource.UID == d.uid || src.Datasource.Type == PluginID {
		return fmt.Errorf("source.datasource %q is a Sheepdog data source: pick the data source that holds the series, not Sheepdog itself", src.Datasource.UID)
	}
	return nil
}

// fromAlert reports whether Grafana's alerting engine sent the request.
func fromAlert(req *backend.QueryDataRequest) bool {
	v := req.Headers[backend.FromAlertHeaderName]
	if v == "" {
		v = req.GetHTTPHeader(backend.FromAlertHeaderName)
	}
	ok, _ := strconv.ParseBool(v)
	return ok
}

func queryMode(req *backend.QueryDataRequest, q backend.DataQuery, pq *models.ParsedQuery) mode {
	// Alerting always gets alert frames; an annotation query always gets
	// annotations, even when its panel query model has alert.enabled set.
	switch {
	case fromAlert(req):
		return modeAlert
	case q.QueryType == QueryTypeAnnotations || q.RefID == "Anno":
		return modeAnnotations
	case pq.Alert.Enabled:
		return modeAlert
	}
	return modePanel
}

func (d *Datasource) runQuery(ctx context.Context, req *backend.QueryDataRequest, q backend.DataQuery, budget *requestBudget, sourceType *string) (data.Frames, error) {
	if d.cfgErr != nil {
		return nil, badRequest(d.cfgErr)
	}
	pq, err := models.ParseQuery(q.JSON)
	if err != nil {
		return nil, badRequest(err)
	}
	*sourceType = pq.Raw.Source.Type
	ctx = log.WithContextualAttributes(ctx, []any{"sourceType", pq.Raw.Source.Type}) // on the remote client's and the fallback's log lines
	if err := d.checkNotSelf(pq.Raw.Source); err != nil {
		return nil, badRequest(err)
	}
	qc := &queryContext{d: d, refID: q.RefID, pq: pq, mode: queryMode(req, q, pq), notes: &noticeSet{}, budget: budget,
		headers: map[string]string{FromSheepdogHeader: "1"}}
	if qc.mode == modeAlert {
		qc.headers[backend.FromAlertHeaderName] = "true"
	}
	if req.PluginContext.OrgID > 0 {
		qc.headers["X-Grafana-Org-Id"] = strconv.FormatInt(req.PluginContext.OrgID, 10)
	}
	if qc.plan, err = makePlan(pq, q); err != nil {
		return nil, err
	}
	if err := qc.checkPlanBudget(); err != nil {
		return nil, err
	}
	if qc.plan.HistoryCapped {
		qc.notes.add(data.NoticeSeverityInfo, "history before the range cut to %s, the longest fetched", qc.plan.History)
	}
	if qc.plan.StepWidened {
		qc.notes.add(data.NoticeSeverityInfo, "step widened to %s so the fetch (%s of history and the range) fits in %d points per series",
			qc.plan.Step, qc.plan.History, qc.plan.PointCap)
	}
	// Alerts need each point judged only on what came before it, as it will be
	// when the rule re-evaluates; panels get the better-informed batch view.
	if qc.opt, err = engineOptions(pq.Detector, qc.mode == modeAlert); err != nil {
		return nil, err
	}

	// The alert cache keeps the causal streams of a detector that has them
	// (detector.Streaming: the embedded engine) between evaluations, for
	// sources whose series grow with time.
	if det, streams := d.detector.(detector.Streaming); streams && qc.mode == modeAlert && sourceKinds[pq.Raw.Source.Type].cacheableForAlerts {
		fs, err := d.alertCached(ctx, qc, det)
		if err != nil {
			return nil, err
		}
		return withNotices(q.RefID, frames.Alert(q.RefID, fs, pq.Alert, qc.plan.From), qc.notes), nil
	}

	series, err := qc.fetch(ctx, qc.plan.FetchRange())
	if err != nil {
		return nil, err
	}
	qc.noteSourceStep(series)
	series = dropShort(series, qc.notes)
	results, err := d.detect(ctx, series, qc.opt, qc.notes)
	if err != nil {
		return nil, err
	}
	var out data.Frames
	switch qc.mode {
	case modeAlert:
		from := qc.plan.From
		if !qc.plan.Trim {
			from = time.Time{}
		}
		out = frames.Alert(q.RefID, toFrameSeries(results, qc.plan, false), pq.Alert, from)
	case modeAnnotations:
		out = data.Frames{frames.Windows(q.RefID, toFrameSeries(results, qc.plan, true))}
	default:
		fs := toFrameSeries(results, qc.plan, true)
		if out, err = frames.Panel(q.RefID, fs, pq.Outputs); err != nil {
			return nil, err
		}
		if pq.Outputs.Windows {
			out = append(out, frames.Windows(q.RefID, fs))
		}
	}
	return withNotices(q.RefID, out, qc.notes), nil
}

// toFrameSeries converts results, trimmed to the panel's range when trim is set.
func toFrameSeries(results []analysed, p plan, trim bool) []frames.Series {
	out := make([]frames.Series, 0, len(results))
	from, to := p.From.UnixMilli(), p.To.UnixMilli()
	for _, a := range results {
		s, r := a.src, a.result
		if trim && p.Trim {
			i := sort.Search(len(s.Times), func(k int) bool { return s.Times[k] >= from })
			j := sort.Search(len(s.Times), func(k int) bool { return s.Times[k] > to })
			s.Times, s.Values = s.Times[i:j], s.Values[i:j]
			r = trimResult(r, i, j, from, to)
		}
		out = append(out, frames.Series{Name: s.Name, DisplayName: displayOf(s), Labels: s.Labels, Unit: s.Unit,
			Times: s.Times, Values: s.Values, Result: r})
	}
	return out
}

func trimResult(r *engine.Result, i, j int, from, to int64) *engine.Result {
	t := *r
	t.Expected, t.Lower, t.Upper = r.Expected[i:j], r.Lower[i:j], r.Upper[i:j]
	t.Score, t.Anomaly, t.Direction = r.Score[i:j], r.Anomaly[i:j], r.Direction[i:j]
	t.Windows = nil
	for _, w := range r.Windows {
		if w.End >= from && w.Start <= to {
			t.Windows = append(t.Windows, w)
		}
	}
	return &t
}

// withNotices attaches the query's notices to its first frame (an empty frame
// when there is none, so the notices still reach the panel).
func withNotices(refID string, out data.Frames, notes *noticeSet) data.Frames {
	if len(notes.list) == 0 {
		return out
	}
	if len(out) == 0 {
		f := data.NewFrame(refID)
		f.RefID = refID
		out = data.Frames{f}
	}
	out[0].AppendNotices(notes.list...)
	return out
}
