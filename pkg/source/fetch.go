package source

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/sheepdog-anomaly/sheepdog/pkg/models"
)

// Sources fetches any query source for one Sheepdog data source instance:
// it holds the instance's settings and builds the Prometheus and Grafana
// clients on first use, reusing their connections afterwards.
type Sources struct {
	settings models.Settings
	secure   map[string]string
	csv      CSVLimits

	mu         sync.Mutex
	prom       *PromClient
	grafana    *GrafanaClient
	grafanaKey string // app URL and token the grafana client was built for
}

// NewSources keeps the instance's settings and decrypted secure settings.
func NewSources(settings models.Settings, secure map[string]string, csv CSVLimits) *Sources {
	copied := make(map[string]string, len(secure))
	for k, v := range secure {
		copied[k] = v
	}
	return &Sources{settings: settings, secure: copied, csv: csv}
}

// FetchOptions tune one Fetch.
type FetchOptions struct {
	RefID   string            // used as the nested query's refId for /api/ds/query
	Headers map[string]string // forwarded to /api/ds/query (e.g. FromAlert)
}

// Fetch returns the series of src over r.
func (s *Sources) Fetch(ctx context.Context, src models.Source, r Range, opt FetchOptions) ([]Series, error) {
	switch src.Type {
	case models.SourceCSV:
		return ParseCSV(src.CSV, s.csv)
	case models.SourcePrometheus:
		c, err := s.Prometheus()
		if err != nil {
			return nil, err
		}
		return c.QueryRange(ctx, src.Expr, r, src.LegendFormat)
	case models.SourceDatasource:
		if src.Datasource == nil {
			return nil, errors.New("no source data source is selected")
		}
		if err := CheckAllowed(src.Datasource.UID, s.settings.AllowedDatasources); err != nil {
			return nil, err
		}
		c, err := s.Grafana(ctx)
		if err != nil {
			return nil, err
		}
		return c.Query(ctx, *src.Datasource, src.Query, r, GrafanaQueryOptions{RefID: opt.RefID, Headers: opt.Headers})
	case "":
		return nil, errors.New("the query has no source: choose a data source, a Prometheus expression or inline CSV")
	default:
		return nil, fmt.Errorf("unknown source type %q (want datasource, prometheus or csv)", src.Type)
	}
}

// Prometheus returns the client for the configured Prometheus-compatible URL.
func (s *Sources) Prometheus() (*PromClient, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.prom != nil {
		return s.prom, nil
	}
	if strings.TrimSpace(s.settings.PrometheusURL) == "" {
		return nil, errors.New("no Prometheus URL is configured in this Sheepdog data source: set one, or query through a Grafana data source instead")
	}
	c, err := NewPromClient(PromConfigFromSettings(s.settings, s.secure))
	if err != nil {
		return nil, err
	}
	s.prom = c
	return c, nil
}

// Grafana returns a client for /api/ds/query with the app URL and token of
// ctx (the managed service account's token comes with each request).
func (s *Sources) Grafana(ctx context.Context) (*GrafanaClient, error) {
	cfg, err := GrafanaConfigFromContext(ctx, s.settings.SourceAccess, s.secure, s.settings.AllowedDatasources)
	if err != nil {
		return nil, err
	}
	key := cfg.AppURL + "\x00" + cfg.Token
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.grafana != nil && s.grafanaKey == key {
		return s.grafana, nil
	}
	c, err := NewGrafanaClient(cfg)
	if err != nil {
		return nil, err
	}
	if s.grafana != nil {
		s.grafana.Close()
	}
	s.grafana, s.grafanaKey = c, key
	return c, nil
}

// Close releases the clients' idle connections.
func (s *Sources) Close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.prom != nil {
		s.prom.Close()
	}
	if s.grafana != nil {
		s.grafana.Close()
	}
}
