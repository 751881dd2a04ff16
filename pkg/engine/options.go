package engine

import (
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/sheepdog-anomaly/sheepdog/pkg/duration"
)

// ParseMethod parses a detector name (any case); "" means auto.
func ParseMethod(s string) (Method, error) {
	v, err := parseChoice("method", s, Methods)
	return Method(v), err
}

// ParseDirection parses a direction name (any case); "" means both.
func ParseDirection(s string) (Direction, error) {
	v, err := parseChoice("direction", s, Directions)
	return Direction(v), err
}

// normalise fills defaults and rejects options that make no sense.
// Sensitivity 0 means the default; a negative sensitivity means 0 (the least
// sensitive setting), because the zero value must stay "default".
func normalise(opt Options) (Options, error) {
	m, err := ParseMethod(string(opt.Method))
	if err != nil {
		return opt, err
	}
	opt.Method = m
	d, err := ParseDirection(string(opt.Direction))
	if err != nil {
		return opt, err
	}
	opt.Direction = d
	switch {
	case math.IsNaN(opt.Sensitivity) || opt.Sensitivity > 100:
		return opt, fmt.Errorf("sensitivity %v out of range 0..100", opt.Sensitivity)
	case opt.Sensitivity == 0:
		opt.Sensitivity = DefaultSensitivity
	case opt.Sensitivity < 0:
		opt.Sensitivity = 0
	}
	if opt.MinDuration < 0 {
		return opt, fmt.Errorf("minimum duration %v is negative", opt.MinDuration)
	}
	if opt.WarmUp < 0 {
		return opt, fmt.Errorf("warm-up %d is negative", opt.WarmUp)
	}
	if opt.Period < 0 && opt.Period != NoSeasonality {
		return opt, fmt.Errorf("period %v is negative (use NoSeasonality to disable seasonality)", opt.Period)
	}
	if opt.Period > 0 && opt.Period < time.Millisecond {
		return opt, fmt.Errorf("period %v is shorter than a millisecond", opt.Period)
	}
	if opt.WarmUp == 0 {
		opt.WarmUp = defaultWarmUp
	}
	return opt, nil
}

// defaultWarmUp is the number of finite points a detector sees before it may
// flag: enough for a stable robust scale, short enough for small panels.
const defaultWarmUp = 30

// bandK is the band half-width in robust standard deviations for a
// sensitivity in 0..100: 10 at 0, 4 at the default 50, 1.6 at 100. It is
// strictly decreasing, so more sensitivity always means a narrower band.
func bandK(sensitivity float64) float64 {
	return 4 * math.Pow(2.5, (DefaultSensitivity-sensitivity)/50)
}

// scoreZ0 is the robust z that maps to score 0.5 (the default threshold).
const scoreZ0 = 4

// squash maps a robust z score to [0,1] with a fixed curve, so a score means
// the same deviation in units of the series' own noise on every series:
// z=2 -> 0.2, z=4 -> 0.5, z=7 -> 0.75, z=12 -> 0.9.
func squash(z float64) float64 {
	z = math.Abs(z)
	if !(z < 1e6) { // also catches NaN and +Inf
		if math.IsNaN(z) {
			return 0
		}
		return 1
	}
	z2 := z * z
	return z2 / (z2 + scoreZ0*scoreZ0)
}

// severityOf grades a window by its maximum score.
func severityOf(score float64) Severity {
	switch {
	case score >= 0.9:
		return SeverityCritical
	case score >= 0.75:
		return SeverityHigh
	case score >= 0.6:
		return SeverityMedium
	}
	return SeverityLow
}

// Validate checks that times are aligned with values and strictly
// increasing: what every detector (embedded or remote) and every source
// promises. Sources and the remote client call it rather than keep copies.
func (s Series) Validate() error { return validate(s) }

func validate(s Series) error {
	if len(s.Times) != len(s.Values) {
		return fmt.Errorf("series has %d times but %d values", len(s.Times), len(s.Values))
	}
	for i := 1; i < len(s.Times); i++ {
		switch {
		case s.Times[i] == s.Times[i-1]:
			return fmt.Errorf("duplicate timestamp %d at points %d and %d (merge or drop duplicates first)", s.Times[i], i-1, i)
		case s.Times[i] < s.Times[i-1]:
			return fmt.Errorf("timestamps not sorted: point %d (%d) is before point %d (%d)", i, s.Times[i], i-1, s.Times[i-1])
		}
	}
	return nil
}

// ParseSeasonality turns a seasonality setting (any case) into
// Options.Period: "" or "auto" detect it (0), "none", "off" or a zero
// duration ("0", as history takes it) disable it (NoSeasonality), "hourly", "daily" and "weekly" name calendar periods, and
// anything else is a positive duration such as "6h", "90m" or "2d" (d = 24h,
// w = 7d). It is the only seasonality parser: query models and the CLI call it.
func ParseSeasonality(s string) (time.Duration, error) {
	switch v := strings.ToLower(strings.TrimSpace(s)); v {
	case "", "auto":
		return 0, nil
	case "none", "off":
		return NoSeasonality, nil
	case "hourly":
		return time.Hour, nil
	case "daily":
		return 24 * time.Hour, nil
	case "weekly":
		return 7 * 24 * time.Hour, nil
	default:
		d, err := duration.Parse(v) // bounded: finite, not negative, at most duration.MaxText
		if err == nil && d == 0 {
			return NoSeasonality, nil
		}
		if err != nil {
			return 0, fmt.Errorf("seasonality %q: want %s or a positive duration such as 6h", s, strings.Join(Values(Seasonalities), ", "))
		}
		return d, nil
	}
}

// WithSensitivity returns o with sensitivity s (0..100) set explicitly: unlike
// assigning o.Sensitivity, s = 0 means "least sensitive", not "default".
func (o Options) WithSensitivity(s float64) Options {
	if s == 0 {
		s = -1
	}
	o.Sensitivity = s
	return o
}
