package apicontract

import (
	"strings"
	"testing"
	"time"
)

func TestParseTimestamp(t *testing.T) {
	cases := []struct {
		in      string
		want    int64
		wantErr string
	}{
		{"2026-01-01T00:00:00Z", 1767225600000, ""},
		{"2026-01-01T01:00:00+01:00", 1767225600000, ""},
		{"2026-01-01T00:00:00.250Z", 1767225600250, ""},
		{"1700000000", 1700000000000, ""},
		{"1700000000.5", 1700000000500, ""},
		{" 1700000000 ", 1700000000000, ""},
		{"", 0, "empty"},
		{"yesterday", 0, "neither RFC 3339"},
		{"NaN", 0, "neither RFC 3339"},
		{"1e20", 0, "neither RFC 3339"},
		{"2026-13-01T00:00:00Z", 0, "neither RFC 3339"},
	}
	for _, tc := range cases {
		got, err := ParseTimestamp(tc.in)
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("%q: err %v, want %q", tc.in, err, tc.wantErr)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("%q: %d %v, want %d", tc.in, got, err, tc.want)
		}
	}
	ms := int64(1767225600250)
	if back, err := ParseTimestamp(FormatTimestamp(ms)); err != nil || back != ms {
		t.Errorf("round trip %d -> %s -> %d %v", ms, FormatTimestamp(ms), back, err)
	}
}

func TestMaskKey(t *testing.T) {
	cases := map[string]string{
		"hs_abcd1234567890wxyz": "…wxyz",
		"hs_short":              "…",
		"secret":                "…",
		"":                      "…",
	}
	for in, want := range cases {
		got := MaskKey(in)
		if got != want {
			t.Errorf("MaskKey(%q) = %q, want %q", in, got, want)
		}
		// At most 4 characters of the key show (issue 12 #9: 11 of 16 did).
		if shown := len(strings.TrimPrefix(got, "…")); shown > 4 {
			t.Errorf("MaskKey(%q) shows %d characters", in, shown)
		}
	}
}

func TestRoutesAndGranularity(t *testing.T) {
	if got := AzurePath(PathEntire); got != "/anomalydetector/v1.1/timeseries/entire/detect" {
		t.Errorf("AzurePath = %q", got)
	}
	for g, want := range map[string]time.Duration{"minutely": time.Minute, "daily": 24 * time.Hour, "none": 0, "": 0} {
		if got, ok := GranularityStep(g); !ok || got != want {
			t.Errorf("GranularityStep(%q) = %s %v", g, got, ok)
		}
	}
	if _, ok := GranularityStep("fortnightly"); ok {
		t.Error("fortnightly accepted")
	}
	if ValidImputeMode("magic") || !ValidImputeMode("notFill") || !ValidImputeMode("") {
		t.Error("ValidImputeMode")
	}
}
