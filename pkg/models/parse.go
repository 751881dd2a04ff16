package models

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/sheepdog-anomaly/sheepdog/pkg/duration"
	"github.com/sheepdog-anomaly/sheepdog/pkg/engine"
)

// MaxCSVBytes bounds inline CSV in a query; larger input is refused with a clear error.
const MaxCSVBytes = 4 << 20

// MaxCSVRows bounds the rows of inline CSV.
const MaxCSVRows = 200_000

// DefaultAlertWindow is the trigger window of anomaly_fraction alerts.
const DefaultAlertWindow = 10 * time.Minute

// DefaultSensitivity is the engine's default (0..100).
const DefaultSensitivity = float64(engine.DefaultSensitivity)

// Outputs is the per-series output selection of a panel query.
type Outputs struct {
	Bands   bool // value, expected, lower, upper
	Score   bool
	Flags   bool
	Windows bool // annotations frame
}

// Detector is DetectorOptions with defaults applied and durations parsed.
type Detector struct {
	Method      string  // "auto" when empty
	Sensitivity float64 // 0..100
	Direction   string  // both, up, down
	// Period: >0 a known season length, 0 detect automatically, <0 no seasonality.
	Period      time.Duration
	MinDuration time.Duration
	// History fetched before the range; HistoryAuto means "derive it from the period".
	History     time.Duration
	HistoryAuto bool
}

// Alert is AlertOptions with defaults applied.
type Alert struct {
	Enabled bool
	Mode    string
	Window  time.Duration
}

// ParsedQuery is a validated query with defaults applied.
type ParsedQuery struct {
	Raw      Query
	Detector Detector
	Outputs  Outputs
	Alert    Alert
}

// ParseQuery decodes and validates one query model (backend.DataQuery.JSON).
// Every error names the field at fault so the panel can show it as is.
func ParseQuery(raw []byte) (*ParsedQuery, error) {
	var q Query
	if len(bytes.TrimSpace(raw)) == 0 {
		return nil, fmt.Errorf("empty query")
	}
	// Before decoding: "$sensitivity" in a number field would otherwise fail
	// as a bare JSON type error that names neither the option nor the cause.
	if err := checkUninterpolated(raw); err != nil {
		return nil, err
	}
	if err := json.Unmarshal(raw, &q); err != nil {
		return nil, fmt.Errorf("decode query JSON: %w", err)
	}
	return q.Parse()
}

// Parse validates q and applies defaults.
func (q Query) Parse() (*ParsedQuery, error) {
	if err := q.Source.validate(); err != nil {
		return nil, err
	}
	det, err := q.Detector.parse()
	if err != nil {
		return nil, err
	}
	outs, err := ParseOutputs(q.Outputs)
	if err != nil {
		return nil, err
	}
	alert, err := q.Alert.parse()
	if err != nil {
		return nil, err
	}
	return &ParsedQuery{Raw: q, Detector: det, Outputs: outs, Alert: alert}, nil
}

func (s Source) validate() error {
	switch s.Type {
	case SourceCSV:
		if strings.TrimSpace(s.CSV) == "" {
			return fmt.Errorf("source.csv is empty: paste CSV with a header line, e.g. \"timestamp,value\"")
		}
		if len(s.CSV) > MaxCSVBytes {
			return fmt.Errorf("source.csv is %d bytes, over the %d-byte limit for inline CSV", len(s.CSV), MaxCSVBytes)
		}
	case SourcePrometheus:
		if strings.TrimSpace(s.Expr) == "" {
			return fmt.Errorf("source.expr is empty: enter a PromQL expression")
		}
	case SourceDatasource:
		if s.Datasource == nil || s.Datasource.UID == "" {
			return fmt.Errorf("source.datasource.uid is empty: pick the data source to analyse")
		}
		if len(bytes.TrimSpace(s.Query)) == 0 || string(bytes.TrimSpace(s.Query)) == "null" {
			return fmt.Errorf("source.query is empty: build the query of data source %q", s.Datasource.UID)
		}
		var obj map[string]json.RawMessage
		if err := json.Unmarshal(s.Query, &obj); err != nil {
			return fmt.Errorf("source.query must be a JSON object (the data source's own query model): %w", err)
		}
	case "":
		return fmt.Errorf("source.type is missing: want %q, %q or %q", SourceDatasource, SourcePrometheus, SourceCSV)
	default:
		return fmt.Errorf("source.type %q is unknown: want %q, %q or %q", s.Type, SourceDatasource, SourcePrometheus, SourceCSV)
	}
	return nil
}

func (d DetectorOptions) parse() (Detector, error) {
	out := Detector{Method: d.Method, Sensitivity: DefaultSensitivity}
	if out.Method == "" {
		out.Method = string(engine.MethodAuto)
	}
	dir, err := engine.ParseDirection(d.Direction)
	if err != nil {
		return out, fmt.Errorf("detector.direction: %w", err)
	}
	out.Direction = string(dir)
	if d.Sensitivity != nil {
		s := *d.Sensitivity
		if s != s || s < 0 || s > 100 {
			return out, fmt.Errorf("detector.sensitivity %v is out of range 0..100", s)
		}
		out.Sensitivity = s
	}
	period, err := engine.ParseSeasonality(d.Seasonality)
	if err != nil {
		return out, fmt.Errorf("detector.%w", err)
	}
	out.Period = period
	if d.MinDuration != "" {
		md, err := duration.Parse(d.MinDuration)
		if err != nil {
			return out, fmt.Errorf("detector.minDuration: %w", err)
		}
		out.MinDuration = md
	}
	switch strings.TrimSpace(d.History) {
	case "", "auto":
		out.HistoryAuto = true
	case "0":
		out.History = 0
	default:
		h, err := duration.Parse(d.History)
		if err != nil {
			return out, fmt.Errorf("detector.history: %w", err)
		}
		out.History = h
	}
	return out, nil
}

// AllOutputs lists the valid output names.
var AllOutputs = []string{OutputBands, OutputScore, OutputFlags, OutputWindows}

// ParseOutputs reads an output list; empty means DefaultOutputs.
func ParseOutputs(names []string) (Outputs, error) {
	if len(names) == 0 {
		names = DefaultOutputs
	}
	var o Outputs
	for _, n := range names {
		switch n {
		case OutputBands:
			o.Bands = true
		case OutputScore:
			o.Score = true
		case OutputFlags:
			o.Flags = true
		case OutputWindows:
			o.Windows = true
		default:
			return o, fmt.Errorf("outputs: %q is unknown: want some of %s", n, strings.Join(AllOutputs, ", "))
		}
	}
	return o, nil
}

func (a AlertOptions) parse() (Alert, error) {
	out := Alert{Enabled: a.Enabled, Mode: a.Mode, Window: DefaultAlertWindow}
	if out.Mode == "" {
		out.Mode = AlertAnomalyFraction
	}
	if !slices.Contains([]string{AlertAnomalyFraction, AlertLatestScore}, out.Mode) {
		return out, fmt.Errorf("alert.mode %q is unknown: want %s or %s", a.Mode, AlertAnomalyFraction, AlertLatestScore)
	}
	if a.Window != "" {
		w, err := duration.Parse(a.Window)
		if err != nil {
			return out, fmt.Errorf("alert.window: %w", err)
		}
		if w <= 0 {
			return out, fmt.Errorf("alert.window must be positive, got %q", a.Window)
		}
		if w > MaxAlertWindow {
			return out, fmt.Errorf("alert.window %q is over the %s maximum (each alert series keeps its trigger window in memory)", a.Window, MaxAlertWindowText)
		}
		out.Window = w
	}
	return out, nil
}

// variableRef matches a dashboard variable reference the way Grafana's
// frontend finds one to interpolate (grafana/grafana
// public/app/features/variables/utils.ts, variableRegex): $name, [[name]],
// [[name:fmt]], ${name}, ${name:fmt}, ${name.field}.
var variableRef = regexp.MustCompile(`\$\w+|\[\[[^\]]+?\]\]|\$\{\w+(?:\.[^:^}]+)?(?::[^}]+)?\}`)

// checkUninterpolated refuses a detector or alert option that still holds a
// dashboard variable. Panels and annotations interpolate them in the browser
// before the query is sent; alert rules and the HTTP API have no dashboard,
// so the reference would reach the backend as text and could only be
// misread (a string sensitivity, a "$window" duration).
func checkUninterpolated(raw []byte) error {
	var top struct {
		Detector map[string]json.RawMessage `json:"detector"`
		Alert    map[string]json.RawMessage `json:"alert"`
	}
	if json.Unmarshal(raw, &top) != nil {
		return nil // the full decode reports the malformed JSON
	}
	for _, group := range []struct {
		name string
		opts map[string]json.RawMessage
	}{{"detector", top.Detector}, {"alert", top.Alert}} {
		keys := make([]string, 0, len(group.opts))
		for k := range group.opts {
			keys = append(keys, k)
		}
		slices.Sort(keys) // the same error for the same query, whatever the map order
		for _, k := range keys {
			var s string
			if json.Unmarshal(group.opts[k], &s) != nil {
				continue
			}
			if ref := variableRef.FindString(s); ref != "" {
				return fmt.Errorf("%s.%s is %q: the dashboard variable %s was not replaced by a value. Dashboards replace variables before querying; "+
					"alert rules and API calls have no dashboard variables, so set %s.%s to a value there (e.g. %s)",
					group.name, k, s, ref, group.name, k, exampleValue(group.name+"."+k))
			}
		}
	}
	return nil
}

// exampleValue shows a valid value for an option in the error above.
func exampleValue(option string) string {
	switch option {
	case "detector.sensitivity":
		return "50"
	case "detector.method":
		return "auto"
	case "detector.direction":
		return "both"
	case "detector.seasonality":
		return "daily"
	case "detector.minDuration", "alert.window":
		return "10m"
	case "detector.history":
		return "auto"
	case "alert.mode":
		return AlertAnomalyFraction
	}
	return "a literal value"
}
