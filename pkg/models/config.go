package models

import (
	"bytes"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/sheepdog-anomaly/sheepdog/pkg/duration"
)

// Defaults of the remote engine settings.
const (
	DefaultRemoteTimeout          = 5 * time.Second
	DefaultRemoteRetries          = 3
	DefaultRemoteBackoffBase      = 200 * time.Millisecond
	DefaultRemoteBackoffMax       = 5 * time.Second
	DefaultRemoteBreakerThreshold = 5
	DefaultRemoteBreakerCooldown  = 30 * time.Second
	DefaultRemoteMaxInFlight      = 8
	DefaultRemoteMaxCallsPerQuery = 200 // requests per query, each carrying up to 50 series on the batch route
)

// Resource budgets: anyone who can run a query (every dashboard viewer) sets
// the range, step, history and source, so the admin bounds what one query
// and one request may cost. Refusals name the jsonData key to raise.
// The figures behind the defaults are in docs/backend.md ("Budgets").
const (
	// DefaultMaxSeriesPerQuery bounds the series a query analyses (inline CSV
	// columns are counted from the header, before any row is read).
	DefaultMaxSeriesPerQuery = 500
	// DefaultMaxPointsPerQuery bounds series × points fetched (history
	// included) per query. The plugin peaks at about 325 bytes of RSS per
	// point fetched, detected, framed and encoded (1.5M points: about 490 MB;
	// measured through the binary by TestBudgetAtTheLimitIsBounded).
	DefaultMaxPointsPerQuery = 1_500_000
	// DefaultMaxPointsPerRequest bounds the sum over a request's queries,
	// which Grafana sends in one call and the plugin runs side by side:
	// about 650 MB at 325 bytes per point, well under 1 GB.
	DefaultMaxPointsPerRequest = 2_000_000
	// DefaultAlertCacheMaxMiB bounds the alert re-evaluation cache's estimated
	// size per data source instance.
	DefaultAlertCacheMaxMiB = 256
)

// MaxAlertWindow bounds alert.window: each cached alert series keeps its
// recent outputs over the range plus this window.
const (
	MaxAlertWindow     = 24 * time.Hour
	MaxAlertWindowText = "24h"
)

// Budgets is the resolved resource budgets.
type Budgets struct {
	MaxSeriesPerQuery   int
	MaxPointsPerQuery   int64
	MaxPointsPerRequest int64
	AlertCacheMaxBytes  int64
}

// RemoteConfig is the resolved remote engine configuration.
type RemoteConfig struct {
	URL              string
	APIKey           string // secret
	CACertPEM        string
	Timeout          time.Duration
	Retries          int
	BackoffBase      time.Duration
	BackoffMax       time.Duration
	BreakerThreshold int
	BreakerCooldown  time.Duration
	MaxInFlight      int
	MaxCallsPerQuery int
	Fallback         bool
	TLSSkipVerify    bool
}

// PrometheusConfig is the resolved Prometheus-compatible source configuration.
type PrometheusConfig struct {
	URL           string
	Auth          string
	User          string
	Password      string // secret
	Token         string // secret
	TLSSkipVerify bool
	CACertPEM     string            // extra trusted CA (secureJsonData prometheusTlsCaCert)
	Headers       map[string]string // custom request headers; the values are secret
}

// Config is the data source's settings with defaults applied, durations parsed
// and secrets attached. Secrets must never be logged or returned.
type Config struct {
	Engine             string
	Remote             RemoteConfig
	SourceAccess       string
	GrafanaToken       string // secret, for SourceAccess == AccessToken
	AllowedDatasources []string
	Prometheus         PrometheusConfig
	Budgets            Budgets
}

// ParseSettings decodes jsonData, applies defaults, attaches the decrypted
// secure values and validates the result. All problems are reported at once.
func ParseSettings(jsonData []byte, secure map[string]string) (*Config, error) {
	var s Settings
	if len(bytes.TrimSpace(jsonData)) > 0 && string(bytes.TrimSpace(jsonData)) != "null" {
		if err := json.Unmarshal(jsonData, &s); err != nil {
			return nil, fmt.Errorf("decode settings (jsonData): %w", err)
		}
	}
	return s.Resolve(secure)
}

// Resolve applies defaults and validates s.
func (s Settings) Resolve(secure map[string]string) (*Config, error) {
	var errs []error
	bad := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	dur := func(field, v string, def time.Duration) time.Duration {
		if strings.TrimSpace(v) == "" {
			return def
		}
		d, err := duration.Parse(v)
		if err != nil {
			bad("%s: %v", field, err)
			return def
		}
		if d <= 0 {
			bad("%s must be positive, got %q", field, v)
			return def
		}
		return d
	}
	count := func(field string, v *int, def, lo int) int {
		if v == nil {
			return def
		}
		if *v < lo {
			bad("%s must be at least %d, got %d", field, lo, *v)
			return def
		}
		return *v
	}

	c := &Config{Engine: s.Engine, SourceAccess: s.SourceAccess}
	if c.Engine == "" {
		c.Engine = EngineEmbedded
	}
	if c.Engine != EngineEmbedded && c.Engine != EngineRemote {
		bad("engine %q is unknown: want %q or %q", s.Engine, EngineEmbedded, EngineRemote)
	}
	c.Remote = RemoteConfig{
		URL:              strings.TrimSpace(s.RemoteURL),
		APIKey:           secure[SecureRemoteAPIKey],
		CACertPEM:        secure[SecureRemoteCACert],
		Timeout:          dur("remoteTimeout", s.RemoteTimeout, DefaultRemoteTimeout),
		Retries:          count("remoteRetries", s.RemoteRetries, DefaultRemoteRetries, 0),
		BackoffBase:      dur("remoteBackoffBase", s.RemoteBackoffBase, DefaultRemoteBackoffBase),
		BackoffMax:       dur("remoteBackoffMax", s.RemoteBackoffMax, DefaultRemoteBackoffMax),
		BreakerThreshold: count("remoteBreakerThreshold", s.RemoteBreakerThreshold, DefaultRemoteBreakerThreshold, 1),
		BreakerCooldown:  dur("remoteBreakerCooldown", s.RemoteBreakerCooldown, DefaultRemoteBreakerCooldown),
		MaxInFlight:      count("remoteMaxInFlight", s.RemoteMaxInFlight, DefaultRemoteMaxInFlight, 1),
		MaxCallsPerQuery: count("remoteMaxCallsPerQuery", s.RemoteMaxCallsPerQuery, DefaultRemoteMaxCallsPerQuery, 1),
		Fallback:         s.RemoteFallback == nil || *s.RemoteFallback,
		TLSSkipVerify:    s.RemoteTLSSkipVerify,
	}
	if c.Remote.BackoffMax < c.Remote.BackoffBase {
		bad("remoteBackoffMax (%s) is shorter than remoteBackoffBase (%s)", c.Remote.BackoffMax, c.Remote.BackoffBase)
	}
	if c.Engine == EngineRemote {
		if c.Remote.URL == "" {
			bad("remoteUrl is empty: the remote engine needs the Sheepdog API URL, e.g. http://sheepdog-api:8080")
		}
	}
	if c.Remote.URL != "" {
		if err := checkHTTPURL(c.Remote.URL); err != nil {
			bad("remoteUrl: %v", err)
		}
	}

	if c.SourceAccess == "" {
		c.SourceAccess = AccessServiceAccount
	}
	switch c.SourceAccess {
	case AccessServiceAccount:
	case AccessToken:
		c.GrafanaToken = secure[SecureGrafanaToken]
	default:
		bad("sourceAccess %q is unknown: want %q or %q", s.SourceAccess, AccessServiceAccount, AccessToken)
	}
	for _, uid := range s.AllowedDatasources {
		if uid = strings.TrimSpace(uid); uid != "" {
			c.AllowedDatasources = append(c.AllowedDatasources, uid)
		}
	}

	c.Prometheus = PrometheusConfig{
		URL:           strings.TrimRight(strings.TrimSpace(s.PrometheusURL), "/"),
		Auth:          s.PrometheusAuth,
		User:          s.PrometheusUser,
		TLSSkipVerify: s.PrometheusTLSSkipVerify,
	}
	if c.Prometheus.Auth == "" {
		c.Prometheus.Auth = PromAuthNone
	}
	switch c.Prometheus.Auth {
	case PromAuthNone:
	case PromAuthBasic:
		c.Prometheus.Password = secure[SecurePrometheusPassword]
		if c.Prometheus.User == "" {
			bad("prometheusUser is empty: basic auth needs a user name")
		}
	case PromAuthBearer:
		c.Prometheus.Token = secure[SecurePrometheusToken]
	default:
		bad("prometheusAuth %q is unknown: want %q, %q or %q", s.PrometheusAuth, PromAuthNone, PromAuthBasic, PromAuthBearer)
	}
	if c.Prometheus.URL != "" {
		if err := checkHTTPURL(c.Prometheus.URL); err != nil {
			bad("prometheusUrl: %v", err)
		}
	}
	if ca := secure[SecurePrometheusCACert]; strings.TrimSpace(ca) != "" {
		c.Prometheus.CACertPEM = ca
		if !hasPEMCertificate(ca) {
			bad("%s: no PEM certificate found (want -----BEGIN CERTIFICATE-----...)", SecurePrometheusCACert)
		}
	}
	c.Prometheus.Headers = resolveHeaders(s.PrometheusHeaderNames, secure, bad)
	c.Budgets = Budgets{
		MaxSeriesPerQuery:   count("maxSeriesPerQuery", s.MaxSeriesPerQuery, DefaultMaxSeriesPerQuery, 1),
		MaxPointsPerQuery:   int64(count("maxPointsPerQuery", s.MaxPointsPerQuery, DefaultMaxPointsPerQuery, 1)),
		MaxPointsPerRequest: int64(count("maxPointsPerRequest", s.MaxPointsPerRequest, DefaultMaxPointsPerRequest, 1)),
		AlertCacheMaxBytes:  int64(count("alertCacheMaxMiB", s.AlertCacheMaxMiB, DefaultAlertCacheMaxMiB, 1)) << 20,
	}
	if c.Budgets.MaxPointsPerQuery > c.Budgets.MaxPointsPerRequest {
		bad("maxPointsPerQuery (%d) is over maxPointsPerRequest (%d): a request holds one or more queries, so raise maxPointsPerRequest too", c.Budgets.MaxPointsPerQuery, c.Budgets.MaxPointsPerRequest)
	}
	if len(errs) > 0 {
		return c, errors.Join(errs...)
	}
	return c, nil
}

// UnmarshalJSON decodes the struct fields and collects the numbered
// prometheusHeaderNameN keys, which a struct tag cannot express.
func (s *Settings) UnmarshalJSON(data []byte) error {
	type plain Settings // no methods: avoids recursing into UnmarshalJSON
	var p plain
	if err := json.Unmarshal(data, &p); err != nil {
		return err
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(data, &raw); err != nil {
		return err
	}
	for key, val := range raw {
		suffix, ok := strings.CutPrefix(key, PrometheusHeaderNamePrefix)
		if !ok {
			continue
		}
		n, err := strconv.Atoi(suffix)
		if err != nil || n < 1 || strconv.Itoa(n) != suffix {
			return fmt.Errorf("jsonData key %q: want %s followed by 1, 2, 3...", key, PrometheusHeaderNamePrefix)
		}
		var name string
		if err := json.Unmarshal(val, &name); err != nil {
			return fmt.Errorf("%s must be a string", key)
		}
		if p.PrometheusHeaderNames == nil {
			p.PrometheusHeaderNames = map[int]string{}
		}
		p.PrometheusHeaderNames[n] = name
	}
	*s = Settings(p)
	return nil
}

// resolveHeaders pairs each custom header name with its secret value. Rows
// with an empty name are skipped, as in Grafana's own data sources. Errors
// name the setting, never the value.
func resolveHeaders(names map[int]string, secure map[string]string, bad func(string, ...any)) map[string]string {
	nums := make([]int, 0, len(names))
	for n := range names {
		nums = append(nums, n)
	}
	slices.Sort(nums)
	var headers map[string]string
	seen := map[string]int{}
	for _, n := range nums {
		nameKey := PrometheusHeaderNamePrefix + strconv.Itoa(n)
		valueKey := PrometheusHeaderValuePrefix + strconv.Itoa(n)
		name := strings.TrimSpace(names[n])
		if name == "" {
			continue
		}
		if !validHeaderName(name) {
			bad("%s: %q is not a valid HTTP header name (letters, digits and !#$%%&'*+-.^_`|~ only)", nameKey, name)
			continue
		}
		canonical := http.CanonicalHeaderKey(name)
		if canonical == "Authorization" {
			bad("%s: the Authorization header cannot be set as a custom header: use the Prometheus authentication setting (basic auth or bearer token)", nameKey)
			continue
		}
		if prev, dup := seen[canonical]; dup {
			bad("%s: header %q is already set by %s%d", nameKey, name, PrometheusHeaderNamePrefix, prev)
			continue
		}
		seen[canonical] = n
		value := secure[valueKey]
		if value == "" {
			bad("%s (%s) has no value: set it in the secure setting %s", nameKey, name, valueKey)
			continue
		}
		if strings.ContainsFunc(value, func(r rune) bool { return r < ' ' && r != '\t' || r == 0x7f }) {
			bad("%s: the value of header %s contains a line break or control character", valueKey, name)
			continue
		}
		if headers == nil {
			headers = map[string]string{}
		}
		headers[name] = value
	}
	return headers
}

// validHeaderName reports whether name is an RFC 9110 token.
func validHeaderName(name string) bool {
	for _, r := range name {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
		case strings.ContainsRune("!#$%&'*+-.^_`|~", r):
		default:
			return false
		}
	}
	return name != ""
}

// hasPEMCertificate reports whether text holds at least one PEM CERTIFICATE block.
func hasPEMCertificate(text string) bool {
	rest := []byte(text)
	for {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			return false
		}
		if block.Type == "CERTIFICATE" {
			return true
		}
	}
}

// AllowAll in the allow-list lets Sheepdog read any data source the service
// account can.
const AllowAll = "*"

// AllowListed reports whether the data source uid is on the allow-list; "*"
// allows all, an empty uid none. It is the one allow-list rule: the source
// package enforces it before any request is made.
func AllowListed(uid string, allowed []string) bool {
	if strings.TrimSpace(uid) == "" {
		return false
	}
	for _, a := range allowed {
		if a == uid || a == AllowAll {
			return true
		}
	}
	return false
}

// checkHTTPURL validates a URL setting. Its errors are logged and shown in
// health messages and query errors, so they never repeat the input: a URL may
// carry a password (url.Parse errors quote it too).
func checkHTTPURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return errors.New("is not a valid URL")
	}
	if u.User != nil {
		return errors.New("must not contain a user name or password: use the authentication settings instead")
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return errors.New("must start with http:// or https://")
	}
	if u.Host == "" {
		return errors.New("has no host")
	}
	return nil
}
