// Package duration is the one parser of the duration strings users write in
// Sheepdog's settings, queries and command lines. It is bounded: a duration
// is finite, not negative and at most Max, so no option can wrap around
// int64 nanoseconds (1e30w), turn NaN into a date in 1734, or ask a source
// for a century of history.
package duration

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Max is the longest duration accepted anywhere: a year and a day, enough
// for any seasonality, history or timeout that makes sense.
const (
	Max     = 366 * Day
	MaxText = "366d"
)

// Day and Week are the units Grafana users write and time.ParseDuration lacks.
const (
	Day  = 24 * time.Hour
	Week = 7 * Day
)

// Parse reads a Go duration ("90s", "1h30m", "1.5h") or a whole or decimal
// number of days or weeks ("3d", "1.5d", "1w"). It refuses empty, negative,
// non-finite (Inf, NaN), exponent (1e30w) and over-Max values; the error
// quotes the input and says what is accepted, and callers prefix the option.
func Parse(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, fmt.Errorf("empty duration: want e.g. 90s, 15m, 6h, 3d or 1w")
	}
	var d time.Duration
	switch unit := s[len(s)-1]; unit {
	case 'd', 'w':
		num := s[:len(s)-1]
		// Digits and one decimal point only: ParseFloat would also take
		// Inf, NaN, exponents, hex and underscores.
		if !plainDecimal(num) {
			return 0, invalid(s)
		}
		n, err := strconv.ParseFloat(num, 64)
		if err != nil {
			return 0, invalid(s)
		}
		u := Day
		if unit == 'w' {
			u = Week
		}
		// Compared as floats, before converting: a float over MaxInt64
		// converts to an arbitrary int64.
		if n*float64(u) > float64(Max) {
			return 0, tooLong(s)
		}
		d = time.Duration(n * float64(u))
	default:
		var err error
		if d, err = time.ParseDuration(s); err != nil {
			// time.ParseDuration refuses overflow itself ("invalid duration").
			return 0, invalid(s)
		}
		if d < 0 {
			return 0, fmt.Errorf("invalid duration %q: must not be negative", s)
		}
		if d > Max {
			return 0, tooLong(s)
		}
	}
	return d, nil
}

func plainDecimal(s string) bool {
	digits, dots := 0, 0
	for _, r := range s {
		switch {
		case r >= '0' && r <= '9':
			digits++
		case r == '.':
			dots++
		default:
			return false
		}
	}
	return digits > 0 && dots <= 1
}

func invalid(s string) error {
	return fmt.Errorf("invalid duration %q: want e.g. 90s, 15m, 6h, 3d or 1w", s)
}

func tooLong(s string) error {
	return fmt.Errorf("duration %q is over the maximum of %s", s, MaxText)
}
