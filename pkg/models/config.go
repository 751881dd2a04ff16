package models

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"
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
)

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
		d, err := ParseDuration(v)
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
	if len(errs) > 0 {
		return c, errors.Join(errs...)
	}
	return c, nil
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

// Allows reports whether the data source uid is on the allow-list. "*" allows all.
func (c *Config) Allows(uid string) bool { return AllowListed(uid, c.AllowedDatasources) }

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
