package plugin

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/grafana/grafana-plugin-sdk-go/config"
)

func TestHealthChecksGrafanaSourcesWithTheToken(t *testing.T) {
	const token = "glsa_good"
	var userCalls atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer "+token {
			w.WriteHeader(http.StatusUnauthorized)
			io.WriteString(w, `{"message":"invalid API key"}`)
			return
		}
		switch r.URL.Path {
		case "/api/user":
			userCalls.Add(1)
			io.WriteString(w, `{"id":2,"login":"sa-sheepdog"}`)
		case "/api/datasources/uid/prom":
			io.WriteString(w, `{"uid":"prom","name":"Prometheus","type":"prometheus"}`)
		case "/api/datasources/uid/locked":
			w.WriteHeader(http.StatusForbidden)
			io.WriteString(w, `{"message":"Permissions needed: datasources:read"}`)
		case "/api/datasources/uid/moved":
			http.Redirect(w, r, "/login", http.StatusFound)
		case "/login":
			w.WriteHeader(http.StatusFound) // a redirect loop Grafana behind a wrong root_url can give
		default:
			w.WriteHeader(http.StatusNotFound)
			io.WriteString(w, `{"message":"Data source not found"}`)
		}
	}))
	defer srv.Close()
	ctx := config.WithGrafanaConfig(context.Background(), config.NewGrafanaCfg(map[string]string{config.AppURL: srv.URL}))

	tests := []struct {
		name      string
		allowed   []string
		token     string
		wantOK    bool
		want      string
		userCalls int64
	}{
		{"only * with a good token: one authenticated call", []string{"*"}, token, true, "none was looked up", 1},
		{"only * with a bad token", []string{"*"}, "glsa_bad", false, "HTTP 401", 1},
		{"readable data source", []string{"prom"}, token, true, "Grafana accepted", 0},
		{"datasources:read missing is a warning, not a failure", []string{"locked"}, token, true, "warning: cannot verify", 0},
		{"unknown data source", []string{"gone"}, token, false, "does not exist", 0},
		{"redirect explained", []string{"moved"}, token, false, "redirect", 0},
		{"bad token on a named data source", []string{"prom"}, "glsa_bad", false, "HTTP 401", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			userCalls.Store(0)
			js, _ := json.Marshal(map[string]any{"sourceAccess": "token", "allowedDatasources": tt.allowed})
			d := newDatasource(backend.DataSourceInstanceSettings{UID: "sd", JSONData: js,
				DecryptedSecureJSONData: map[string]string{"grafanaToken": tt.token}})
			defer d.Dispose()
			c := d.checkGrafanaSources(ctx)
			if c.ok != tt.wantOK || !strings.Contains(c.detail, tt.want) {
				t.Errorf("ok %v detail %q; want ok %v and %q", c.ok, c.detail, tt.wantOK, tt.want)
			}
			if strings.Contains(c.detail, tt.token) {
				t.Errorf("detail repeats the token: %q", c.detail)
			}
			if got := userCalls.Load(); got != tt.userCalls && tt.token == token {
				t.Errorf("%d calls to /api/user, want %d", got, tt.userCalls)
			}
		})
	}
}
