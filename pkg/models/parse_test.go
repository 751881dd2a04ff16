package models

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestQueryFixturesParse(t *testing.T) {
	files, err := filepath.Glob("testdata/queries/*.json")
	if err != nil || len(files) == 0 {
		t.Fatalf("no query fixtures: %v", err)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			raw, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := ParseQuery(raw); err != nil {
				t.Fatalf("fixture does not parse: %v", err)
			}
		})
	}
}

func TestQueryFixtureValues(t *testing.T) {
	raw, _ := os.ReadFile("testdata/queries/prometheus_full.json")
	q, err := ParseQuery(raw)
	if err != nil {
		t.Fatal(err)
	}
	d := q.Detector
	if d.Method != "robust" || d.Sensitivity != 70 || d.Direction != "up" || d.Period != 24*time.Hour ||
		d.MinDuration != 5*time.Minute || d.History != 72*time.Hour || d.HistoryAuto {
		t.Errorf("detector = %+v", d)
	}
	if q.Outputs != (Outputs{Bands: true, Score: true, Flags: true, Windows: true}) {
		t.Errorf("outputs = %+v", q.Outputs)
	}
	if q.Raw.Source.LegendFormat != "{{instance}}" {
		t.Errorf("legendFormat = %q", q.Raw.Source.LegendFormat)
	}

	raw, _ = os.ReadFile("testdata/queries/datasource_alert.json")
	q, err = ParseQuery(raw)
	if err != nil {
		t.Fatal(err)
	}
	if !q.Alert.Enabled || q.Alert.Mode != AlertAnomalyFraction || q.Alert.Window != 15*time.Minute {
		t.Errorf("alert = %+v", q.Alert)
	}
	if q.Raw.Source.Datasource.UID != "prom-main" || !strings.Contains(string(q.Raw.Source.Query), "request_count") {
		t.Errorf("source = %+v", q.Raw.Source)
	}

	raw, _ = os.ReadFile("testdata/queries/csv_minimal.json")
	q, err = ParseQuery(raw)
	if err != nil {
		t.Fatal(err)
	}
	if q.Detector.Method != "auto" || q.Detector.Sensitivity != DefaultSensitivity || !q.Detector.HistoryAuto ||
		q.Detector.Period != 0 || q.Alert.Window != DefaultAlertWindow || q.Alert.Mode != AlertAnomalyFraction {
		t.Errorf("defaults = %+v %+v", q.Detector, q.Alert)
	}
	if q.Outputs != (Outputs{Bands: true, Windows: true}) {
		t.Errorf("default outputs = %+v", q.Outputs)
	}
}

func TestQueryErrors(t *testing.T) {
	tests := []struct {
		name, json, want string
	}{
		{"empty", ``, "empty query"},
		{"not json", `{`, "decode query JSON"},
		{"no source type", `{"source":{}}`, "source.type is missing"},
		{"unknown source", `{"source":{"type":"influx"}}`, `source.type "influx" is unknown`},
		{"empty csv", `{"source":{"type":"csv","csv":"  "}}`, "source.csv is empty"},
		{"no expr", `{"source":{"type":"prometheus"}}`, "source.expr is empty"},
		{"no ds uid", `{"source":{"type":"datasource","query":{}}}`, "source.datasource.uid is empty"},
		{"no ds query", `{"source":{"type":"datasource","datasource":{"uid":"x"}}}`, "source.query is empty"},
		{"ds query not object", `{"source":{"type":"datasource","datasource":{"uid":"x"},"query":[1]}}`, "must be a JSON object"},
		{"sensitivity", `{"source":{"type":"csv","csv":"a"},"detector":{"sensitivity":101}}`, "detector.sensitivity 101 is out of range"},
		{"direction", `{"source":{"type":"csv","csv":"a"},"detector":{"direction":"sideways"}}`, "detector.direction"},
		{"seasonality", `{"source":{"type":"csv","csv":"a"},"detector":{"seasonality":"monthly"}}`, "detector.seasonality"},
		{"minDuration", `{"source":{"type":"csv","csv":"a"},"detector":{"minDuration":"5x"}}`, "detector.minDuration"},
		{"history", `{"source":{"type":"csv","csv":"a"},"detector":{"history":"-3d"}}`, "detector.history"},
		{"output", `{"source":{"type":"csv","csv":"a"},"outputs":["bands","sparkles"]}`, `outputs: "sparkles" is unknown`},
		{"alert mode", `{"source":{"type":"csv","csv":"a"},"alert":{"mode":"max"}}`, "alert.mode"},
		{"alert window", `{"source":{"type":"csv","csv":"a"},"alert":{"window":"0s"}}`, "alert.window must be positive"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseQuery([]byte(tt.json))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error = %v, want it to contain %q", err, tt.want)
			}
		})
	}
}

func TestCSVSizeLimit(t *testing.T) {
	big := strings.Repeat("1,2\n", MaxCSVBytes/4+1)
	raw, _ := json.Marshal(Query{Source: Source{Type: SourceCSV, CSV: big}})
	_, err := ParseQuery(raw)
	if err == nil || !strings.Contains(err.Error(), "limit") {
		t.Fatalf("error = %v", err)
	}
}

type settingsFixture struct {
	JSONData         json.RawMessage `json:"jsonData"`
	SecureJSONFields map[string]bool `json:"secureJsonFields"`
}

func loadSettings(t *testing.T, name string) settingsFixture {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("testdata/settings", name))
	if err != nil {
		t.Fatal(err)
	}
	var f settingsFixture
	if err := json.Unmarshal(raw, &f); err != nil {
		t.Fatal(err)
	}
	return f
}

func TestSettingsFixtures(t *testing.T) {
	f := loadSettings(t, "embedded_default.json")
	c, err := ParseSettings(f.JSONData, nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.Engine != EngineEmbedded || c.SourceAccess != AccessServiceAccount || c.Prometheus.Auth != PromAuthNone ||
		c.Remote.Timeout != DefaultRemoteTimeout || c.Remote.Retries != DefaultRemoteRetries || !c.Remote.Fallback ||
		c.Remote.MaxInFlight != DefaultRemoteMaxInFlight {
		t.Errorf("defaults = %+v", c)
	}

	f = loadSettings(t, "remote_full.json")
	c, err = ParseSettings(f.JSONData, map[string]string{SecureRemoteAPIKey: "k", SecurePrometheusPassword: "p",
		PrometheusHeaderValuePrefix + "1": "tenant-a"})
	if err != nil {
		t.Fatal(err)
	}
	if c.Engine != EngineRemote || c.Remote.URL != "http://sheepdog-api:8080" || c.Remote.Timeout != 3*time.Second ||
		c.Remote.Retries != 4 || c.Remote.BackoffBase != 100*time.Millisecond || c.Remote.BackoffMax != 2*time.Second ||
		c.Remote.MaxInFlight != 16 || c.Remote.APIKey != "k" || !AllowListed("prom-main", c.AllowedDatasources) || AllowListed("other", c.AllowedDatasources) ||
		c.Prometheus.URL != "http://prometheus:9090" || c.Prometheus.User != "reader" || c.Prometheus.Password != "p" ||
		len(c.Prometheus.Headers) != 1 || c.Prometheus.Headers["X-Scope-OrgID"] != "tenant-a" {
		t.Errorf("remote_full = %+v", c)
	}
	for k := range f.SecureJSONFields {
		switch k {
		case SecureRemoteAPIKey, SecureRemoteCACert, SecureGrafanaToken, SecurePrometheusPassword, SecurePrometheusToken,
			SecurePrometheusCACert:
		default:
			if _, isHeaderValue := strings.CutPrefix(k, PrometheusHeaderValuePrefix); isHeaderValue {
				continue
			}
			t.Errorf("fixture secure field %q is not a known key", k)
		}
	}
}

func TestSettingsErrors(t *testing.T) {
	tests := []struct{ name, json, want string }{
		{"bad json", `{`, "decode settings"},
		{"engine", `{"engine":"gpu"}`, `engine "gpu" is unknown`},
		{"remote no url", `{"engine":"remote"}`, "remoteUrl is empty"},
		{"remote bad url", `{"remoteUrl":"ftp://x"}`, "remoteUrl"},
		{"timeout", `{"remoteTimeout":"soon"}`, "remoteTimeout"},
		{"retries", `{"remoteRetries":-1}`, "remoteRetries must be at least 0"},
		{"backoff order", `{"remoteBackoffBase":"10s","remoteBackoffMax":"1s"}`, "remoteBackoffMax"},
		{"access", `{"sourceAccess":"magic"}`, "sourceAccess"},
		{"prom auth", `{"prometheusAuth":"kerberos"}`, "prometheusAuth"},
		{"prom basic no user", `{"prometheusAuth":"basic"}`, "prometheusUser is empty"},
		{"prom url", `{"prometheusUrl":"localhost:9090"}`, "prometheusUrl"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseSettings([]byte(tt.json), nil)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error = %v, want %q", err, tt.want)
			}
		})
	}
}

func TestURLSettingErrorsNeverEchoTheURL(t *testing.T) {
	const secret = "s3cr3t-pw"
	tests := []struct{ name, field, url, want string }{
		{"user info refused", "remoteUrl", "http://admin:" + secret + "@api.example.com", "must not contain a user name or password"},
		{"prometheus user info refused", "prometheusUrl", "https://admin:" + secret + "@prom.example.com", "must not contain a user name or password"},
		{"unparseable", "remoteUrl", "http://admin:" + secret + "@[::1", "is not a valid URL"},
		{"bad scheme", "prometheusUrl", "ftp://admin:" + secret + "@x", "must"},
		{"no host", "remoteUrl", "http:///" + secret, "has no host"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			js, _ := json.Marshal(map[string]string{tt.field: tt.url})
			_, err := ParseSettings(js, nil)
			if err == nil || !strings.Contains(err.Error(), tt.field) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error = %v, want %s: ...%s", err, tt.field, tt.want)
			}
			if strings.Contains(err.Error(), secret) {
				t.Errorf("error repeats the URL's secret: %v", err)
			}
		})
	}
}

func TestPrometheusHeadersAndCA(t *testing.T) {
	const tenantSecret = "tenant-s3cret"
	ca := "-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIUYQ==\n-----END CERTIFICATE-----\n"
	tests := []struct {
		name        string
		json        string
		secure      map[string]string
		wantHeaders map[string]string
		wantCA      string
		wantErr     []string // substrings; all must appear
	}{
		{name: "none", json: `{}`},
		{
			name:        "tenant header",
			json:        `{"prometheusHeaderName1":"X-Scope-OrgID"}`,
			secure:      map[string]string{"prometheusHeaderValue1": tenantSecret},
			wantHeaders: map[string]string{"X-Scope-OrgID": tenantSecret},
		},
		{
			name:        "several, gaps and empty rows skipped",
			json:        `{"prometheusHeaderName1":"X-Scope-OrgID","prometheusHeaderName2":"  ","prometheusHeaderName4":" X-Api-Key "}`,
			secure:      map[string]string{"prometheusHeaderValue1": "a", "prometheusHeaderValue2": "ignored", "prometheusHeaderValue4": "b"},
			wantHeaders: map[string]string{"X-Scope-OrgID": "a", "X-Api-Key": "b"},
		},
		{name: "ca cert", json: `{}`, secure: map[string]string{SecurePrometheusCACert: ca}, wantCA: ca},
		{
			name:    "authorization refused",
			json:    `{"prometheusHeaderName1":"authorization"}`,
			secure:  map[string]string{"prometheusHeaderValue1": "Bearer " + tenantSecret},
			wantErr: []string{"prometheusHeaderName1", "Authorization header cannot be set", "authentication setting"},
		},
		{
			name:    "missing value",
			json:    `{"prometheusHeaderName3":"X-Scope-OrgID"}`,
			wantErr: []string{"prometheusHeaderName3 (X-Scope-OrgID) has no value", "prometheusHeaderValue3"},
		},
		{
			name:    "invalid name",
			json:    `{"prometheusHeaderName1":"X Scope:OrgID"}`,
			secure:  map[string]string{"prometheusHeaderValue1": "a"},
			wantErr: []string{"prometheusHeaderName1", "not a valid HTTP header name"},
		},
		{
			name:    "duplicate name",
			json:    `{"prometheusHeaderName1":"X-Scope-OrgID","prometheusHeaderName2":"x-scope-orgid"}`,
			secure:  map[string]string{"prometheusHeaderValue1": "a", "prometheusHeaderValue2": "b"},
			wantErr: []string{"prometheusHeaderName2", "already set by prometheusHeaderName1"},
		},
		{
			name:    "value with line break",
			json:    `{"prometheusHeaderName1":"X-Scope-OrgID"}`,
			secure:  map[string]string{"prometheusHeaderValue1": tenantSecret + "\r\nX-Evil: 1"},
			wantErr: []string{"prometheusHeaderValue1", "line break"},
		},
		{name: "bad key suffix", json: `{"prometheusHeaderName0":"X-A"}`, wantErr: []string{`"prometheusHeaderName0"`, "followed by 1, 2, 3"}},
		{name: "non-string name", json: `{"prometheusHeaderName1":7}`, wantErr: []string{"prometheusHeaderName1 must be a string"}},
		{name: "ca not pem", json: `{}`, secure: map[string]string{SecurePrometheusCACert: "not a cert"}, wantErr: []string{"prometheusTlsCaCert", "no PEM certificate"}},
		{
			name:    "all problems at once",
			json:    `{"prometheusHeaderName1":"Authorization","prometheusHeaderName2":"X-Scope-OrgID"}`,
			wantErr: []string{"Authorization header", "prometheusHeaderName2 (X-Scope-OrgID) has no value"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := ParseSettings([]byte(tt.json), tt.secure)
			if len(tt.wantErr) > 0 {
				if err == nil {
					t.Fatalf("no error, want %q", tt.wantErr)
				}
				for _, w := range tt.wantErr {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("error = %v, want it to contain %q", err, w)
					}
				}
				if strings.Contains(err.Error(), tenantSecret) {
					t.Errorf("error repeats a header value: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(c.Prometheus.Headers) != len(tt.wantHeaders) {
				t.Errorf("headers = %v, want %v", c.Prometheus.Headers, tt.wantHeaders)
			}
			for k, v := range tt.wantHeaders {
				if c.Prometheus.Headers[k] != v {
					t.Errorf("header %s = %q, want %q", k, c.Prometheus.Headers[k], v)
				}
			}
			if c.Prometheus.CACertPEM != tt.wantCA {
				t.Errorf("CACertPEM = %q, want %q", c.Prometheus.CACertPEM, tt.wantCA)
			}
		})
	}
}

// TestUninterpolatedVariablesRefused: alert rules send the query model as
// saved, so a dashboard variable in an option reaches the backend as text.
// It must be refused naming the option, not misread or reported as a JSON
// type error. The reference syntaxes are those of Grafana's variableRegex
// (grafana/grafana public/app/features/variables/utils.ts).
func TestUninterpolatedVariablesRefused(t *testing.T) {
	base := `{"source":{"type":"csv","csv":"t,v\n1,2\n"},%s}`
	cases := []struct {
		name, part, option, ref string
	}{
		{"sensitivity dollar", `"detector":{"sensitivity":"$sensitivity"}`, "detector.sensitivity", "$sensitivity"},
		{"method braces", `"detector":{"method":"${method}"}`, "detector.method", "${method}"},
		{"braces with format", `"detector":{"seasonality":"${season:text}"}`, "detector.seasonality", "${season:text}"},
		{"double brackets", `"detector":{"minDuration":"[[dur]]"}`, "detector.minDuration", "[[dur]]"},
		{"history", `"detector":{"history":"$hist"}`, "detector.history", "$hist"},
		{"direction", `"detector":{"direction":"$dir"}`, "detector.direction", "$dir"},
		{"alert window", `"alert":{"enabled":true,"window":"$window"}`, "alert.window", "$window"},
		{"alert mode", `"alert":{"mode":"[[mode]]"}`, "alert.mode", "[[mode]]"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := ParseQuery([]byte(strings.Replace(base, "%s", c.part, 1)))
			if err == nil {
				t.Fatal("accepted an uninterpolated variable")
			}
			msg := err.Error()
			for _, want := range []string{c.option, c.ref, "not replaced", "alert rules"} {
				if !strings.Contains(msg, want) {
					t.Errorf("error %q does not mention %q", msg, want)
				}
			}
		})
	}
	// Literal values, and a "$" that is no variable reference, still parse.
	for _, ok := range []string{
		`"detector":{"sensitivity":70,"seasonality":"6h","minDuration":"5m","history":"3d"}`,
		`"detector":{"method":"auto"},"alert":{"window":"15m"}`,
	} {
		if _, err := ParseQuery([]byte(strings.Replace(base, "%s", ok, 1))); err != nil {
			t.Errorf("%s: %v", ok, err)
		}
	}
}
