package models

import (
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"
)

// TestSeasonalityFixtures reads the engine's table of seasonality settings:
// a query's detector.seasonality follows the engine's one parser, and a bad
// value is an error naming the option.
func TestSeasonalityFixtures(t *testing.T) {
	raw, err := os.ReadFile("../engine/testdata/seasonality.json")
	if err != nil {
		t.Fatal(err)
	}
	var f struct{ Cases []struct{ In, Want string } }
	if err := json.Unmarshal(raw, &f); err != nil || len(f.Cases) == 0 {
		t.Fatalf("fixtures: %v", err)
	}
	for _, c := range f.Cases {
		q, _ := json.Marshal(map[string]any{"source": map[string]string{"type": "csv", "csv": "t,v\n1,1"},
			"detector": map[string]string{"seasonality": c.In}})
		pq, err := ParseQuery(q)
		if c.Want == "error" {
			if err == nil || !strings.Contains(err.Error(), "detector.seasonality") {
				t.Errorf("%q: err = %v, want one naming detector.seasonality", c.In, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%q: %v", c.In, err)
			continue
		}
		want := map[string]time.Duration{"detect": 0, "none": -1}[c.Want]
		if c.Want != "detect" && c.Want != "none" {
			want, _ = time.ParseDuration(c.Want)
		}
		if got := pq.Detector.Period; got != want {
			t.Errorf("%q: period %v, want %v", c.In, got, want)
		}
	}
}
