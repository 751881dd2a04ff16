package engine

import (
	"testing"

	"github.com/sheepdog-anomaly/sheepdog/pkg/engine/enginetest"
)

// TestParseSeasonalityFixtures reads the table pkg/models's test reads too:
// the one parser's rules, in one place.
func TestParseSeasonalityFixtures(t *testing.T) {
	for _, c := range enginetest.SeasonalityCases() {
		got, err := ParseSeasonality(c.In)
		want := c.Want
		if w, ok := map[string]string{"detect": "0s", "none": NoSeasonality.String()}[c.Want]; ok {
			want = w
		}
		switch {
		case c.Want == "error":
			if err == nil {
				t.Errorf("%q: accepted as %v", c.In, got)
			}
		case err != nil:
			t.Errorf("%q: %v", c.In, err)
		case got.String() != want:
			t.Errorf("%q = %v; want %s", c.In, got, want)
		}
	}
}
