package plugin

import (
	"testing"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/grafana/grafana-plugin-sdk-go/backend/gtime"

	"github.com/sheepdog-anomaly/sheepdog/pkg/models"
	"github.com/sheepdog-anomaly/sheepdog/pkg/source"
)

func TestPlanStepFloorAndHistoryByDuration(t *testing.T) {
	to := time.Date(2026, 1, 10, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name        string
		js          string
		interval    time.Duration
		maxDP       int64
		span        time.Duration
		wantStep    time.Duration
		wantHistory time.Duration
		wantCapped  bool
	}{
		// An alert rule sends intervalMs=1000: 24h of auto history used to become 5h33m.
		{"datasource, alert 1s interval, auto", `{"source":{"type":"datasource","datasource":{"uid":"p"},"query":{"expr":"up"}}}`, time.Second, 43200, time.Hour, 15 * time.Second, 24 * time.Hour, false},
		{"datasource, panel 1m interval, auto", `{"source":{"type":"datasource","datasource":{"uid":"p"},"query":{"expr":"up"}}}`, time.Minute, 1000, 6 * time.Hour, time.Minute, 24 * time.Hour, false},
		{"datasource, no interval at all", `{"source":{"type":"datasource","datasource":{"uid":"p"},"query":{"expr":"up"}}}`, 0, 0, time.Hour, 15 * time.Second, 24 * time.Hour, false},
		{"prometheus 1s, daily", `{"source":{"type":"prometheus","expr":"x"},"detector":{"seasonality":"daily"}}`, time.Second, 43200, time.Hour, 15 * time.Second, 72 * time.Hour, false},
		{"explicit 90d history capped by duration", `{"source":{"type":"prometheus","expr":"x"},"detector":{"history":"90d"}}`, time.Hour, 1000, 24 * time.Hour, time.Hour, maxHistory, true},
		{"nested query's min interval", `{"source":{"type":"datasource","datasource":{"uid":"p"},"query":{"expr":"up","interval":"1m"}}}`, time.Second, 43200, time.Hour, time.Minute, 24 * time.Hour, false},
		{"nested min interval with >", `{"source":{"type":"datasource","datasource":{"uid":"p"},"query":{"expr":"up","interval":">30s"}}}`, time.Second, 43200, time.Hour, 30 * time.Second, 24 * time.Hour, false},
		{"nested interval variable ignored", `{"source":{"type":"datasource","datasource":{"uid":"p"},"query":{"expr":"up","interval":"$__interval"}}}`, time.Second, 43200, time.Hour, 15 * time.Second, 24 * time.Hour, false},
		{"csv keeps no step", `{"source":{"type":"csv","csv":"t,v\n1,1\n"}}`, time.Second, 100, time.Hour, 0, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pq, err := models.ParseQuery([]byte(tt.js))
			if err != nil {
				t.Fatal(err)
			}
			p, err := makePlan(pq, backend.DataQuery{Interval: tt.interval, MaxDataPoints: tt.maxDP,
				TimeRange: backend.TimeRange{From: to.Add(-tt.span), To: to}})
			if err != nil {
				t.Fatal(err)
			}
			if p.Step != tt.wantStep || p.History != tt.wantHistory || p.HistoryCapped != tt.wantCapped {
				t.Errorf("step %s history %s capped %v, want %s %s %v", p.Step, p.History, p.HistoryCapped, tt.wantStep, tt.wantHistory, tt.wantCapped)
			}
			if p.Step > 0 && p.History/p.Step > maxHistoryPoints {
				t.Errorf("history %s at %s is %d steps, over %d", p.History, p.Step, p.History/p.Step, maxHistoryPoints)
			}
		})
	}
}

// The same query run by a panel and by an alert rule fetches the same history.
func TestPanelAndAlertPlansShareHistory(t *testing.T) {
	to := time.Date(2026, 1, 10, 0, 0, 0, 0, time.UTC)
	for _, season := range []string{"auto", "daily", "weekly", "none"} {
		pq, err := models.ParseQuery([]byte(`{"source":{"type":"datasource","datasource":{"uid":"p"},"query":{"expr":"up"}},"detector":{"seasonality":"` + season + `"}}`))
		if err != nil {
			t.Fatal(err)
		}
		panel, _ := makePlan(pq, backend.DataQuery{Interval: time.Minute, MaxDataPoints: 1000, TimeRange: backend.TimeRange{From: to.Add(-6 * time.Hour), To: to}})
		alert, _ := makePlan(pq, backend.DataQuery{Interval: time.Second, MaxDataPoints: 43200, TimeRange: backend.TimeRange{From: to.Add(-6 * time.Hour), To: to}})
		if season != "none" && panel.History != alert.History {
			t.Errorf("%s: panel history %s, alert history %s", season, panel.History, alert.History)
		}
		if alert.History < time.Hour {
			t.Errorf("%s: alert history %s", season, alert.History)
		}
	}
}

// TestPlanFitsGrafanasPrometheusResolution: Grafana's Prometheus answers a
// range query with at most ~11,000 points per series, widening the step to
// gtime.RoundInterval(span/11000) itself (grafana/grafana
// pkg/promlib/models/query.go calculatePrometheusInterval, safeResolution;
// pkg/promlib/intervalv2 CalculateSafeInterval). A data-source source is
// planned within that over the whole fetch, history included, at a step
// Grafana keeps; a Prometheus URL source is chunked and keeps its own cap.
func TestPlanFitsGrafanasPrometheusResolution(t *testing.T) {
	to := time.Date(2026, 1, 10, 0, 0, 0, 0, time.UTC)
	ds := `{"source":{"type":"datasource","datasource":{"uid":"p"},"query":{"expr":"up"}},"detector":{"seasonality":"weekly"}}`
	prom := `{"source":{"type":"prometheus","expr":"up"},"detector":{"seasonality":"weekly"}}`
	tests := []struct {
		name     string
		js       string
		interval time.Duration
		span     time.Duration
		maxPts   int64
	}{
		// 21 days of weekly history + 1 day at 1m: 31,680 steps before.
		{"datasource, weekly history at 1m", ds, time.Minute, 24 * time.Hour, maxNestedPoints},
		{"datasource, alert at 1s", ds, time.Second, time.Hour, maxNestedPoints},
		{"datasource, a month of panel range", `{"source":{"type":"datasource","datasource":{"uid":"p"},"query":{"expr":"up"}},"detector":{"history":"0"}}`, 15 * time.Second, 30 * 24 * time.Hour, maxNestedPoints},
		{"prometheus URL keeps the history cap", prom, time.Minute, 24 * time.Hour, maxHistoryPoints + 24*60 + 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pq, err := models.ParseQuery([]byte(tt.js))
			if err != nil {
				t.Fatal(err)
			}
			q := backend.DataQuery{Interval: tt.interval, MaxDataPoints: 43200, TimeRange: backend.TimeRange{From: to.Add(-tt.span), To: to}}
			p, err := makePlan(pq, q)
			if err != nil {
				t.Fatal(err)
			}
			span := p.To.Sub(p.FetchFrom())
			points := int64(span/p.Step) + 1
			if points > tt.maxPts {
				t.Errorf("%d points at %s over %s, want at most %d", points, p.Step, span, tt.maxPts)
			}
			if tt.maxPts == maxNestedPoints {
				// Grafana's own step for this fetch (gtime.RoundInterval of
				// span/11000, the SDK's gtime.RoundInterval that promlib calls) must not be
				// wider than ours.
				if g := gtime.RoundInterval(span / maxNestedPoints); g > p.Step {
					t.Errorf("Grafana would widen %s to %s", p.Step, g)
				}
				if p.StepWidened && p.PointCap != maxNestedPoints {
					t.Errorf("PointCap %d", p.PointCap)
				}
			}
		})
	}
}

// TestObservedStep: the step is read from what the source returned (its
// median spacing), adopted only when wider than planned.
func TestObservedStep(t *testing.T) {
	mk := func(step int64, n int, gapAt int) source.Series {
		s := source.Series{}
		t0 := int64(1_767_225_600_000)
		for i := range n {
			if i == gapAt {
				t0 += 10 * step // one scrape gap does not move the median
			}
			s.Times = append(s.Times, t0+int64(i)*step)
		}
		return s
	}
	tests := []struct {
		name    string
		series  []source.Series
		planned time.Duration
		want    time.Duration
		adopted bool
	}{
		{"source widened 15s to 1m", []source.Series{mk(60_000, 500, 100), mk(60_000, 400, -1)}, 15 * time.Second, time.Minute, true},
		{"answered as asked", []source.Series{mk(30_000, 100, -1)}, 30 * time.Second, 30 * time.Second, false},
		{"raw samples finer than planned keep the plan", []source.Series{mk(5_000, 100, -1)}, 30 * time.Second, 30 * time.Second, false},
		{"nothing to measure", []source.Series{mk(60_000, 1, -1)}, 30 * time.Second, 30 * time.Second, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := plan{Step: tt.planned}
			if got := p.adoptObservedStep(tt.series); got != tt.adopted || p.Step != tt.want {
				t.Errorf("adopted %v step %s, want %v %s", got, p.Step, tt.adopted, tt.want)
			}
		})
	}
}
