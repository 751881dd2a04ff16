// Package plugin is Sheepdog's Grafana adapter: it turns Grafana requests into
// source fetches and detection runs and their results into data frames. It
// holds no statistics; those live in pkg/engine.
package plugin

import (
	"context"
	"fmt"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/grafana/grafana-plugin-sdk-go/backend/instancemgmt"
	"github.com/grafana/grafana-plugin-sdk-go/backend/log"

	"github.com/sheepdog-anomaly/sheepdog/pkg/models"
)

// Datasource is one configured Sheepdog data source instance. Grafana creates a
// new instance whenever the settings change and disposes of the old one.
type Datasource struct {
	uid    string
	name   string
	cfg    *models.Config
	cfgErr error // settings that failed validation: every query and the health check report it
	logger log.Logger
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
	cfg, err := models.ParseSettings(s.JSONData, s.DecryptedSecureJSONData)
	ds := &Datasource{uid: s.UID, name: s.Name, cfg: cfg, logger: backend.Logger.With("datasource", s.UID)}
	if err != nil {
		ds.cfgErr = fmt.Errorf("invalid data source settings: %w", err)
		ds.logger.Warn("invalid settings", "error", err.Error())
	}
	return ds, nil
}

// Dispose releases the instance's resources when Grafana replaces it.
func (d *Datasource) Dispose() {}
