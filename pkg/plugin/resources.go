package plugin

import (
	"context"
	"encoding/json"
	"net/http"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/grafana/grafana-plugin-sdk-go/backend/resource/httpadapter"
)

// resources serves the data source's resource calls through a ServeMux, as
// grafana/github-datasource does: a new resource is one more HandleFunc.
// Only /detectors is served: history-preview and allowed-sources went in
// with no caller in the editors (the query editor reads the allow-list from
// jsonData), so they were removed rather than kept as untested surface.
var resources = httpadapter.New(resourceMux())

func resourceMux() *http.ServeMux {
	mux := http.NewServeMux()
	// GET /detectors: methods with descriptions, parameters with types,
	// defaults and ranges, outputs, alert modes (the engine's catalogue).
	mux.HandleFunc("/detectors", func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet {
			writeJSON(w, http.StatusMethodNotAllowed, map[string]string{"error": r.Method + " is not allowed on /detectors"})
			return
		}
		writeJSON(w, http.StatusOK, detectorCatalogue())
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusNotFound, map[string]string{"error": "no resource " + r.URL.Path + " (have: detectors)"})
	})
	return mux
}

// CallResource serves the resources above.
func (d *Datasource) CallResource(ctx context.Context, req *backend.CallResourceRequest, sender backend.CallResourceResponseSender) error {
	return resources.CallResource(ctx, req, sender)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		status, body = http.StatusInternalServerError, []byte(`{"error":"encode response"}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}
