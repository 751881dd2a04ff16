package demogen

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// NewHandler serves the exporter's endpoints.
func NewHandler(gen *Generator, now func() time.Time) http.Handler {
	reg := prometheus.NewRegistry()
	reg.MustRegister(NewCollector(gen, now), collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	mux.HandleFunc("GET /incidents", func(w http.ResponseWriter, r *http.Request) {
		t := now()
		from, err := ParseTimeParam(queryOr(r, "from", "-24h"), t)
		if err != nil {
			http.Error(w, "from: "+err.Error(), http.StatusBadRequest)
			return
		}
		to, err := ParseTimeParam(queryOr(r, "to", "24h"), t)
		if err != nil {
			http.Error(w, "to: "+err.Error(), http.StatusBadRequest)
			return
		}
		if !to.After(from) {
			http.Error(w, "to must be after from", http.StatusBadRequest)
			return
		}
		if to.Sub(from) > 31*24*time.Hour {
			http.Error(w, "range longer than 31 days", http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(NewSchedule(gen, from, to, t))
	})
	alerts := NewAlertReceiver(100)
	mux.HandleFunc("POST /alerts", alerts.post)
	mux.HandleFunc("GET /alerts", alerts.list)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprintln(w, "sheepdog-demo: /metrics (Prometheus), /incidents?from=&to= (schedule, JSON), /alerts (POST: webhook contact point; GET: notifications received), /healthz")
	})
	return mux
}

// Schedule is the JSON answer of /incidents and `sheepdog-demo incidents`.
type Schedule struct {
	Now           time.Time          `json:"now"`
	From          time.Time          `json:"from"`
	To            time.Time          `json:"to"`
	Seed          uint64             `json:"seed"`
	IncidentEvery string             `json:"incidentEvery"`
	Hosts         []string           `json:"hosts"`
	Incidents     []ScheduleIncident `json:"incidents"`
}

// ScheduleIncident is one incident with whether it is running now.
type ScheduleIncident struct {
	Incident
	Active bool `json:"active"`
}

// NewSchedule lists the incidents overlapping [from, to) and which run at now.
func NewSchedule(gen *Generator, from, to, now time.Time) Schedule {
	cfg := gen.Config()
	s := Schedule{Now: now.UTC(), From: from.UTC(), To: to.UTC(), Seed: cfg.Seed, IncidentEvery: cfg.IncidentEvery.String(), Hosts: gen.Hosts(), Incidents: []ScheduleIncident{}}
	for _, in := range gen.Incidents(from, to) {
		s.Incidents = append(s.Incidents, ScheduleIncident{Incident: in, Active: in.Active(now)})
	}
	return s
}

// ParseTimeParam reads unix seconds, RFC3339, or a duration relative to now
// ("-6h"); an empty string means now.
func ParseTimeParam(s string, now time.Time) (time.Time, error) {
	if s == "" {
		return now, nil
	}
	if f, err := strconv.ParseFloat(s, 64); err == nil {
		return time.Unix(0, int64(f*1e9)).UTC(), nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	if d, err := time.ParseDuration(s); err == nil {
		return now.Add(d), nil
	}
	return time.Time{}, fmt.Errorf("%q is neither unix seconds, RFC3339 nor a duration like -6h", s)
}

func queryOr(r *http.Request, key, def string) string {
	if v := r.URL.Query().Get(key); v != "" {
		return v
	}
	return def
}
