// Package enginetest holds fixtures that the engine's tests and the tests of
// the packages calling it read alike, so the two sides cannot disagree.
package enginetest

import (
	_ "embed"
	"encoding/json"
	"fmt"
)

//go:embed seasonality.json
var seasonalityJSON []byte

// SeasonalityCase is one seasonality setting and what it means: "detect",
// "none", a Go duration ("6h0m0s"), or "error".
type SeasonalityCase struct{ In, Want string }

// SeasonalityCases is the table behind engine.ParseSeasonality and the
// query model's detector.seasonality.
func SeasonalityCases() []SeasonalityCase {
	var f struct{ Cases []SeasonalityCase }
	if err := json.Unmarshal(seasonalityJSON, &f); err != nil || len(f.Cases) == 0 {
		panic(fmt.Sprintf("enginetest: seasonality.json has no cases (%v)", err))
	}
	return f.Cases
}
