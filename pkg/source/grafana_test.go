package source

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/grafana/grafana-plugin-sdk-go/config"
	"github.com/grafana/grafana-plugin-sdk-go/data"

	"github.com/sheepdog-anomaly/sheepdog/internal/testprom"
	"github.com/sheepdog-anomaly/sheepdog/pkg/models"
)

const grafanaToken = "glsa_testtoken_0123456789"

// fakeGrafana answers POST /api/ds/query with a fixture written the way
// Grafana answers, and records each request body.
type fakeGrafana struct {
	mu       sync.Mutex
	status   int
	fixture  string
	requests []map[string]any
	headers  []http.Header
	lookups  int // GET /api/datasources/uid/:uid answered
}

// dataSourceTypes are the plugin types the fake Grafanas report by UID, as
// GET /api/datasources/uid/:uid does (grafana/grafana pkg/api/datasources.go
// GetDataSourceByUID: the data source's settings, "type" among them).
var dataSourceTypes = map[string]string{
	"prom-main": "prometheus", "pg-metrics": "grafana-postgresql-datasource", "prom": "prometheus",
	"other-sheepdog": "sheepdog-anomaly-datasource", "typeless": "",
}

// answerDataSourceType answers a data source lookup, reporting whether r was one.
func answerDataSourceType(w http.ResponseWriter, r *http.Request) bool {
	i := strings.Index(r.URL.Path, "/api/datasources/uid/")
	if r.Method != http.MethodGet || i < 0 {
		return false
	}
	uid := r.URL.Path[i+len("/api/datasources/uid/"):]
	typ, ok := dataSourceTypes[uid]
	if !ok {
		w.WriteHeader(http.StatusNotFound)
		io.WriteString(w, `{"message":"Data source not found"}`)
		return true
	}
	b, _ := json.Marshal(map[string]any{"id": 3, "uid": uid, "orgId": 1, "name": uid, "type": typ, "access": "proxy"})
	w.Write(b)
	return true
}

func newFakeGrafana(t *testing.T) (*fakeGrafana, *httptest.Server) {
	t.Helper()
	fg := &fakeGrafana{status: http.StatusOK}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fg.mu.Lock()
		defer fg.mu.Unlock()
		if r.Header.Get("Authorization") == "Bearer "+grafanaToken && answerDataSourceType(w, r) {
			fg.lookups++
			return
		}
		if r.Method != http.MethodPost || r.URL.Path != "/grafana/api/ds/query" {
			w.WriteHeader(http.StatusNotFound)
			io.WriteString(w, `{"message":"Not found"}`)
			return
		}
		if r.Header.Get("Authorization") != "Bearer "+grafanaToken {
			w.WriteHeader(http.StatusUnauthorized)
			io.WriteString(w, `{"message":"Unauthorized"}`)
			return
		}
		var body map[string]any
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
			t.Errorf("request body: %v", err)
		}
		fg.requests = append(fg.requests, body)
		fg.headers = append(fg.headers, r.Header.Clone())
		raw, err := os.ReadFile(filepath.Join("testdata", "grafana", fg.fixture))
		if err != nil {
			t.Errorf("fixture: %v", err)
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(fg.status)
		w.Write(raw)
	}))
	t.Cleanup(srv.Close)
	return fg, srv
}

func (fg *fakeGrafana) answer(status int, fixture string) {
	fg.mu.Lock()
	defer fg.mu.Unlock()
	fg.status, fg.fixture = status, fixture
}

func (fg *fakeGrafana) requestCount() int {
	fg.mu.Lock()
	defer fg.mu.Unlock()
	return len(fg.requests)
}

var (
	promRef   = models.DataSourceRef{UID: "prom-main", Type: "prometheus"}
	sqlRef    = models.DataSourceRef{UID: "pg-metrics", Type: "grafana-postgresql-datasource"}
	testRange = Range{From: time.UnixMilli(1767225600000), To: time.UnixMilli(1767229200000), Step: time.Minute, MaxDataPoints: 1000}
)

func newTestGrafanaClient(t *testing.T, srv *httptest.Server) *GrafanaClient {
	t.Helper()
	c, err := NewGrafanaClient(GrafanaConfig{AppURL: srv.URL + "/grafana/", Token: grafanaToken, Allowed: []string{promRef.UID, sqlRef.UID}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

func TestGrafanaQueryBuildsTheRequestGrafanaExpects(t *testing.T) {
	fg, srv := newFakeGrafana(t)
	fg.answer(http.StatusOK, "prometheus_range.json")
	c := newTestGrafanaClient(t, srv)
	nested := json.RawMessage(`{"refId":"C","expr":"cpu_usage","range":true,"instant":false,"legendFormat":"{{host}}",
		"datasource":{"uid":"someone-else","type":"loki"},"datasourceId":7,"timeRange":{"from":"0","to":"1"}}`)
	_, err := c.Query(context.Background(), promRef, nested, testRange, GrafanaQueryOptions{Headers: map[string]string{"FromAlert": "true", "Authorization": "Bearer forged"}})
	if err != nil {
		t.Fatal(err)
	}
	body := fg.requests[0]
	if body["from"] != "1767225600000" || body["to"] != "1767229200000" {
		t.Errorf("from/to = %v/%v, want epoch-ms strings", body["from"], body["to"])
	}
	queries := body["queries"].([]any)
	if len(queries) != 1 {
		t.Fatalf("%d queries", len(queries))
	}
	q := queries[0].(map[string]any)
	ds := q["datasource"].(map[string]any)
	if ds["uid"] != "prom-main" || ds["type"] != "prometheus" {
		t.Errorf("datasource = %v: the nested query's own datasource must be overridden", ds)
	}
	if _, ok := q["datasourceId"]; ok {
		t.Error("datasourceId kept: it could point at another data source")
	}
	if _, ok := q["timeRange"]; ok {
		t.Error("timeRange kept: it would override the range")
	}
	if q["refId"] != "A" || q["expr"] != "cpu_usage" || q["legendFormat"] != "{{host}}" || q["range"] != true {
		t.Errorf("nested fields not passed through: %v", q)
	}
	if q["intervalMs"] != float64(60000) || q["maxDataPoints"] != float64(1000) {
		t.Errorf("intervalMs %v maxDataPoints %v", q["intervalMs"], q["maxDataPoints"])
	}
	if fg.headers[0].Get("FromAlert") != "true" {
		t.Error("FromAlert header not forwarded")
	}
}

func TestGrafanaQueryDecodesRealResponseShapes(t *testing.T) {
	fg, srv := newFakeGrafana(t)
	c := newTestGrafanaClient(t, srv)
	nan := math.NaN()
	type want struct {
		name, display, unit string
		labels              map[string]string
		times               []int64
		values              []float64
	}
	tests := []struct {
		fixture string
		ref     models.DataSourceRef
		want    []want
	}{
		{
			fixture: "prometheus_range.json",
			ref:     promRef,
			want: []want{
				{"cpu_usage", "a", "", map[string]string{"host": "a", "job": "node"}, []int64{1767225600000, 1767225660000, 1767225720000, 1767225780000}, []float64{41.5, nan, 43.25, math.Inf(1)}},
				{"cpu_usage", "b", "", map[string]string{"host": "b", "job": "node"}, []int64{1767225600000, 1767225660000}, []float64{12, 13.5}},
			},
		},
		{
			fixture: "prometheus_rate_no_name.json",
			ref:     promRef,
			want: []want{
				{"Value", `{service="api"}`, "", map[string]string{"service": "api"}, []int64{1767225600000, 1767225660000}, []float64{50.5, 52}},
			},
		},
		{
			// Exemplars ride along in a long frame of their own: not a series.
			fixture: "prometheus_with_exemplars.json",
			ref:     promRef,
			want: []want{
				{"Value", "0.5", "", map[string]string{"le": "0.5"}, []int64{1767225600000, 1767225660000}, []float64{3, 4}},
			},
		},
		{
			// A long SQL table: unsorted rows, a null time, hosts as a string column.
			fixture: "sql_long.json",
			ref:     sqlRef,
			want: []want{
				{"cpu", `cpu{host="a"}`, "percent", map[string]string{"host": "a"}, []int64{1767225600000, 1767225660000, 1767225720000}, []float64{10, 11.5, 12}},
				{"cpu", `cpu{host="b"}`, "percent", map[string]string{"host": "b"}, []int64{1767225600000, 1767225660000, 1767225720000}, []float64{20, nan, nan}},
				{"mem_mb", `mem_mb{host="a"}`, "decmbytes", map[string]string{"host": "a"}, []int64{1767225600000, 1767225660000, 1767225720000}, []float64{1000, 1024, nan}},
				{"mem_mb", `mem_mb{host="b"}`, "decmbytes", map[string]string{"host": "b"}, []int64{1767225600000, 1767225660000, 1767225720000}, []float64{2000, 2100, nan}},
			},
		},
		{
			// A wide frame with several numeric fields and a string column: the
			// string column is a factor, so the frame is long with one combination.
			fixture: "wide_units.json",
			ref:     promRef,
			want: []want{
				{"load1", "Load (a)", "short", map[string]string{"host": "a", "state": "ok"}, []int64{1767225600000, 1767225660000, 1767225720000}, []float64{0.5, 0.75, 1.25}},
				{"uptime", `uptime{host="a", state="ok"}`, "s", map[string]string{"host": "a", "state": "ok"}, []int64{1767225600000, 1767225660000, 1767225720000}, []float64{3600, 3660, 3720}},
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.fixture, func(t *testing.T) {
			fg.answer(http.StatusOK, tc.fixture)
			got, err := c.Query(context.Background(), tc.ref, json.RawMessage(`{"expr":"x"}`), testRange, GrafanaQueryOptions{})
			if err != nil {
				t.Fatal(err)
			}
			sort.Slice(got, func(i, j int) bool { return got[i].DisplayName < got[j].DisplayName })
			sort.Slice(tc.want, func(i, j int) bool { return tc.want[i].display < tc.want[j].display })
			if len(got) != len(tc.want) {
				t.Fatalf("got %d series, want %d: %+v", len(got), len(tc.want), got)
			}
			for i, w := range tc.want {
				g := got[i]
				if g.Name != w.name || g.DisplayName != w.display || g.Unit != w.unit || fmt.Sprint(g.Labels) != fmt.Sprint(w.labels) {
					t.Errorf("series %d: name %q display %q unit %q labels %v; want %q %q %q %v", i, g.Name, g.DisplayName, g.Unit, g.Labels, w.name, w.display, w.unit, w.labels)
				}
				if fmt.Sprint(g.Times) != fmt.Sprint(w.times) || fmt.Sprint(g.Values) != fmt.Sprint(w.values) {
					t.Errorf("series %d (%s): points %v %v; want %v %v", i, g.DisplayName, g.Times, g.Values, w.times, w.values)
				}
			}
		})
	}
}

func TestGrafanaQueryErrors(t *testing.T) {
	fg, srv := newFakeGrafana(t)
	c := newTestGrafanaClient(t, srv)
	tests := []struct {
		name       string
		status     int
		fixture    string
		wantAccess bool
		want       []string
	}{
		{"source error per refId", http.StatusBadRequest, "error_bad_data.json", false, []string{`"prom-main"`, "status 400", "parse error: unclosed left parenthesis"}},
		{"forbidden", http.StatusForbidden, "forbidden.json", true, []string{"HTTP 403", "datasources:query", `"prom-main"`}},
		{"unauthorized", http.StatusUnauthorized, "unauthorized.json", true, []string{"HTTP 401", "Invalid API key", "service account"}},
		{"not found", http.StatusNotFound, "not_found.json", false, []string{"not found", "HTTP 404"}},
		{"only log frames", http.StatusOK, "logs_only.json", false, []string{"not time series"}},
		{"server error without results", http.StatusInternalServerError, "not_found.json", false, []string{"HTTP 500", "Data source not found"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fg.answer(tc.status, tc.fixture)
			_, err := c.Query(context.Background(), promRef, json.RawMessage(`{"expr":"up"}`), testRange, GrafanaQueryOptions{})
			if err == nil {
				t.Fatal("no error")
			}
			if errors.Is(err, ErrSourceAccess) != tc.wantAccess {
				t.Errorf("errors.Is(ErrSourceAccess) = %v, want %v", !tc.wantAccess, tc.wantAccess)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
			if strings.Contains(err.Error(), grafanaToken) {
				t.Errorf("error leaks the token")
			}
		})
	}
	var serr *SourceError
	fg.answer(http.StatusBadRequest, "error_bad_data.json")
	_, err := c.Query(context.Background(), promRef, nil, testRange, GrafanaQueryOptions{})
	if !errors.As(err, &serr) || serr.Status != 400 || serr.UID != "prom-main" {
		t.Errorf("err = %#v, want a SourceError", err)
	}
}

func TestGrafanaQueryEnforcesTheAllowList(t *testing.T) {
	fg, srv := newFakeGrafana(t)
	fg.answer(http.StatusOK, "prometheus_range.json")
	c := newTestGrafanaClient(t, srv)
	for _, ref := range []models.DataSourceRef{{UID: "secret-db", Type: "mysql"}, {UID: ""}, {UID: "PROM-MAIN"}} {
		_, err := c.Query(context.Background(), ref, json.RawMessage(`{"datasource":{"uid":"prom-main"}}`), testRange, GrafanaQueryOptions{})
		if err == nil {
			t.Errorf("data source %q was queried", ref.UID)
		}
	}
	if n := fg.requestCount(); n != 0 {
		t.Fatalf("Grafana received %d requests for data sources outside the allow-list", n)
	}

	open, err := NewGrafanaClient(GrafanaConfig{AppURL: srv.URL + "/grafana", Token: grafanaToken})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := open.Query(context.Background(), promRef, nil, testRange, GrafanaQueryOptions{}); err == nil || !strings.Contains(err.Error(), "allow-list") {
		t.Errorf("empty allow-list: err = %v", err)
	}
}

func TestCheckAllowed(t *testing.T) {
	for _, tc := range []struct {
		uid     string
		allowed []string
		want    string
	}{
		{"a", []string{"a", "b"}, ""},
		{"anything", []string{"a", AllowAll}, ""},
		{"c", []string{"a", "b"}, "not in the allow-list"},
		{"a", nil, "no source data sources are allowed"},
		{" ", []string{"a"}, "no source data source is selected"},
	} {
		err := CheckAllowed(tc.uid, tc.allowed)
		if (tc.want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tc.want)) {
			t.Errorf("CheckAllowed(%q, %v) = %v, want %q", tc.uid, tc.allowed, err, tc.want)
		}
	}
}

func TestGrafanaConfigFromContext(t *testing.T) {
	t.Setenv(config.AppURL, "")
	t.Setenv(config.AppClientSecret, "")
	withCfg := func(m map[string]string) context.Context {
		return config.WithGrafanaConfig(context.Background(), config.NewGrafanaCfg(m))
	}
	full := withCfg(map[string]string{config.AppURL: "http://grafana:3000/", config.AppClientSecret: "managed-token"})
	allowed := []string{"prom-main"}

	cfg, err := GrafanaConfigFromContext(full, "", nil, allowed)
	if err != nil || cfg.AppURL != "http://grafana:3000/" || cfg.Token != "managed-token" || cfg.Allowed[0] != "prom-main" {
		t.Errorf("managed service account: %+v %v", cfg, err)
	}
	cfg, err = GrafanaConfigFromContext(full, models.AccessToken, map[string]string{models.SecureGrafanaToken: " stored-token\n"}, allowed)
	if err != nil || cfg.Token != "stored-token" {
		t.Errorf("stored token: %+v %v", cfg, err)
	}
	noSecret := withCfg(map[string]string{config.AppURL: "http://grafana:3000/"})
	if _, err := GrafanaConfigFromContext(noSecret, models.AccessServiceAccount, nil, allowed); err == nil || !strings.Contains(err.Error(), "externalServiceAccounts") {
		t.Errorf("missing managed token: %v", err)
	}
	if _, err := GrafanaConfigFromContext(full, models.AccessToken, map[string]string{}, allowed); err == nil || !strings.Contains(err.Error(), "no token is stored") {
		t.Errorf("missing stored token: %v", err)
	}
	if _, err := GrafanaConfigFromContext(context.Background(), "", nil, allowed); err == nil || !strings.Contains(err.Error(), "URL") {
		t.Errorf("missing app URL: %v", err)
	}
}

func TestGrafanaClientRefusesRedirectToAnotherHost(t *testing.T) {
	var leaked int
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { leaked++ }))
	defer other.Close()
	otherURL := strings.Replace(other.URL, "127.0.0.1", "localhost", 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, otherURL+r.URL.Path, http.StatusPermanentRedirect)
	}))
	defer srv.Close()
	c, err := NewGrafanaClient(GrafanaConfig{AppURL: srv.URL, Token: grafanaToken, Allowed: []string{"prom-main"}})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Query(context.Background(), promRef, nil, testRange, GrafanaQueryOptions{})
	if err == nil || !strings.Contains(err.Error(), "redirected to another host") || leaked != 0 {
		t.Fatalf("err = %v, other host hit %d times", err, leaked)
	}
}

// The SDK's golden frame (every field type, NaN/±Inf entities, 64-bit
// extremes, unsorted times, string and bool factor columns) must decode and
// convert without losing values.
func TestSeriesFromGoldenSDKFrame(t *testing.T) {
	path := filepath.Join("..", "..", "..", "shared", "sdk-golden", "all_types.golden.json")
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("golden SDK frame missing (%v): it lives in the shared directory beside the repository", err)
	}
	var f data.Frame
	if err := json.Unmarshal(raw, &f); err != nil {
		t.Fatal(err)
	}
	got, err := SeriesFromFrames(data.Frames{&f})
	if err != nil {
		t.Fatal(err)
	}
	// 24 numeric fields (int/uint 8..64, float32/64, nullable or not, with NaNs)
	// times 5 factor combinations (one per row).
	if len(got) != 120 {
		t.Fatalf("got %d series, want 120", len(got))
	}
	wantTimes := []int64{0, 9007199254, 1568039445000, 1568039450000, 9223372036854}
	find := func(name, row string) Series {
		for _, s := range got {
			if s.Name == name && s.Labels["string_values"] == row {
				return s
			}
		}
		t.Fatalf("no series %s for row %q", name, row)
		return Series{}
	}
	for _, tc := range []struct {
		name, row string
		at        int // index in time order
		want      float64
	}{
		{"int8_values", "Go Min", 0, -128},
		{"uint64_values", "Go Max", 4, 18446744073709551615},
		{"int64_values", "JS Max (for >= 64)", 1, 9007199254740991},
		{"float64_values", "Go Min", 0, 5e-324},
		{"float64_nans", "Go Min", 0, math.Inf(-1)},
		{"float64_nans", "Go Max", 4, math.Inf(1)},
		{"float64_nans", "JS Min (for >= 64)", 2, math.NaN()},
		{"nullable_float64_values", "0 / nil / misc", 3, math.NaN()}, // null
		{"nullable_int8_values", "Go Max", 4, 127},
	} {
		s := find(tc.name, tc.row)
		if fmt.Sprint(s.Times) != fmt.Sprint(wantTimes) {
			t.Fatalf("%s times %v, want %v", tc.name, s.Times, wantTimes)
		}
		if g := s.Values[tc.at]; !(g == tc.want || math.IsNaN(g) && math.IsNaN(tc.want)) {
			t.Errorf("%s[%s] = %v, want %v", tc.name, tc.row, g, tc.want)
		}
		// Every other row belongs to another label combination: missing, not zero.
		for i, v := range s.Values {
			if i != tc.at && !math.IsNaN(v) {
				t.Errorf("%s[%s] has %v at row %d of another combination", tc.name, tc.row, v, i)
			}
		}
	}
	if s := find("float32_values", "Go Min"); s.Labels["nullable_string_values"] != "Grafana" || s.Labels["bool_values"] != "true" {
		t.Errorf("labels %v", s.Labels)
	}
}

// Frames written by the SDK's own JSON encoder, shaped like Grafana's
// Prometheus data source answers (one frame per series, dataplane
// timeseries-multi, __name__ among the labels), must come back as exactly the
// generated series, NaNs included.
func TestGrafanaQueryRoundTripsSDKEncodedFrames(t *testing.T) {
	data0 := testprom.Generate(testprom.Options{End: time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC)})
	var frames data.Frames
	for _, s := range data0.Series {
		times := make([]time.Time, len(s.Times))
		values := make([]float64, len(s.Values))
		for i := range s.Times {
			times[i] = time.UnixMilli(s.Times[i]).UTC()
			values[i] = s.Values[i]
			if i%1000 == 7 {
				values[i] = math.NaN()
			}
		}
		labels := data.Labels{"__name__": s.Metric}
		for k, v := range s.Labels {
			labels[k] = v
		}
		value := data.NewField(s.Metric, labels, values).SetConfig(&data.FieldConfig{DisplayNameFromDS: FormatSelector(s.Metric, s.Labels), Unit: "percent"})
		f := data.NewFrame("", data.NewField("Time", nil, times).SetConfig(&data.FieldConfig{Interval: 30000}), value)
		f.Meta = &data.FrameMeta{Type: data.FrameTypeTimeSeriesMulti, TypeVersion: data.FrameTypeVersion{0, 1}}
		frames = append(frames, f)
	}
	resp := backend.NewQueryDataResponse()
	resp.Responses["A"] = backend.DataResponse{Status: backend.StatusOK, Frames: frames}
	body, err := json.Marshal(resp)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !answerDataSourceType(w, r) {
			w.Write(body)
		}
	}))
	defer srv.Close()
	c, err := NewGrafanaClient(GrafanaConfig{AppURL: srv.URL, Token: grafanaToken, Allowed: []string{promRef.UID}})
	if err != nil {
		t.Fatal(err)
	}
	got, err := c.Query(context.Background(), promRef, nil, Range{From: data0.Start, To: data0.End, Step: data0.Interval}, GrafanaQueryOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(data0.Series) {
		t.Fatalf("%d series, want %d", len(got), len(data0.Series))
	}
	for i, s := range got {
		want := data0.Series[i]
		if s.Name != want.Metric || fmt.Sprint(s.Labels) != fmt.Sprint(want.Labels) || s.Unit != "percent" || s.DisplayName != FormatSelector(want.Metric, want.Labels) {
			t.Errorf("series %d: %q %v %q %q", i, s.Name, s.Labels, s.Unit, s.DisplayName)
		}
		if len(s.Times) != len(want.Times) {
			t.Fatalf("series %d: %d points, want %d", i, len(s.Times), len(want.Times))
		}
		for j := range want.Times {
			wantV := want.Values[j]
			if j%1000 == 7 {
				wantV = math.NaN()
			}
			if s.Times[j] != want.Times[j] || !(s.Values[j] == wantV || math.IsNaN(s.Values[j]) && math.IsNaN(wantV)) {
				t.Fatalf("series %d point %d = (%d, %v), want (%d, %v)", i, j, s.Times[j], s.Values[j], want.Times[j], wantV)
			}
		}
	}
}

// TestGrafanaQueryRefusesSourcesThatCanLoop: the type in the query is the
// viewer's to write and Grafana looks sources up by UID only
// (pkg/services/query/query.go getDataSourceFromQuery), so the client reads
// each source's type from Grafana before querying it, refuses its caller's
// own type and Grafana's pseudo data sources, and asks Grafana once per UID.
func TestGrafanaQueryRefusesSourcesThatCanLoop(t *testing.T) {
	fg, srv := newFakeGrafana(t)
	fg.answer(http.StatusOK, "prometheus_range.json")
	c, err := NewGrafanaClient(GrafanaConfig{AppURL: srv.URL + "/grafana/", Token: grafanaToken, Allowed: []string{AllowAll},
		RefusedTypes: []string{"sheepdog-anomaly-datasource"}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx := context.Background()
	tests := []struct {
		name    string
		ref     models.DataSourceRef
		want    string
		lookups int
	}{
		// The type the query claims is ignored: Grafana's answer decides.
		{"another Sheepdog posing as Prometheus", models.DataSourceRef{UID: "other-sheepdog", Type: "prometheus"}, `type "sheepdog-anomaly-datasource"`, 1},
		{"-- Grafana --", models.DataSourceRef{UID: "grafana"}, "built-in", 0},
		{"-- Mixed --", models.DataSourceRef{UID: "-- Mixed --", Type: "mixed"}, "built-in", 0},
		{"-- Dashboard --", models.DataSourceRef{UID: "-- Dashboard --"}, "built-in", 0},
		{"expressions", models.DataSourceRef{UID: "__expr__", Type: "__expr__"}, "built-in", 0},
		{"no type in Grafana's answer", models.DataSourceRef{UID: "typeless"}, "cannot rule out a loop", 1},
		{"unknown UID", models.DataSourceRef{UID: "nowhere"}, "does not exist", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fg.mu.Lock()
			fg.lookups, fg.requests = 0, nil
			fg.mu.Unlock()
			_, err := c.Query(ctx, tt.ref, nil, testRange, GrafanaQueryOptions{})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
			if tt.want != "does not exist" && !errors.Is(err, ErrRefusedSource) {
				t.Errorf("not an ErrRefusedSource: %v", err)
			}
			fg.mu.Lock()
			defer fg.mu.Unlock()
			if len(fg.requests) != 0 || fg.lookups != tt.lookups {
				t.Errorf("%d queries and %d lookups sent, want 0 and %d", len(fg.requests), fg.lookups, tt.lookups)
			}
		})
	}
	// A real source: looked up once, then served from the cache.
	fg.mu.Lock()
	fg.lookups = 0
	fg.mu.Unlock()
	for range 3 {
		if _, err := c.Query(ctx, promRef, nil, testRange, GrafanaQueryOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	// The refused Sheepdog stays refused from the cache.
	if _, err := c.Query(ctx, models.DataSourceRef{UID: "other-sheepdog"}, nil, testRange, GrafanaQueryOptions{}); !errors.Is(err, ErrRefusedSource) {
		t.Errorf("cached refusal: %v", err)
	}
	fg.mu.Lock()
	if fg.lookups != 1 || len(fg.requests) != 3 {
		t.Errorf("%d lookups and %d queries, want 1 and 3", fg.lookups, len(fg.requests))
	}
	fg.mu.Unlock()
}

// TestGrafanaQueryFailsClosedWithoutDatasourcesRead: a token that may query
// but not read data source settings cannot prove a source is no Sheepdog.
func TestGrafanaQueryFailsClosedWithoutDatasourcesRead(t *testing.T) {
	var queries int
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet {
			w.WriteHeader(http.StatusForbidden)
			io.WriteString(w, `{"message":"You'll need additional permissions to perform this action. Permissions needed: datasources:read"}`)
			return
		}
		queries++
	}))
	defer srv.Close()
	c, _ := NewGrafanaClient(GrafanaConfig{AppURL: srv.URL, Token: grafanaToken, Allowed: []string{promRef.UID}})
	_, err := c.Query(context.Background(), promRef, nil, testRange, GrafanaQueryOptions{})
	if err == nil || !errors.Is(err, ErrSourceAccess) || !strings.Contains(err.Error(), "datasources:read") || queries != 0 {
		t.Fatalf("err = %v, %d queries sent", err, queries)
	}
}

// TestGrafanaQueryHeadersAndMaxDataPoints: X-Grafana-Org-Id is never sent
// (a token request naming another organisation than the token's is refused
// with 401 by grafana/grafana pkg/services/authn/clients/api_key.go
// validateApiKey), and maxDataPoints stays within what Grafana's Prometheus
// returns (pkg/promlib/models/query.go safeResolution = 11000) however long
// the range.
func TestGrafanaQueryHeadersAndMaxDataPoints(t *testing.T) {
	fg, srv := newFakeGrafana(t)
	fg.answer(http.StatusOK, "prometheus_range.json")
	c := newTestGrafanaClient(t, srv)
	long := Range{From: time.Unix(0, 0), To: time.Unix(0, 0).Add(290 * 365 * 24 * time.Hour), Step: 15 * time.Second}
	_, err := c.Query(context.Background(), promRef, nil, long, GrafanaQueryOptions{Headers: map[string]string{"X-Grafana-Org-Id": "2", "FromAlert": "true"}})
	if err != nil {
		t.Fatal(err)
	}
	fg.mu.Lock()
	defer fg.mu.Unlock()
	if got := fg.headers[0].Get("X-Grafana-Org-Id"); got != "" {
		t.Errorf("X-Grafana-Org-Id = %q sent", got)
	}
	if fg.headers[0].Get("FromAlert") != "true" {
		t.Error("other headers must still be forwarded")
	}
	q := fg.requests[0]["queries"].([]any)[0].(map[string]any)
	if q["maxDataPoints"] != float64(DefaultNestedMaxDataPoints) {
		t.Errorf("maxDataPoints = %v, want %d", q["maxDataPoints"], DefaultNestedMaxDataPoints)
	}
}

// TestGrafanaQueryNestedBudget: the second wall. A request's context allows
// a fixed number of /api/ds/query calls; the next is refused unsent.
func TestGrafanaQueryNestedBudget(t *testing.T) {
	fg, srv := newFakeGrafana(t)
	fg.answer(http.StatusOK, "prometheus_range.json")
	c := newTestGrafanaClient(t, srv)
	ctx := WithNestedQueryBudget(context.Background(), 2)
	for i := range 2 {
		if _, err := c.Query(ctx, promRef, nil, testRange, GrafanaQueryOptions{}); err != nil {
			t.Fatalf("query %d: %v", i, err)
		}
	}
	_, err := c.Query(ctx, promRef, nil, testRange, GrafanaQueryOptions{})
	if !errors.Is(err, ErrRefusedSource) || !strings.Contains(err.Error(), "already made 2 queries") {
		t.Fatalf("third query: %v", err)
	}
	if n := fg.requestCount(); n != 2 {
		t.Errorf("%d queries sent, want 2", n)
	}
	// Another request (context) has its own budget; none at all is unbounded.
	if _, err := c.Query(context.Background(), promRef, nil, testRange, GrafanaQueryOptions{}); err != nil {
		t.Error(err)
	}
}

// TestGrafanaQueryTypeFromFrontendSettings: a token with datasources:query
// only (a Viewer's service account in Grafana OSS) is refused
// GET /api/datasources/uid/:uid (403), but Grafana lists the data sources it
// may see, with uid and type, in GET /api/frontend/settings
// (grafana/grafana pkg/api/frontendsettings.go getFSDataSources: the org's
// data sources through the data source guardian, AllowGuardian in OSS,
// pkg/services/datasources/guardian/allow_guardian.go; the map is keyed by
// name, each plugins.DataSourceDTO carries "uid" and "type", the plugin's
// id; built-in ones such as -- Grafana -- follow). The loop guard reads the
// type there: a listed Prometheus is queried, a listed Sheepdog refused, an
// unlisted UID refused; the list is read once for all of them.
func TestGrafanaQueryTypeFromFrontendSettings(t *testing.T) {
	var mu sync.Mutex
	var queries, settingsReads int
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		switch {
		case r.Header.Get("Authorization") != "Bearer "+grafanaToken:
			w.WriteHeader(http.StatusUnauthorized)
		case strings.HasPrefix(r.URL.Path, "/api/datasources/uid/"):
			w.WriteHeader(http.StatusForbidden)
			io.WriteString(w, `{"accessErrorId":"ACE1","message":"You'll need additional permissions to perform this action. Permissions needed: datasources:read","title":"Access denied"}`)
		case r.URL.Path == "/api/frontend/settings":
			settingsReads++
			io.WriteString(w, `{"appSubUrl":"","datasources":{
				"Prometheus":{"id":1,"uid":"prom-main","type":"prometheus","name":"Prometheus","meta":{"id":"prometheus","backend":true},"url":"/api/datasources/proxy/uid/prom-main","access":"proxy","jsonData":{}},
				"Sheepdog B":{"id":2,"uid":"other-sheepdog","type":"sheepdog-anomaly-datasource","name":"Sheepdog B","meta":{"id":"sheepdog-anomaly-datasource"},"jsonData":{}},
				"-- Grafana --":{"id":-1,"uid":"grafana","type":"datasource","name":"-- Grafana --","meta":{"id":"grafana","builtIn":true},"jsonData":{}},
				"-- Mixed --":{"type":"datasource","name":"-- Mixed --","meta":{"id":"mixed","builtIn":true},"jsonData":{}}
			},"buildInfo":{"version":"13.0.0"}}`)
		case r.Method == http.MethodPost && r.URL.Path == "/api/ds/query":
			queries++
			raw, _ := os.ReadFile(filepath.Join("testdata", "grafana", "prometheus_range.json"))
			w.Write(raw)
		default:
			w.WriteHeader(http.StatusNotFound)
		}
	}))
	defer srv.Close()
	c, err := NewGrafanaClient(GrafanaConfig{AppURL: srv.URL, Token: grafanaToken, Allowed: []string{AllowAll},
		RefusedTypes: []string{"sheepdog-anomaly-datasource"}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx := context.Background()
	for range 2 { // the second time from the cache
		if s, err := c.Query(ctx, models.DataSourceRef{UID: "prom-main"}, nil, testRange, GrafanaQueryOptions{}); err != nil || len(s) == 0 {
			t.Fatalf("allowed Prometheus: %d series, %v", len(s), err)
		}
	}
	_, err = c.Query(ctx, models.DataSourceRef{UID: "other-sheepdog", Type: "prometheus"}, nil, testRange, GrafanaQueryOptions{})
	if !errors.Is(err, ErrRefusedSource) || !strings.Contains(err.Error(), `type "sheepdog-anomaly-datasource"`) {
		t.Errorf("listed Sheepdog: %v", err)
	}
	_, err = c.Query(ctx, models.DataSourceRef{UID: "nowhere", Type: "prometheus"}, nil, testRange, GrafanaQueryOptions{})
	if !errors.Is(err, ErrSourceAccess) || !errors.Is(err, ErrCannotVerify) || !strings.Contains(err.Error(), "/api/frontend/settings") {
		t.Errorf("unlisted UID: %v", err)
	}
	if info, err := c.CheckDataSource(ctx, "prom-main"); err != nil || info.Type != "prometheus" || info.Name != "Prometheus" {
		t.Errorf("health check of the listed Prometheus: %+v, %v", info, err)
	}
	mu.Lock()
	defer mu.Unlock()
	if queries != 2 || settingsReads != 1 {
		t.Errorf("%d queries and %d reads of /api/frontend/settings, want 2 and 1", queries, settingsReads)
	}
}
