package source

import (
	"fmt"
	"slices"
	"strings"

	"github.com/sheepdog-anomaly/sheepdog/pkg/models"
	"github.com/sheepdog-anomaly/sheepdog/pkg/tscsv"
)

// CSVLimits bound inline CSV so a query cannot make the plugin parse megabytes
// of text on every refresh.
type CSVLimits struct {
	MaxBytes int64 // 0 = DefaultCSVMaxBytes
	MaxRows  int   // 0 = DefaultCSVMaxRows
	// MaxSeries bounds the value columns (label columns aside), checked on
	// the header before any row is parsed; 0 = models.DefaultMaxSeriesPerQuery.
	MaxSeries int
}

// Defaults for CSVLimits: the query model's limits, so the size a query
// may carry and the size parsed are the same.
const (
	DefaultCSVMaxBytes = models.MaxCSVBytes
	DefaultCSVMaxRows  = models.MaxCSVRows
)

func (l CSVLimits) withDefaults() CSVLimits {
	if l.MaxBytes <= 0 {
		l.MaxBytes = DefaultCSVMaxBytes
	}
	if l.MaxRows <= 0 {
		l.MaxRows = DefaultCSVMaxRows
	}
	if l.MaxSeries <= 0 {
		l.MaxSeries = models.DefaultMaxSeriesPerQuery
	}
	return l
}

// IsLabelColumn reports whether a CSV column holds ground-truth labels rather
// than a series: the shared labelled-dataset format is timestamp,value,label,
// and analysing 0/1 labels as a metric would only add noise.
func IsLabelColumn(name string) bool {
	switch strings.ToLower(strings.TrimSpace(name)) {
	case "label", "is_anomaly":
		return true
	}
	return false
}

// ParseCSV reads inline CSV ("timestamp,value[,more]"): the first column is the
// time, every further column becomes a series named by its header, except
// label columns (IsLabelColumn).
func ParseCSV(text string, limits CSVLimits) ([]Series, error) {
	limits = limits.withDefaults()
	if int64(len(text)) > limits.MaxBytes {
		return nil, fmt.Errorf("inline CSV is %s, over the %s limit: shorten it or query the data from a data source", humanBytes(int64(len(text))), humanBytes(limits.MaxBytes))
	}
	if strings.TrimSpace(text) == "" {
		return nil, fmt.Errorf("inline CSV is empty: expected a header such as timestamp,value and data rows")
	}
	table, err := tscsv.Read(strings.NewReader(text), tscsv.Options{MaxBytes: limits.MaxBytes, MaxRows: limits.MaxRows,
		CheckHeader: func(names []string) error { return checkCSVWidth(names, limits.MaxSeries) }})
	if err != nil {
		return nil, fmt.Errorf("inline CSV: %w", err)
	}
	out := make([]Series, 0, len(table.Names))
	first := true
	for i, name := range table.Names {
		if IsLabelColumn(name) {
			continue
		}
		times := table.Times
		if !first {
			// Each series owns its slices, so trimming one cannot disturb another.
			times = slices.Clone(table.Times)
		}
		s := Series{
			Name:        name,
			Labels:      map[string]string{},
			Times:       times,
			Values:      table.Columns[i],
			DisplayName: name,
			Duplicates:  table.Duplicates,
		}
		if err := checkSeries(s); err != nil {
			return nil, fmt.Errorf("inline CSV: %w", err)
		}
		out = append(out, s)
		first = false
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("inline CSV has no value column, only labels (%s): add a column of values after the timestamp", strings.Join(table.Names, ", "))
	}
	return out, nil
}

// checkCSVWidth refuses a header with more value columns than the series
// budget: 150,000 columns of 3 rows (1.2 MB of CSV) took 3.1 GB and 80 s to
// analyse, so the width is checked before a single row is parsed.
func checkCSVWidth(names []string, maxSeries int) error {
	n := 0
	for _, name := range names {
		if !IsLabelColumn(name) {
			n++
		}
	}
	if n > maxSeries {
		return fmt.Errorf("the header has %d value columns, over the budget of %d series per query: analyse fewer columns per query, or raise jsonData.maxSeriesPerQuery in the Sheepdog data source settings (an admin setting)", n, maxSeries)
	}
	return nil
}

func humanBytes(n int64) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	default:
		return fmt.Sprintf("%d bytes", n)
	}
}
