package models

import (
	"strings"
	"testing"
)

func TestBudgetSettings(t *testing.T) {
	tests := []struct {
		name    string
		json    string
		want    Budgets
		wantErr string
	}{
		{"defaults", `{}`, Budgets{MaxSeriesPerQuery: 500, MaxPointsPerQuery: 1_500_000, MaxPointsPerRequest: 2_000_000, AlertCacheMaxBytes: 256 << 20}, ""},
		{"set", `{"maxSeriesPerQuery":2000,"maxPointsPerQuery":3000000,"maxPointsPerRequest":9000000,"alertCacheMaxMiB":1024}`,
			Budgets{MaxSeriesPerQuery: 2000, MaxPointsPerQuery: 3_000_000, MaxPointsPerRequest: 9_000_000, AlertCacheMaxBytes: 1 << 30}, ""},
		{"zero series", `{"maxSeriesPerQuery":0}`, Budgets{}, "maxSeriesPerQuery must be at least 1"},
		{"negative points", `{"maxPointsPerQuery":-5}`, Budgets{}, "maxPointsPerQuery must be at least 1"},
		{"zero cache", `{"alertCacheMaxMiB":0}`, Budgets{}, "alertCacheMaxMiB must be at least 1"},
		{"query over request", `{"maxPointsPerQuery":3000000}`, Budgets{}, "maxPointsPerQuery (3000000) is over maxPointsPerRequest (2000000)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := ParseSettings([]byte(tt.json), nil)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c.Budgets != tt.want {
				t.Errorf("budgets %+v, want %+v", c.Budgets, tt.want)
			}
		})
	}
}

// alert.window is bounded: each cached alert series keeps its recent outputs
// over the range plus the window, and the viewer sets both.
func TestAlertWindowBound(t *testing.T) {
	for _, tc := range []struct{ window, wantErr string }{
		{"24h", ""},
		{"1d", ""},
		{"25h", `alert.window "25h" is over the 24h maximum`},
		{"30d", `alert.window "30d" is over the 24h maximum`},
	} {
		_, err := ParseQuery([]byte(`{"source":{"type":"csv","csv":"t,v\n1,1"},"alert":{"window":"` + tc.window + `"}}`))
		if (tc.wantErr == "") != (err == nil) || err != nil && !strings.Contains(err.Error(), tc.wantErr) {
			t.Errorf("window %s: err = %v, want %q", tc.window, err, tc.wantErr)
		}
	}
}
