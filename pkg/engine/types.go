// Package engine holds Sheepdog's embedded anomaly detectors. It is pure Go and
// knows nothing of Grafana: it takes one series of (time, value) points and
// returns an expected value, a band, a calibrated score and anomaly windows.
package engine

import "time"

// Series is one univariate series. Times are unix milliseconds and must
// increase strictly; a NaN value marks a missing point.
type Series struct {
	Times  []int64
	Values []float64
}

// Method names a detector.
type Method string

const (
	MethodAuto        Method = "auto"
	MethodBasic       Method = "basic"
	MethodRobust      Method = "robust"
	MethodAgile       Method = "agile"
	MethodChangepoint Method = "changepoint"
)

// Direction restricts which deviations count as anomalies.
type Direction string

const (
	DirectionBoth Direction = "both"
	DirectionUp   Direction = "up"
	DirectionDown Direction = "down"
)

// DefaultSensitivity is the sensitivity used when Options.Sensitivity is zero.
// Sensitivity runs from 0 (only the most extreme points) to 100 (flag eagerly);
// higher values give narrower bands and more anomalies, monotonically.
const DefaultSensitivity = 50

// NoSeasonality, as Options.Period, turns seasonality detection off.
const NoSeasonality time.Duration = -1

// Options configure one detection run. The zero value is valid: auto method,
// default sensitivity, both directions, automatic warm-up and period, batch mode.
type Options struct {
	Method      Method
	Sensitivity float64
	Direction   Direction
	// MinDuration is the shortest run of flagged points reported as an anomaly.
	MinDuration time.Duration
	// WarmUp is the number of points before any flag is raised; 0 picks one.
	WarmUp int
	// Period overrides seasonality detection; 0 detects, NoSeasonality disables.
	Period time.Duration
	// Causal makes each point's output depend only on points at or before it.
	Causal bool
}

// WindowType classifies an anomaly window.
type WindowType string

const (
	WindowSpike          WindowType = "spike"
	WindowDip            WindowType = "dip"
	WindowLevelShift     WindowType = "level_shift"
	WindowTrendChange    WindowType = "trend_change"
	WindowVarianceChange WindowType = "variance_change"
	WindowFlatline       WindowType = "flatline"
	WindowMissingData    WindowType = "missing_data"
)

// Severity grades a window by its maximum score.
type Severity string

const (
	SeverityLow      Severity = "low"
	SeverityMedium   Severity = "medium"
	SeverityHigh     Severity = "high"
	SeverityCritical Severity = "critical"
)

// Window is one maximal run of anomalous points.
type Window struct {
	Start, End, Peak int64 // unix ms; End is the last anomalous point
	PeakValue        float64
	PeakExpected     float64
	MaxScore         float64
	Severity         Severity
	Type             WindowType
	Direction        int8 // +1 above the band, -1 below
	// Note says in words what the detector does next, e.g. for a level
	// shift how soon it accepts the new level as normal; may be empty.
	Note string
}

// Info says what a run used.
type Info struct {
	Requested Method
	Method    Method // the detector actually used (auto resolves to one)
	Periods   []time.Duration
	WarmUp    int  // points before flags could be raised
	WarmUpMet bool // false when the series is shorter than the warm-up
	Causal    bool
	Interval  time.Duration // typical step between points
	Notes     []string
}

// Result is the per-point output, aligned with the input series.
// Missing inputs get the model's forecast and score 0. Expected, Lower and
// Upper are NaN (null in frames, empty in CSV) only before the first finite
// value, where there is nothing to forecast from; nothing else is ever NaN.
type Result struct {
	Expected  []float64
	Lower     []float64
	Upper     []float64
	Score     []float64 // 0..1, calibrated so one threshold means the same on every series
	Anomaly   []bool
	Direction []int8 // +1 above, -1 below, 0 inside
	Windows   []Window
	Info      Info
}

// PointResult is the output for one point pushed into a Stream.
type PointResult struct {
	Time      int64
	Value     float64
	Expected  float64
	Lower     float64
	Upper     float64
	Score     float64
	Anomaly   bool
	Direction int8
	// Err is set when the point was rejected (its time does not follow the
	// previous point's); the stream's state is then unchanged.
	Err error
}
