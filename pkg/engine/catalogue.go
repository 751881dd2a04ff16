package engine

import (
	"fmt"
	"strings"
)

//go:generate go run ../../internal/gen/catalogue -o ../../src/generated/catalogue.ts

// Choice is one value of an enumerated option, with the words a person
// choosing it reads. This file is the only place that names them: the
// plugin's /detectors resource, the CLI's help and the frontend's
// src/generated/catalogue.ts (go run ./internal/gen/catalogue) are made from it.
type Choice struct {
	Value       string `json:"name"`
	Label       string `json:"label"`
	Description string `json:"description"`
}

// Methods lists the detectors, the default first. The descriptions follow
// docs/engine.md ("Detectors"): change both together.
var Methods = []Choice{
	{string(MethodAuto), "Auto", "Robust and agile side by side; flags what both find surprising. The right start for most metrics."},
	{string(MethodBasic), "Basic", "Robust level and scale, no seasonality: flat metrics; the cheapest."},
	{string(MethodRobust), "Robust", "Level and a detected seasonal profile (hourly, daily, weekly or any period): metrics with a cycle."},
	{string(MethodAgile), "Agile", "Fast level, trend and seasonal profile; re-levels within a few points: metrics that move around a lot."},
	{string(MethodChangepoint), "Change point", "Robust with a local trend and a two-sided CUSUM: small persistent level and trend shifts."},
}

// Directions lists which deviations can count as anomalies, the default first.
var Directions = []Choice{
	{string(DirectionBoth), "Both", "Above or below the band"},
	{string(DirectionUp), "Up", "Only above the band (spikes)"},
	{string(DirectionDown), "Down", "Only below the band (drops)"},
}

// Seasonalities lists the named seasonality settings ParseSeasonality
// accepts, the default first; any positive duration (6h) is accepted too.
var Seasonalities = []Choice{
	{"auto", "Auto-detect", "Period found in the data after three cycles"},
	{"none", "None", "No seasonal profile"},
	{"hourly", "Hourly", "A one-hour cycle"},
	{"daily", "Daily", "A one-day cycle"},
	{"weekly", "Weekly", "A one-week cycle"},
}

// Values lists the values of choices, in order.
func Values(choices []Choice) []string {
	out := make([]string, len(choices))
	for i, c := range choices {
		out[i] = c.Value
	}
	return out
}

// OneOf says "a, b or c" of choices' values, for errors and help texts.
func OneOf(choices []Choice) string {
	v := Values(choices)
	if len(v) < 2 {
		return strings.Join(v, "")
	}
	return strings.Join(v[:len(v)-1], ", ") + " or " + v[len(v)-1]
}

// parseChoice finds s (trimmed, any case) among choices; "" is the first.
func parseChoice(what, s string, choices []Choice) (string, error) {
	v := strings.ToLower(strings.TrimSpace(s))
	if v == "" {
		return choices[0].Value, nil
	}
	for _, c := range choices {
		if c.Value == v {
			return v, nil
		}
	}
	return "", fmt.Errorf("unknown %s %q (want %s)", what, s, OneOf(choices))
}
