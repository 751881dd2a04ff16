package plugin

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"

	"github.com/sheepdog-anomaly/sheepdog/pkg/models"
	"github.com/sheepdog-anomaly/sheepdog/pkg/source"
)

// healthTimeout bounds each part of the health check.
const healthTimeout = 10 * time.Second

// CheckHealth checks each configured part and tells the admin what to fix.
// Messages never contain a secret: they come from this package or from the
// source and remote clients, which redact credentials.
func (d *Datasource) CheckHealth(ctx context.Context, req *backend.CheckHealthRequest) (*backend.CheckHealthResult, error) {
	if d.cfgErr != nil {
		return &backend.CheckHealthResult{Status: backend.HealthStatusError,
			Message: "Fix the settings: " + d.cfgErr.Error()}, nil
	}
	checks := []healthCheck{d.checkEngine(ctx), d.checkPrometheus(ctx), d.checkGrafanaSources(ctx)}
	status := backend.HealthStatusOk
	var lines []string
	details := map[string]any{}
	for _, c := range checks {
		if c.skip {
			continue
		}
		if !c.ok {
			status = backend.HealthStatusError
		}
		lines = append(lines, c.String())
		details[c.part] = map[string]any{"ok": c.ok, "detail": c.detail}
	}
	prefix := "Sheepdog is ready. "
	if status != backend.HealthStatusOk {
		prefix = "Sheepdog needs attention. "
	}
	body, _ := json.Marshal(details)
	return &backend.CheckHealthResult{Status: status, Message: prefix + strings.Join(lines, " | "), JSONDetails: body}, nil
}

type healthCheck struct {
	part   string
	ok     bool
	skip   bool
	detail string
}

func (c healthCheck) String() string {
	mark := "OK"
	if !c.ok {
		mark = "FAILED"
	}
	return fmt.Sprintf("%s %s: %s", c.part, mark, c.detail)
}

func (d *Datasource) checkEngine(ctx context.Context) healthCheck {
	if d.remote == nil {
		return healthCheck{part: "Engine", ok: true, detail: "embedded engine (runs inside Grafana, no set-up needed)"}
	}
	ctx, cancel := context.WithTimeout(ctx, healthTimeout)
	defer cancel()
	h, err := d.remote.Check(ctx)
	fallback := ""
	if d.cfg.Remote.Fallback {
		fallback = "; until it is fixed, queries fall back to the embedded engine"
	}
	switch {
	case err != nil && !h.Reachable:
		return healthCheck{part: "Remote engine", detail: fmt.Sprintf("cannot reach %s: %s. Check the Remote API URL and that the API is running%s", hostOf(d.cfg.Remote.URL), h.Message, fallback)}
	case err != nil:
		return healthCheck{part: "Remote engine", detail: fmt.Sprintf("%s answered but failed: %s. Check the API key and the API's logs%s", hostOf(d.cfg.Remote.URL), h.Message, fallback)}
	case d.cfg.Remote.APIKey == "":
		return healthCheck{part: "Remote engine", ok: true, detail: h.Message + "; no API key is set (fine if the API does not require one)"}
	case !h.KeyAccepted:
		return healthCheck{part: "Remote engine", ok: true, detail: h.Message}
	}
	return healthCheck{part: "Remote engine", ok: true, detail: h.Message + "; API key accepted"}
}

func (d *Datasource) checkPrometheus(ctx context.Context) healthCheck {
	if d.cfg.Prometheus.URL == "" {
		return healthCheck{skip: true}
	}
	if d.promErr != nil {
		return healthCheck{part: "Prometheus", detail: d.promErr.Error()}
	}
	ctx, cancel := context.WithTimeout(ctx, healthTimeout)
	defer cancel()
	h, err := d.prom.Check(ctx)
	if err != nil {
		return healthCheck{part: "Prometheus", detail: fmt.Sprintf("%v. Check the Prometheus URL, its authentication and TLS settings", err)}
	}
	v := h.Version
	if v == "" {
		v = "unknown version"
	}
	return healthCheck{part: "Prometheus", ok: true, detail: fmt.Sprintf("%s answered in %s (%s)", hostOf(d.cfg.Prometheus.URL), h.Latency.Round(time.Millisecond), v)}
}

// checkGrafanaSources checks that other data sources can be queried: the
// allow-list, Grafana's URL and the token, by looking up each allowed data
// source (or, with only "*", by one authenticated call).
func (d *Datasource) checkGrafanaSources(ctx context.Context) healthCheck {
	const part = "Grafana data sources"
	if len(d.cfg.AllowedDatasources) == 0 {
		detail := "none allowed yet: add data source UIDs to the allow-list (or set a Prometheus URL); until then only inline CSV queries work"
		if d.cfg.Prometheus.URL != "" {
			detail = "none allowed (add data source UIDs to the allow-list to analyse them)"
		}
		// Nothing to query yet, so not a failure; but the default access mode
		// does not work on a stock Grafana, and the admin should learn it now,
		// not from the first query.
		if _, err := d.grafana(ctx); errors.Is(err, source.ErrNoManagedAccount) {
			detail += "; before adding any: " + err.Error()
		}
		return healthCheck{part: part, ok: true, detail: detail}
	}
	client, err := d.grafana(ctx)
	if err != nil {
		return healthCheck{part: part, detail: err.Error()}
	}
	ctx, cancel := context.WithTimeout(ctx, healthTimeout)
	defer cancel()
	var problems []string
	checked := 0
	for _, uid := range d.cfg.AllowedDatasources {
		if uid == source.AllowAll || checked >= maxHealthLookups {
			continue
		}
		checked++
		// A data source Sheepdog may not read (403, source.ErrCannotVerify) is
		// a problem, not a warning: it cannot be queried either, as its type
		// must be known to refuse loops (source.GrafanaClient.Query).
		if _, err := client.CheckDataSource(ctx, uid); err != nil {
			problems = append(problems, err.Error())
		}
	}
	if checked == 0 {
		// Nothing named to look up: still prove the URL and the token.
		if err := client.CheckToken(ctx); err != nil {
			problems = append(problems, err.Error())
		}
	}
	if len(problems) > 0 {
		return healthCheck{part: part, detail: strings.Join(problems, "; ")}
	}
	detail := fmt.Sprintf("%d allowed (%s), Grafana accepted the %s", len(d.cfg.AllowedDatasources),
		strings.Join(d.cfg.AllowedDatasources, ", "), accessName(d.cfg.SourceAccess))
	if checked == 0 {
		detail += "; any data source is allowed, so none was looked up: each query reports its own access errors"
	}
	return healthCheck{part: part, ok: true, detail: detail}
}

// maxHealthLookups bounds the data sources looked up by one health check.
const maxHealthLookups = 5

func accessName(a string) string {
	if a == models.AccessToken {
		return "stored service-account token"
	}
	return "plugin's managed service account"
}

func hostOf(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return "the configured URL"
	}
	return u.Host
}
