package plugin

import (
	"context"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
)

// A Mimir-style tenant behind a private CA: the data source must trust the CA
// from secureJsonData and send the tenant header from prometheusHeaderName1 /
// prometheusHeaderValue1 with every Prometheus request.
func TestPrometheusCustomHeadersAndCA(t *testing.T) {
	const tenant = "tenant-42"
	var mu sync.Mutex
	var tenants, auths []string
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		tenants = append(tenants, r.Header.Get("X-Scope-OrgID"))
		auths = append(auths, r.Header.Get("Authorization"))
		mu.Unlock()
		if r.Header.Get("X-Scope-OrgID") != tenant {
			http.Error(w, "no org id", http.StatusUnauthorized)
			return
		}
		if r.URL.Path != "/api/v1/query_range" {
			http.NotFound(w, r)
			return
		}
		start, end := 1767225600, 1767225600+3600
		var vals []string
		for ts := start; ts <= end; ts += 60 {
			vals = append(vals, fmt.Sprintf(`[%d,"%d"]`, ts, ts%7))
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"status":"success","data":{"resultType":"matrix","result":[{"metric":{"__name__":"up"},"values":[%s]}]}}`, strings.Join(vals, ","))
	}))
	defer srv.Close()
	caPEM := string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}))

	settings := func(secure map[string]string) backend.DataSourceInstanceSettings {
		js, _ := json.Marshal(map[string]any{"prometheusUrl": srv.URL, "prometheusHeaderName1": "X-Scope-OrgID",
			"prometheusAuth": "bearer"})
		return backend.DataSourceInstanceSettings{UID: "mimir", JSONData: js, DecryptedSecureJSONData: secure}
	}
	run := func(d *Datasource) backend.DataResponse {
		from := time.Unix(1767225600, 0)
		resp, err := d.QueryData(context.Background(), &backend.QueryDataRequest{Queries: []backend.DataQuery{
			query("A", `{"source":{"type":"prometheus","expr":"up"},"detector":{"history":"0"}}`, from, from.Add(time.Hour))}})
		if err != nil {
			t.Fatal(err)
		}
		return resp.Responses["A"]
	}

	d := newDatasource(settings(map[string]string{"prometheusTlsCaCert": caPEM, "prometheusHeaderValue1": tenant,
		"prometheusToken": "tok"}))
	defer d.Dispose()
	if d.cfgErr != nil || d.promErr != nil {
		t.Fatalf("settings rejected: %v %v", d.cfgErr, d.promErr)
	}
	if r := run(d); r.Error != nil || len(r.Frames) == 0 {
		t.Fatalf("query: %v, %d frames", r.Error, len(r.Frames))
	}
	mu.Lock()
	if len(tenants) == 0 || tenants[0] != tenant || auths[0] != "Bearer tok" {
		t.Errorf("server saw X-Scope-OrgID %q, Authorization %q", tenants, auths)
	}
	mu.Unlock()

	// Without the CA the private certificate is not trusted: the query fails
	// instead of silently skipping verification.
	noCA := newDatasource(settings(map[string]string{"prometheusHeaderValue1": tenant, "prometheusToken": "tok"}))
	defer noCA.Dispose()
	if r := run(noCA); r.Error == nil || !strings.Contains(r.Error.Error(), "certificate") {
		t.Errorf("without the CA: %v, want a certificate error", r.Error)
	}
}

func TestPrometheusAuthorizationHeaderRefused(t *testing.T) {
	const secret = "Bearer hunter2"
	d := newDatasource(backend.DataSourceInstanceSettings{UID: "x",
		JSONData:                []byte(`{"prometheusUrl":"http://127.0.0.1:1","prometheusHeaderName1":"Authorization"}`),
		DecryptedSecureJSONData: map[string]string{"prometheusHeaderValue1": secret}})
	if d.cfgErr == nil {
		t.Fatal("an Authorization custom header was accepted")
	}
	h, _ := d.CheckHealth(context.Background(), &backend.CheckHealthRequest{})
	if h.Status != backend.HealthStatusError || !strings.Contains(h.Message+string(h.JSONDetails), "authentication setting") {
		t.Errorf("health %v %q %s: want the Authorization refusal", h.Status, h.Message, h.JSONDetails)
	}
	if strings.Contains(h.Message+string(h.JSONDetails), "hunter2") {
		t.Errorf("health repeats the header value: %q", h.Message)
	}
}
