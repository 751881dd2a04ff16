//go:build integration

package integration

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/grafana/grafana-plugin-sdk-go/data"

	"github.com/sheepdog-anomaly/sheepdog/internal/harness"
	"github.com/sheepdog-anomaly/sheepdog/internal/testprom"
)

// fakeGrafana answers POST /api/ds/query the way Grafana does for its
// Prometheus data source - one "timeseries-multi" frame per series, labels
// with __name__, displayNameFromDS from the legend - by running the query on
// a real Prometheus. It also serves GET /api/datasources/uid/{uid}.
type fakeGrafana struct {
	*httptest.Server
	promURL string
	token   string
	known   map[string]bool // data source UIDs that exist

	mu       sync.Mutex
	requests []string // uids queried
	headers  []http.Header
}

func newFakeGrafana(t *testing.T, promURL, token string, known ...string) *fakeGrafana {
	g := &fakeGrafana{promURL: promURL, token: token, known: map[string]bool{}}
	for _, k := range known {
		g.known[k] = true
	}
	g.Server = httptest.NewServer(http.HandlerFunc(g.serve))
	t.Cleanup(g.Close)
	return g
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func (g *fakeGrafana) serve(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("Authorization") != "Bearer "+g.token {
		writeJSON(w, http.StatusUnauthorized, map[string]any{"message": "Unauthorized", "messageId": "auth.unauthorized", "statusCode": 401, "traceID": ""})
		return
	}
	switch {
	case r.Method == http.MethodGet && strings.HasPrefix(r.URL.Path, "/api/datasources/uid/"):
		uid := strings.TrimPrefix(r.URL.Path, "/api/datasources/uid/")
		if !g.known[uid] {
			writeJSON(w, http.StatusNotFound, map[string]any{"message": "Data source not found"})
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"id": 7, "uid": uid, "name": "Prometheus", "type": "prometheus", "access": "proxy", "url": g.promURL})
	case r.Method == http.MethodPost && r.URL.Path == "/api/ds/query":
		g.dsQuery(w, r)
	default:
		writeJSON(w, http.StatusNotFound, map[string]any{"message": "Not found"})
	}
}

func (g *fakeGrafana) dsQuery(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Queries []struct {
			RefID        string `json:"refId"`
			Expr         string `json:"expr"`
			LegendFormat string `json:"legendFormat"`
			IntervalMs   int64  `json:"intervalMs"`
			Datasource   struct {
				UID string `json:"uid"`
			} `json:"datasource"`
		} `json:"queries"`
		From string `json:"from"`
		To   string `json:"to"`
	}
	raw, _ := io.ReadAll(r.Body)
	if err := json.Unmarshal(raw, &body); err != nil || len(body.Queries) != 1 {
		writeJSON(w, http.StatusBadRequest, map[string]any{"message": "bad request"})
		return
	}
	q := body.Queries[0]
	g.mu.Lock()
	g.requests = append(g.requests, q.Datasource.UID)
	g.headers = append(g.headers, r.Header.Clone())
	g.mu.Unlock()
	if !g.known[q.Datasource.UID] {
		writeJSON(w, http.StatusNotFound, map[string]any{"message": "Data source not found", "traceID": ""})
		return
	}
	from, _ := strconv.ParseInt(body.From, 10, 64)
	to, _ := strconv.ParseInt(body.To, 10, 64)
	step := time.Duration(q.IntervalMs) * time.Millisecond
	resp := backend.NewQueryDataResponse()
	frames, err := promFrames(r.Context(), g.promURL, q.Expr, q.LegendFormat, q.RefID, from, to, step)
	if err != nil {
		resp.Responses[q.RefID] = backend.DataResponse{Error: err, Status: backend.StatusBadRequest}
		b, _ := json.Marshal(resp)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		w.Write(b)
		return
	}
	resp.Responses[q.RefID] = backend.DataResponse{Frames: frames, Status: backend.StatusOK}
	b, err := json.Marshal(resp)
	if err != nil {
		writeJSON(w, http.StatusInternalServerError, map[string]any{"message": err.Error()})
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Write(b)
}

// promFrames runs query_range and shapes the matrix as Grafana's Prometheus
// data source does.
func promFrames(ctx context.Context, promURL, expr, legend, refID string, from, to int64, step time.Duration) (data.Frames, error) {
	form := url.Values{"query": {expr}, "start": {strconv.FormatFloat(float64(from)/1000, 'f', -1, 64)},
		"end": {strconv.FormatFloat(float64(to)/1000, 'f', -1, 64)}, "step": {strconv.FormatFloat(step.Seconds(), 'f', -1, 64)}}
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, promURL+"/api/v1/query_range", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	var pr struct {
		Status string `json:"status"`
		Error  string `json:"error"`
		Data   struct {
			Result []struct {
				Metric map[string]string `json:"metric"`
				Values [][2]any          `json:"values"`
			} `json:"result"`
		} `json:"data"`
	}
	if err := json.NewDecoder(res.Body).Decode(&pr); err != nil {
		return nil, err
	}
	if pr.Status != "success" {
		return nil, fmt.Errorf("prometheus: %s", pr.Error)
	}
	var out data.Frames
	for _, s := range pr.Data.Result {
		ts := make([]time.Time, len(s.Values))
		vs := make([]float64, len(s.Values))
		for i, p := range s.Values {
			sec, _ := p[0].(float64)
			ts[i] = time.UnixMilli(int64(math.Round(sec * 1000))).UTC()
			vs[i], _ = strconv.ParseFloat(p[1].(string), 64)
		}
		name := s.Metric["__name__"]
		if name == "" {
			name = expr
		}
		tf := data.NewField("Time", nil, ts)
		tf.Config = &data.FieldConfig{Interval: float64(step.Milliseconds())}
		vf := data.NewField(name, data.Labels(s.Metric), vs)
		if legend != "" {
			disp := legend
			for k, v := range s.Metric {
				disp = strings.ReplaceAll(disp, "{{"+k+"}}", v)
			}
			vf.Config = &data.FieldConfig{DisplayNameFromDS: disp}
		}
		f := data.NewFrame("", tf, vf)
		f.RefID = refID
		f.Meta = &data.FrameMeta{Type: data.FrameTypeTimeSeriesMulti, TypeVersion: data.FrameTypeVersion{0, 1},
			Custom: map[string]any{"resultType": "matrix"}, ExecutedQueryString: "Expr: " + expr + "\nStep: " + step.String()}
		out = append(out, f)
	}
	return out, nil
}

func dsQuery(refID, uid string, from, to time.Time) harness.Query {
	return harness.Query{RefID: refID, From: from, To: to, Interval: 30 * time.Second, MaxDataPoints: 5000,
		JSON: map[string]any{"refId": refID, "source": map[string]any{
			"type":       "datasource",
			"datasource": map[string]any{"uid": uid, "type": "prometheus"},
			"query":      map[string]any{"refId": refID, "expr": "cpu_usage", "legendFormat": "{{host}}", "range": true},
		}}}
}

// TestGrafanaDatasourceSource queries another data source through the fake
// Grafana with the managed service account's token, checks the anomalies come
// through, that a data source off the allow-list is refused before any
// request, and what the health check says.
func TestGrafanaDatasourceSource(t *testing.T) {
	srv := testprom.Start(t, testprom.Options{})
	ds := srv.Data
	const token = "glsa_managed_secret_token_123"
	g := newFakeGrafana(t, srv.URL, token, "prom-main", "prom-secret")
	in := harness.Instance{UID: "sheepdog-ds", JSONData: map[string]any{"allowedDatasources": []string{"prom-main"}},
		AppURL: g.URL, ServiceAccountToken: token}

	from, to := ds.End.Add(-36*time.Hour), ds.End
	resp, err := plugin.QueryData(ctxT(t), in.QueryRequest(false, dsQuery("A", "prom-main", from, to), dsQuery("B", "prom-secret", from, to)))
	if err != nil {
		t.Fatal(err)
	}
	fs := mustOK(t, resp, "A")
	series := seriesFrames(fs)
	if len(series) != 2 {
		t.Fatalf("%d series frames, want 2", len(series))
	}
	fa := frameWithLabel(t, series, "host", "a")
	if got := fa.Fields[1].Config.DisplayNameFromDS; got != "a" {
		t.Errorf("display name = %q, want the source's legend \"a\"", got)
	}
	ws := windows(t, annotationFrame(t, fs))
	for _, a := range ds.AnomaliesOf("cpu_usage", map[string]string{"host": "a"}) {
		if a.Start.After(from) && len(overlapping(ws, a.Start, a.End, time.Minute, "host:a")) == 0 {
			t.Errorf("%s at %v not found through /api/ds/query", a.Kind, a.Start)
		}
	}

	// B is not on the allow-list: refused, and Grafana never asked.
	b := resp.Responses["B"]
	if b.Error == nil || !strings.Contains(b.Error.Error(), "allow-list") || b.Status != backend.StatusForbidden {
		t.Fatalf("B = %v (status %d), want a 403 naming the allow-list", b.Error, b.Status)
	}
	g.mu.Lock()
	for i, uid := range g.requests {
		if uid == "prom-secret" {
			t.Errorf("the refused data source was queried")
		}
		// Never sent: with a service-account token Grafana answers 401 for
		// any organisation but the token's (authn/clients/api_key.go
		// validateApiKey), and without it the token's organisation is used.
		if got := g.headers[i].Get("X-Grafana-Org-Id"); got != "" {
			t.Errorf("X-Grafana-Org-Id = %q sent", got)
		}
	}
	if len(g.requests) == 0 {
		t.Errorf("fake Grafana saw no request")
	}
	g.mu.Unlock()

	// Health: allowed source readable with the managed service account.
	h, err := plugin.CheckHealth(ctxT(t), in.PluginContext())
	if err != nil {
		t.Fatal(err)
	}
	if h.Status != backend.HealthStatusOk || !strings.Contains(h.Message, "prom-main") {
		t.Errorf("health = %v %q", h.Status, h.Message)
	}
	// Wrong token: health fails, says what to fix, and does not echo the token.
	bad := in
	bad.ServiceAccountToken = "glsa_wrong_token_456"
	h, err = plugin.CheckHealth(ctxT(t), bad.PluginContext())
	if err != nil {
		t.Fatal(err)
	}
	if h.Status != backend.HealthStatusError || !strings.Contains(h.Message, "401") || strings.Contains(h.Message, "glsa_") {
		t.Errorf("health with a wrong token = %v %q", h.Status, h.Message)
	}
	// No managed service account and no token: a clear per-query error.
	none := in
	none.ServiceAccountToken = ""
	none.UID = "sheepdog-ds-none"
	resp, err = plugin.QueryData(ctxT(t), none.QueryRequest(false, dsQuery("A", "prom-main", from, to)))
	if err != nil {
		t.Fatal(err)
	}
	if e := resp.Responses["A"].Error; e == nil || !strings.Contains(e.Error(), "service account") {
		t.Errorf("no token: error = %v", e)
	}
	// Allowed but missing data source: health names it.
	missing := in
	missing.UID = "sheepdog-ds-missing"
	missing.JSONData = map[string]any{"allowedDatasources": []string{"prom-main", "gone"}}
	h, _ = plugin.CheckHealth(ctxT(t), missing.PluginContext())
	if h.Status != backend.HealthStatusError || !strings.Contains(h.Message, `"gone"`) {
		t.Errorf("health with a missing allowed source = %v %q", h.Status, h.Message)
	}
	if strings.Contains(plugin.Logs(), token) {
		t.Errorf("the plugin logged the service-account token")
	}
}

// TestGrafanaAlertForwardsFromAlert: alert queries through /api/ds/query tell
// Grafana they come from alerting.
func TestGrafanaAlertForwardsFromAlert(t *testing.T) {
	srv := testprom.Start(t, testprom.Options{})
	const token = "glsa_alert_token"
	g := newFakeGrafana(t, srv.URL, token, "prom-main")
	in := harness.Instance{UID: "sheepdog-ds-alert", JSONData: map[string]any{"allowedDatasources": []string{"prom-main"}},
		AppURL: g.URL, ServiceAccountToken: token}
	to := srv.Data.End
	resp, err := plugin.QueryData(ctxT(t), in.QueryRequest(true, dsQuery("A", "prom-main", to.Add(-time.Hour), to)))
	if err != nil {
		t.Fatal(err)
	}
	fs := mustOK(t, resp, "A")
	if len(alertFields(t, fs)) != 2 {
		t.Fatalf("want alert fields for 2 hosts")
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if len(g.headers) == 0 || g.headers[0].Get("FromAlert") != "true" {
		t.Errorf("FromAlert not forwarded to /api/ds/query")
	}
}

// loopGrafana is a fake Grafana hosting two Sheepdog data sources (and a
// Prometheus one). Like Grafana, it answers GET /api/datasources/uid/:uid
// with the data source's type and runs POST /api/ds/query on the data
// source named by UID, whatever type the query claims
// (pkg/services/query/query.go getDataSourceFromQuery); a query for a
// Sheepdog data source runs in the real plugin binary. It forwards none of
// the incoming request's headers (X-Sheepdog-Depth included): Grafana
// forwards request headers to a plugin only with the
// grafana.datasourceForwardHeaders toggle and a per-data-source allow-list
// (clientmiddleware/forward_headers_middleware.go).
type loopGrafana struct {
	*httptest.Server
	token     string
	instances map[string]harness.Instance // Sheepdog data sources by UID
	// viewerToken makes the token a Viewer's (datasources:query only): the
	// per-UID lookup answers 403, /api/frontend/settings lists the types.
	viewerToken bool

	mu       sync.Mutex
	lookups  []string
	settings int      // /api/frontend/settings reads
	queries  []string // UIDs /api/ds/query ran, in order
}

const loopMaxHops = 8 // the fake's own brake, so old code fails instead of hanging

func (g *loopGrafana) serve(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("Authorization") != "Bearer "+g.token {
		writeJSON(w, http.StatusUnauthorized, map[string]any{"message": "Unauthorized"})
		return
	}
	switch {
	case g.viewerToken && r.Method == http.MethodGet && strings.HasPrefix(r.URL.Path, "/api/datasources/uid/"):
		writeJSON(w, http.StatusForbidden, map[string]any{"message": "You'll need additional permissions to perform this action. Permissions needed: datasources:read"})
	case r.Method == http.MethodGet && r.URL.Path == "/api/frontend/settings":
		// grafana/grafana pkg/api/frontendsettings.go getFSDataSources: by
		// name, each with uid and type (the plugin's id); any signed-in identity.
		g.mu.Lock()
		g.settings++
		g.mu.Unlock()
		list := map[string]any{"prom": map[string]any{"id": 1, "uid": "prom", "name": "prom", "type": "prometheus"},
			"-- Grafana --": map[string]any{"id": -1, "uid": "grafana", "name": "-- Grafana --", "type": "datasource"}}
		for uid := range g.instances {
			list[uid] = map[string]any{"id": 9, "uid": uid, "name": uid, "type": harness.PluginID}
		}
		writeJSON(w, http.StatusOK, map[string]any{"datasources": list, "buildInfo": map[string]any{"version": "13.0.0"}})
	case r.Method == http.MethodGet && strings.HasPrefix(r.URL.Path, "/api/datasources/uid/"):
		uid := strings.TrimPrefix(r.URL.Path, "/api/datasources/uid/")
		g.mu.Lock()
		g.lookups = append(g.lookups, uid)
		g.mu.Unlock()
		typ := "prometheus"
		if _, ok := g.instances[uid]; ok {
			typ = harness.PluginID
		}
		writeJSON(w, http.StatusOK, map[string]any{"id": 9, "uid": uid, "name": uid, "type": typ, "access": "proxy"})
	case r.Method == http.MethodPost && r.URL.Path == "/api/ds/query":
		var body struct {
			Queries []json.RawMessage `json:"queries"`
			From    string            `json:"from"`
			To      string            `json:"to"`
		}
		raw, _ := io.ReadAll(r.Body)
		if json.Unmarshal(raw, &body) != nil || len(body.Queries) != 1 {
			writeJSON(w, http.StatusBadRequest, map[string]any{"message": "bad request"})
			return
		}
		var q struct {
			RefID         string `json:"refId"`
			IntervalMs    int64  `json:"intervalMs"`
			MaxDataPoints int64  `json:"maxDataPoints"`
			Datasource    struct {
				UID string `json:"uid"`
			} `json:"datasource"`
		}
		_ = json.Unmarshal(body.Queries[0], &q)
		g.mu.Lock()
		g.queries = append(g.queries, q.Datasource.UID)
		hops := len(g.queries)
		g.mu.Unlock()
		in, ok := g.instances[q.Datasource.UID]
		if !ok || hops > loopMaxHops {
			writeJSON(w, http.StatusLoopDetected, map[string]any{"message": "fake Grafana: loop brake"})
			return
		}
		from, _ := strconv.ParseInt(body.From, 10, 64)
		to, _ := strconv.ParseInt(body.To, 10, 64)
		req := in.QueryRequest(false, harness.Query{RefID: q.RefID, JSON: body.Queries[0], From: time.UnixMilli(from), To: time.UnixMilli(to),
			Interval: time.Duration(q.IntervalMs) * time.Millisecond, MaxDataPoints: q.MaxDataPoints})
		resp, err := plugin.QueryData(r.Context(), req)
		if err != nil {
			writeJSON(w, http.StatusInternalServerError, map[string]any{"message": err.Error()})
			return
		}
		b, _ := json.Marshal(resp)
		w.Header().Set("Content-Type", "application/json")
		w.Write(b)
	default:
		writeJSON(w, http.StatusNotFound, map[string]any{"message": "Not found"})
	}
}

// nestedSheepdogQuery builds a Sheepdog query whose source is the Sheepdog
// data source uids[0] (claiming to be Prometheus), whose nested query has
// uids[1] as its source, and so on: the amplification query of issue 12 #1.
func nestedSheepdogQuery(uids []string) map[string]any {
	q := map[string]any{"refId": "A", "expr": "up"}
	for i := len(uids) - 1; i >= 0; i-- {
		q = map[string]any{"refId": "A", "source": map[string]any{"type": "datasource",
			"datasource": map[string]any{"uid": uids[i], "type": "prometheus"}, "query": q}}
	}
	return q
}

// TestSheepdogThroughSheepdogRefusedAtHop1: two Sheepdog data sources that
// allow every data source ("*") and a query nesting each in the other seven
// levels deep. Before the fix every hop ran (the nested query's claimed type
// was trusted and X-Sheepdog-Depth never reached the next hop); now the first
// Sheepdog reads the second's type from Grafana and refuses it, so
// /api/ds/query is never called. Grafana's pseudo data sources are refused
// without even a lookup.
func TestSheepdogThroughSheepdogRefusedAtHop1(t *testing.T) {
	const token = "glsa_loop_token"
	g := &loopGrafana{token: token, instances: map[string]harness.Instance{}}
	g.Server = httptest.NewServer(http.HandlerFunc(g.serve))
	t.Cleanup(g.Close)
	for i, uid := range []string{"sd-a", "sd-b"} {
		g.instances[uid] = harness.Instance{ID: int64(40 + i), UID: uid, Name: uid,
			JSONData: map[string]any{"allowedDatasources": []string{"*"}}, AppURL: g.URL, ServiceAccountToken: token}
	}
	to := time.Now().Truncate(time.Minute)
	q := harness.Query{RefID: "A", From: to.Add(-time.Hour), To: to, Interval: 30 * time.Second, MaxDataPoints: 1000,
		JSON: nestedSheepdogQuery([]string{"sd-b", "sd-a", "sd-b", "sd-a", "sd-b", "sd-a", "sd-b"})}
	start := time.Now()
	resp, err := plugin.QueryData(ctxT(t), g.instances["sd-a"].QueryRequest(false, q))
	if err != nil {
		t.Fatal(err)
	}
	a := resp.Responses["A"]
	if a.Error == nil || !strings.Contains(a.Error.Error(), `"sd-b"`) || !strings.Contains(a.Error.Error(), harness.PluginID) || a.Status != backend.StatusBadRequest {
		t.Errorf("A = %v (status %d), want a 400 naming sd-b and its type", a.Error, a.Status)
	}
	g.mu.Lock()
	if len(g.queries) != 0 || len(g.lookups) != 1 || g.lookups[0] != "sd-b" {
		t.Errorf("fake Grafana ran /api/ds/query for %v and looked up %v; want no query and one lookup of sd-b", g.queries, g.lookups)
	}
	g.lookups = nil
	g.mu.Unlock()
	t.Logf("refused in %s", time.Since(start).Round(time.Millisecond))

	// Built-in pseudo data sources, under "*" too: refused before any request.
	for _, uid := range []string{"-- Mixed --", "-- Dashboard --", "grafana", "__expr__"} {
		bq := q
		bq.JSON = map[string]any{"refId": "A", "source": map[string]any{"type": "datasource",
			"datasource": map[string]any{"uid": uid}, "query": map[string]any{"refId": "A"}}}
		resp, err := plugin.QueryData(ctxT(t), g.instances["sd-a"].QueryRequest(false, bq))
		if err != nil {
			t.Fatal(err)
		}
		if e := resp.Responses["A"].Error; e == nil || !strings.Contains(e.Error(), "built-in") {
			t.Errorf("%s: error %v, want a refusal naming Grafana's built-in data sources", uid, e)
		}
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if len(g.queries) != 0 || len(g.lookups) != 0 {
		t.Errorf("built-in sources reached Grafana: queries %v lookups %v", g.queries, g.lookups)
	}
}

// TestSheepdogThroughSheepdogRefusedWithAViewerToken: the same attack with a
// stored token of a Viewer's service account, which may query data sources
// but not read their settings (403). The type comes from
// /api/frontend/settings instead, and the second Sheepdog is still refused
// before any /api/ds/query; a UID Grafana does not list is refused too.
func TestSheepdogThroughSheepdogRefusedWithAViewerToken(t *testing.T) {
	const token = "glsa_viewer_token"
	g := &loopGrafana{token: token, instances: map[string]harness.Instance{}, viewerToken: true}
	g.Server = httptest.NewServer(http.HandlerFunc(g.serve))
	t.Cleanup(g.Close)
	for i, uid := range []string{"sd-va", "sd-vb"} {
		g.instances[uid] = harness.Instance{ID: int64(50 + i), UID: uid, Name: uid, AppURL: g.URL,
			JSONData: map[string]any{"allowedDatasources": []string{"*"}, "sourceAccess": "token"},
			Secure:   map[string]string{"grafanaToken": token}}
	}
	to := time.Now().Truncate(time.Minute)
	q := harness.Query{RefID: "A", From: to.Add(-time.Hour), To: to, Interval: 30 * time.Second, MaxDataPoints: 1000,
		JSON: nestedSheepdogQuery([]string{"sd-vb", "sd-va", "sd-vb", "sd-va"})}
	resp, err := plugin.QueryData(ctxT(t), g.instances["sd-va"].QueryRequest(false, q))
	if err != nil {
		t.Fatal(err)
	}
	if a := resp.Responses["A"]; a.Error == nil || !strings.Contains(a.Error.Error(), `"sd-vb"`) || !strings.Contains(a.Error.Error(), harness.PluginID) || a.Status != backend.StatusBadRequest {
		t.Errorf("A = %v (status %d), want a 400 naming sd-vb and its type", a.Error, a.Status)
	}
	q.JSON = map[string]any{"refId": "A", "source": map[string]any{"type": "datasource",
		"datasource": map[string]any{"uid": "unlisted", "type": "prometheus"}, "query": map[string]any{"refId": "A", "expr": "up"}}}
	resp, err = plugin.QueryData(ctxT(t), g.instances["sd-va"].QueryRequest(false, q))
	if err != nil {
		t.Fatal(err)
	}
	if a := resp.Responses["A"]; a.Error == nil || !strings.Contains(a.Error.Error(), "/api/frontend/settings") {
		t.Errorf("unlisted UID: %v, want a refusal saying it is in neither place", a.Error)
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if len(g.queries) != 0 || g.settings != 1 {
		t.Errorf("fake Grafana ran /api/ds/query for %v and was asked for its frontend settings %d times; want none and once", g.queries, g.settings)
	}
}

// TestHealthOnStockGrafana: the default Source access on a Grafana with
// managed service accounts off (the default: grafana/grafana
// pkg/services/accesscontrol/acimpl/service.go SaveExternalServiceRole
// needs both the externalServiceAccounts toggle and [auth]
// managed_service_accounts_enabled), so Grafana passes no
// GF_PLUGIN_APP_CLIENT_SECRET: Save & test names both settings and the
// token alternative. And the managed token in another organisation than
// the main one (extsvcauth TmpOrgID) is refused before any request.
func TestHealthOnStockGrafana(t *testing.T) {
	g := &loopGrafana{token: "glsa_x", instances: map[string]harness.Instance{}}
	g.Server = httptest.NewServer(http.HandlerFunc(g.serve))
	t.Cleanup(g.Close)
	stock := harness.Instance{UID: "sheepdog-stock", JSONData: map[string]any{"allowedDatasources": []string{"prom-main"}}, AppURL: g.URL}
	h, err := plugin.CheckHealth(ctxT(t), stock.PluginContext())
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"GF_FEATURE_TOGGLES_ENABLE=externalServiceAccounts", "GF_AUTH_MANAGED_SERVICE_ACCOUNTS_ENABLED=true", "Service-account token"} {
		if h.Status != backend.HealthStatusError || !strings.Contains(h.Message, want) {
			t.Errorf("health = %v %q, want an error saying %q", h.Status, h.Message, want)
		}
	}
	org2 := stock
	org2.UID, org2.ServiceAccountToken = "sheepdog-org2", "glsa_x"
	pc := org2.PluginContext()
	pc.OrgID = 2
	h, err = plugin.CheckHealth(ctxT(t), pc)
	if err != nil {
		t.Fatal(err)
	}
	if h.Status != backend.HealthStatusError || !strings.Contains(h.Message, "organisation 2") {
		t.Errorf("health in org 2 = %v %q", h.Status, h.Message)
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if len(g.lookups)+len(g.queries) != 0 {
		t.Errorf("Grafana was called: lookups %v queries %v", g.lookups, g.queries)
	}
}
