// Command dshost answers the part of Grafana's HTTP API a dashboard page uses
// for a backend data source - /api/ds/query, /api/datasources/uid/<uid>/health,
// /api/datasources/uid/<uid>/resources/..., /api/health - by forwarding each
// request to the REAL plugin binary over go-plugin (internal/harness), so the
// browser test's Scenes dashboard (browser/) talks to what Grafana would run.
//
// What it follows in Grafana (13.x):
//   - pkg/api/ds_query.go QueryMetricsV2 + toJsonStreamingResponse: the body is a
//     dtos.MetricRequest {from, to, queries}; the answer is the
//     backend.QueryDataResponse as JSON, status 400 when any result has an error.
//   - pkg/api/datasources.go checkDatasourceHealth: {status, message[, details]},
//     400 unless the plugin says OK.
//   - pkg/services/query/query.go parseMetricRequest: one backend.DataQuery per
//     query, RefID = refId (default "A"), MaxDataPoints = maxDataPoints (default
//     100), Interval = intervalMs (default 1000 ms), QueryType = queryType,
//     JSON = the whole query object as the frontend sent it, and the request's
//     from/to as the time range.
//
// It prints "dshost listening on http://ADDR" once the plugin is up. Test hook:
// GET /_dshost/requests returns the QueryData requests it forwarded so far.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"

	"github.com/sheepdog-anomaly/sheepdog/internal/harness"
)

type metricRequest struct {
	From    string            `json:"from"`
	To      string            `json:"to"`
	Queries []json.RawMessage `json:"queries"`
}

type queryHead struct {
	RefID         string `json:"refId"`
	QueryType     string `json:"queryType"`
	MaxDataPoints *int64 `json:"maxDataPoints"`
	IntervalMs    *int64 `json:"intervalMs"`
	Datasource    *struct {
		UID  string `json:"uid"`
		Type string `json:"type"`
	} `json:"datasource"`
}

// parseTime reads a MetricRequest bound: epoch milliseconds (what
// DataSourceWithBackend sends) or an RFC 3339 time.
func parseTime(s string) (time.Time, error) {
	if ms, err := strconv.ParseInt(s, 10, 64); err == nil {
		return time.UnixMilli(ms).UTC(), nil
	}
	return time.Parse(time.RFC3339, s)
}

type server struct {
	plugin   *harness.Plugin
	instance harness.Instance
	mu       sync.Mutex
	seen     []json.RawMessage
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

func (s *server) query(w http.ResponseWriter, r *http.Request) {
	var dto metricRequest
	if err := json.NewDecoder(r.Body).Decode(&dto); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"message": "bad request data"})
		return
	}
	if len(dto.Queries) == 0 {
		writeJSON(w, http.StatusBadRequest, map[string]string{"message": "No queries found"})
		return
	}
	from, err1 := parseTime(dto.From)
	to, err2 := parseTime(dto.To)
	if err1 != nil || err2 != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"message": "bad time range"})
		return
	}
	var qs []harness.Query
	var queryTypes []string
	for _, raw := range dto.Queries {
		var h queryHead
		if err := json.Unmarshal(raw, &h); err != nil {
			writeJSON(w, http.StatusBadRequest, map[string]string{"message": "bad query"})
			return
		}
		if h.Datasource == nil || h.Datasource.UID != s.instance.UID {
			writeJSON(w, http.StatusNotFound, map[string]string{"message": "Data source not found"})
			return
		}
		q := harness.Query{RefID: h.RefID, JSON: raw, From: from, To: to, MaxDataPoints: 100, Interval: time.Second}
		if q.RefID == "" {
			q.RefID = "A"
		}
		if h.MaxDataPoints != nil {
			q.MaxDataPoints = *h.MaxDataPoints
		}
		if h.IntervalMs != nil {
			q.Interval = time.Duration(*h.IntervalMs) * time.Millisecond
		}
		qs = append(qs, q)
		queryTypes = append(queryTypes, h.QueryType)
	}
	req := s.instance.QueryRequest(false, qs...)
	for i, t := range queryTypes {
		req.Queries[i].QueryType = t
	}
	s.mu.Lock()
	s.seen = append(s.seen, dto.Queries...)
	s.mu.Unlock()
	resp, err := s.plugin.QueryData(r.Context(), req)
	if err != nil {
		writeJSON(w, http.StatusInternalServerError, map[string]string{"message": "Query data error", "error": err.Error()})
		return
	}
	status := http.StatusOK
	for _, res := range resp.Responses {
		if res.Error != nil {
			status = http.StatusBadRequest
			break
		}
	}
	writeJSON(w, status, resp)
}

func (s *server) health(w http.ResponseWriter, r *http.Request) {
	res, err := s.plugin.CheckHealth(r.Context(), s.instance.PluginContext())
	if err != nil {
		writeJSON(w, http.StatusInternalServerError, map[string]string{"message": err.Error()})
		return
	}
	status := http.StatusOK
	if res.Status != backend.HealthStatusOk {
		status = http.StatusBadRequest
	}
	payload := map[string]any{"status": res.Status.String(), "message": res.Message}
	if len(res.JSONDetails) > 0 {
		var details any
		if err := json.Unmarshal(res.JSONDetails, &details); err != nil {
			writeJSON(w, http.StatusInternalServerError, map[string]string{"message": "Failed to unmarshal detailed response from backend plugin"})
			return
		}
		payload["details"] = details
	}
	writeJSON(w, status, payload)
}

func (s *server) resource(w http.ResponseWriter, r *http.Request, rest string) {
	body, _ := io.ReadAll(r.Body)
	path := rest
	if r.URL.RawQuery != "" {
		path += "?" + r.URL.RawQuery
	}
	req := s.instance.ResourceRequest(r.Method, path, body)
	res, err := s.plugin.CallResource(r.Context(), req)
	if err != nil {
		writeJSON(w, http.StatusInternalServerError, map[string]string{"message": err.Error()})
		return
	}
	for k, vs := range res.Headers {
		for _, v := range vs {
			w.Header().Add(k, v)
		}
	}
	w.WriteHeader(res.Status)
	_, _ = w.Write(res.Body)
}

func (s *server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	prefix := "/api/datasources/uid/" + s.instance.UID + "/"
	switch p := r.URL.Path; {
	case p == "/api/health":
		writeJSON(w, http.StatusOK, map[string]string{"database": "ok", "version": "13.2.3"})
	case p == "/api/ds/query" && r.Method == http.MethodPost:
		s.query(w, r)
	case p == prefix+"health":
		s.health(w, r)
	case strings.HasPrefix(p, prefix+"resources/"):
		s.resource(w, r, strings.TrimPrefix(p, prefix+"resources/"))
	case p == "/_dshost/requests":
		s.mu.Lock()
		defer s.mu.Unlock()
		writeJSON(w, http.StatusOK, s.seen)
	default:
		writeJSON(w, http.StatusNotFound, map[string]string{"message": "Not found"})
	}
}

func main() {
	addr := flag.String("addr", "127.0.0.1:0", "listen address")
	uid := flag.String("uid", "sheepdog", "the data source's uid")
	jsonData := flag.String("json-data", "{}", "the data source's jsonData")
	flag.Parse()
	log.SetFlags(0)

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	plugin, err := harness.Start(ctx, harness.Options{})
	if err != nil {
		log.Fatalf("dshost: %v", err)
	}
	defer plugin.Close()
	s := &server{plugin: plugin, instance: harness.Instance{UID: *uid, JSONData: json.RawMessage(*jsonData)}}

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatalf("dshost: %v", err)
	}
	fmt.Printf("dshost listening on http://%s\n", ln.Addr())
	srv := &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
		_ = srv.Close()
	}()
	if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		log.Printf("dshost: %v", err)
	}
	if plugin.Exited() {
		log.Printf("dshost: the plugin exited; its log:\n%s", plugin.Logs())
	}
}
