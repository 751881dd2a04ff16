package engine

import (
	"encoding/json"
	"os"
	"testing"
)

// TestParseSeasonalityFixtures reads the table pkg/models's test reads too:
// the one parser's rules, in one place.
func TestParseSeasonalityFixtures(t *testing.T) {
	raw, err := os.ReadFile("testdata/seasonality.json")
	if err != nil {
		t.Fatal(err)
	}
	var f struct{ Cases []struct{ In, Want string } }
	if err := json.Unmarshal(raw, &f); err != nil || len(f.Cases) == 0 {
		t.Fatalf("fixtures: %v", err)
	}
	for _, c := range f.Cases {
		got, err := ParseSeasonality(c.In)
		switch c.Want {
		case "error":
			if err == nil {
				t.Errorf("%q: accepted as %v", c.In, got)
			}
			continue
		case "detect":
			c.Want = "0s"
		case "none":
			c.Want = NoSeasonality.String()
		}
		if err != nil || got.String() != c.Want {
			t.Errorf("%q = %v, %v; want %s", c.In, got, err, c.Want)
		}
	}
}
