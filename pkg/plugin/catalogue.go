package plugin

import "github.com/sheepdog-anomaly/sheepdog/pkg/models"

// Parameter describes one detector option for the query editor.
type Parameter struct {
	Name        string   `json:"name"`
	Type        string   `json:"type"` // enum, number, duration
	Default     any      `json:"default"`
	Options     []string `json:"options,omitempty"`
	Min         *float64 `json:"min,omitempty"`
	Max         *float64 `json:"max,omitempty"`
	Description string   `json:"description"`
}

// MethodInfo describes one detector.
type MethodInfo struct {
	Name        string `json:"name"`
	Label       string `json:"label"`
	Description string `json:"description"`
}

// Catalogue is the /detectors resource.
type Catalogue struct {
	Methods      []MethodInfo `json:"methods"`
	Parameters   []Parameter  `json:"parameters"`
	Outputs      []string     `json:"outputs"`
	AlertModes   []string     `json:"alertModes"`
	DefaultAlert string       `json:"defaultAlertWindow"`
}

func detectorCatalogue() Catalogue {
	lo, hi := 0.0, 100.0
	return Catalogue{
		Methods: []MethodInfo{
			{"auto", "Auto", "Picks a detector from the series' shape: seasonality, level shifts and noise."},
			{"basic", "Basic", "Rolling mean and standard deviation; fast, for stable series without seasonality."},
			{"robust", "Robust", "Seasonal median and MAD; resists outliers and handles daily/weekly patterns."},
			{"agile", "Agile", "Adapts quickly to recent changes; for series whose level drifts."},
			{"changepoint", "Change point", "Flags lasting level or variance shifts rather than single spikes."},
		},
		Parameters: []Parameter{
			{Name: "method", Type: "enum", Default: "auto", Options: []string{"auto", "basic", "robust", "agile", "changepoint"}, Description: "Detector to run."},
			{Name: "sensitivity", Type: "number", Default: models.DefaultSensitivity, Min: &lo, Max: &hi, Description: "0..100; higher gives a narrower band and more anomalies."},
			{Name: "direction", Type: "enum", Default: "both", Options: []string{"both", "up", "down"}, Description: "Which deviations count as anomalies."},
			{Name: "seasonality", Type: "enum", Default: "auto", Options: []string{"auto", "none", "hourly", "daily", "weekly"}, Description: "Season length, or a duration such as 6h."},
			{Name: "minDuration", Type: "duration", Default: "", Description: "Shortest anomaly reported, e.g. 5m; empty = one point."},
			{Name: "history", Type: "duration", Default: "auto", Description: "History fetched before the range so the band is ready at its left edge: auto, 0 or a duration such as 3d."},
		},
		Outputs:      models.AllOutputs,
		AlertModes:   []string{models.AlertAnomalyFraction, models.AlertLatestScore},
		DefaultAlert: models.DefaultAlertWindow.String(),
	}
}
