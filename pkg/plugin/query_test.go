package plugin

import (
	"testing"

	"github.com/grafana/grafana-plugin-sdk-go/backend"

	"github.com/sheepdog-anomaly/sheepdog/pkg/models"
)

func TestQueryModeOrder(t *testing.T) {
	alertOn := `{"source":{"type":"prometheus","expr":"x"},"alert":{"enabled":true}}`
	alertOff := `{"source":{"type":"prometheus","expr":"x"}}`
	tests := []struct {
		name      string
		fromAlert bool
		refID     string
		queryType string
		js        string
		want      mode
	}{
		{"panel", false, "A", "", alertOff, modePanel},
		{"alert.enabled on a panel", false, "A", "", alertOn, modeAlert},
		{"alerting header", true, "A", "", alertOff, modeAlert},
		{"annotation by refId", false, "Anno", "", alertOff, modeAnnotations},
		{"annotation by refId with alert.enabled", false, "Anno", "", alertOn, modeAnnotations},
		{"annotation by queryType with alert.enabled", false, "X", QueryTypeAnnotations, alertOn, modeAnnotations},
		{"alerting header beats annotation", true, "Anno", QueryTypeAnnotations, alertOff, modeAlert},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pq, err := models.ParseQuery([]byte(tt.js))
			if err != nil {
				t.Fatal(err)
			}
			req := &backend.QueryDataRequest{Headers: map[string]string{}}
			if tt.fromAlert {
				req.Headers[backend.FromAlertHeaderName] = "true"
			}
			if got := queryMode(req, backend.DataQuery{RefID: tt.refID, QueryType: tt.queryType}, pq); got != tt.want {
				t.Errorf("mode %d, want %d", got, tt.want)
			}
		})
	}
}

