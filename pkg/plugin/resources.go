package plugin

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"

	"github.com/sheepdog-anomaly/sheepdog/pkg/models"
)

func jsonMarshal(v any) ([]byte, error) { return json.Marshal(v) }

// CallResource serves what the query and config editors need:
//
//	GET  /detectors        methods, their parameters and defaults
//	POST /history-preview  the window a query will fetch: {query, from, to, intervalMs, maxDataPoints}
//	GET  /allowed-sources  the allow-list of source data sources (UIDs only)
func (d *Datasource) CallResource(ctx context.Context, req *backend.CallResourceRequest, sender backend.CallResourceResponseSender) error {
	path := strings.Trim(req.Path, "/")
	switch {
	case path == "detectors" && req.Method == http.MethodGet:
		return sendJSON(sender, http.StatusOK, detectorCatalogue())
	case path == "history-preview" && req.Method == http.MethodPost:
		preview, err := historyPreview(req.Body)
		if err != nil {
			return sendJSON(sender, http.StatusBadRequest, map[string]string{"error": err.Error()})
		}
		return sendJSON(sender, http.StatusOK, preview)
	case path == "allowed-sources" && req.Method == http.MethodGet:
		if d.cfgErr != nil {
			return sendJSON(sender, http.StatusBadRequest, map[string]string{"error": d.cfgErr.Error()})
		}
		allowed := d.cfg.AllowedDatasources
		if allowed == nil {
			allowed = []string{}
		}
		return sendJSON(sender, http.StatusOK, map[string]any{"uids": allowed})
	case path == "detectors" || path == "history-preview" || path == "allowed-sources":
		return sendJSON(sender, http.StatusMethodNotAllowed, map[string]string{"error": req.Method + " is not allowed on /" + path})
	}
	return sendJSON(sender, http.StatusNotFound, map[string]string{"error": "no resource /" + path + " (have: detectors, history-preview, allowed-sources)"})
}

// PreviewRequest asks what a query would fetch.
type PreviewRequest struct {
	Query         json.RawMessage `json:"query"`
	From          int64           `json:"from"` // unix ms
	To            int64           `json:"to"`
	IntervalMs    int64           `json:"intervalMs"`
	MaxDataPoints int64           `json:"maxDataPoints"`
}

// Preview is the history window a query will fetch.
type Preview struct {
	FetchFrom       time.Time `json:"fetchFrom"`
	From            time.Time `json:"from"`
	To              time.Time `json:"to"`
	StepMs          int64     `json:"stepMs"`
	HistoryMs       int64     `json:"historyMs"`
	History         string    `json:"history"`
	HistoryCapped   bool      `json:"historyCapped"`
	PointsPerSeries int64     `json:"pointsPerSeries"`
	Explanation     string    `json:"explanation"`
}

func historyPreview(body []byte) (*Preview, error) {
	var pr PreviewRequest
	if err := json.Unmarshal(body, &pr); err != nil {
		return nil, fmt.Errorf("decode preview request: %w", err)
	}
	pq, err := models.ParseQuery(pr.Query)
	if err != nil {
		return nil, err
	}
	q := backend.DataQuery{
		TimeRange:     backend.TimeRange{From: time.UnixMilli(pr.From).UTC(), To: time.UnixMilli(pr.To).UTC()},
		Interval:      time.Duration(pr.IntervalMs) * time.Millisecond,
		MaxDataPoints: pr.MaxDataPoints,
	}
	p, err := makePlan(pq, q)
	if err != nil {
		return nil, err
	}
	out := &Preview{FetchFrom: p.FetchFrom(), From: p.From, To: p.To, StepMs: p.Step.Milliseconds(),
		HistoryMs: p.History.Milliseconds(), History: p.History.String(), HistoryCapped: p.HistoryCapped}
	if p.Step > 0 {
		out.PointsPerSeries = int64(p.To.Sub(p.FetchFrom())/p.Step) + 1
	}
	switch {
	case pq.Raw.Source.Type == models.SourceCSV:
		out.Explanation = "inline CSV is analysed whole; no history is fetched"
	case !pq.Detector.HistoryAuto:
		out.Explanation = "history set on the query"
	case pq.Detector.Period > 0:
		out.Explanation = fmt.Sprintf("%d seasons of %s", historySeasons, pq.Detector.Period)
	case pq.Detector.Period == 0:
		out.Explanation = fmt.Sprintf("seasonality is detected automatically: %s of history", autoHistory)
	default:
		out.Explanation = fmt.Sprintf("no seasonality: %d steps, at least %s", noSeasonHistoryPoints, minNoSeasonHistory)
	}
	if p.HistoryCapped {
		out.Explanation += fmt.Sprintf(", cut to %s", maxHistory)
	}
	if p.StepWidened {
		out.Explanation += fmt.Sprintf("; step widened to %s to keep it within %d points", p.Step, p.PointCap)
	}
	return out, nil
}

func sendJSON(sender backend.CallResourceResponseSender, status int, v any) error {
	body, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return sender.Send(&backend.CallResourceResponse{
		Status:  status,
		Headers: map[string][]string{"Content-Type": {"application/json"}},
		Body:    body,
	})
}
