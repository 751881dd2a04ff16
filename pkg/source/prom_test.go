package source

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/sheepdog-anomaly/sheepdog/pkg/models"
)

const (
	testPassword = "s3cret-pass"
	testToken    = "tok-abcdef-123"
)

func TestPlanQueryRange(t *testing.T) {
	base := time.Date(2026, 1, 10, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name      string
		r         Range
		wantStep  time.Duration
		wantWin   []PromWindow
		wantError string
	}{
		{
			name:     "aligned down to the step",
			r:        Range{From: base.Add(17 * time.Second), To: base.Add(time.Hour + 44*time.Second), Step: time.Minute},
			wantStep: time.Minute,
			wantWin:  []PromWindow{{base.UnixMilli(), base.Add(time.Hour).UnixMilli()}},
		},
		{
			name:     "maxDataPoints widens the step to a rounded interval",
			r:        Range{From: base, To: base.Add(24 * time.Hour), Step: 15 * time.Second, MaxDataPoints: 1000},
			wantStep: 2 * time.Minute, // 86.4s per point rounds up to 2m
			wantWin:  []PromWindow{{base.UnixMilli(), base.Add(24 * time.Hour).UnixMilli()}},
		},
		{
			name:     "step already coarse enough is kept",
			r:        Range{From: base, To: base.Add(time.Hour), Step: 5 * time.Minute, MaxDataPoints: 1000},
			wantStep: 5 * time.Minute,
			wantWin:  []PromWindow{{base.UnixMilli(), base.Add(time.Hour).UnixMilli()}},
		},
		{
			name:     "no step: from maxDataPoints",
			r:        Range{From: base, To: base.Add(time.Hour), MaxDataPoints: 240},
			wantStep: 15 * time.Second,
			wantWin:  []PromWindow{{base.UnixMilli(), base.Add(time.Hour).UnixMilli()}},
		},
		{
			name:     "exactly 11000 points is one window",
			r:        Range{From: base, To: base.Add(10999 * time.Second), Step: time.Second},
			wantStep: time.Second,
			wantWin:  []PromWindow{{base.UnixMilli(), base.Add(10999 * time.Second).UnixMilli()}},
		},
		{
			name:     "11001 points is two windows",
			r:        Range{From: base, To: base.Add(11000 * time.Second), Step: time.Second},
			wantStep: time.Second,
			wantWin: []PromWindow{
				{base.UnixMilli(), base.Add(10999 * time.Second).UnixMilli()},
				{base.Add(11000 * time.Second).UnixMilli(), base.Add(11000 * time.Second).UnixMilli()},
			},
		},
		{
			name:      "too many points per series",
			r:         Range{From: base, To: base.Add(365 * 24 * time.Hour), Step: time.Second},
			wantError: "over the limit of 1000000",
		},
		{
			name:      "inverted range",
			r:         Range{From: base.Add(time.Hour), To: base, Step: time.Second},
			wantError: "before it starts",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			step, win, err := PlanQueryRange(tc.r, DefaultPromMaxPointsPerSeries)
			if tc.wantError != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantError) {
					t.Fatalf("err = %v, want %q", err, tc.wantError)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if step != tc.wantStep {
				t.Errorf("step = %s, want %s", step, tc.wantStep)
			}
			if fmt.Sprint(win) != fmt.Sprint(tc.wantWin) {
				t.Errorf("windows = %v, want %v", win, tc.wantWin)
			}
		})
	}
}

// fakeProm answers like Prometheus and records what it was sent.
type fakeProm struct {
	t          *testing.T
	handler    func(w http.ResponseWriter, r *http.Request)
	lastAuth   string
	lastTenant string
	lastForm   map[string]string
}

func newFakeProm(t *testing.T, handler func(w http.ResponseWriter, r *http.Request)) (*fakeProm, *httptest.Server) {
	f := &fakeProm{t: t, handler: handler}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.lastAuth = r.Header.Get("Authorization")
		f.lastTenant = r.Header.Get("X-Scope-OrgID")
		if err := r.ParseForm(); err != nil {
			t.Errorf("parse form: %v", err)
		}
		f.lastForm = map[string]string{}
		for k := range r.Form {
			f.lastForm[k] = r.Form.Get(k)
		}
		w.Header().Set("Content-Type", "application/json")
		f.handler(w, r)
	}))
	t.Cleanup(srv.Close)
	return f, srv
}

const matrixAnswer = `{"status":"success","data":{"resultType":"matrix","result":[
 {"metric":{"__name__":"up","instance":"h1:9100","job":"node"},"values":[[1767225600,"1"],[1767225660.5,"NaN"],[1767225720,"+Inf"],[1767225780,"-Inf"],[1767225840,"0.25"]]},
 {"metric":{"instance":"h2:9100","job":"node"},"values":[[1767225600,"3e-2"]]}
]},"warnings":["something harmless"]}`

func TestPromClientParsesMatrixAndNamesSeries(t *testing.T) {
	fake, srv := newFakeProm(t, func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.URL.Path != "/prom/api/v1/query_range" {
			http.Error(w, "wrong endpoint "+r.Method+" "+r.URL.Path, http.StatusNotFound)
			return
		}
		io.WriteString(w, matrixAnswer)
	})
	c, err := NewPromClient(PromConfig{URL: srv.URL + "/prom/", Auth: PromAuth{Mode: models.PromAuthBearer, Token: testToken},
		Headers: map[string]string{"X-Scope-OrgID": "tenant-1"}})
	if err != nil {
		t.Fatal(err)
	}
	from := time.Unix(1767225600, 0)
	r := Range{From: from, To: from.Add(10 * time.Minute), Step: time.Minute}
	got, err := c.QueryRange(context.Background(), "up", r, "{{ job }}/{{instance}} {{missing}}")
	if err != nil {
		t.Fatal(err)
	}
	if fake.lastTenant != "tenant-1" {
		t.Errorf("X-Scope-OrgID = %q", fake.lastTenant)
	}
	if fake.lastAuth != "Bearer "+testToken {
		t.Errorf("Authorization = %q", fake.lastAuth)
	}
	if fake.lastForm["query"] != "up" || fake.lastForm["start"] != "1767225600" || fake.lastForm["end"] != "1767226200" || fake.lastForm["step"] != "60" {
		t.Errorf("form = %v", fake.lastForm)
	}
	if len(got) != 2 {
		t.Fatalf("got %d series", len(got))
	}
	a := got[0]
	if a.Name != "up" || a.DisplayName != "node/h1:9100 " || a.Labels["job"] != "node" || len(a.Labels) != 2 {
		t.Errorf("series 0: name %q display %q labels %v", a.Name, a.DisplayName, a.Labels)
	}
	wantT := []int64{1767225600000, 1767225660500, 1767225720000, 1767225780000, 1767225840000}
	if fmt.Sprint(a.Times) != fmt.Sprint(wantT) {
		t.Errorf("times = %v", a.Times)
	}
	if a.Values[0] != 1 || !math.IsNaN(a.Values[1]) || !math.IsInf(a.Values[2], 1) || !math.IsInf(a.Values[3], -1) || a.Values[4] != 0.25 {
		t.Errorf("values = %v", a.Values)
	}
	if b := got[1]; b.Name != "up" && b.Name != "" || b.Values[0] != 0.03 {
		t.Errorf("series 1: %+v", b)
	}

	// Without a legend: the selector, or the expression for a bare result.
	got, err = c.QueryRange(context.Background(), "up", r, "__auto")
	if err != nil {
		t.Fatal(err)
	}
	if got[0].DisplayName != `up{instance="h1:9100", job="node"}` || got[1].DisplayName != `{instance="h2:9100", job="node"}` || got[1].Name != "up" {
		t.Errorf("displays %q %q, name %q", got[0].DisplayName, got[1].DisplayName, got[1].Name)
	}
}

func TestPromClientErrors(t *testing.T) {
	from := time.Unix(1767225600, 0)
	r := Range{From: from, To: from.Add(time.Hour), Step: time.Minute}
	tests := []struct {
		name    string
		status  int
		body    string
		want    []string
		promErr *PromError
	}{
		{
			name:    "prometheus error envelope",
			status:  http.StatusUnprocessableEntity,
			body:    `{"status":"error","errorType":"execution","error":"query processing would load too many samples into memory"}`,
			want:    []string{"execution", "422", "too many samples"},
			promErr: &PromError{HTTPStatus: 422, Type: "execution"},
		},
		{
			name:   "unauthorized",
			status: http.StatusUnauthorized,
			body:   "Unauthorized\n",
			want:   []string{"401", "check the Prometheus authentication"},
		},
		{
			name:   "proxy error page",
			status: http.StatusBadGateway,
			body:   "<html><body><h1>502 Bad Gateway</h1>\n<p>upstream down</p></body></html>",
			want:   []string{"502", "Bad Gateway", "upstream down"},
		},
		{
			name:   "not found hints at the API prefix",
			status: http.StatusNotFound,
			body:   "404 page not found",
			want:   []string{"404", "/prometheus"},
		},
		{
			name:   "200 but not JSON",
			status: http.StatusOK,
			body:   "<html>login page</html>",
			want:   []string{"not Prometheus API JSON", "login page"},
		},
		{
			name:   "not a matrix",
			status: http.StatusOK,
			body:   `{"status":"success","data":{"resultType":"vector","result":[]}}`,
			want:   []string{`"vector"`, "expected a matrix"},
		},
		{
			name:   "malformed sample",
			status: http.StatusOK,
			body:   `{"status":"success","data":{"resultType":"matrix","result":[{"metric":{},"values":[[1767225600,1]]}]}}`,
			want:   []string{"not a quoted number"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, srv := newFakeProm(t, func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(tc.status)
				io.WriteString(w, tc.body)
			})
			c, err := NewPromClient(PromConfig{URL: srv.URL, Auth: PromAuth{Mode: models.PromAuthBasic, User: "reader", Password: testPassword}})
			if err != nil {
				t.Fatal(err)
			}
			_, err = c.QueryRange(context.Background(), "up", r, "")
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
			if strings.Contains(err.Error(), testPassword) {
				t.Errorf("error leaks the password: %q", err)
			}
			if tc.promErr != nil {
				var perr *PromError
				if !errors.As(err, &perr) || perr.HTTPStatus != tc.promErr.HTTPStatus || perr.Type != tc.promErr.Type {
					t.Errorf("err = %#v, want %#v", err, tc.promErr)
				}
			}
		})
	}
}

func TestPromClientBasicAuthAndNoCredentialLeaks(t *testing.T) {
	var sawUser, sawPass string
	_, srv := newFakeProm(t, func(w http.ResponseWriter, r *http.Request) {
		u, p, _ := r.BasicAuth()
		sawUser, sawPass = u, p
		io.WriteString(w, `{"status":"success","data":{"resultType":"matrix","result":[]}}`)
	})
	c, err := NewPromClient(PromConfig{URL: srv.URL, Auth: PromAuth{Mode: models.PromAuthBasic, User: "reader", Password: testPassword}})
	if err != nil {
		t.Fatal(err)
	}
	from := time.Unix(1767225600, 0)
	if _, err := c.QueryRange(context.Background(), "up", Range{From: from, To: from.Add(time.Hour), Step: time.Minute}, ""); err != nil {
		t.Fatal(err)
	}
	if sawUser != "reader" || sawPass != testPassword {
		t.Errorf("basic auth = %q/%q", sawUser, sawPass)
	}

	// An unreachable server: the error names the endpoint, never the secret.
	dead := httptest.NewServer(http.NotFoundHandler())
	deadURL := dead.URL
	dead.Close()
	c, err = NewPromClient(PromConfig{URL: deadURL, Auth: PromAuth{Mode: models.PromAuthBearer, Token: testToken}, Timeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.QueryRange(context.Background(), "up", Range{From: from, To: from.Add(time.Hour), Step: time.Minute}, "")
	if err == nil || strings.Contains(err.Error(), testToken) || !strings.Contains(err.Error(), deadURL+"/api/v1/query_range") {
		t.Errorf("err = %v", err)
	}
}

func TestPromClientRefusesRedirectToAnotherHost(t *testing.T) {
	var leaked []string
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		leaked = append(leaked, r.Header.Get("Authorization"))
		io.WriteString(w, `{"status":"success","data":{"resultType":"matrix","result":[]}}`)
	}))
	defer other.Close()
	// 127.0.0.1 and localhost are different hosts to the client.
	otherURL := strings.Replace(other.URL, "127.0.0.1", "localhost", 1)
	_, srv := newFakeProm(t, func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, otherURL+r.URL.Path, http.StatusTemporaryRedirect)
	})
	c, err := NewPromClient(PromConfig{URL: srv.URL, Auth: PromAuth{Mode: models.PromAuthBearer, Token: testToken}})
	if err != nil {
		t.Fatal(err)
	}
	from := time.Unix(1767225600, 0)
	_, err = c.QueryRange(context.Background(), "up", Range{From: from, To: from.Add(time.Hour), Step: time.Minute}, "")
	if err == nil || !strings.Contains(err.Error(), "redirected to another host") {
		t.Fatalf("err = %v", err)
	}
	if len(leaked) != 0 {
		t.Fatalf("the other host received %d requests", len(leaked))
	}
}

func TestPromClientCheckFallsBackToQuery(t *testing.T) {
	var paths []string
	_, srv := newFakeProm(t, func(w http.ResponseWriter, r *http.Request) {
		paths = append(paths, r.Method+" "+r.URL.Path)
		if r.URL.Path == "/api/v1/status/buildinfo" {
			http.NotFound(w, r)
			return
		}
		io.WriteString(w, `{"status":"success","data":{"resultType":"scalar","result":[1767225600,"1"]}}`)
	})
	c, err := NewPromClient(PromConfig{URL: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	h, err := c.Check(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if h.Version != "" || fmt.Sprint(paths) != "[GET /api/v1/status/buildinfo GET /api/v1/query]" {
		t.Errorf("health %+v after %v", h, paths)
	}
}

func TestNewPromClientValidatesConfig(t *testing.T) {
	for _, tc := range []struct {
		cfg  PromConfig
		want string
	}{
		{PromConfig{}, "URL is empty"},
		{PromConfig{URL: "prometheus:9090"}, "http:// or https://"},
		{PromConfig{URL: "http://user:" + testPassword + "@prom:9090"}, "must not contain a user or password"},
		{PromConfig{URL: "http://prom:9090/?token=" + testToken}, "query string"},
		{PromConfig{URL: "http://prom:9090", Auth: PromAuth{Mode: models.PromAuthBasic, User: "u"}}, "no password"},
		{PromConfig{URL: "http://prom:9090", Auth: PromAuth{Mode: models.PromAuthBearer}}, "no token"},
		{PromConfig{URL: "http://prom:9090", Auth: PromAuth{Mode: "digest"}}, "unknown Prometheus auth mode"},
		{PromConfig{URL: "http://prom:9090", Headers: map[string]string{"authorization": "Bearer " + testToken}}, "not as a header"},
		{PromConfig{URL: "https://prom:9090", TLS: TLSOptions{CACertPEM: "not a cert"}}, "not valid PEM"},
	} {
		_, err := NewPromClient(tc.cfg)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("NewPromClient(%+v) err = %v, want %q", tc.cfg.URL, err, tc.want)
		}
		if err != nil && (strings.Contains(err.Error(), testPassword) || strings.Contains(err.Error(), testToken)) {
			t.Errorf("error leaks a secret: %v", err)
		}
	}
}

func TestPromClientTLS(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, `{"status":"success","data":{"version":"2.99.0"}}`)
	}))
	defer srv.Close()
	ctx := context.Background()

	c, err := NewPromClient(PromConfig{URL: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Check(ctx); err == nil || !strings.Contains(err.Error(), "certificate") || !strings.Contains(err.Error(), "skip TLS verification") {
		t.Errorf("self-signed certificate accepted without settings: %v", err)
	}

	c, err = NewPromClient(PromConfig{URL: srv.URL, TLS: TLSOptions{SkipVerify: true}})
	if err != nil {
		t.Fatal(err)
	}
	if h, err := c.Check(ctx); err != nil || h.Version != "2.99.0" {
		t.Errorf("skip verify: %+v %v", h, err)
	}

	pem := certPEM(t, srv)
	c, err = NewPromClient(PromConfig{URL: srv.URL, TLS: TLSOptions{CACertPEM: pem}})
	if err != nil {
		t.Fatal(err)
	}
	if h, err := c.Check(ctx); err != nil || h.Version != "2.99.0" {
		t.Errorf("with CA: %+v %v", h, err)
	}
}

func TestDecodePromMatrixOddButValidJSON(t *testing.T) {
	// Key order, whitespace, extra keys and native histograms must not confuse the decoder.
	body := `{ "data" : { "result" : [ { "values" : [ [ 1.5 , "2" ] ], "histograms": [[1, {"count":"3"}]], "metric" : { "a" : "x\"y" } } ],
		"resultType" : "matrix" }, "warnings": ["w"], "infos": [], "status" : "success" }`
	ans, err := decodePromMatrix([]byte(body), 10, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	if ans.Status != "success" || ans.ResultType != "matrix" || len(ans.Result) != 1 {
		t.Fatalf("%+v", ans)
	}
	s := ans.Result[0]
	if s.Metric["a"] != `x"y` || fmt.Sprint(s.Times, s.Values) != "[1500] [2]" {
		t.Errorf("%+v", s)
	}
	for _, bad := range []string{`[1]`, `{"data":{"result":[{"values":[[1,"2",3]]}]}}`, `{"data":{"result":[{"values":[[1]]}]}}`, `{"data":{"result":[{"values":[[1,"x"]]}]}}`, `{"data":`} {
		if _, err := decodePromMatrix([]byte(bad), 10, 0, 0); err == nil {
			t.Errorf("decodePromMatrix(%s) succeeded", bad)
		}
	}
}

func FuzzDecodePromMatrix(f *testing.F) {
	f.Add([]byte(matrixAnswer))
	f.Add([]byte(`{"status":"error","errorType":"bad_data","error":"x"}`))
	f.Add([]byte(`{"status":"success","data":{"resultType":"scalar","result":[1,"1"]}}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		ans, err := decodePromMatrix(body, 100, 0, 0)
		if err != nil {
			return
		}
		for _, s := range ans.Result {
			if len(s.Times) != len(s.Values) {
				t.Fatalf("%d times, %d values", len(s.Times), len(s.Values))
			}
		}
	})
}
