package plugin

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/grafana/grafana-plugin-sdk-go/data"

	"github.com/sheepdog-anomaly/sheepdog/pkg/models"
)

func TestQueryModeOrder(t *testing.T) {
	alertOn := `{"source":{"type":"prometheus","expr":"x"},"alert":{"enabled":true}}`
	alertOff := `{"source":{"type":"prometheus","expr":"x"}}`
	tests := []struct {
		name      string
		fromAlert bool
		refID     string
		queryType string
		js        string
		want      mode
	}{
		{"panel", false, "A", "", alertOff, modePanel},
		{"alert.enabled on a panel", false, "A", "", alertOn, modeAlert},
		{"alerting header", true, "A", "", alertOff, modeAlert},
		{"annotation by refId", false, "Anno", "", alertOff, modeAnnotations},
		{"annotation by refId with alert.enabled", false, "Anno", "", alertOn, modeAnnotations},
		{"annotation by queryType with alert.enabled", false, "X", QueryTypeAnnotations, alertOn, modeAnnotations},
		{"alerting header beats annotation", true, "Anno", QueryTypeAnnotations, alertOff, modeAlert},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pq, err := models.ParseQuery([]byte(tt.js))
			if err != nil {
				t.Fatal(err)
			}
			req := &backend.QueryDataRequest{Headers: map[string]string{}}
			if tt.fromAlert {
				req.Headers[backend.FromAlertHeaderName] = "true"
			}
			if got := queryMode(req, backend.DataQuery{RefID: tt.refID, QueryType: tt.queryType}, pq); got != tt.want {
				t.Errorf("mode %d, want %d", got, tt.want)
			}
		})
	}
}

func TestSheepdogCannotBeItsOwnSource(t *testing.T) {
	to := time.Date(2026, 1, 6, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name    string
		js      string
		headers map[string]string
		wantErr string // empty: the query is answered
	}{
		{"own uid", `{"source":{"type":"datasource","datasource":{"uid":"bench"},"query":{}}}`, nil, "Sheepdog data source"},
		{"another sheepdog", `{"source":{"type":"datasource","datasource":{"uid":"other","type":"sheepdog-anomaly-datasource"},"query":{}}}`, nil, "Sheepdog data source"},
		{"request from a sheepdog query", `{"source":{"type":"prometheus","expr":"x"}}`, map[string]string{FromSheepdogHeader: "1"}, FromSheepdogHeader},
		{"forwarded hop header", `{"source":{"type":"prometheus","expr":"x"}}`, map[string]string{"http_" + FromSheepdogHeader: "1"}, FromSheepdogHeader},
		{"ordinary source", `{"source":{"type":"prometheus","expr":"x"}}`, nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &recordingFetcher{memFetcher: memFetcher{series: genSeries(1, 600)}}
			d := benchDatasource(f)
			d.cfg.AllowedDatasources = []string{"*"}
			resp, err := d.QueryData(context.Background(), &backend.QueryDataRequest{Headers: tt.headers,
				Queries: []backend.DataQuery{query("A", tt.js, to.Add(-time.Hour), to)}})
			if err != nil {
				t.Fatal(err)
			}
			e := resp.Responses["A"].Error
			if tt.wantErr == "" {
				if e != nil {
					t.Fatalf("error %v", e)
				}
				if len(f.reqs) != 1 || f.reqs[0].Headers[FromSheepdogHeader] != "1" {
					t.Errorf("fetches %+v: want one carrying %s", f.reqs, FromSheepdogHeader)
				}
				return
			}
			if e == nil || !strings.Contains(e.Error(), tt.wantErr) {
				t.Errorf("error %v, want one mentioning %q", e, tt.wantErr)
			}
			if len(f.reqs) != 0 {
				t.Errorf("%d fetches made for a refused query", len(f.reqs))
			}
		})
	}
}

func TestDuplicateRefIDsAnswerErrors(t *testing.T) {
	f := &memFetcher{series: genSeries(1, 600)}
	d := benchDatasource(f)
	times := f.series[0].Times
	from, to := time.UnixMilli(times[300]), time.UnixMilli(times[599])
	js := `{"source":{"type":"prometheus","expr":"x"},"detector":{"history":"0"}}`
	tests := []struct {
		name   string
		refIDs []string
		errs   map[string]bool // refId -> want an error
	}{
		{"distinct", []string{"A", "B"}, map[string]bool{"A": false, "B": false}},
		{"duplicate", []string{"A", "A", "B"}, map[string]bool{"A": true, "B": false}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := &backend.QueryDataRequest{}
			for _, r := range tt.refIDs {
				req.Queries = append(req.Queries, query(r, js, from, to))
			}
			resp, _ := d.QueryData(context.Background(), req)
			for ref, wantErr := range tt.errs {
				r := resp.Responses[ref]
				if gotErr := r.Error != nil; gotErr != wantErr {
					t.Errorf("%s: error %v, want error %v", ref, r.Error, wantErr)
				}
				if wantErr && !strings.Contains(r.Error.Error(), "refId") {
					t.Errorf("%s: error %q does not name the refId problem", ref, r.Error)
				}
				if !wantErr && (len(r.Frames) == 0 || r.Frames[0].Meta.Type != data.FrameTypeTimeSeriesWide) {
					t.Errorf("%s: frames %v", ref, r.Frames)
				}
			}
		})
	}
}

func TestCancelledQueriesSayWhatWasCancelled(t *testing.T) {
	f := &memFetcher{series: genSeries(4, 3000)}
	d := benchDatasource(f)
	times := f.series[0].Times
	from, to := time.UnixMilli(times[2000]), time.UnixMilli(times[2999])
	js := `{"source":{"type":"prometheus","expr":"x"},"detector":{"history":"0"}}`
	tests := []struct {
		name    string
		headers map[string]string
		want    string
	}{
		{"panel", nil, "detection on 4 series: context canceled"},
		{"alert", map[string]string{backend.FromAlertHeaderName: "true"}, "causal detection for the alert of 4 series: context canceled"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			resp, _ := d.QueryData(ctx, &backend.QueryDataRequest{Headers: tt.headers, Queries: []backend.DataQuery{query("A", js, from, to)}})
			r := resp.Responses["A"]
			if r.Error == nil || !strings.Contains(r.Error.Error(), tt.want) {
				t.Fatalf("error %v, want %q", r.Error, tt.want)
			}
			if r.Status != backend.StatusTimeout {
				t.Errorf("status %v, want timeout", r.Status)
			}
		})
	}
}
