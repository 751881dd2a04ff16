package plugin

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"

	"github.com/sheepdog-anomaly/sheepdog/pkg/models"
	"github.com/sheepdog-anomaly/sheepdog/pkg/source"
)

// sourceKind is one source type: how its series are fetched and what it is
// capable of, so plan, query and the alert cache ask for a property instead
// of naming a type. A new source is a package under pkg/source, one entry in
// sourceKinds, its type in pkg/models and its editor.
type sourceKind struct {
	fetch func(ctx context.Context, d *Datasource, fr FetchRequest) ([]source.Series, error)
	// ownTimes: the query carries its own timestamps, hence its own step and
	// range (inline CSV): no step or history is planned (it needs none
	// fetched), and outputs are shown whole, not trimmed to the panel's range.
	ownTimes bool
	// cacheableForAlerts: a live series that grows with time, whose stream
	// state the alert cache may keep between evaluations.
	cacheableForAlerts bool
	// nested: fetched as one nested query through Grafana's /api/ds/query, so
	// the nested query's own minimum interval applies and the whole fetch
	// must fit in maxNestedPoints.
	nested bool
}

var sourceKinds = map[string]sourceKind{
	models.SourceCSV:        {fetch: fetchCSV, ownTimes: true},
	models.SourcePrometheus: {fetch: fetchPrometheus, cacheableForAlerts: true},
	models.SourceDatasource: {fetch: fetchDatasource, cacheableForAlerts: true, nested: true},
}

// sourceFetcher fetches from the real sources configured on the data source.
type sourceFetcher struct{ d *Datasource }

func (f sourceFetcher) Fetch(ctx context.Context, fr FetchRequest) ([]source.Series, error) {
	kind, ok := sourceKinds[fr.Query.Raw.Source.Type]
	if !ok {
		return nil, badRequest(fmt.Errorf("source type %q is not supported", fr.Query.Raw.Source.Type))
	}
	return kind.fetch(ctx, f.d, fr)
}

func fetchCSV(_ context.Context, d *Datasource, fr FetchRequest) ([]source.Series, error) {
	s, err := source.ParseCSV(fr.Query.Raw.Source.CSV, source.CSVLimits{MaxSeries: d.cfg.Budgets.MaxSeriesPerQuery})
	if err != nil {
		return nil, badRequest(err)
	}
	return s, nil
}

func fetchPrometheus(ctx context.Context, d *Datasource, fr FetchRequest) ([]source.Series, error) {
	src := fr.Query.Raw.Source
	if d.cfg.Prometheus.URL == "" {
		return nil, badRequest(errors.New("this Sheepdog data source has no Prometheus URL: set one in its settings, or pick a Grafana data source as the source"))
	}
	if d.promErr != nil {
		return nil, badRequest(fmt.Errorf("Prometheus settings: %w", d.promErr))
	}
	s, err := d.prom.QueryRange(ctx, src.Expr, fr.Range, src.LegendFormat)
	if err != nil {
		return nil, downstream(fmt.Errorf("Prometheus query_range: %w", err))
	}
	return s, nil
}

func fetchDatasource(ctx context.Context, d *Datasource, fr FetchRequest) ([]source.Series, error) {
	src := fr.Query.Raw.Source
	// The allow-list is checked before anything else, so a refused data
	// source is never contacted.
	if err := source.CheckAllowed(src.Datasource.UID, d.cfg.AllowedDatasources); err != nil {
		return nil, forbidden(err)
	}
	client, err := d.grafana(ctx)
	if err != nil {
		return nil, badRequest(err)
	}
	s, err := client.Query(ctx, *src.Datasource, src.Query, fr.Range, source.GrafanaQueryOptions{RefID: fr.RefID, Headers: fr.Headers})
	if err != nil {
		switch {
		case errors.Is(err, source.ErrRefusedSource):
			return nil, badRequest(err)
		case errors.Is(err, source.ErrSourceAccess):
			return nil, forbidden(err)
		}
		return nil, downstream(err)
	}
	return s, nil
}

// grafana returns a client for Grafana's /api/ds/query built from the
// request's Grafana config (app URL and the managed service account's token),
// reused while they stay the same.
func (d *Datasource) grafana(ctx context.Context) (*source.GrafanaClient, error) {
	gc, err := source.GrafanaConfigFromContext(ctx, d.cfg.SourceAccess,
		map[string]string{models.SecureGrafanaToken: d.cfg.GrafanaToken}, d.cfg.AllowedDatasources)
	if err != nil {
		return nil, err
	}
	// Another Sheepdog as a source would run this query's kind again, one
	// hop further each time: refused by its type, read from Grafana.
	gc.RefusedTypes = []string{PluginID}
	sum := sha256.Sum256([]byte(gc.AppURL + "\x00" + gc.Token))
	key := hex.EncodeToString(sum[:])
	d.grafanaMu.Lock()
	defer d.grafanaMu.Unlock()
	if d.grafanaClient != nil && d.grafanaKey == key {
		return d.grafanaClient, nil
	}
	c, err := source.NewGrafanaClient(gc)
	if err != nil {
		return nil, err
	}
	if d.grafanaClient != nil {
		d.grafanaClient.Close()
	}
	d.grafanaClient, d.grafanaKey = c, key
	return c, nil
}
