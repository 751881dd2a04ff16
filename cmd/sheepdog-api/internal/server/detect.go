package server

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/sheepdog-anomaly/sheepdog/pkg/apicontract"
	"github.com/sheepdog-anomaly/sheepdog/pkg/engine"
)

// apiError is a client mistake with its HTTP status and contract code.
type apiError struct {
	status  int
	code    string
	message string
}

func (e *apiError) Error() string { return e.code + ": " + e.message }

func badRequest(code, format string, args ...any) *apiError {
	return &apiError{status: http.StatusBadRequest, code: code, message: fmt.Sprintf(format, args...)}
}

func (s *Server) fail(w http.ResponseWriter, err error) {
	status, e := s.errorAnswer(err)
	writeError(w, status, e.Code, e.Message)
}

// errorAnswer is the status and error body the contract gives err: an
// *apiError's own, else 500 "detection failed" (the cause is only logged).
func (s *Server) errorAnswer(err error) (int, apicontract.Error) {
	var ae *apiError
	if errors.As(err, &ae) {
		return ae.status, apicontract.Error{Code: ae.code, Message: ae.message}
	}
	s.log.Error("detection failed", "err", err)
	return http.StatusInternalServerError, apicontract.Error{Code: apicontract.CodeInternalError, Message: "detection failed"}
}

// decodeBody reads one JSON value into v, classifying failures the way the
// contract promises: 413 for size, InvalidJsonFormat for syntax and types.
func decodeBody(body io.Reader, v any) error {
	dec := json.NewDecoder(body)
	if err := dec.Decode(v); err != nil {
		var tooLarge *http.MaxBytesError
		var syntax *json.SyntaxError
		var typeErr *json.UnmarshalTypeError
		switch {
		case errors.As(err, &tooLarge):
			return &apiError{status: http.StatusRequestEntityTooLarge, code: apicontract.CodePayloadTooLarge,
				message: fmt.Sprintf("request body exceeds %d bytes; split the series or raise --max-body-bytes", tooLarge.Limit)}
		case errors.Is(err, io.EOF):
			return badRequest(apicontract.CodeInvalidJSONFormat, "request body is empty; expected a JSON object")
		case errors.As(err, &syntax):
			return badRequest(apicontract.CodeInvalidJSONFormat, "malformed JSON at byte %d: %v", syntax.Offset, err)
		case errors.As(err, &typeErr):
			return badRequest(apicontract.CodeInvalidJSONFormat, "field %q: expected %s, got JSON %s", typeErr.Field, typeErr.Type, typeErr.Value)
		default:
			return badRequest(apicontract.CodeInvalidJSONFormat, "malformed JSON: %v", err)
		}
	}
	if _, err := dec.Token(); err != io.EOF {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return &apiError{status: http.StatusRequestEntityTooLarge, code: apicontract.CodePayloadTooLarge,
				message: fmt.Sprintf("request body exceeds %d bytes", tooLarge.Limit)}
		}
		return badRequest(apicontract.CodeInvalidJSONFormat, "unexpected data after the JSON object")
	}
	return nil
}

// seriesInput is a validated request turned into engine terms.
type seriesInput struct {
	series engine.Series
	opt    engine.Options
	step   time.Duration // nominal step, for converting periods between points and durations
}

// parseSeriesRequest validates every field of an entire/last request.
// detect runs the engine on a validated request and checks its result; on
// failure it has already answered the request.
func (s *Server) detect(w http.ResponseWriter, r *http.Request, in *seriesInput) (*engine.Result, bool) {
	res, err := engine.Detect(r.Context(), in.series, in.opt)
	if err != nil {
		s.engineFail(w, r, err)
		return nil, false
	}
	if err := checkResult(res, len(in.series.Times)); err != nil {
		s.fail(w, err)
		return nil, false
	}
	return res, true
}

// readSeriesRequest decodes and validates the body shared by the entire and last routes.
func (s *Server) readSeriesRequest(r *http.Request) (*apicontract.SeriesRequest, *seriesInput, error) {
	var req apicontract.SeriesRequest
	if err := decodeBody(r.Body, &req); err != nil {
		return nil, nil, err
	}
	in, err := s.parseSeriesRequest(&req)
	if err != nil {
		return nil, nil, err
	}
	return &req, in, nil
}

func (s *Server) parseSeriesRequest(req *apicontract.SeriesRequest) (*seriesInput, error) {
	in, err := s.parseSeries(req.Series, req.Granularity, req.CustomInterval, req.ImputeMode, req.ImputeFixedValue)
	if err != nil {
		return nil, err
	}
	if req.Sensitivity != nil {
		v := *req.Sensitivity
		if math.IsNaN(v) || v < 0 || v > 99 {
			return nil, badRequest(apicontract.CodeInvalidModelArgument, "sensitivity %v is outside 0..99", v)
		}
		// The engine reads 0 as "default" and any negative value as its least
		// sensitive setting, which is what 0 means in the contract.
		in.opt.Sensitivity = v
		if v == 0 {
			in.opt.Sensitivity = -1
		}
	}
	if req.MaxAnomalyRatio != nil {
		if v := *req.MaxAnomalyRatio; !(v > 0 && v <= 0.5) {
			return nil, badRequest(apicontract.CodeInvalidModelArgument, "maxAnomalyRatio %v is outside (0, 0.5]", v)
		}
	}
	if err := setPeriod(in, req.Period); err != nil {
		return nil, err
	}
	if req.Method != "" {
		m, err := engine.ParseMethod(req.Method)
		if err != nil {
			return nil, badRequest(apicontract.CodeBadArgument, "method: %v", err)
		}
		in.opt.Method = m
	}
	if req.Direction != "" {
		d, err := engine.ParseDirection(req.Direction)
		if err != nil {
			return nil, badRequest(apicontract.CodeBadArgument, "direction: %v", err)
		}
		in.opt.Direction = d
	}
	if req.WarmUp != nil {
		if *req.WarmUp < 0 || *req.WarmUp > len(req.Series) {
			return nil, badRequest(apicontract.CodeBadArgument, "warmUp %d is outside 0..%d (the series length)", *req.WarmUp, len(req.Series))
		}
		in.opt.WarmUp = *req.WarmUp
	}
	in.opt.Causal = req.Causal
	return in, nil
}

func setPeriod(in *seriesInput, period *int) error {
	if period == nil {
		return nil
	}
	n := len(in.series.Times)
	switch p := *period; {
	case p == 0:
		in.opt.Period = engine.NoSeasonality
	case p < 0 || p > n/2:
		return badRequest(apicontract.CodeInvalidPeriod, "period %d is outside 0..%d (half the series; 0 disables seasonality)", p, n/2)
	default:
		in.opt.Period = time.Duration(p) * in.step
	}
	return nil
}

// parseSeries checks the points and fills null values per imputeMode.
func (s *Server) parseSeries(points []apicontract.Point, granularity string, customInterval *int, imputeMode string, fixed *float64) (*seriesInput, error) {
	if points == nil {
		return nil, badRequest(apicontract.CodeRequiredSeries, "series is required: an array of {timestamp, value}")
	}
	unit, ok := apicontract.GranularityStep(granularity)
	if !ok {
		return nil, badRequest(apicontract.CodeInvalidGranularity, "granularity %q is not one of yearly, monthly, weekly, daily, hourly, minutely, secondly, microsecond, none", truncate(granularity, 40))
	}
	interval := 1
	if customInterval != nil {
		if *customInterval < 1 || *customInterval > 1_000_000 {
			return nil, badRequest(apicontract.CodeInvalidCustomInterval, "customInterval %d must be a positive integer", *customInterval)
		}
		interval = *customInterval
	}
	if !apicontract.ValidImputeMode(imputeMode) {
		return nil, badRequest(apicontract.CodeInvalidImputeMode, "imputeMode %q is not one of auto, previous, linear, fixed, zero, notFill", truncate(imputeMode, 40))
	}
	if imputeMode == apicontract.ImputeFixed && (fixed == nil || math.IsNaN(*fixed) || math.IsInf(*fixed, 0)) {
		return nil, badRequest(apicontract.CodeInvalidImputeFixedValue, "imputeMode fixed needs a finite imputeFixedValue")
	}
	n := len(points)
	if n < s.cfg.MinPoints {
		return nil, badRequest(apicontract.CodeInvalidSeries, "series has %d points; at least %d are needed", n, s.cfg.MinPoints)
	}
	if n > s.cfg.MaxPoints {
		return nil, badRequest(apicontract.CodeInvalidSeries, "series has %d points; at most %d are accepted per request (split it)", n, s.cfg.MaxPoints)
	}
	// The series must span less than time.Duration holds (~292 years), or
	// the step and every period and window built on it wrap around.
	if unit > 0 && int64(interval) > int64(maxSeriesSpan/unit)/int64(max(n-1, 1)) {
		return nil, badRequest(apicontract.CodeInvalidCustomInterval, "customInterval %d × %s × %d points spans more than %s (about 290 years): use a smaller customInterval or granularity, or fewer points",
			interval, granularity, n, maxSeriesSpan)
	}
	in := &seriesInput{series: engine.Series{Times: make([]int64, n), Values: make([]float64, n)}}
	in.step = time.Duration(interval) * unit
	present := 0
	for i, p := range points {
		if p.Timestamp == "" {
			if unit != 0 {
				return nil, badRequest(apicontract.CodeInvalidSeries, "point %d has no timestamp; timestamps are required unless granularity is none", i)
			}
			in.series.Times[i] = int64(i) * 60_000 // granularity none: an even one-minute grid
		} else {
			t, err := apicontract.ParseTimestamp(p.Timestamp)
			if err != nil {
				return nil, badRequest(apicontract.CodeInvalidSeries, "point %d: %v", i, err)
			}
			in.series.Times[i] = t
		}
		if i > 0 && in.series.Times[i] == in.series.Times[i-1] && p.Timestamp != "" && subMillisecondApart(points[i-1].Timestamp, p.Timestamp) {
			return nil, badRequest(apicontract.CodeInvalidSeries, "points %d and %d (%s, %s) fall in the same millisecond: timestamps are resolved to 1 ms; for sub-millisecond series use granularity none and leave timestamps out",
				i-1, i, truncate(points[i-1].Timestamp, 40), truncate(p.Timestamp, 40))
		}
		if i > 0 && in.series.Times[i] <= in.series.Times[i-1] {
			return nil, badRequest(apicontract.CodeInvalidSeries, "point %d: timestamp %s is not after the previous point's; sort the series and remove duplicates", i, truncate(p.Timestamp, 40))
		}
		if p.Value == nil {
			in.series.Values[i] = math.NaN()
			continue
		}
		if math.IsInf(*p.Value, 0) || math.IsNaN(*p.Value) {
			return nil, badRequest(apicontract.CodeInvalidSeries, "point %d: value is not finite", i)
		}
		in.series.Values[i] = *p.Value
		present++
	}
	if present < s.cfg.MinPoints {
		return nil, badRequest(apicontract.CodeInvalidSeries, "series has %d non-null values; at least %d are needed", present, s.cfg.MinPoints)
	}
	if span := in.series.Times[n-1] - in.series.Times[0]; span > maxSeriesSpan.Milliseconds() {
		return nil, badRequest(apicontract.CodeInvalidSeries, "the timestamps span %d days, more than %s (about 290 years)", span/86_400_000, maxSeriesSpan)
	}
	if in.step == 0 {
		in.step = cmp.Or(engine.MedianStep(in.series.Times), time.Minute)
	}
	impute(in.series.Values, imputeMode, fixed)
	return in, nil
}

// maxSeriesSpan is the longest series (first to last point) accepted: well
// inside time.Duration's ~292 years.
const maxSeriesSpan = 290 * 365 * 24 * time.Hour

// subMillisecondApart reports whether two timestamps differ below the
// millisecond (so they collide once resolved to ms) rather than repeat.
func subMillisecondApart(a, b string) bool {
	ta, errA := time.Parse(time.RFC3339Nano, strings.TrimSpace(a))
	tb, errB := time.Parse(time.RFC3339Nano, strings.TrimSpace(b))
	return errA == nil && errB == nil && !ta.Equal(tb)
}

// impute fills NaN values in place; notFill leaves them for the engine,
// which treats them as missing.
func impute(v []float64, mode string, fixed *float64) {
	switch mode {
	case apicontract.ImputeNotFill:
		return
	case apicontract.ImputeZero, apicontract.ImputeFixed:
		fill := 0.0
		if mode == apicontract.ImputeFixed {
			fill = *fixed
		}
		for i := range v {
			if math.IsNaN(v[i]) {
				v[i] = fill
			}
		}
	case apicontract.ImputePrevious:
		last := math.NaN()
		for i := range v {
			if math.IsNaN(v[i]) {
				v[i] = last
			} else {
				last = v[i]
			}
		}
		first := math.NaN() // leading gaps take the first real value
		for i := range v {
			if !math.IsNaN(v[i]) {
				first = v[i]
				break
			}
		}
		for i := 0; i < len(v) && math.IsNaN(v[i]); i++ {
			v[i] = first
		}
	default: // auto, linear
		prev := -1
		for i := range v {
			if math.IsNaN(v[i]) {
				continue
			}
			if prev == -1 {
				for j := 0; j < i; j++ {
					v[j] = v[i]
				}
			} else {
				for j := prev + 1; j < i; j++ {
					f := float64(j-prev) / float64(i-prev)
					v[j] = v[prev] + f*(v[i]-v[prev])
				}
			}
			prev = i
		}
		for j := prev + 1; prev >= 0 && j < len(v); j++ {
			v[j] = v[prev]
		}
	}
}

// periodPoints expresses the detected period in points, as the contract does.
func periodPoints(r *engine.Result, step time.Duration) int {
	if len(r.Info.Periods) == 0 || step <= 0 {
		return 0
	}
	return int(math.Round(float64(r.Info.Periods[0]) / float64(step)))
}

func (s *Server) handleEntire(w http.ResponseWriter, r *http.Request, _ caller) {
	req, in, err := s.readSeriesRequest(r)
	if err != nil {
		s.fail(w, err)
		return
	}
	res, ok := s.detect(w, r, in)
	if !ok {
		return
	}
	writeJSON(w, http.StatusOK, entireResponse(in, res, req.MaxAnomalyRatio))
}

// handleEntireBatch runs entire/detect on each item. An item that fails
// validation or detection gets its own status and error; the others are
// answered. The request as a whole fails only when it cannot be read.
func (s *Server) handleEntireBatch(w http.ResponseWriter, r *http.Request, _ caller) {
	var req apicontract.BatchEntireRequest
	if err := decodeBody(r.Body, &req); err != nil {
		s.fail(w, err)
		return
	}
	switch n := len(req.Items); {
	case n == 0:
		s.fail(w, badRequest(apicontract.CodeRequiredSeries, "items is required: an array of entire/detect request bodies"))
		return
	case n > s.cfg.MaxBatchItems:
		s.fail(w, badRequest(apicontract.CodeBadArgument, "batch has %d items; at most %d are accepted per request (split it, or raise --max-batch-items)", n, s.cfg.MaxBatchItems))
		return
	}
	out := apicontract.BatchEntireResponse{Results: make([]apicontract.BatchEntireResult, len(req.Items))}
	for i := range req.Items {
		if r.Context().Err() != nil {
			return // the client is gone
		}
		out.Results[i] = s.batchItem(r, &req.Items[i])
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) batchItem(r *http.Request, req *apicontract.SeriesRequest) apicontract.BatchEntireResult {
	itemErr := func(err error) apicontract.BatchEntireResult {
		status, e := s.errorAnswer(err)
		return apicontract.BatchEntireResult{Status: status, Error: &e}
	}
	in, err := s.parseSeriesRequest(req)
	if err != nil {
		return itemErr(err)
	}
	res, err := engine.Detect(r.Context(), in.series, in.opt)
	if err != nil {
		return itemErr(badRequest(apicontract.CodeInvalidSeries, "detection: %v", err))
	}
	if err := checkResult(res, len(in.series.Times)); err != nil {
		return itemErr(err)
	}
	resp := entireResponse(in, res, req.MaxAnomalyRatio)
	return apicontract.BatchEntireResult{Status: http.StatusOK, Result: &resp}
}

func (s *Server) engineFail(w http.ResponseWriter, r *http.Request, err error) {
	if r.Context().Err() != nil {
		return // the client is gone
	}
	// The input passed validation, so what the engine rejects is still the
	// caller's series (too short for the method, and so on).
	s.fail(w, badRequest(apicontract.CodeInvalidSeries, "detection: %v", err))
}

func entireResponse(in *seriesInput, res *engine.Result, maxRatio *float64) apicontract.EntireResponse {
	n := len(in.series.Times)
	out := apicontract.EntireResponse{
		Period:            periodPoints(res, in.step),
		ExpectedValues:    make([]float64, n),
		UpperMargins:      make([]float64, n),
		LowerMargins:      make([]float64, n),
		IsAnomaly:         make([]bool, n),
		IsNegativeAnomaly: make([]bool, n),
		IsPositiveAnomaly: make([]bool, n),
		Severity:          make([]float64, n),
		Scores:            make([]float64, n),
		Method:            string(res.Info.Method),
	}
	flagged := anomalyIndexes(res, n, maxRatio)
	for i := 0; i < n; i++ {
		out.ExpectedValues[i] = finite(res.Expected[i])
		out.UpperMargins[i] = math.Max(0, finite(res.Upper[i]-res.Expected[i]))
		out.LowerMargins[i] = math.Max(0, finite(res.Expected[i]-res.Lower[i]))
		out.Scores[i] = clamp01(res.Score[i])
	}
	for _, i := range flagged {
		out.IsAnomaly[i] = true
		out.Severity[i] = out.Scores[i]
		dir := res.Direction[i]
		if dir == 0 {
			dir = 1
			if in.series.Values[i] < res.Expected[i] {
				dir = -1
			}
		}
		out.IsPositiveAnomaly[i] = dir > 0
		out.IsNegativeAnomaly[i] = dir < 0
	}
	return out
}

// anomalyIndexes returns the flagged points, keeping only the highest-scoring
// maxRatio share when a ratio is given.
func anomalyIndexes(res *engine.Result, n int, maxRatio *float64) []int {
	var idx []int
	for i := 0; i < n && i < len(res.Anomaly); i++ {
		if res.Anomaly[i] {
			idx = append(idx, i)
		}
	}
	if maxRatio == nil {
		return idx
	}
	limit := int(math.Floor(*maxRatio * float64(n)))
	if len(idx) <= limit {
		return idx
	}
	sort.SliceStable(idx, func(a, b int) bool { return res.Score[idx[a]] > res.Score[idx[b]] })
	idx = idx[:limit]
	slices.Sort(idx)
	return idx
}

func (s *Server) handleLast(w http.ResponseWriter, r *http.Request, _ caller) {
	_, in, err := s.readSeriesRequest(r)
	if err != nil {
		s.fail(w, err)
		return
	}
	in.opt.Causal = true // the newest point is judged only by the points before it
	res, ok := s.detect(w, r, in)
	if !ok {
		return
	}
	n := len(in.series.Times)
	all := entireResponse(in, res, nil)
	last := n - 1
	out := apicontract.LastResponse{
		Period:            all.Period,
		SuggestedWindow:   max(res.Info.WarmUp+1, s.cfg.MinPoints),
		ExpectedValue:     all.ExpectedValues[last],
		UpperMargin:       all.UpperMargins[last],
		LowerMargin:       all.LowerMargins[last],
		IsAnomaly:         all.IsAnomaly[last],
		IsNegativeAnomaly: all.IsNegativeAnomaly[last],
		IsPositiveAnomaly: all.IsPositiveAnomaly[last],
		Severity:          all.Severity[last],
		Score:             all.Scores[last],
		Method:            all.Method,
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) handleChangePoint(w http.ResponseWriter, r *http.Request, _ caller) {
	var req apicontract.ChangePointRequest
	if err := decodeBody(r.Body, &req); err != nil {
		s.fail(w, err)
		return
	}
	in, err := s.parseSeries(req.Series, req.Granularity, req.CustomInterval, apicontract.ImputeAuto, nil)
	if err != nil {
		s.fail(w, err)
		return
	}
	if err := setPeriod(in, req.Period); err != nil {
		s.fail(w, err)
		return
	}
	threshold := 0.0
	if req.Threshold != nil {
		if v := *req.Threshold; !(v >= 0 && v <= 1) {
			s.fail(w, badRequest(apicontract.CodeInvalidModelArgument, "threshold %v is outside 0..1", v))
			return
		}
		threshold = *req.Threshold
	}
	stable := 1
	if req.StableTrendWindow != nil {
		if v := *req.StableTrendWindow; v < 1 || v > len(req.Series) {
			s.fail(w, badRequest(apicontract.CodeInvalidModelArgument, "stableTrendWindow %d is outside 1..%d", v, len(req.Series)))
			return
		}
		stable = *req.StableTrendWindow
	}
	in.opt.Method = engine.MethodChangepoint
	res, ok := s.detect(w, r, in)
	if !ok {
		return
	}
	n := len(in.series.Times)
	out := apicontract.ChangePointResponse{
		Period:           periodPoints(res, in.step),
		IsChangePoint:    make([]bool, n),
		ConfidenceScores: make([]float64, n),
	}
	// A change point is where a level, trend or variance change window starts
	// (spikes and dips are anomalies, not changes); windows closer than the
	// stable-trend window to the previous change are the same change.
	index := make(map[int64]int, n)
	for i, t := range in.series.Times {
		index[t] = i
	}
	for i := 0; i < n; i++ {
		out.ConfidenceScores[i] = clamp01(res.Score[i])
	}
	lastChange := -stable
	for _, win := range res.Windows {
		switch win.Type {
		case engine.WindowLevelShift, engine.WindowTrendChange, engine.WindowVarianceChange:
		default:
			continue
		}
		i, ok := index[win.Start]
		if ok && win.MaxScore >= threshold && i-lastChange >= stable {
			out.IsChangePoint[i] = true
			lastChange = i
		}
	}
	writeJSON(w, http.StatusOK, out)
}

func finite(v float64) float64 {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return 0
	}
	return v
}

func clamp01(v float64) float64 {
	if !(v > 0) {
		return 0
	}
	return math.Min(v, 1)
}

// checkResult guards the response builders against an engine result that does
// not line up with the input (a bug, answered 500 rather than a panic).
func checkResult(res *engine.Result, n int) error {
	if res == nil || len(res.Expected) != n || len(res.Lower) != n || len(res.Upper) != n ||
		len(res.Score) != n || len(res.Anomaly) != n || len(res.Direction) != n {
		return fmt.Errorf("engine result does not match the %d input points", n)
	}
	return nil
}
