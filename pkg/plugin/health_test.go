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
		case "/api/datasources/uid/other-sd":
			io.WriteString(w, `{"uid":"other-sd","name":"Sheepdog 2","type":"sheepdog-anomaly-datasource"}`)
		case "/api/datasources/uid/locked", "/api/datasources/uid/listed":
			w.WriteHeader(http.StatusForbidden)
			io.WriteString(w, `{"message":"Permissions needed: datasources:read"}`)
		case "/api/frontend/settings": // grafana/grafana pkg/api/frontendsettings.go getFSDataSources
			io.WriteString(w, `{"datasources":{"Listed":{"id":4,"uid":"listed","name":"Listed","type":"prometheus"}}}`)
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
		// Queries read the source's type first (the loop guard), so without
		// datasources:read they fail too: a failure, not a warning.
		{"datasources:read missing fails", []string{"locked"}, token, false, "datasources:read", 0},
		// ... unless Grafana lists its type for the token's front end.
		{"datasources:read missing, type listed", []string{"listed"}, token, true, "Grafana accepted", 0},
		{"unknown data source", []string{"gone"}, token, false, "does not exist", 0},
		// The loop guard's refusals show in Save & test, not only per query.
		{"another Sheepdog allowed", []string{"other-sd"}, token, false, `type "sheepdog-anomaly-datasource"`, 0},
		{"a built-in pseudo data source allowed", []string{"-- Mixed --"}, token, false, "built-in", 0},
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

// TestHealthExplainsTheManagedServiceAccount: on a stock Grafana the default
// Source access has no token. Grafana turns managed service accounts on only
// with the externalServiceAccounts toggle and [auth]
// managed_service_accounts_enabled together (grafana/grafana
// pkg/services/accesscontrol/acimpl/service.go SaveExternalServiceRole), and
// creates the account in the main organisation only
// (pkg/services/extsvcauth/models.go TmpOrgID). Save & test must name both
// settings, and refuse the managed token outside organisation 1.
func TestHealthExplainsTheManagedServiceAccount(t *testing.T) {
	t.Setenv(config.AppClientSecret, "") // the SDK falls back to the environment
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, `{"uid":"prom","name":"Prometheus","type":"prometheus"}`)
	}))
	defer srv.Close()
	stock := config.WithGrafanaConfig(context.Background(), config.NewGrafanaCfg(map[string]string{config.AppURL: srv.URL}))
	managed := config.WithGrafanaConfig(context.Background(), config.NewGrafanaCfg(map[string]string{
		config.AppURL: srv.URL, config.AppClientSecret: "glsa_managed"}))
	inOrg := func(ctx context.Context, org int64) context.Context {
		return backend.WithPluginContext(ctx, backend.PluginContext{OrgID: org})
	}
	settings := []string{"GF_FEATURE_TOGGLES_ENABLE=externalServiceAccounts", "GF_AUTH_MANAGED_SERVICE_ACCOUNTS_ENABLED=true", "Service-account token"}
	tests := []struct {
		name    string
		ctx     context.Context
		allowed []string
		wantOK  bool
		want    []string
	}{
		{"stock Grafana, a source allowed: fails naming both settings", inOrg(stock, 1), []string{"prom"}, false, settings},
		{"stock Grafana, nothing allowed yet: ok, but says it now", inOrg(stock, 1), nil, true, append([]string{"before adding any"}, settings...)},
		{"managed token in the main organisation", inOrg(managed, 1), []string{"prom"}, true, []string{"managed service account"}},
		{"managed token in organisation 2 is refused", inOrg(managed, 2), []string{"prom"}, false, []string{"organisation 2", "main organisation", "Service-account token"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			js, _ := json.Marshal(map[string]any{"allowedDatasources": tt.allowed}) // default Source access
			d := newDatasource(backend.DataSourceInstanceSettings{UID: "sd", JSONData: js})
			defer d.Dispose()
			c := d.checkGrafanaSources(tt.ctx)
			if c.ok != tt.wantOK {
				t.Errorf("ok = %v, want %v: %q", c.ok, tt.wantOK, c.detail)
			}
			for _, w := range tt.want {
				if !strings.Contains(c.detail, w) {
					t.Errorf("detail %q does not say %q", c.detail, w)
				}
			}
			if strings.Contains(c.detail, "by default in recent") || strings.Contains(c.detail, "glsa_managed") {
				t.Errorf("detail %q", c.detail)
			}
		})
	}
}
