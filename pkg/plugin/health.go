package plugin

import (
	"context"
	"fmt"
	"strings"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
)

// CheckHealth checks what the settings configure and tells the admin what to
// fix. It never echoes a secret.
func (d *Datasource) CheckHealth(ctx context.Context, req *backend.CheckHealthRequest) (*backend.CheckHealthResult, error) {
	if d.cfgErr != nil {
		return &backend.CheckHealthResult{Status: backend.HealthStatusError, Message: d.cfgErr.Error()}, nil
	}
	checks := d.healthChecks(ctx, req)
	status := backend.HealthStatusOk
	var lines []string
	for _, c := range checks {
		if !c.ok {
			status = backend.HealthStatusError
		}
		lines = append(lines, c.String())
	}
	msg := "Sheepdog is ready: " + strings.Join(lines, "; ")
	if status != backend.HealthStatusOk {
		msg = "Sheepdog needs attention: " + strings.Join(lines, "; ")
	}
	return &backend.CheckHealthResult{Status: status, Message: msg}, nil
}

type healthCheck struct {
	part   string
	ok     bool
	detail string
}

func (c healthCheck) String() string {
	mark := "OK"
	if !c.ok {
		mark = "FAIL"
	}
	return fmt.Sprintf("%s %s: %s", c.part, mark, c.detail)
}

func (d *Datasource) healthChecks(ctx context.Context, req *backend.CheckHealthRequest) []healthCheck {
	return []healthCheck{{part: "engine", ok: true, detail: "embedded engine; inline CSV queries available"}}
}
