package source

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/grafana/grafana-plugin-sdk-go/config"

	"github.com/sheepdog-anomaly/sheepdog/pkg/models"
)

func TestSourcesFetchDispatches(t *testing.T) {
	t.Setenv(config.AppURL, "")
	t.Setenv(config.AppClientSecret, "")
	fg, gsrv := newFakeGrafana(t)
	fg.answer(http.StatusOK, "prometheus_range.json")
	_, psrv := newFakeProm(t, func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, matrixAnswer)
	})
	settings := models.Settings{
		PrometheusURL:      psrv.URL,
		PrometheusAuth:     models.PromAuthBearer,
		AllowedDatasources: []string{"prom-main"},
	}
	secure := map[string]string{models.SecurePrometheusToken: testToken}
	src := NewSources(settings, secure, CSVLimits{})
	defer src.Close()
	ctx := config.WithGrafanaConfig(context.Background(), config.NewGrafanaCfg(map[string]string{
		config.AppURL: gsrv.URL + "/grafana", config.AppClientSecret: grafanaToken,
	}))

	got, err := src.Fetch(ctx, models.Source{Type: models.SourceCSV, CSV: "timestamp,value\n1700000000,1\n"}, testRange, FetchOptions{})
	if err != nil || len(got) != 1 || got[0].Name != "value" {
		t.Errorf("csv: %v %v", got, err)
	}
	got, err = src.Fetch(ctx, models.Source{Type: models.SourcePrometheus, Expr: "up", LegendFormat: "{{instance}}"}, testRange, FetchOptions{})
	if err != nil || len(got) != 2 || got[0].DisplayName != "h1:9100" {
		t.Errorf("prometheus: %v %v", got, err)
	}
	ref := &models.DataSourceRef{UID: "prom-main", Type: "prometheus"}
	got, err = src.Fetch(ctx, models.Source{Type: models.SourceDatasource, Datasource: ref, Query: json.RawMessage(`{"expr":"cpu_usage"}`)}, testRange, FetchOptions{RefID: "B"})
	if err == nil || !strings.Contains(err.Error(), `no result for refId "B"`) {
		// The fixture answers refId A; asking for B must not silently take A's frames.
		t.Errorf("refId mismatch: %v %v", got, err)
	}
	got, err = src.Fetch(ctx, models.Source{Type: models.SourceDatasource, Datasource: ref, Query: json.RawMessage(`{"expr":"cpu_usage"}`)}, testRange, FetchOptions{})
	if err != nil || len(got) != 2 {
		t.Errorf("datasource: %v %v", got, err)
	}

	for _, tc := range []struct {
		src  models.Source
		want string
	}{
		{models.Source{}, "has no source"},
		{models.Source{Type: "influx"}, "unknown source type"},
		{models.Source{Type: models.SourceDatasource}, "no source data source is selected"},
		{models.Source{Type: models.SourceDatasource, Datasource: &models.DataSourceRef{UID: "other"}}, "not in the allow-list"},
		{models.Source{Type: models.SourcePrometheus}, "expression is empty"},
	} {
		if _, err := src.Fetch(ctx, tc.src, testRange, FetchOptions{}); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Fetch(%+v) err = %v, want %q", tc.src, err, tc.want)
		}
	}
	if n := fg.requestCount(); n != 2 {
		t.Errorf("Grafana received %d requests, want 2", n)
	}

	none := NewSources(models.Settings{}, nil, CSVLimits{})
	if _, err := none.Fetch(ctx, models.Source{Type: models.SourcePrometheus, Expr: "up"}, testRange, FetchOptions{}); err == nil || !strings.Contains(err.Error(), "no Prometheus URL") {
		t.Errorf("no URL: %v", err)
	}
}

func TestGrafanaCheckDataSource(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer "+grafanaToken {
			w.WriteHeader(http.StatusUnauthorized)
			io.WriteString(w, `{"message":"Invalid API key"}`)
			return
		}
		switch r.URL.Path {
		case "/api/datasources/uid/prom-main":
			io.WriteString(w, `{"id":1,"uid":"prom-main","orgId":1,"name":"Prometheus","type":"prometheus","access":"proxy","url":"http://prometheus:9090"}`)
		case "/api/datasources/uid/locked":
			w.WriteHeader(http.StatusForbidden)
			io.WriteString(w, `{"message":"You'll need additional permissions to perform this action. Permissions needed: datasources:read"}`)
		default:
			w.WriteHeader(http.StatusNotFound)
			io.WriteString(w, `{"message":"Data source not found"}`)
		}
	}))
	defer srv.Close()
	c, err := NewGrafanaClient(GrafanaConfig{AppURL: srv.URL, Token: grafanaToken, Allowed: []string{"prom-main", "locked", "gone"}})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	info, err := c.CheckDataSource(ctx, "prom-main")
	if err != nil || info.Name != "Prometheus" || info.Type != "prometheus" || info.UID != "prom-main" {
		t.Errorf("info %+v err %v", info, err)
	}
	if _, err := c.CheckDataSource(ctx, "locked"); err == nil || !strings.Contains(err.Error(), "cannot verify") {
		t.Errorf("403: %v", err)
	}
	if _, err := c.CheckDataSource(ctx, "gone"); err == nil || !strings.Contains(err.Error(), "does not exist") {
		t.Errorf("404: %v", err)
	}
	if _, err := c.CheckDataSource(ctx, "secret"); err == nil || !strings.Contains(err.Error(), "allow-list") {
		t.Errorf("not allowed: %v", err)
	}
	bad, _ := NewGrafanaClient(GrafanaConfig{AppURL: srv.URL, Token: "wrong", Allowed: []string{"prom-main"}})
	if _, err := bad.CheckDataSource(ctx, "prom-main"); err == nil || !strings.Contains(err.Error(), "HTTP 401") {
		t.Errorf("401: %v", err)
	}
}
