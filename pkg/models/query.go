// Package models holds the query and settings models shared by the plugin's
// backend and, through the JSON fixtures in testdata/, its TypeScript frontend
// (src/types.ts). Change both sides together.
package models

import "encoding/json"

// Source types.
const (
	SourceDatasource = "datasource" // another Grafana data source, queried through /api/ds/query
	SourcePrometheus = "prometheus" // the Prometheus-compatible URL configured on the Sheepdog data source
	SourceCSV        = "csv"        // inline CSV in the query
)

// Output names: which per-series fields and frames a panel query returns.
const (
	OutputBands   = "bands"   // value, expected, lower, upper
	OutputScore   = "score"   // anomaly score 0..1
	OutputFlags   = "flags"   // 0/1 anomaly flag
	OutputWindows = "windows" // annotation frame of anomaly windows
)

// DefaultOutputs is what a query with no outputs returns.
var DefaultOutputs = []string{OutputBands, OutputWindows}

// Alert modes.
const (
	AlertLatestScore     = "latest_score"     // the score of the newest point
	AlertAnomalyFraction = "anomaly_fraction" // fraction of anomalous points in the trigger window
)

// Query is the JSON model of one Sheepdog query (backend.DataQuery.JSON).
type Query struct {
	Source   Source          `json:"source"`
	Detector DetectorOptions `json:"detector"`
	Outputs  []string        `json:"outputs,omitempty"`
	Alert    AlertOptions    `json:"alert"`
}

// DataSourceRef points at a Grafana data source.
type DataSourceRef struct {
	UID  string `json:"uid"`
	Type string `json:"type,omitempty"`
}

// Source says where the input series come from.
type Source struct {
	Type string `json:"type"`
	// For SourceDatasource: the data source and its own query model, as its editor produced it.
	Datasource *DataSourceRef  `json:"datasource,omitempty"`
	Query      json.RawMessage `json:"query,omitempty"`
	// For SourcePrometheus: a PromQL expression and an optional legend template ("{{instance}}").
	Expr         string `json:"expr,omitempty"`
	LegendFormat string `json:"legendFormat,omitempty"`
	// For SourceCSV: "timestamp,value[,more values]" text.
	CSV string `json:"csv,omitempty"`
}

// DetectorOptions configure detection. Empty fields take the engine's defaults.
type DetectorOptions struct {
	Method      string   `json:"method,omitempty"`      // auto (default), basic, robust, agile, changepoint
	Sensitivity *float64 `json:"sensitivity,omitempty"` // 0..100, default 50; higher flags more
	Direction   string   `json:"direction,omitempty"`   // both (default), up, down
	// Seasonality: "auto" (default), "none", "hourly", "daily", "weekly", or a duration such as "6h".
	Seasonality string `json:"seasonality,omitempty"`
	MinDuration string `json:"minDuration,omitempty"` // shortest anomaly reported, e.g. "5m"; default one point
	// History fetched before the panel's range so the band is ready at its left edge:
	// "" or "auto" (enough seasons for the method), "0" (none) or a duration such as "3d".
	History string `json:"history,omitempty"`
}

// AlertOptions shape the alert-ready frames.
type AlertOptions struct {
	// Enabled asks for alert frames even when the request does not come from alerting.
	Enabled bool   `json:"enabled,omitempty"`
	Mode    string `json:"mode,omitempty"`   // anomaly_fraction (default) or latest_score
	Window  string `json:"window,omitempty"` // trigger window for anomaly_fraction, default "10m"
}
