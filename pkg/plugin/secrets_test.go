package plugin

import (
	"context"
	"strings"
	"testing"

	"github.com/grafana/grafana-plugin-sdk-go/backend"

	"github.com/sheepdog-anomaly/sheepdog/pkg/remote"
)

// A URL setting may carry a password: no error, log line or health message
// built from it may repeat it.
func TestURLSettingErrorsNeverEchoSecrets(t *testing.T) {
	const secret = "s3cr3t-pw"
	tests := []struct{ name, jsonData string }{
		{"remote URL with user info", `{"engine":"remote","remoteUrl":"http://admin:` + secret + `@api.example.com"}`},
		{"prometheus URL with user info", `{"prometheusUrl":"http://admin:` + secret + `@prom.example.com"}`},
		{"unparseable remote URL", `{"engine":"remote","remoteUrl":"http://admin:` + secret + `@[::1"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := newDatasource(backend.DataSourceInstanceSettings{UID: "x", JSONData: []byte(tt.jsonData)})
			if d.cfgErr == nil {
				t.Fatal("settings accepted")
			}
			h, _ := d.CheckHealth(context.Background(), &backend.CheckHealthRequest{})
			if h.Status != backend.HealthStatusError || strings.Contains(h.Message, secret) || strings.Contains(string(h.JSONDetails), secret) {
				t.Errorf("health %v %q", h.Status, h.Message)
			}
		})
	}
	for _, u := range []string{"http://admin:" + secret + "@[::1", "ftp://admin:" + secret + "@x", "http://admin:" + secret + "@api.example.com"} {
		_, err := remote.New(remote.Config{URL: u})
		if err == nil || strings.Contains(err.Error(), secret) {
			t.Errorf("remote.New(%q) error %v: want one that does not repeat the URL", "…", err)
		}
	}
}
