package remote

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"math"
	"time"

	"github.com/sheepdog-anomaly/sheepdog/pkg/apicontract"
	"github.com/sheepdog-anomaly/sheepdog/pkg/engine"
)

// buildRequest turns a series and options into the contract's request. It
// returns the series' typical step, used to read the period back.
func buildRequest(s engine.Series, opt engine.Options) (apicontract.SeriesRequest, time.Duration) {
	step := engine.MedianStep(s.Times)
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
	switch {
	case opt.Sensitivity > 0:
		req.Sensitivity = ptr(math.Min(opt.Sensitivity, 99)) // the contract's scale stops at 99
	case opt.Sensitivity < 0: // the engine's explicit 0 (engine.Options.WithSensitivity)
		req.Sensitivity = ptr(0.0)
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

// wireEntire holds the arrays raw, so each is decoded on its own: errors
// name the field, and a null inside an array is told apart from a zero
// without decoding every element to a pointer.
type wireEntire struct {
	Period            *float64        `json:"period"`
	ExpectedValues    json.RawMessage `json:"expectedValues"`
	UpperMargins      json.RawMessage `json:"upperMargins"`
	LowerMargins      json.RawMessage `json:"lowerMargins"`
	IsAnomaly         json.RawMessage `json:"isAnomaly"`
	IsNegativeAnomaly json.RawMessage `json:"isNegativeAnomaly"`
	IsPositiveAnomaly json.RawMessage `json:"isPositiveAnomaly"`
	Severity          json.RawMessage `json:"severity"`
	Scores            json.RawMessage `json:"scores"`
	Method            string          `json:"method"`
}

type entireArrays struct {
	expected, upper, lower, severity, scores []float64
	anomaly, positive, negative              []bool
}

// decodeEntire validates an entire/detect response against the series it
// answers and builds the engine's result from it.
func decodeEntire(body []byte, s engine.Series, opt engine.Options, step time.Duration) (*engine.Result, error) {
	var w wireEntire
	if err := decodeJSON(body, &w); err != nil {
		return nil, err
	}
	n := len(s.Times)
	var a entireArrays
	var err error
	for _, f := range []struct {
		name     string
		raw      json.RawMessage
		dst      *[]float64
		required bool
	}{
		{"expectedValues", w.ExpectedValues, &a.expected, true},
		{"upperMargins", w.UpperMargins, &a.upper, true},
		{"lowerMargins", w.LowerMargins, &a.lower, true},
		{"severity", w.Severity, &a.severity, false},
		{"scores", w.Scores, &a.scores, false},
	} {
		if *f.dst, err = floatArray(f.name, f.raw, n, f.required); err != nil {
			return nil, err
		}
	}
	for _, f := range []struct {
		name     string
		raw      json.RawMessage
		dst      *[]bool
		required bool
	}{
		{"isAnomaly", w.IsAnomaly, &a.anomaly, true},
		{"isPositiveAnomaly", w.IsPositiveAnomaly, &a.positive, false},
		{"isNegativeAnomaly", w.IsNegativeAnomaly, &a.negative, false},
	} {
		if *f.dst, err = boolArray(f.name, f.raw, n, f.required); err != nil {
			return nil, err
		}
	}
	for i := 0; i < n; i++ {
		if a.upper[i] < 0 || a.lower[i] < 0 {
			return nil, invalidf("margins at point %d are negative", i)
		}
		if math.IsInf(a.expected[i]+a.upper[i], 0) || math.IsInf(a.expected[i]-a.lower[i], 0) {
			return nil, invalidf("band at point %d overflows", i)
		}
		if a.severity != nil && (a.severity[i] < 0 || a.severity[i] > 1) {
			return nil, invalidf("severity at point %d is %v, outside 0..1", i, a.severity[i])
		}
		if a.scores != nil && (a.scores[i] < 0 || a.scores[i] > 1) {
			return nil, invalidf("score at point %d is %v, outside 0..1", i, a.scores[i])
		}
	}

	r := newResult(n)
	for i := 0; i < n; i++ {
		ev := a.expected[i]
		r.Expected[i], r.Upper[i], r.Lower[i] = ev, ev+a.upper[i], ev-a.lower[i]
		switch {
		case a.scores != nil:
			r.Score[i] = a.scores[i]
		case a.severity != nil:
			r.Score[i] = a.severity[i]
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
		if !a.anomaly[i] {
			continue
		}
		dir := r.Direction[i]
		if a.positive != nil && a.positive[i] {
			dir = 1
		} else if a.negative != nil && a.negative[i] {
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

// decodeJSON reads one JSON value, saying how an invalid answer is broken.
func decodeJSON(body []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(v); err != nil {
		var typeErr *json.UnmarshalTypeError
		var syntax *json.SyntaxError
		switch {
		case errors.As(err, &typeErr):
			return invalidf("field %s: expected %s, got JSON %s", typeErr.Field, typeErr.Type, typeErr.Value)
		case errors.As(err, &syntax):
			return invalidf("malformed JSON at byte %d of %d: %v", syntax.Offset, len(body), syntax)
		case errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF):
			return invalidf("JSON ends early (truncated after %d bytes)", len(body))
		}
		return invalidf("malformed JSON: %v", err)
	}
	return nil
}

func isNull(raw json.RawMessage) bool {
	return raw == nil || string(bytes.TrimSpace(raw)) == "null"
}

func floatArray(name string, raw json.RawMessage, n int, required bool) ([]float64, error) {
	if isNull(raw) {
		if required {
			return nil, invalidf("field %s is missing", name)
		}
		return nil, nil
	}
	var v []float64
	if err := json.Unmarshal(raw, &v); err != nil {
		var typeErr *json.UnmarshalTypeError
		if errors.As(err, &typeErr) {
			return nil, invalidf("field %s: expected an array of numbers, got JSON %s", name, typeErr.Value)
		}
		return nil, invalidf("field %s: %v", name, err)
	}
	if len(v) != n {
		return nil, invalidf("field %s has %d entries for %d points", name, len(v), n)
	}
	if bytes.Contains(raw, []byte("null")) { // json leaves a null element as 0: find it to say so
		var p []*float64
		_ = json.Unmarshal(raw, &p)
		for i, x := range p {
			if x == nil {
				return nil, invalidf("field %s[%d] is null", name, i)
			}
		}
	}
	for i, x := range v {
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return nil, invalidf("field %s[%d] is not finite", name, i)
		}
	}
	return v, nil
}

func boolArray(name string, raw json.RawMessage, n int, required bool) ([]bool, error) {
	if isNull(raw) {
		if required {
			return nil, invalidf("field %s is missing", name)
		}
		return nil, nil
	}
	var v []bool
	if err := json.Unmarshal(raw, &v); err != nil {
		var typeErr *json.UnmarshalTypeError
		if errors.As(err, &typeErr) {
			return nil, invalidf("field %s: expected an array of booleans, got JSON %s", name, typeErr.Value)
		}
		return nil, invalidf("field %s: %v", name, err)
	}
	if len(v) != n {
		return nil, invalidf("field %s has %d entries for %d points", name, len(v), n)
	}
	if bytes.Contains(raw, []byte("null")) {
		var p []*bool
		_ = json.Unmarshal(raw, &p)
		for i, x := range p {
			if x == nil {
				return nil, invalidf("field %s[%d] is null", name, i)
			}
		}
	}
	return v, nil
}
