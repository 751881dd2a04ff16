package source

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
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
	// RefusedTypes are plugin types never queried as a source, besides
	// Grafana's built-in pseudo data sources: the caller's own type, so that
	// a query cannot loop back into it through Grafana.
	RefusedTypes []string
	// MaxDataPoints bounds the maxDataPoints sent with a nested query;
	// 0 = DefaultNestedMaxDataPoints.
	MaxDataPoints int64
}

// DefaultNestedMaxDataPoints bounds maxDataPoints in a nested query: the
// points per series Grafana's Prometheus data source returns at most in one
// range query (grafana/grafana pkg/promlib/models/query.go safeResolution,
// used by calculatePrometheusInterval), and Prometheus's own per-series limit.
const DefaultNestedMaxDataPoints = 11_000

// typeCacheTTL and typeCacheSize bound the data source types remembered
// between queries: a data source's type never changes, but one deleted and
// re-created under the same UID may; and UIDs come from viewers' queries.
const (
	typeCacheTTL  = time.Minute
	typeCacheSize = 512
)

// Grafana's pseudo data sources. None holds series of its own, and each can
// run other queries (Mixed and Dashboard re-run panels' queries, Expressions
// run their inputs, -- Grafana -- reads annotations and search), so each is
// a way back into Sheepdog. UIDs and types as Grafana names them:
// pkg/tsdb/grafanads (DatasourceUID "grafana"), pkg/expr (DatasourceUID
// "__expr__", legacy "-100"), the frontend's "-- Mixed --" and
// "-- Dashboard --" (type "datasource"), as pkg/services/query/query.go
// getDataSourceFromQuery resolves them.
var (
	builtinSourceUIDs  = []string{"grafana", "-- Grafana --", "__expr__", "-100", "-- Mixed --", "-- Dashboard --"}
	builtinSourceTypes = []string{"grafana", "__expr__", "mixed", "datasource"}
)

// ErrRefusedSource marks a source data source that may never be queried.
var ErrRefusedSource = errors.New("refused source data source")

// DefaultNestedQueriesPerRequest bounds the /api/ds/query calls one incoming
// request may make: one per query and a retry's worth for alert caches is
// the most a legitimate request needs. It is the second wall behind the type
// check: were a loop to open some other way (an app plugin re-running
// queries, a type Sheepdog does not know), each hop would still be bounded.
const DefaultNestedQueriesPerRequest = 64

type nestedBudgetKey struct{}

// WithNestedQueryBudget lets at most n /api/ds/query calls be made with ctx
// (and contexts derived from it). Without it, Query is not bounded.
func WithNestedQueryBudget(ctx context.Context, n int64) context.Context {
	b := &nestedBudget{max: n}
	b.left.Store(n)
	return context.WithValue(ctx, nestedBudgetKey{}, b)
}

type nestedBudget struct {
	left atomic.Int64
	max  int64
}

func takeNestedQuery(ctx context.Context) error {
	b, ok := ctx.Value(nestedBudgetKey{}).(*nestedBudget)
	if !ok || b.left.Add(-1) >= 0 {
		return nil
	}
	return fmt.Errorf("%w: this request already made %d queries to other data sources, the most one request may (source.DefaultNestedQueriesPerRequest): split the queries over several panels", ErrRefusedSource, b.max)
}

// ManagedAccountOrgID is the organisation Grafana creates a plugin's managed
// service account in: always the main one (grafana/grafana
// pkg/services/extsvcauth/models.go TmpOrgID, used by
// extsvcaccounts/service.go SaveExternalService). Its token works in no other
// organisation.
const ManagedAccountOrgID = 1

// ManagedAccountSetup tells an admin how to turn on Grafana's managed service
// accounts. Both settings are off by default in Grafana: the feature toggle,
// checked by extsvcauth/registry/service.go SaveExternalService, and
// [auth] managed_service_accounts_enabled, checked with it by
// accesscontrol/acimpl/service.go SaveExternalServiceRole. Without them
// Grafana hands the plugin no GF_PLUGIN_APP_CLIENT_SECRET, so the SDK's
// PluginAppClientSecret() fails.
const ManagedAccountSetup = "set both GF_FEATURE_TOGGLES_ENABLE=externalServiceAccounts and GF_AUTH_MANAGED_SERVICE_ACCOUNTS_ENABLED=true " +
	"(grafana.ini: [feature_toggles] enable = externalServiceAccounts, [auth] managed_service_accounts_enabled = true) and restart Grafana, " +
	"or set Source access to \"Service-account token\" and store a token with the datasources:query permission"

// ErrNoManagedAccount means Grafana gave the plugin no managed service-account token.
var ErrNoManagedAccount = errors.New("the plugin's managed service account is not available")

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
			return GrafanaConfig{}, fmt.Errorf("%w (Grafana turns it off by default): %s", ErrNoManagedAccount, ManagedAccountSetup)
		}
		// A service-account token always acts in its own organisation
		// (authn/clients/api_key.go validateApiKey refuses any other), so in
		// another organisation the managed token would read the main
		// organisation's data sources: refused.
		if org := backend.PluginConfigFromContext(ctx).OrgID; org > ManagedAccountOrgID {
			return GrafanaConfig{}, fmt.Errorf("this Sheepdog data source is in organisation %d, but Grafana creates the plugin's managed service account in the main organisation (%d) only: "+
				"set Source access to \"Service-account token\" and store a token of a service account of organisation %d", org, ManagedAccountOrgID, org)
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
	refused []string
	maxDP   int64

	typesMu sync.Mutex
	types   map[string]cachedType // data source UID → plugin type

	// listed is the UID → type list of /api/frontend/settings, read when the
	// token may not read a data source's settings (see listedType).
	listedMu sync.Mutex
	listed   map[string]DataSourceInfo
	listedAt time.Time
}

type cachedType struct {
	typ     string
	expires time.Time
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
	maxDP := cfg.MaxDataPoints
	if maxDP <= 0 {
		maxDP = DefaultNestedMaxDataPoints
	}
	return &GrafanaClient{base: base, http: hc, token: strings.TrimSpace(cfg.Token), allowed: slices.Clone(cfg.Allowed),
		maxBody: cfg.MaxResponseBytes, refused: append(slices.Clone(builtinSourceTypes), cfg.RefusedTypes...), maxDP: maxDP,
		types: map[string]cachedType{}}, nil
}

// Close releases idle connections.
func (c *GrafanaClient) Close() { c.http.CloseIdleConnections() }

// GrafanaQueryOptions tune one Query.
type GrafanaQueryOptions struct {
	// RefID names the nested query in the request and its answer; default "A".
	RefID string
	// Headers are extra request headers, e.g. "FromAlert: true" when the
	// request comes from alerting. Authorization and X-Grafana-Org-Id are
	// ignored (see dropHeader).
	Headers map[string]string
}

// dropHeader reports headers Query never forwards: Authorization is the
// client's own, and X-Grafana-Org-Id can only break it: Grafana answers a
// token request naming another organisation than the token's with 401
// "API key does not belong to the requested organization"
// (authn/clients/api_key.go Authenticate → validateApiKey), and without the
// header the request runs in the token's organisation.
func dropHeader(name string) bool {
	return strings.EqualFold(name, "Authorization") || strings.EqualFold(name, "X-Grafana-Org-Id")
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
	if err := c.checkSourceType(ctx, ref.UID); err != nil {
		return nil, err
	}
	if err := takeNestedQuery(ctx); err != nil {
		return nil, err
	}
	refID := opt.RefID
	if refID == "" {
		refID = "A"
	}
	body, err := buildDSQueryBody(ref, nestedQuery, r, refID, c.maxDP)
	if err != nil {
		return nil, err
	}
	resp, err := c.send(ctx, http.MethodPost, "/api/ds/query", body, opt.Headers)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	// Within r.MaxPoints, the answer is cut by its size: the SDK decodes
	// frames only whole, so a body over budget is refused before decoding.
	raw, err := readBodyFor(resp, c.maxBody, r.MaxPoints)
	if err != nil {
		return nil, fmt.Errorf("data source %q: %w", ref.UID, err)
	}
	series, err := decodeDSQueryResponse(resp.StatusCode, raw, ref, refID)
	if err != nil || r.MaxPoints <= 0 {
		return series, err
	}
	var points int64
	for _, s := range series {
		points += int64(s.PointCount())
	}
	if points > r.MaxPoints {
		return nil, fmt.Errorf("data source %q: %w", ref.UID, &PointLimitError{Limit: r.MaxPoints, Points: points})
	}
	return series, nil
}

// send makes one authenticated request to Grafana's HTTP API: the caller's
// headers that dropHeader keeps, then Content-Type (with a body), Accept,
// User-Agent and the token, which the caller cannot override. The caller
// closes the answer's body.
func (c *GrafanaClient) send(ctx context.Context, method, path string, body []byte, headers map[string]string) (*http.Response, error) {
	endpoint := c.endpoint(path)
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, endpoint.String(), rd)
	if err != nil {
		return nil, fmt.Errorf("build %s request: %w", path, err)
	}
	for k, v := range headers {
		if !dropHeader(k) {
			req.Header.Set(k, v)
		}
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", userAgent)
	req.Header.Set("Authorization", "Bearer "+c.token)
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, transportError(ctx, method, endpoint, err)
	}
	return resp, nil
}

func (c *GrafanaClient) endpoint(path string) *url.URL {
	u := *c.base
	u.Path = c.base.Path + path
	return &u
}

// buildDSQueryBody wraps the nested query as Grafana's frontend would:
// {"queries":[{...nested, datasource, refId, intervalMs, maxDataPoints}], "from", "to"}.
func buildDSQueryBody(ref models.DataSourceRef, nested json.RawMessage, r Range, refID string, maxDP int64) ([]byte, error) {
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
	// Bounded: the data source sizes its answer by it (a long range at a
	// fine step would otherwise ask for hundreds of millions of points).
	// Grafana's Prometheus then widens the step (calculatePrometheusInterval),
	// which the caller reads from the returned timestamps.
	set("maxDataPoints", min(mdp, maxDP))
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
// settings (datasources:read), so the data source could not be looked up,
// and so cannot be queried either: Query must know its type to refuse loops.
var ErrCannotVerify = errors.New("cannot verify the data source")

// CheckDataSource looks the data source up (GET /api/datasources/uid/:uid), for
// health checks: it tells whether Grafana is reachable, the token is accepted,
// the data source exists and is allowed. It sends no query.
func (c *GrafanaClient) CheckDataSource(ctx context.Context, uid string) (DataSourceInfo, error) {
	if err := CheckAllowed(uid, c.allowed); err != nil {
		return DataSourceInfo{}, err
	}
	if err := c.refuseBuiltin(uid); err != nil {
		return DataSourceInfo{}, err
	}
	return c.verifyType(ctx, uid)
}

// verifyType reads uid's type from Grafana (resolveType), remembers it for
// checkSourceType, and refuses a type that may loop back (refuseType).
func (c *GrafanaClient) verifyType(ctx context.Context, uid string) (DataSourceInfo, error) {
	info, err := c.resolveType(ctx, uid)
	if err != nil {
		return info, err
	}
	c.rememberType(uid, info.Type)
	return info, c.refuseType(uid, info.Type)
}

// resolveType reads a data source's type: from its settings
// (GET /api/datasources/uid/:uid, needs datasources:read) or, when the token
// may not read them (403), from the data sources Grafana lists for the
// token's own front end (GET /api/frontend/settings, any signed-in identity).
// A UID in neither is refused: its type, and so a loop, cannot be ruled out.
func (c *GrafanaClient) resolveType(ctx context.Context, uid string) (DataSourceInfo, error) {
	info, err := c.lookupDataSource(ctx, uid)
	if !errors.Is(err, ErrCannotVerify) {
		return info, err
	}
	listed, lerr := c.listedType(ctx, uid)
	switch {
	case lerr != nil:
		return DataSourceInfo{}, fmt.Errorf("%w; nor could it be found in /api/frontend/settings: %v", err, lerr)
	case listed.Type == "":
		return DataSourceInfo{}, fmt.Errorf("%w; nor does Grafana list it in /api/frontend/settings for this service account", err)
	}
	return listed, nil
}

// refuseBuiltin refuses Grafana's pseudo data sources by UID, before any request.
func (c *GrafanaClient) refuseBuiltin(uid string) error {
	if slices.Contains(builtinSourceUIDs, uid) {
		return fmt.Errorf("%w: %q is one of Grafana's built-in pseudo data sources (-- Grafana --, -- Mixed --, -- Dashboard --, Expressions), which hold no series of their own and can run other queries, Sheepdog's included: pick the data source that holds the series", ErrRefusedSource, uid)
	}
	return nil
}

// refuseType refuses a data source whose plugin type may loop back.
func (c *GrafanaClient) refuseType(uid, typ string) error {
	if typ == "" {
		return fmt.Errorf("%w: Grafana did not say which plugin data source %q is, so Sheepdog cannot rule out a loop through it", ErrRefusedSource, uid)
	}
	if slices.Contains(c.refused, typ) {
		return fmt.Errorf("%w: data source %q is of type %q, which can run Sheepdog queries itself (a query through it could loop back through Grafana without end): pick the data source that holds the series", ErrRefusedSource, uid, typ)
	}
	return nil
}

// checkSourceType refuses, before a source is queried, a data source that
// could run this query again: the X-Sheepdog-Depth header marks Sheepdog's
// own requests, but Grafana forwards no such header to the next plugin (only
// with the grafana.datasourceForwardHeaders toggle and a per-data-source
// allow-list: clientmiddleware/forward_headers_middleware.go), and the type
// in the query is the viewer's to write, so the type is read from Grafana.
func (c *GrafanaClient) checkSourceType(ctx context.Context, uid string) error {
	if err := c.refuseBuiltin(uid); err != nil {
		return err
	}
	if typ, ok := c.cachedType(uid); ok {
		return c.refuseType(uid, typ)
	}
	_, err := c.verifyType(ctx, uid)
	if errors.Is(err, ErrCannotVerify) {
		return fmt.Errorf("%w: %w", ErrSourceAccess, err)
	}
	return err
}

func (c *GrafanaClient) cachedType(uid string) (string, bool) {
	c.typesMu.Lock()
	defer c.typesMu.Unlock()
	e, ok := c.types[uid]
	if !ok || time.Now().After(e.expires) {
		return "", false
	}
	return e.typ, true
}

func (c *GrafanaClient) rememberType(uid, typ string) {
	if typ == "" {
		return
	}
	c.typesMu.Lock()
	defer c.typesMu.Unlock()
	now := time.Now()
	if len(c.types) >= typeCacheSize {
		for k, e := range c.types {
			if now.After(e.expires) {
				delete(c.types, k)
			}
		}
		if len(c.types) >= typeCacheSize {
			clear(c.types) // all fresh: many UIDs at once, start over rather than grow
		}
	}
	c.types[uid] = cachedType{typ: typ, expires: now.Add(typeCacheTTL)}
}

// Bounds on /api/frontend/settings, read when a data source's settings are
// forbidden: its body carries every listed data source with its plugin's
// metadata, so it may be a few MB; at most frontendListSize data sources
// (Grafana's own [datasources] datasource_limit defaults to 5000) are kept,
// for typeCacheTTL.
const (
	frontendSettingsMaxBytes = 32 << 20
	frontendListSize         = 10_000
)

// listedType finds uid among the data sources of GET /api/frontend/settings
// (an empty Type when it is not listed). Grafana lists there the data
// sources of the organisation the identity may see (grafana/grafana
// pkg/api/frontendsettings.go getFSDataSources: GetDataSources filtered by
// the data source guardian, which in OSS lets every one through), each with
// its uid and its plugin's id as type, besides the built-in ones; no
// datasources:read is needed.
func (c *GrafanaClient) listedType(ctx context.Context, uid string) (DataSourceInfo, error) {
	c.listedMu.Lock()
	defer c.listedMu.Unlock() // one read at a time: concurrent queries share it
	if c.listed == nil || time.Since(c.listedAt) > typeCacheTTL {
		list, err := c.readFrontendSettings(ctx)
		if err != nil {
			return DataSourceInfo{}, err
		}
		c.listed, c.listedAt = list, time.Now()
	}
	return c.listed[uid], nil
}

func (c *GrafanaClient) readFrontendSettings(ctx context.Context) (map[string]DataSourceInfo, error) {
	resp, err := c.send(ctx, http.MethodGet, "/api/frontend/settings", nil, nil)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	raw, err := readBody(resp, frontendSettingsMaxBytes)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode/100 != 2 {
		return nil, fmt.Errorf("HTTP %d", resp.StatusCode)
	}
	var fs struct {
		Datasources map[string]struct {
			UID  string `json:"uid"`
			Type string `json:"type"`
			Name string `json:"name"`
		} `json:"datasources"`
	}
	if err := json.Unmarshal(raw, &fs); err != nil {
		return nil, fmt.Errorf("unreadable answer: %s", snippet(raw))
	}
	list := make(map[string]DataSourceInfo, min(len(fs.Datasources), frontendListSize))
	for name, ds := range fs.Datasources {
		if ds.UID == "" || len(list) >= frontendListSize {
			continue
		}
		if ds.Name == "" {
			ds.Name = name
		}
		list[ds.UID] = DataSourceInfo{UID: ds.UID, Name: ds.Name, Type: ds.Type}
	}
	return list, nil
}

// lookupDataSource reads GET /api/datasources/uid/:uid.
func (c *GrafanaClient) lookupDataSource(ctx context.Context, uid string) (DataSourceInfo, error) {
	resp, err := c.send(ctx, http.MethodGet, "/api/datasources/uid/"+url.PathEscape(uid), nil, nil)
	if err != nil {
		return DataSourceInfo{}, err
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
		return DataSourceInfo{}, fmt.Errorf("%w %q: the service account may not read its settings (HTTP 403), and Sheepdog reads each source's type before querying it (to refuse Sheepdog and Grafana's built-in data sources, which could loop): "+
			"grant it datasources:read (the managed service account has it; for a token, the \"Data source reader\" role, or in Grafana OSS the Admin role)", ErrCannotVerify, uid)
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
	resp, err := c.send(ctx, http.MethodGet, "/api/user", nil, nil)
	if err != nil {
		return err
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
