package plugin

import (
	"context"
	"fmt"
	"strings"

	"github.com/grafana/grafana-plugin-sdk-go/data"

	"github.com/sheepdog-anomaly/sheepdog/pkg/models"
	"github.com/sheepdog-anomaly/sheepdog/pkg/tscsv"
)

// inputSeries is one source series as the plugin analyses it.
type inputSeries struct {
	Name   string
	Labels data.Labels
	Unit   string
	Times  []int64 // unix ms, strictly increasing
	Values []float64
}

// readCSV parses inline CSV: one series per value column.
func readCSV(_ context.Context, text string) ([]inputSeries, error) {
	tab, err := tscsv.Read(strings.NewReader(text), tscsv.Options{MaxBytes: models.MaxCSVBytes, MaxRows: models.MaxCSVRows})
	if err != nil {
		return nil, fmt.Errorf("inline CSV: %w", err)
	}
	out := make([]inputSeries, len(tab.Names))
	for i, name := range tab.Names {
		out[i] = inputSeries{Name: name, Times: tab.Times, Values: tab.Columns[i]}
	}
	return out, nil
}
