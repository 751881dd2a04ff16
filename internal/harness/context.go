package harness

import (
	"encoding/json"
	"hash/fnv"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/grafana/grafana-plugin-sdk-go/backend/useragent"
)

// Instance describes the data source instance a request is made for.
type Instance struct {
	ID       int64
	UID      string
	Name     string
	JSONData any               // marshalled as the instance's jsonData
	Secure   map[string]string // decrypted secureJsonData
	Updated  time.Time         // change it to make the plugin build a new instance
	// AppURL and ServiceAccountToken fill Grafana's config (GF_APP_URL and the
	// managed service account's token, GF_PLUGIN_APP_CLIENT_SECRET).
	AppURL              string
	ServiceAccountToken string
}

// PluginContext builds the context Grafana sends with every call for this instance.
func (in Instance) PluginContext() backend.PluginContext {
	jd, err := json.Marshal(in.JSONData)
	if err != nil || in.JSONData == nil {
		jd = []byte("{}")
	}
	if raw, ok := in.JSONData.(json.RawMessage); ok {
		jd = raw
	}
	if in.ID == 0 {
		in.ID = 1
	}
	if in.UID == "" {
		in.UID = "sheepdog-test"
	}
	if in.Name == "" {
		in.Name = "Sheepdog"
	}
	if in.Updated.IsZero() {
		// Grafana bumps Updated whenever the settings are saved, which makes the
		// plugin build a new instance; derive it from the settings so that two
		// Instances with different settings never share a plugin instance.
		h := fnv.New64a()
		h.Write(jd)
		keys := make([]string, 0, len(in.Secure))
		for k := range in.Secure {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			h.Write([]byte("\x00" + k + "\x00" + in.Secure[k]))
		}
		in.Updated = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(h.Sum64()%(1<<40)) * time.Millisecond)
	}
	cfg := map[string]string{
		"GF_SQL_ROW_LIMIT":                    "1000000",
		"GF_SQL_MAX_OPEN_CONNS_DEFAULT":       "100",
		"GF_CONCURRENT_QUERY_COUNT":           "10",
		"GF_INSTANCE_FEATURE_TOGGLES_ENABLE":  "externalServiceAccounts",
		"GF_PLUGIN_USER_FACING_DEFAULT_ERROR": "An error occurred",
	}
	if in.AppURL != "" {
		cfg[backend.AppURL] = strings.TrimRight(in.AppURL, "/") + "/"
	}
	if in.ServiceAccountToken != "" {
		cfg[backend.AppClientSecret] = in.ServiceAccountToken
	}
	ua, _ := useragent.New("13.0.0", "linux", "amd64")
	return backend.PluginContext{
		OrgID:         1,
		PluginID:      PluginID,
		PluginVersion: "dev",
		User:          &backend.User{Login: "admin", Name: "Admin", Email: "admin@localhost", Role: "Admin"},
		DataSourceInstanceSettings: &backend.DataSourceInstanceSettings{
			ID:                      in.ID,
			UID:                     in.UID,
			Type:                    PluginID,
			Name:                    in.Name,
			JSONData:                jd,
			DecryptedSecureJSONData: in.Secure,
			Updated:                 in.Updated,
			APIVersion:              "v1",
		},
		GrafanaConfig: backend.NewGrafanaCfg(cfg),
		UserAgent:     ua,
		APIVersion:    "v1",
	}
}

// Query is one query of a request: its JSON model and time range.
type Query struct {
	RefID         string
	JSON          any // marshalled unless already json.RawMessage
	From, To      time.Time
	Interval      time.Duration
	MaxDataPoints int64
}

// QueryRequest builds a QueryDataRequest as Grafana sends it for a panel
// (or, with fromAlert, for an alert rule evaluation).
func (in Instance) QueryRequest(fromAlert bool, qs ...Query) *backend.QueryDataRequest {
	req := &backend.QueryDataRequest{PluginContext: in.PluginContext(), Headers: map[string]string{}}
	if fromAlert {
		req.Headers["FromAlert"] = "true"
	}
	for _, q := range qs {
		raw, ok := q.JSON.(json.RawMessage)
		if !ok {
			raw, _ = json.Marshal(q.JSON)
		}
		if q.MaxDataPoints == 0 {
			q.MaxDataPoints = 1000
		}
		if q.Interval == 0 {
			q.Interval = time.Minute
		}
		if q.To.IsZero() {
			q.To = time.Now()
		}
		if q.From.IsZero() {
			q.From = q.To.Add(-6 * time.Hour)
		}
		req.Queries = append(req.Queries, backend.DataQuery{
			RefID:         q.RefID,
			QueryType:     "",
			MaxDataPoints: q.MaxDataPoints,
			Interval:      q.Interval,
			TimeRange:     backend.TimeRange{From: q.From, To: q.To},
			JSON:          raw,
		})
	}
	return req
}

// ResourceRequest builds a CallResource request (path relative to the data source's resources).
func (in Instance) ResourceRequest(method, path string, body []byte) *backend.CallResourceRequest {
	u := &url.URL{Path: "/api/datasources/uid/" + in.pcUID() + "/resources/" + strings.TrimLeft(path, "/")}
	return &backend.CallResourceRequest{
		PluginContext: in.PluginContext(),
		Path:          strings.TrimLeft(strings.SplitN(path, "?", 2)[0], "/"),
		Method:        method,
		URL:           u.String() + queryPart(path),
		Headers:       http.Header{"Accept": {"application/json"}},
		Body:          body,
	}
}

func (in Instance) pcUID() string {
	if in.UID == "" {
		return "sheepdog-test"
	}
	return in.UID
}

func queryPart(path string) string {
	if i := strings.IndexByte(path, '?'); i >= 0 {
		return path[i:]
	}
	return ""
}
