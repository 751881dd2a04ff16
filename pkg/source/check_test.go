package source

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

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
