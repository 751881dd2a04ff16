package source

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/sheepdog-anomaly/sheepdog/pkg/models"
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

// One allow-list rule: CheckAllowed refuses exactly what models.AllowListed
// (and so models.Config.Allows) does not allow.
func TestCheckAllowedAgreesWithModels(t *testing.T) {
	tests := []struct {
		uid     string
		allowed []string
	}{
		{"prom", []string{"prom"}},
		{"prom", []string{"other"}},
		{"prom", []string{"*"}},
		{"prom", nil},
		{"", []string{"*"}},
		{" ", []string{" "}},
		{"*", []string{"prom"}},
	}
	for _, tt := range tests {
		want := models.AllowListed(tt.uid, tt.allowed)
		if got := CheckAllowed(tt.uid, tt.allowed) == nil; got != want {
			t.Errorf("uid %q allowed %q: CheckAllowed ok=%v, AllowListed=%v", tt.uid, tt.allowed, got, want)
		}
	}
	if DefaultCSVMaxBytes != models.MaxCSVBytes || DefaultCSVMaxRows != models.MaxCSVRows {
		t.Errorf("CSV limits differ: source %d bytes/%d rows, models %d/%d", DefaultCSVMaxBytes, DefaultCSVMaxRows, models.MaxCSVBytes, models.MaxCSVRows)
	}
}
