package models

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/sheepdog-anomaly/sheepdog/pkg/engine/enginetest"
)

// TestSeasonalityFixtures: a query's detector.seasonality means what the
// engine's table says, and a bad value is an error naming the option.
func TestSeasonalityFixtures(t *testing.T) {
	for _, c := range enginetest.SeasonalityCases() {
		q, _ := json.Marshal(map[string]any{"source": map[string]string{"type": "csv", "csv": "t,v\n1,1"},
			"detector": map[string]string{"seasonality": c.In}})
		pq, err := ParseQuery(q)
		if c.Want == "error" {
			if err == nil || !strings.Contains(err.Error(), "detector.seasonality") {
				t.Errorf("%q: err = %v, want one naming detector.seasonality", c.In, err)
			}
			continue
		}
		want, ok := map[string]time.Duration{"detect": 0, "none": -1}[c.Want]
		if !ok {
			want, _ = time.ParseDuration(c.Want)
		}
		if err != nil || pq.Detector.Period != want {
			t.Errorf("%q: period %v (%v), want %v", c.In, pq, err, want)
		}
	}
}
