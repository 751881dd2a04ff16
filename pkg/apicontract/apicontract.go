// Package apicontract holds the wire types of Sheepdog's open anomaly API
// (api/openapi.yaml), shared by the reference server (cmd/sheepdog-api) and the
// resilient client (pkg/remote). It has no behaviour beyond naming and parsing
// the contract's own fields, so both sides agree on one definition.
package apicontract

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Routes. The time-series routes are also served under AzurePrefix with the
// same bodies, so code written for Azure Anomaly Detector v1.1 works unchanged.
const (
	PathSnapshot    = "/v1/anomaly/detect"
	PathEntire      = "/v1/timeseries/entire/detect"
	PathLast        = "/v1/timeseries/last/detect"
	PathChangePoint = "/v1/timeseries/changepoint/detect"
	// PathEntireBatch runs entire/detect on several series in one request
	// (a Sheepdog extension, not served under AzurePrefix).
	PathEntireBatch = "/v1/timeseries/entire/detect/batch"
	PathHealth      = "/v1/health"
	PathMetrics     = "/metrics"

	AzurePrefix = "/anomalydetector/v1.1"
)

// Auth headers. Bearer works everywhere; the subscription-key header only on
// the Azure-compatible routes (AzurePrefix).
const (
	HeaderAuthorization   = "Authorization"
	HeaderSubscriptionKey = "Ocp-Apim-Subscription-Key"
	// HeaderErrorCode repeats the error code, as Azure did in x-ms-error-code.
	HeaderErrorCode = "X-Ms-Error-Code"
)

// KeyPrefix is how API keys start.
const KeyPrefix = "hs_"

// Error codes. The first group are the codes of Azure Anomaly Detector v1.1
// (AnomalyDetectorErrorCodes); the second are Sheepdog's for what Azure
// answered without a JSON code (auth, limits, overload).
const (
	CodeBadArgument             = "BadArgument"
	CodeInvalidCustomInterval   = "InvalidCustomInterval"
	CodeInvalidGranularity      = "InvalidGranularity"
	CodeInvalidPeriod           = "InvalidPeriod"
	CodeInvalidModelArgument    = "InvalidModelArgument"
	CodeInvalidSeries           = "InvalidSeries"
	CodeInvalidJSONFormat       = "InvalidJsonFormat"
	CodeRequiredGranularity     = "RequiredGranularity"
	CodeRequiredSeries          = "RequiredSeries"
	CodeInvalidImputeMode       = "InvalidImputeMode"
	CodeInvalidImputeFixedValue = "InvalidImputeFixedValue"

	CodeUnauthorized       = "Unauthorized"       // 401: missing or rejected key
	CodeNotFound           = "NotFound"           // 404
	CodeMethodNotAllowed   = "MethodNotAllowed"   // 405
	CodePayloadTooLarge    = "PayloadTooLarge"    // 413
	CodeTooManyRequests    = "TooManyRequests"    // 429, with Retry-After
	CodeInternalError      = "InternalError"      // 500
	CodeServiceUnavailable = "ServiceUnavailable" // 503
	CodeInvalidTimestamp   = "InvalidTimestamp"   // snapshot older than the metric's history
)

// Error is every non-2xx body.
type Error struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

// Granularities of the Azure contract. GranularityNone lets timestamps be absent.
const (
	GranularityYearly      = "yearly"
	GranularityMonthly     = "monthly"
	GranularityWeekly      = "weekly"
	GranularityDaily       = "daily"
	GranularityHourly      = "hourly"
	GranularityMinutely    = "minutely"
	GranularitySecondly    = "secondly"
	GranularityMicrosecond = "microsecond"
	GranularityNone        = "none"
)

// GranularityStep is the nominal step of one granularity unit; months and
// years use 30 and 365 days, which is only used to turn a period into a duration.
func GranularityStep(g string) (time.Duration, bool) {
	switch g {
	case GranularityYearly:
		return 365 * 24 * time.Hour, true
	case GranularityMonthly:
		return 30 * 24 * time.Hour, true
	case GranularityWeekly:
		return 7 * 24 * time.Hour, true
	case GranularityDaily:
		return 24 * time.Hour, true
	case GranularityHourly:
		return time.Hour, true
	case GranularityMinutely:
		return time.Minute, true
	case GranularitySecondly:
		return time.Second, true
	case GranularityMicrosecond:
		return time.Microsecond, true
	case GranularityNone, "":
		return 0, true
	}
	return 0, false
}

// Impute modes: how null values are filled before detection.
const (
	ImputeAuto     = "auto"
	ImputePrevious = "previous"
	ImputeLinear   = "linear"
	ImputeFixed    = "fixed"
	ImputeZero     = "zero"
	ImputeNotFill  = "notFill"
)

// ValidImputeMode reports whether m is one of the impute modes ("" = auto).
func ValidImputeMode(m string) bool {
	switch m {
	case "", ImputeAuto, ImputePrevious, ImputeLinear, ImputeFixed, ImputeZero, ImputeNotFill:
		return true
	}
	return false
}

// Point is one time-series point. Value null (a Sheepdog extension) marks a
// missing value, filled according to imputeMode.
type Point struct {
	Timestamp string   `json:"timestamp,omitempty"`
	Value     *float64 `json:"value"`
}

// SeriesRequest is the body of entire/detect and last/detect.
type SeriesRequest struct {
	Series           []Point  `json:"series"`
	Granularity      string   `json:"granularity,omitempty"`
	CustomInterval   *int     `json:"customInterval,omitempty"`
	Period           *int     `json:"period,omitempty"` // points; absent = detect, 0 = no seasonality
	MaxAnomalyRatio  *float64 `json:"maxAnomalyRatio,omitempty"`
	Sensitivity      *float64 `json:"sensitivity,omitempty"` // 0..99, higher = more anomalies
	ImputeMode       string   `json:"imputeMode,omitempty"`
	ImputeFixedValue *float64 `json:"imputeFixedValue,omitempty"`

	// Sheepdog extensions; other implementations may ignore them.
	Method    string `json:"method,omitempty"`    // auto, basic, robust, agile, changepoint
	Direction string `json:"direction,omitempty"` // both, up, down
	WarmUp    *int   `json:"warmUp,omitempty"`    // points before any flag
	Causal    bool   `json:"causal,omitempty"`    // judge each point only by the points before it
}

// ChangePointRequest is the body of changepoint/detect.
type ChangePointRequest struct {
	Series            []Point  `json:"series"`
	Granularity       string   `json:"granularity,omitempty"`
	CustomInterval    *int     `json:"customInterval,omitempty"`
	Period            *int     `json:"period,omitempty"`
	StableTrendWindow *int     `json:"stableTrendWindow,omitempty"`
	Threshold         *float64 `json:"threshold,omitempty"` // 0..1, confidence needed for a change point
}

// EntireResponse answers entire/detect; every array has one entry per input point.
type EntireResponse struct {
	Period            int       `json:"period"`
	ExpectedValues    []float64 `json:"expectedValues"`
	UpperMargins      []float64 `json:"upperMargins"`
	LowerMargins      []float64 `json:"lowerMargins"`
	IsAnomaly         []bool    `json:"isAnomaly"`
	IsNegativeAnomaly []bool    `json:"isNegativeAnomaly"`
	IsPositiveAnomaly []bool    `json:"isPositiveAnomaly"`
	Severity          []float64 `json:"severity"` // 0 for normal points, as in Azure

	// Sheepdog extensions.
	Scores []float64 `json:"scores,omitempty"` // calibrated 0..1 score of every point
	Method string    `json:"method,omitempty"` // detector used
}

// BatchEntireRequest is the body of the batch route: entire/detect requests.
type BatchEntireRequest struct {
	Items []SeriesRequest `json:"items"`
}

// BatchEntireResponse has one result per item, in order.
type BatchEntireResponse struct {
	Results []BatchEntireResult `json:"results"`
}

// BatchEntireResult is one item's answer: Status is the HTTP status the
// item alone would have had; Result is set for 200, Error otherwise.
type BatchEntireResult struct {
	Status int             `json:"status"`
	Result *EntireResponse `json:"result,omitempty"`
	Error  *Error          `json:"error,omitempty"`
}

// LastResponse answers last/detect for the newest point.
type LastResponse struct {
	Period            int     `json:"period"`
	SuggestedWindow   int     `json:"suggestedWindow"`
	ExpectedValue     float64 `json:"expectedValue"`
	UpperMargin       float64 `json:"upperMargin"`
	LowerMargin       float64 `json:"lowerMargin"`
	IsAnomaly         bool    `json:"isAnomaly"`
	IsNegativeAnomaly bool    `json:"isNegativeAnomaly"`
	IsPositiveAnomaly bool    `json:"isPositiveAnomaly"`
	Severity          float64 `json:"severity"`

	Score  float64 `json:"score"`            // Sheepdog extension
	Method string  `json:"method,omitempty"` // Sheepdog extension
}

// ChangePointResponse answers changepoint/detect.
type ChangePointResponse struct {
	Period           int       `json:"period"`
	IsChangePoint    []bool    `json:"isChangePoint"`
	ConfidenceScores []float64 `json:"confidenceScores"`
}

// SnapshotRequest is one observation of several metrics at one time
// (POST /v1/anomaly/detect). Timestamp is unix seconds; absent = server time.
type SnapshotRequest struct {
	Metrics   map[string]*float64 `json:"metrics"`
	Timestamp *float64            `json:"timestamp,omitempty"`
}

// SnapshotResponse judges each metric against its own recent history.
type SnapshotResponse struct {
	IsAnomaly   bool                      `json:"is_anomaly"`
	Confidence  float64                   `json:"confidence"`   // 0..1, highest metric score
	AnomalyType *string                   `json:"anomaly_type"` // type of the most anomalous metric, null if none
	Timestamp   int64                     `json:"timestamp"`
	Details     map[string]SnapshotDetail `json:"details"`
}

// SnapshotDetail is one metric's verdict.
type SnapshotDetail struct {
	Value         float64 `json:"value"`
	Expected      float64 `json:"expected"`
	Lower         float64 `json:"lower"`
	Upper         float64 `json:"upper"`
	Score         float64 `json:"score"`
	IsAnomaly     bool    `json:"is_anomaly"`
	Direction     string  `json:"direction"`    // "up", "down" or "" (inside the band)
	AnomalyType   *string `json:"anomaly_type"` // spike, dip, level_shift, ... or null
	HistoryPoints int     `json:"history_points"`
	WarmedUp      bool    `json:"warmed_up"` // false while the history is shorter than the warm-up
}

// Health statuses.
const (
	StatusOK       = "ok"
	StatusDegraded = "degraded"
)

// Health is GET /v1/health.
type Health struct {
	Status        string  `json:"status"`
	Version       string  `json:"version"`
	UptimeSeconds float64 `json:"uptime_seconds"`
	ErrorRate     float64 `json:"error_rate"`  // 5xx share of the last 5 minutes
	Requests5m    int64   `json:"requests_5m"` // requests counted in that window
	// KeyAccepted is set when the request carried a key: true when it is valid
	// (an invalid key gets 401 instead).
	KeyAccepted *bool `json:"key_accepted,omitempty"`
}

// AzurePath is the Azure-compatible alias of a /v1/timeseries route:
// /v1/timeseries/entire/detect -> /anomalydetector/v1.1/timeseries/entire/detect.
func AzurePath(path string) string {
	return AzurePrefix + strings.TrimPrefix(path, "/v1")
}

// FormatTimestamp writes unix ms as the RFC 3339 UTC timestamp of the contract.
func FormatTimestamp(ms int64) string {
	return time.UnixMilli(ms).UTC().Format("2006-01-02T15:04:05.000Z")
}

// ParseTimestamp reads an RFC 3339 timestamp (the contract's format) or, as a
// convenience, unix seconds, and returns unix ms.
func ParseTimestamp(s string) (int64, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, fmt.Errorf("empty timestamp")
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t.UnixMilli(), nil
	}
	if f, err := strconv.ParseFloat(s, 64); err == nil && f == f && f > -1e12 && f < 1e12 {
		return int64(f * 1000), nil
	}
	return 0, fmt.Errorf("timestamp %q is neither RFC 3339 nor unix seconds", truncate(s, 40))
}

// MaskKey shows enough of a key to tell keys apart in logs and no more: its
// last 4 characters (…wxyz), and only for keys of 16 characters or more. The
// prefix is not shown: a rejected "key" may be any secret sent by mistake.
func MaskKey(key string) string {
	if len(key) < 16 {
		return "…"
	}
	return "…" + key[len(key)-4:]
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
