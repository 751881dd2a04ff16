package source

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/grafana/grafana-plugin-sdk-go/config"

	"github.com/sheepdog-anomaly/sheepdog/pkg/models"
)

// GrafanaConfig configures a GrafanaClient.
type GrafanaConfig struct {
	AppURL string // Grafana's root URL as the plugin reaches it, e.g. http://localhost:3000/
	// Token is a service-account token: the plugin's managed one or one stored in
	// secureJsonData. Sent only to AppURL, never logged.
	Token string
	// Allowed lists the data source UIDs an admin allowed as sources. Query
	// refuses every other UID.
	Allowed          []string
	TLS              TLSOptions
	Timeout          time.Duration // per request; 0 = DefaultTimeout
	MaxResponseBytes int64         // 0 = DefaultMaxResponseBytes
}

// GrafanaConfigFromContext finds where to send /api/ds/query and with which
// token: Grafana's app URL from the plugin context, and either the plugin's
// managed service-account token (access "service_account", the default) or
// the token stored in the secure settings (access "token"). The errors tell an
// admin what to change.
func GrafanaConfigFromContext(ctx context.Context, access string, secure map[string]string, allowed []string) (GrafanaConfig, error) {
	cfg := config.GrafanaConfigFromContext(ctx)
	appURL, err := cfg.AppURL()
	if err != nil || appURL == "" {
		return GrafanaConfig{}, errors.New("Grafana did not tell the plugin its URL (GF_APP_URL): Grafana 10.3 or later is needed to query other data sources")
	}
	gc := GrafanaConfig{AppURL: appURL, Allowed: allowed}
	switch access {
	case "", models.AccessServiceAccount:
		token, err := cfg.PluginAppClientSecret()
		if err != nil || token == "" {
			return GrafanaConfig{}, errors.New("the plugin's managed service account is not available: enable the externalServiceAccounts feature toggle in Grafana (and restart it), or set Source access to \"Service-account token\" and store a token with the datasources:query permission")
		}
		gc.Token = token
	case models.AccessToken:
		token := strings.TrimSpace(secure[models.SecureGrafanaToken])
		if token == "" {
			return GrafanaConfig{}, errors.New("Source access is set to a service-account token, but no token is stored: create a service account with the datasources:query permission (Viewer role) and paste its token in the Sheepdog data source settings")
		}
		gc.Token = token
	default:
		return GrafanaConfig{}, fmt.Errorf("unknown source access mode %q (want service_account or token)", access)
	}
	return gc, nil
}

// AllowAll in the allow-list lets Sheepdog read any data source the service
// account can.
const AllowAll = models.AllowAll

// CheckAllowed refuses a data source the admin did not put in the allow-list,
// so no user can read, through Sheepdog, a data source they were not meant to.
func CheckAllowed(uid string, allowed []string) error {
	if strings.TrimSpace(uid) == "" {
		return errors.New("no source data source is selected")
	}
	if len(allowed) == 0 {
		return errors.New("no source data sources are allowed yet: an admin must add them to the allow-list in the Sheepdog data source settings")
	}
	if !models.AllowListed(uid, allowed) {
		return fmt.Errorf("data source %q is not in the allow-list of this Sheepdog data source: ask an admin to add it", uid)
	}
	return nil
}

// GrafanaClient queries other Grafana data sources through POST /api/ds/query.
// It is safe for concurrent use.
type GrafanaClient struct {
	base    *url.URL
	http    *http.Client
	token   string
	allowed []string
	maxBody int64
}

// NewGrafanaClient checks cfg and builds a client. It does not contact Grafana.
func NewGrafanaClient(cfg GrafanaConfig) (*GrafanaClient, error) {
	base, err := parseBaseURL("Grafana app", cfg.AppURL)
	if err != nil {
		return nil, err
	}
	if strings.TrimSpace(cfg.Token) == "" {
		return nil, errors.New("no service-account token to query Grafana data sources with")
	}
	hc, err := newHTTPClient(base, cfg.TLS, cfg.Timeout)
	if err != nil {
		return nil, fmt.Errorf("Grafana TLS settings: %w", err)
	}
	return &GrafanaClient{base: base, http: hc, token: strings.TrimSpace(cfg.Token), allowed: slices.Clone(cfg.Allowed), maxBody: cfg.MaxResponseBytes}, nil
}

// Close releases idle connections.
func (c *GrafanaClient) Close() { c.http.CloseIdleConnections() }

// GrafanaQueryOptions tune one Query.
type GrafanaQueryOptions struct {
	// RefID names the nested query in the request and its answer; default "A".
	RefID string
	// Headers are extra request headers, e.g. "FromAlert: true" when the
	// request comes from alerting, or X-Grafana-Org-Id. Authorization is ignored.
	Headers map[string]string
}

// ErrSourceAccess marks errors an admin fixes in the service account or token
// (HTTP 401 or 403 from Grafana).
var ErrSourceAccess = errors.New("source access denied")

// Query runs nestedQuery, the source data source's own query model as its
// editor produced it, against the data source ref over r, and returns its
// series. The data source must be in the allow-list; ref overrides any
// "datasource" in the nested query.
func (c *GrafanaClient) Query(ctx context.Context, ref models.DataSourceRef, nestedQuery json.RawMessage, r Range, opt GrafanaQueryOptions) ([]Series, error) {
	if err := CheckAllowed(ref.UID, c.allowed); err != nil {
		return nil, err
	}
	if err := r.Validate(); err != nil {
		return nil, err
	}
	refID := opt.RefID
	if refID == "" {
		refID = "A"
	}
	body, err := buildDSQueryBody(ref, nestedQuery, r, refID)
	if err != nil {
		return nil, err
	}
	endpoint := c.endpoint("/api/ds/query")
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint.String(), bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("build /api/ds/query request: %w", err)
	}
	for k, v := range opt.Headers {
		if !strings.EqualFold(k, "Authorization") {
			req.Header.Set(k, v)
		}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", userAgent)
	req.Header.Set("Authorization", "Bearer "+c.token)

	resp, err := c.http.Do(req)
	if err != nil {
		return nil, transportError(ctx, req.Method, endpoint, err)
	}
	defer resp.Body.Close()
	raw, err := readBody(resp, c.maxBody)
	if err != nil {
		return nil, fmt.Errorf("data source %q: %w", ref.UID, err)
	}
	return decodeDSQueryResponse(resp.StatusCode, raw, ref, refID)
}

func (c *GrafanaClient) endpoint(path string) *url.URL {
	u := *c.base
	u.Path = c.base.Path + path
	return &u
}

// buildDSQueryBody wraps the nested query as Grafana's frontend would:
// {"queries":[{...nested, datasource, refId, intervalMs, maxDataPoints}], "from", "to"}.
func buildDSQueryBody(ref models.DataSourceRef, nested json.RawMessage, r Range, refID string) ([]byte, error) {
	q := map[string]json.RawMessage{}
	if len(bytes.TrimSpace(nested)) > 0 && !bytes.Equal(bytes.TrimSpace(nested), []byte("null")) {
		if err := json.Unmarshal(nested, &q); err != nil {
			return nil, fmt.Errorf("the source query is not a JSON object: %w", err)
		}
	}
	// The allow-list was checked against ref: nothing in the nested query may
	// point Grafana at another data source or another time range.
	delete(q, "datasourceId")
	delete(q, "timeRange")
	dsRef := map[string]string{"uid": ref.UID}
	if ref.Type != "" {
		dsRef["type"] = ref.Type
	}
	set := func(k string, v any) {
		b, _ := json.Marshal(v)
		q[k] = b
	}
	set("datasource", dsRef)
	set("refId", refID)
	step := r.Interval()
	set("intervalMs", step.Milliseconds())
	mdp := r.MaxDataPoints
	if mdp <= 0 {
		mdp = max(1, int64(r.To.Sub(r.From)/step)+1)
	}
	set("maxDataPoints", mdp)
	return json.Marshal(map[string]any{
		"queries": []any{q},
		"from":    strconv.FormatInt(r.From.UnixMilli(), 10),
		"to":      strconv.FormatInt(r.To.UnixMilli(), 10),
	})
}

// grafanaAPIError is Grafana's generic error body.
type grafanaAPIError struct {
	Message string `json:"message"`
	Error   string `json:"error"`
}

// SourceError is a failure of the source data source itself (its refId came
// back with an "error").
type SourceError struct {
	UID     string
	Status  int // the per-query status Grafana reports, 0 if none
	Message string
}

func (e *SourceError) Error() string {
	if e.Status != 0 {
		return fmt.Sprintf("data source %q returned an error (status %d): %s", e.UID, e.Status, e.Message)
	}
	return fmt.Sprintf("data source %q returned an error: %s", e.UID, e.Message)
}

func decodeDSQueryResponse(status int, raw []byte, ref models.DataSourceRef, refID string) ([]Series, error) {
	msg := ""
	if status/100 != 2 {
		// Only error bodies are small enough to read twice.
		var apiErr grafanaAPIError
		_ = json.Unmarshal(raw, &apiErr)
		msg = apiErr.Message
		if msg == "" {
			msg = apiErr.Error
		}
		if msg == "" && !bytes.Contains(raw, []byte(`"results"`)) {
			msg = snippet(raw)
		}
	}
	switch status {
	case http.StatusUnauthorized:
		return nil, fmt.Errorf("%w: Grafana rejected the service-account token (HTTP 401: %s): check that the plugin's managed service account exists or that the stored token is valid and not expired", ErrSourceAccess, msg)
	case http.StatusForbidden:
		return nil, fmt.Errorf("%w: the service account may not query data source %q (HTTP 403: %s): grant it the datasources:query permission on that data source (e.g. the Viewer role)", ErrSourceAccess, ref.UID, msg)
	case http.StatusNotFound:
		return nil, fmt.Errorf("data source %q not found in Grafana (HTTP 404: %s): check the data source and the allow-list", ref.UID, msg)
	}

	// UnmarshalJSON directly: json.Unmarshal would first validate the whole
	// (possibly very large) body with the slower standard scanner.
	var qdr backend.QueryDataResponse
	if err := qdr.UnmarshalJSON(raw); err != nil || qdr.Responses == nil {
		if status/100 != 2 {
			return nil, fmt.Errorf("Grafana /api/ds/query for data source %q failed with HTTP %d: %s", ref.UID, status, msg)
		}
		if err == nil {
			err = errors.New(`no "results"`)
		}
		return nil, fmt.Errorf("Grafana /api/ds/query for data source %q: unreadable answer: %v: %s", ref.UID, err, snippet(raw))
	}
	dr, ok := qdr.Responses[refID]
	if !ok {
		return nil, fmt.Errorf("Grafana /api/ds/query for data source %q answered no result for refId %q (HTTP %d)", ref.UID, refID, status)
	}
	if dr.Error != nil {
		return nil, &SourceError{UID: ref.UID, Status: int(dr.Status), Message: dr.Error.Error()}
	}
	if status/100 != 2 {
		return nil, fmt.Errorf("Grafana /api/ds/query for data source %q failed with HTTP %d: %s", ref.UID, status, msg)
	}
	series, err := SeriesFromFrames(dr.Frames)
	if err != nil {
		return nil, fmt.Errorf("data source %q: %w", ref.UID, err)
	}
	return series, nil
}

// DataSourceInfo describes a source data source.
type DataSourceInfo struct {
	UID, Name, Type string
}

// ErrCannotVerify means the token works but may not read data source
// settings (datasources:read), so the data source could not be looked up;
// queries may still succeed.
var ErrCannotVerify = errors.New("cannot verify the data source")

// CheckDataSource looks the data source up (GET /api/datasources/uid/:uid), for
// health checks: it tells whether Grafana is reachable, the token is accepted,
// the data source exists and is allowed. It sends no query.
func (c *GrafanaClient) CheckDataSource(ctx context.Context, uid string) (DataSourceInfo, error) {
	if err := CheckAllowed(uid, c.allowed); err != nil {
		return DataSourceInfo{}, err
	}
	endpoint := c.endpoint("/api/datasources/uid/" + url.PathEscape(uid))
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, endpoint.String(), nil)
	if err != nil {
		return DataSourceInfo{}, fmt.Errorf("build data source request: %w", err)
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", userAgent)
	req.Header.Set("Authorization", "Bearer "+c.token)
	resp, err := c.http.Do(req)
	if err != nil {
		return DataSourceInfo{}, transportError(ctx, req.Method, endpoint, err)
	}
	defer resp.Body.Close()
	raw, err := readBody(resp, 1<<20)
	if err != nil {
		return DataSourceInfo{}, fmt.Errorf("data source %q: %w", uid, err)
	}
	var apiErr grafanaAPIError
	_ = json.Unmarshal(raw, &apiErr)
	switch {
	case resp.StatusCode == http.StatusUnauthorized:
		return DataSourceInfo{}, fmt.Errorf("%w: Grafana rejected the service-account token (HTTP 401: %s): check that the plugin's managed service account exists or that the stored token is valid and not expired", ErrSourceAccess, apiErr.Message)
	case resp.StatusCode == http.StatusForbidden:
		return DataSourceInfo{}, fmt.Errorf("%w %q: the service account may not read data source settings (HTTP 403); queries need only datasources:query", ErrCannotVerify, uid)
	case resp.StatusCode == http.StatusNotFound:
		return DataSourceInfo{}, fmt.Errorf("allowed data source %q does not exist in Grafana (HTTP 404): remove it from the allow-list or fix its UID", uid)
	case resp.StatusCode/100 == 3:
		return DataSourceInfo{}, fmt.Errorf("look up data source %q: Grafana answered with a redirect (HTTP %d): the URL the plugin reaches Grafana at (root_url / GF_APP_URL) is probably not Grafana's own (scheme, host or sub-path)", uid, resp.StatusCode)
	case resp.StatusCode/100 != 2:
		return DataSourceInfo{}, fmt.Errorf("look up data source %q: HTTP %d: %s", uid, resp.StatusCode, snippet(raw))
	}
	var info DataSourceInfo
	if err := json.Unmarshal(raw, &info); err != nil {
		return DataSourceInfo{}, fmt.Errorf("look up data source %q: unreadable answer: %s", uid, snippet(raw))
	}
	if info.UID == "" {
		info.UID = uid
	}
	return info, nil
}

// CheckToken makes one authenticated call (GET /api/user) to tell whether
// Grafana is reachable and accepts the token, for health checks when no
// particular data source can be looked up (an allow-list of only "*").
// Any answer but 401 means the token was accepted: a service account may be
// refused user details (403, 404) and still query data sources.
func (c *GrafanaClient) CheckToken(ctx context.Context) error {
	endpoint := c.endpoint("/api/user")
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, endpoint.String(), nil)
	if err != nil {
		return fmt.Errorf("build token check request: %w", err)
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", userAgent)
	req.Header.Set("Authorization", "Bearer "+c.token)
	resp, err := c.http.Do(req)
	if err != nil {
		return transportError(ctx, req.Method, endpoint, err)
	}
	defer resp.Body.Close()
	raw, err := readBody(resp, 1<<20)
	if err != nil {
		return fmt.Errorf("check the token: %w", err)
	}
	switch {
	case resp.StatusCode == http.StatusUnauthorized:
		var apiErr grafanaAPIError
		_ = json.Unmarshal(raw, &apiErr)
		return fmt.Errorf("%w: Grafana rejected the service-account token (HTTP 401: %s): check that the plugin's managed service account exists or that the stored token is valid and not expired", ErrSourceAccess, apiErr.Message)
	case resp.StatusCode/100 == 3:
		return fmt.Errorf("check the token: Grafana answered with a redirect (HTTP %d): the URL the plugin reaches Grafana at (root_url / GF_APP_URL) is probably not Grafana's own", resp.StatusCode)
	case resp.StatusCode/100 == 5:
		return fmt.Errorf("check the token: Grafana failed (HTTP %d): %s", resp.StatusCode, snippet(raw))
	}
	return nil
}
