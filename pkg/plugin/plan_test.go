package plugin

import (
	"testing"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"

	"github.com/sheepdog-anomaly/sheepdog/pkg/models"
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
