package plugin

import (
	"github.com/sheepdog-anomaly/sheepdog/pkg/engine"
	"github.com/sheepdog-anomaly/sheepdog/pkg/models"
)

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

// Catalogue is the /detectors resource: the engine's catalogue
// (engine.Methods, …) and the query model's choices, copied from neither.
type Catalogue struct {
	Methods      []engine.Choice `json:"methods"`
	Parameters   []Parameter     `json:"parameters"`
	Outputs      []string        `json:"outputs"`
	AlertModes   []string        `json:"alertModes"`
	DefaultAlert string          `json:"defaultAlertWindow"`
}

func detectorCatalogue() Catalogue {
	lo, hi := 0.0, 100.0
	return Catalogue{
		Methods: engine.Methods,
		Parameters: []Parameter{
			{Name: "method", Type: "enum", Default: engine.Methods[0].Value, Options: engine.Values(engine.Methods), Description: "Detector to run."},
			{Name: "sensitivity", Type: "number", Default: models.DefaultSensitivity, Min: &lo, Max: &hi, Description: "0..100; higher gives a narrower band and more anomalies."},
			{Name: "direction", Type: "enum", Default: engine.Directions[0].Value, Options: engine.Values(engine.Directions), Description: "Which deviations count as anomalies."},
			{Name: "seasonality", Type: "enum", Default: engine.Seasonalities[0].Value, Options: engine.Values(engine.Seasonalities), Description: "Season length, or a duration such as 6h."},
			{Name: "minDuration", Type: "duration", Default: "", Description: "Shortest anomaly reported, e.g. 5m; empty = one point."},
			{Name: "history", Type: "duration", Default: "auto", Description: "History fetched before the range so the band is ready at its left edge: auto, 0 or a duration such as 3d."},
		},
		Outputs:      models.AllOutputs,
		AlertModes:   []string{models.AlertAnomalyFraction, models.AlertLatestScore},
		DefaultAlert: models.DefaultAlertWindow.String(),
	}
}
