// Package plugin is Sheepdog's Grafana adapter: it turns Grafana requests into
// source fetches and detection runs and their results into data frames. It
// holds no statistics; those live in pkg/engine.
package plugin

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/grafana/grafana-plugin-sdk-go/backend/instancemgmt"
	"github.com/grafana/grafana-plugin-sdk-go/backend/log"

	"github.com/sheepdog-anomaly/sheepdog/pkg/detector"
	"github.com/sheepdog-anomaly/sheepdog/pkg/models"
	"github.com/sheepdog-anomaly/sheepdog/pkg/remote"
	"github.com/sheepdog-anomaly/sheepdog/pkg/source"
)

// Stream-cache bounds for alert re-evaluation.
const (
	DefaultCacheMaxSeries = 20_000
	DefaultCacheTTL       = 15 * time.Minute
)

// Fetcher fetches a query's source series over a range. The default one
// dispatches on the source type to pkg/source; tests and benchmarks inject
// their own.
type Fetcher interface {
	Fetch(ctx context.Context, fr FetchRequest) ([]source.Series, error)
}

// FetchRequest is what a Fetcher needs for one query.
type FetchRequest struct {
	RefID   string
	Query   *models.ParsedQuery
	Range   source.Range
	Headers map[string]string // forwarded to Grafana's /api/ds/query (FromAlert, org)
}

// Datasource is one configured Sheepdog data source instance. Grafana creates a
// new instance whenever the settings change and disposes of the old one.
type Datasource struct {
	uid     string
	name    string
	updated time.Time
	cfg     *models.Config
	cfgErr  error // settings that failed validation: every query and the health check report it
	logger  log.Logger

	fetcher  Fetcher
	prom     *source.PromClient
	promErr  error
	remote   *remote.Client    // the remote engine's client, for its health check
	detector detector.Detector // judges the series: embedded, remote, or remote with fallback
	cache    *streamCache

	grafanaMu     sync.Mutex
	grafanaClient *source.GrafanaClient
	grafanaKey    string // app URL + token hash the client was built for
}

var (
	_ backend.QueryDataHandler      = (*Datasource)(nil)
	_ backend.CheckHealthHandler    = (*Datasource)(nil)
	_ backend.CallResourceHandler   = (*Datasource)(nil)
	_ instancemgmt.InstanceDisposer = (*Datasource)(nil)
)

// NewDatasource builds an instance from its settings. Invalid settings do not
// fail instance creation: Grafana would then show a generic plugin error, so
// the instance keeps the validation error and reports it where the user looks
// (the health check and each query).
func NewDatasource(ctx context.Context, s backend.DataSourceInstanceSettings) (instancemgmt.Instance, error) {
	return newDatasource(s), nil
}

func newDatasource(s backend.DataSourceInstanceSettings) *Datasource {
	cfg, err := models.ParseSettings(s.JSONData, s.DecryptedSecureJSONData)
	d := &Datasource{uid: s.UID, name: s.Name, updated: s.Updated, cfg: cfg,
		logger:   backend.Logger.With("datasource", s.UID),
		cache:    newStreamCache(DefaultCacheMaxSeries, DefaultCacheTTL),
		detector: detector.Embedded{}}
	d.fetcher = sourceFetcher{d}
	if cfg != nil && cfg.Budgets.AlertCacheMaxBytes > 0 {
		d.cache.maxBytes = cfg.Budgets.AlertCacheMaxBytes
	}
	if err != nil {
		d.cfgErr = fmt.Errorf("invalid data source settings: %w", err)
		d.logger.Warn("invalid settings", "error", err.Error())
		return d
	}
	if cfg.Prometheus.URL != "" {
		d.prom, d.promErr = source.NewPromClient(source.PromConfig{
			URL: cfg.Prometheus.URL,
			Auth: source.PromAuth{Mode: cfg.Prometheus.Auth, User: cfg.Prometheus.User,
				Password: cfg.Prometheus.Password, Token: cfg.Prometheus.Token},
			TLS:     source.TLSOptions{SkipVerify: cfg.Prometheus.TLSSkipVerify, CACertPEM: cfg.Prometheus.CACertPEM},
			Headers: cfg.Prometheus.Headers,
		})
	}
	if cfg.Engine == models.EngineRemote {
		rc := cfg.Remote
		d.remote, err = remote.New(remote.Config{
			URL: rc.URL, APIKey: rc.APIKey, Timeout: rc.Timeout, BackoffBase: rc.BackoffBase, BackoffMax: rc.BackoffMax,
			BreakerCooldown: rc.BreakerCooldown, MaxRetries: rc.Retries, BreakerThreshold: rc.BreakerThreshold,
			MaxInFlight: rc.MaxInFlight, Fallback: rc.Fallback, TLSSkipVerify: rc.TLSSkipVerify, CACertPEM: rc.CACertPEM,
			MaxCallsPerQuery: rc.MaxCallsPerQuery, DataSource: s.UID, Logger: d.logger,
		})
		switch {
		case err != nil:
			d.cfgErr = fmt.Errorf("invalid remote engine settings: %w", err)
		case rc.Fallback:
			d.detector = detector.Fallback{Primary: d.remote, Secondary: detector.Embedded{}, Count: remote.CountFallback, Logger: d.logger}
		default:
			d.detector = d.remote
		}
	}
	return d
}

// Dispose releases the instance's resources when Grafana replaces it.
func (d *Datasource) Dispose() {
	if d.prom != nil {
		d.prom.Close()
	}
	if d.remote != nil {
		d.remote.Close()
	}
	d.grafanaMu.Lock()
	if d.grafanaClient != nil {
		d.grafanaClient.Close()
	}
	d.grafanaMu.Unlock()
	d.cache.clear()
}
