package duration

import (
	"strings"
	"testing"
	"time"
)

func TestParse(t *testing.T) {
	tests := []struct {
		in      string
		want    time.Duration
		wantErr string // substring; "" = must succeed
	}{
		{"90s", 90 * time.Second, ""},
		{" 1h30m ", 90 * time.Minute, ""},
		{"1.5h", 90 * time.Minute, ""},
		{"3d", 3 * Day, ""},
		{"1.5d", 36 * time.Hour, ""},
		{"1w", Week, ""},
		{"0", 0, ""},
		{"0d", 0, ""},
		{"366d", Max, ""},
		{"8784h", Max, ""},
		// Hostile inputs from issue 12 (#7): each wrapped around int64 before.
		{"Infd", 0, "invalid duration"},
		{"+Infw", 0, "invalid duration"},
		{"NaNd", 0, "invalid duration"},
		{"1e300d", 0, "invalid duration"},
		{"1e30w", 0, "invalid duration"},
		{"5100w", 0, "over the maximum of 366d"},
		{"367d", 0, "over the maximum of 366d"},
		{"52.5w", 0, "over the maximum of 366d"},
		{"99999999999999999999d", 0, "over the maximum of 366d"},
		{"2562047h", 0, "over the maximum of 366d"},
		{"9999999999999h", 0, "invalid duration"}, // overflows int64: time.ParseDuration refuses
		{"-1d", 0, "invalid duration"},
		{"-5m", 0, "must not be negative"},
		{"0x10d", 0, "invalid duration"},
		{"1_0d", 0, "invalid duration"},
		{"1..5d", 0, "invalid duration"},
		{".d", 0, "invalid duration"},
		{"d", 0, "invalid duration"},
		{"", 0, "empty duration"},
		{"5 m", 0, "invalid duration"},
		{"yesterday", 0, "invalid duration"},
	}
	for _, tt := range tests {
		got, err := Parse(tt.in)
		if tt.wantErr == "" {
			if err != nil || got != tt.want {
				t.Errorf("Parse(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
			t.Errorf("Parse(%q) = %v, %v; want an error containing %q", tt.in, got, err, tt.wantErr)
		}
		if got != 0 {
			t.Errorf("Parse(%q) returned %v with an error", tt.in, got)
		}
	}
}
