package models

import (
	"time"

	"github.com/sheepdog-anomaly/sheepdog/pkg/duration"
)

// ParseDuration reads the duration strings used in Grafana settings and queries:
// Go durations ("90s", "1h30m") plus days and weeks ("3d", "1w"), which Grafana
// users write and time.ParseDuration does not accept. It is pkg/duration's
// bounded parser (finite, not negative, at most duration.MaxText), so a bad
// value is refused at parse time with a 400 naming the option.
func ParseDuration(s string) (time.Duration, error) { return duration.Parse(s) }
