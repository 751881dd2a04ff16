package plugin

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/grafana/grafana-plugin-sdk-go/data"

	"github.com/sheepdog-anomaly/sheepdog/pkg/models"
)

// QueryData answers each query independently: one query's error never hides
// another query's frames.
func (d *Datasource) QueryData(ctx context.Context, req *backend.QueryDataRequest) (*backend.QueryDataResponse, error) {
	resp := backend.NewQueryDataResponse()
	var mu sync.Mutex
	var wg sync.WaitGroup
	sem := make(chan struct{}, max(1, runtime.GOMAXPROCS(0)))
	for _, q := range req.Queries {
		wg.Add(1)
		go func(q backend.DataQuery) {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			r := d.query(ctx, req, q)
			mu.Lock()
			resp.Responses[q.RefID] = r
			mu.Unlock()
		}(q)
	}
	wg.Wait()
	return resp, nil
}

// queryError is a per-query error with the status Grafana should show.
type queryError struct {
	status backend.Status
	source backend.ErrorSource
	err    error
}

func (e *queryError) Error() string { return e.err.Error() }
func (e *queryError) Unwrap() error { return e.err }

func badRequest(err error) error {
	return &queryError{status: backend.StatusBadRequest, source: backend.ErrorSourceDownstream, err: err}
}

func (d *Datasource) query(ctx context.Context, req *backend.QueryDataRequest, q backend.DataQuery) (resp backend.DataResponse) {
	start := time.Now()
	sourceType := "unknown"
	defer func() {
		if r := recover(); r != nil {
			d.logger.Error("query panicked", "refId", q.RefID, "panic", fmt.Sprint(r))
			resp = backend.ErrDataResponse(backend.StatusInternal, fmt.Sprintf("internal error while answering query %s; see the Grafana server log", q.RefID))
		}
		outcome := "ok"
		if resp.Error != nil {
			outcome = "error"
		}
		metricQueries.WithLabelValues(sourceType, outcome).Inc()
		metricQuerySeconds.Observe(time.Since(start).Seconds())
	}()

	frames, err := d.runQuery(ctx, req, q, &sourceType)
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
	return backend.DataResponse{Frames: frames}
}

func (d *Datasource) runQuery(ctx context.Context, req *backend.QueryDataRequest, q backend.DataQuery, sourceType *string) (data.Frames, error) {
	if d.cfgErr != nil {
		return nil, badRequest(d.cfgErr)
	}
	pq, err := models.ParseQuery(q.JSON)
	if err != nil {
		return nil, badRequest(err)
	}
	*sourceType = pq.Raw.Source.Type
	fetchStart := time.Now()
	var series []inputSeries
	switch pq.Raw.Source.Type {
	case models.SourceCSV:
		series, err = readCSV(ctx, pq.Raw.Source.CSV)
		if err != nil {
			return nil, badRequest(err)
		}
	default:
		return nil, badRequest(fmt.Errorf("source type %q is not supported yet", pq.Raw.Source.Type))
	}
	metricFetchSeconds.WithLabelValues(*sourceType).Observe(time.Since(fetchStart).Seconds())
	return rawFrames(q.RefID, series), nil
}

// rawFrames returns the source series without detection: one wide frame per
// distinct time axis.
func rawFrames(refID string, series []inputSeries) data.Frames {
	if len(series) == 0 {
		return nil
	}
	times := make([]time.Time, len(series[0].Times))
	for i, t := range series[0].Times {
		times[i] = time.UnixMilli(t).UTC()
	}
	fields := []*data.Field{data.NewField("time", nil, times)}
	for _, s := range series {
		vals := make([]*float64, len(s.Values))
		for i, v := range s.Values {
			if v == v {
				v := v
				vals[i] = &v
			}
		}
		fields = append(fields, data.NewField(s.Name, s.Labels, vals))
	}
	f := data.NewFrame(refID, fields...)
	f.RefID = refID
	f.Meta = &data.FrameMeta{Type: data.FrameTypeTimeSeriesWide}
	return data.Frames{f}
}
