package remote

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"math"
	"slices"
	"time"

	"github.com/sheepdog-anomaly/sheepdog/pkg/apicontract"
	"github.com/sheepdog-anomaly/sheepdog/pkg/engine"
)

// buildRequest turns a series and options into the contract's request. It
// returns the series' typical step, used to read the period back.
func buildRequest(s engine.Series, opt engine.Options) (apicontract.SeriesRequest, time.Duration) {
	step := medianStep(s.Times)
	req := apicontract.SeriesRequest{
		Series:     make([]apicontract.Point, len(s.Times)),
		ImputeMode: apicontract.ImputeNotFill, // missing stays missing, as the engine expects
		Method:     string(opt.Method),
		Direction:  string(opt.Direction),
		Causal:     opt.Causal,
	}
	for i, t := range s.Times {
		req.Series[i].Timestamp = apicontract.FormatTimestamp(t)
		if v := s.Values[i]; !math.IsNaN(v) && !math.IsInf(v, 0) {
			req.Series[i].Value = &v
		}
	}
	switch {
	case step > 0 && step%time.Minute == 0:
		req.Granularity = apicontract.GranularityMinutely
		req.CustomInterval = ptr(int(step / time.Minute))
	case step > 0 && step%time.Second == 0:
		req.Granularity = apicontract.GranularitySecondly
		req.CustomInterval = ptr(int(step / time.Second))
	default:
		req.Granularity = apicontract.GranularityNone
	}
	if opt.Sensitivity > 0 {
		req.Sensitivity = ptr(math.Min(opt.Sensitivity, 99)) // the contract's scale stops at 99
	}
	switch {
	case opt.Period == engine.NoSeasonality:
		req.Period = ptr(0)
	case opt.Period > 0 && step > 0:
		if p := int(math.Round(float64(opt.Period) / float64(step))); p >= 2 && p <= len(s.Times)/2 {
			req.Period = ptr(p)
		}
	}
	if opt.WarmUp > 0 && opt.WarmUp <= len(s.Times) {
		req.WarmUp = ptr(opt.WarmUp)
	}
	return req, step
}

func ptr[T any](v T) *T { return &v }

func medianStep(times []int64) time.Duration {
	if len(times) < 2 {
		return 0
	}
	d := make([]int64, len(times)-1)
	for i := range d {
		d[i] = times[i+1] - times[i]
	}
	slices.Sort(d)
	return time.Duration(d[len(d)/2]) * time.Millisecond
}

// wireEntire mirrors apicontract.EntireResponse with pointers, so a missing
// field or a null inside an array is told apart from a zero.
type wireEntire struct {
	Period            *float64   `json:"period"`
	ExpectedValues    []*float64 `json:"expectedValues"`
	UpperMargins      []*float64 `json:"upperMargins"`
	LowerMargins      []*float64 `json:"lowerMargins"`
	IsAnomaly         []*bool    `json:"isAnomaly"`
	IsNegativeAnomaly []*bool    `json:"isNegativeAnomaly"`
	IsPositiveAnomaly []*bool    `json:"isPositiveAnomaly"`
	Severity          []*float64 `json:"severity"`
	Scores            []*float64 `json:"scores"`
	Method            string     `json:"method"`
}

// decodeEntire validates an entire/detect response against the series it
// answers and builds the engine's result from it.
func decodeEntire(body []byte, s engine.Series, opt engine.Options, step time.Duration) (*engine.Result, error) {
	var w wireEntire
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(&w); err != nil {
		var typeErr *json.UnmarshalTypeError
		var syntax *json.SyntaxError
		switch {
		case errors.As(err, &typeErr):
			return nil, invalidf("field %s: expected %s, got JSON %s", typeErr.Field, typeErr.Type, typeErr.Value)
		case errors.As(err, &syntax):
			return nil, invalidf("malformed JSON at byte %d of %d: %v", syntax.Offset, len(body), syntax)
		case errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF):
			return nil, invalidf("JSON ends early (truncated after %d bytes)", len(body))
		}
		return nil, invalidf("malformed JSON: %v", err)
	}
	n := len(s.Times)
	if err := needFloats("expectedValues", w.ExpectedValues, n, true); err != nil {
		return nil, err
	}
	if err := needFloats("upperMargins", w.UpperMargins, n, true); err != nil {
		return nil, err
	}
	if err := needFloats("lowerMargins", w.LowerMargins, n, true); err != nil {
		return nil, err
	}
	if err := needBools("isAnomaly", w.IsAnomaly, n, true); err != nil {
		return nil, err
	}
	for _, f := range []struct {
		name string
		v    []*bool
	}{{"isPositiveAnomaly", w.IsPositiveAnomaly}, {"isNegativeAnomaly", w.IsNegativeAnomaly}} {
		if err := needBools(f.name, f.v, n, false); err != nil {
			return nil, err
		}
	}
	if err := needFloats("severity", w.Severity, n, false); err != nil {
		return nil, err
	}
	if err := needFloats("scores", w.Scores, n, false); err != nil {
		return nil, err
	}
	for i := 0; i < n; i++ {
		if *w.UpperMargins[i] < 0 || *w.LowerMargins[i] < 0 {
			return nil, invalidf("margins at point %d are negative", i)
		}
		if w.Severity != nil && (*w.Severity[i] < 0 || *w.Severity[i] > 1) {
			return nil, invalidf("severity at point %d is %v, outside 0..1", i, *w.Severity[i])
		}
		if w.Scores != nil && (*w.Scores[i] < 0 || *w.Scores[i] > 1) {
			return nil, invalidf("score at point %d is %v, outside 0..1", i, *w.Scores[i])
		}
	}

	r := newResult(n)
	for i := 0; i < n; i++ {
		ev := *w.ExpectedValues[i]
		r.Expected[i], r.Upper[i], r.Lower[i] = ev, ev+*w.UpperMargins[i], ev-*w.LowerMargins[i]
		switch {
		case w.Scores != nil:
			r.Score[i] = *w.Scores[i]
		case w.Severity != nil:
			r.Score[i] = *w.Severity[i]
		}
		v := s.Values[i]
		if math.IsNaN(v) {
			r.Score[i] = 0 // the engine's contract: missing inputs score 0 and are never flagged
			continue
		}
		switch {
		case v > r.Upper[i]:
			r.Direction[i] = 1
		case v < r.Lower[i]:
			r.Direction[i] = -1
		}
		if !*w.IsAnomaly[i] {
			continue
		}
		dir := r.Direction[i]
		if w.IsPositiveAnomaly != nil && *w.IsPositiveAnomaly[i] {
			dir = 1
		} else if w.IsNegativeAnomaly != nil && *w.IsNegativeAnomaly[i] {
			dir = -1
		} else if dir == 0 {
			dir = 1
			if v < ev {
				dir = -1
			}
		}
		r.Direction[i] = dir
		// The contract's API may ignore the direction extension; apply it here.
		switch opt.Direction {
		case engine.DirectionUp:
			r.Anomaly[i] = dir > 0
		case engine.DirectionDown:
			r.Anomaly[i] = dir < 0
		default:
			r.Anomaly[i] = true
		}
	}
	r.Info = engine.Info{
		Requested: opt.Method,
		Method:    engine.Method(w.Method),
		Causal:    opt.Causal,
		Interval:  step,
		WarmUpMet: true,
		Notes:     []string{"detected by the remote API"},
	}
	if r.Info.Requested == "" {
		r.Info.Requested = engine.MethodAuto
	}
	if m, err := engine.ParseMethod(w.Method); err == nil && w.Method != "" {
		r.Info.Method = m
	} else {
		r.Info.Method = r.Info.Requested
	}
	if w.Period != nil && *w.Period >= 1 && step > 0 && *w.Period < float64(n) {
		r.Info.Periods = []time.Duration{time.Duration(math.Round(*w.Period)) * step}
	}
	return r, nil
}

func needFloats(name string, v []*float64, n int, required bool) error {
	if v == nil {
		if required {
			return invalidf("field %s is missing", name)
		}
		return nil
	}
	if len(v) != n {
		return invalidf("field %s has %d entries for %d points", name, len(v), n)
	}
	for i, x := range v {
		if x == nil {
			return invalidf("field %s[%d] is null", name, i)
		}
		if math.IsNaN(*x) || math.IsInf(*x, 0) {
			return invalidf("field %s[%d] is not finite", name, i)
		}
	}
	return nil
}

func needBools(name string, v []*bool, n int, required bool) error {
	if v == nil {
		if required {
			return invalidf("field %s is missing", name)
		}
		return nil
	}
	if len(v) != n {
		return invalidf("field %s has %d entries for %d points", name, len(v), n)
	}
	for i, x := range v {
		if x == nil {
			return invalidf("field %s[%d] is null", name, i)
		}
	}
	return nil
}
