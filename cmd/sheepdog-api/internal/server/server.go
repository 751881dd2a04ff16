// Package server is the HTTP handler of the reference anomaly API
// (api/openapi.yaml) backed by the embedded engine. main.go only parses flags
// and runs it; tests and fuzzing drive the handler directly.
package server

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/sheepdog-anomaly/sheepdog/internal/rollingrate"
	"github.com/sheepdog-anomaly/sheepdog/pkg/apicontract"
)

// Config configures a Server. Zero limits take the defaults below.
type Config struct {
	Keys         []string // accepted API keys; empty requires AllowNoAuth
	AllowNoAuth  bool     // serve without keys (local demos only)
	RateLimit    float64  // requests per second per key; 0 = unlimited
	RateBurst    int      // bucket size; 0 = max(1, ceil(RateLimit))
	MaxBodyBytes int64    // request body cap -> 413
	MaxPoints    int      // points per series cap -> 400
	MinPoints    int      // points per series floor -> 400
	// MaxBatchItems caps the series of one batch request -> 400.
	MaxBatchItems int
	// Snapshot history per key and metric, and how many metrics one key may track.
	HistoryPoints    int
	MaxMetricsPerKey int
	MaxKeysTracked   int // snapshot histories kept for this many distinct callers (no-auth mode keys by "")
	// AuthFailLimit failed authentications from one client address within
	// AuthFailWindow lock that address out for AuthLockout (429). 0 takes
	// the default; a negative limit turns the throttle off.
	AuthFailLimit  int
	AuthFailWindow time.Duration
	AuthLockout    time.Duration
	Version        string
	Faults         Faults
	Logger         *slog.Logger
}

// Defaults.
const (
	DefaultMaxBodyBytes     = 4 << 20
	DefaultMaxPoints        = 8640 // Azure's limit, so compatible callers split the same way
	DefaultMinPoints        = 12   // Azure's minimum
	DefaultMaxBatchItems    = 100
	DefaultHistoryPoints    = 720
	DefaultMaxMetricsPerKey = 1000
	DefaultAuthFailLimit    = 10
	DefaultAuthFailWindow   = time.Minute
	DefaultAuthLockout      = time.Minute
	// authAddrsTracked bounds the failure table (one small entry per address).
	authAddrsTracked = 10_000
	// authLogInterval is the most often a rejected-key summary is logged.
	authLogInterval = 10 * time.Second
)

// Server serves the contract. Create it with New.
type Server struct {
	cfg      Config
	log      *slog.Logger
	keys     *keyring
	limiter  *rateLimiter
	authFail *authThrottle
	authLog  *authLog
	faults   *faultInjector
	history  *historyStore
	stats    *rollingrate.Window
	metrics  *serverMetrics
	registry *prometheus.Registry
	started  time.Time
	mux      *http.ServeMux
}

// New validates cfg and builds a Server with its own metrics registry.
func New(cfg Config) (*Server, error) {
	if len(cfg.Keys) == 0 && !cfg.AllowNoAuth {
		return nil, errors.New("no API keys configured: set SHEEPDOG_API_KEYS or --keys-file (or --insecure-no-auth for a local demo)")
	}
	if len(cfg.Keys) > 0 && cfg.AllowNoAuth {
		// Both would serve requests without a key while the admin believes keys guard the API.
		return nil, fmt.Errorf("--insecure-no-auth is set together with %d API key(s) (SHEEPDOG_API_KEYS or --keys-file): remove the keys to serve without authentication, or drop --insecure-no-auth", len(cfg.Keys))
	}
	if cfg.AuthFailLimit == 0 {
		cfg.AuthFailLimit = DefaultAuthFailLimit
	}
	if cfg.AuthFailWindow <= 0 {
		cfg.AuthFailWindow = DefaultAuthFailWindow
	}
	if cfg.AuthLockout <= 0 {
		cfg.AuthLockout = DefaultAuthLockout
	}
	if cfg.MaxBodyBytes <= 0 {
		cfg.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if cfg.MaxPoints <= 0 {
		cfg.MaxPoints = DefaultMaxPoints
	}
	if cfg.MinPoints <= 0 {
		cfg.MinPoints = DefaultMinPoints
	}
	if cfg.MinPoints > cfg.MaxPoints {
		return nil, fmt.Errorf("min points %d exceeds max points %d", cfg.MinPoints, cfg.MaxPoints)
	}
	if cfg.MaxBatchItems <= 0 {
		cfg.MaxBatchItems = DefaultMaxBatchItems
	}
	if cfg.HistoryPoints <= 0 {
		cfg.HistoryPoints = DefaultHistoryPoints
	}
	if cfg.MaxMetricsPerKey <= 0 {
		cfg.MaxMetricsPerKey = DefaultMaxMetricsPerKey
	}
	if cfg.MaxKeysTracked <= 0 {
		cfg.MaxKeysTracked = len(cfg.Keys) + 1
	}
	if cfg.RateLimit < 0 {
		return nil, fmt.Errorf("rate limit %v is negative", cfg.RateLimit)
	}
	if cfg.Version == "" {
		cfg.Version = "dev"
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	keys, err := newKeyring(cfg.Keys)
	if err != nil {
		return nil, err
	}
	faults, err := newFaultInjector(cfg.Faults)
	if err != nil {
		return nil, err
	}
	reg := prometheus.NewRegistry()
	s := &Server{
		cfg:      cfg,
		log:      cfg.Logger,
		keys:     keys,
		limiter:  newRateLimiter(cfg.RateLimit, cfg.RateBurst),
		authFail: newAuthThrottle(cfg.AuthFailLimit, cfg.AuthFailWindow, cfg.AuthLockout, authAddrsTracked),
		authLog:  &authLog{interval: authLogInterval},
		faults:   faults,
		history:  newHistoryStore(cfg.HistoryPoints, cfg.MaxMetricsPerKey, cfg.MaxKeysTracked),
		stats:    rollingrate.New(5*time.Minute, 30),
		registry: reg,
		started:  time.Now(),
		mux:      http.NewServeMux(),
	}
	s.metrics = newServerMetrics(reg, s.stats)
	s.routes()
	return s, nil
}

func (s *Server) routes() {
	detect := func(endpoint string, h func(http.ResponseWriter, *http.Request, caller)) {
		for _, azure := range []bool{false, true} {
			path := endpoint
			if azure {
				path = apicontract.AzurePath(endpoint)
			}
			s.mux.Handle("POST "+path, s.instrument(endpoint, s.detectChain(azure, h)))
			s.mux.Handle(path, s.instrument(endpoint, http.HandlerFunc(methodNotAllowed)))
		}
	}
	detect(apicontract.PathEntire, s.handleEntire)
	detect(apicontract.PathLast, s.handleLast)
	detect(apicontract.PathChangePoint, s.handleChangePoint)
	// The batch route is Sheepdog's own: Azure never had one, so it is not
	// aliased under AzurePrefix (clients fall back to one request per series).
	s.mux.Handle("POST "+apicontract.PathEntireBatch, s.instrument(apicontract.PathEntireBatch, s.detectChain(false, s.handleEntireBatch)))
	s.mux.Handle(apicontract.PathEntireBatch, s.instrument(apicontract.PathEntireBatch, http.HandlerFunc(methodNotAllowed)))
	s.mux.Handle("POST "+apicontract.PathSnapshot, s.instrument(apicontract.PathSnapshot, s.detectChain(false, s.handleSnapshot)))
	s.mux.Handle(apicontract.PathSnapshot, s.instrument(apicontract.PathSnapshot, http.HandlerFunc(methodNotAllowed)))
	s.mux.Handle("GET "+apicontract.PathHealth, s.instrument(apicontract.PathHealth, http.HandlerFunc(s.handleHealth)))
	s.mux.Handle("GET "+apicontract.PathMetrics, promhttp.HandlerFor(s.registry, promhttp.HandlerOpts{}))
	s.mux.Handle("/", s.instrument("other", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, apicontract.CodeNotFound, "no route "+r.Method+" "+truncate(r.URL.Path, 100)+"; see api/openapi.yaml")
	})))
}

// Handler is the whole API.
func (s *Server) Handler() http.Handler { return s.mux }

func methodNotAllowed(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Allow", "POST")
	writeError(w, http.StatusMethodNotAllowed, apicontract.CodeMethodNotAllowed, r.Method+" is not allowed here; use POST")
}

// caller identifies the key a request authenticated with, for rate limiting
// and snapshot history, without holding the key itself.
type caller struct {
	id     int    // index in the keyring; -1 in no-auth mode
	masked string // for logs
}

// detectChain authenticates, rate-limits, injects faults and caps the body,
// in that order, so a rejected key is never charged and faults only hit real work.
func (s *Server) detectChain(azureRoute bool, h func(http.ResponseWriter, *http.Request, caller)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, ok := s.authenticate(w, r, azureRoute)
		if !ok {
			return
		}
		if wait, ok := s.limiter.allow(c.id, time.Now()); !ok {
			w.Header().Set("Retry-After", strconv.Itoa(retryAfterSeconds(wait)))
			writeError(w, http.StatusTooManyRequests, apicontract.CodeTooManyRequests,
				fmt.Sprintf("rate limit of %g requests/s for this key exceeded; retry after %s", s.cfg.RateLimit, wait.Round(time.Millisecond)))
			return
		}
		if s.faults.apply(w, r) {
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, s.cfg.MaxBodyBytes)
		h(w, r, c)
	})
}

func (s *Server) authenticate(w http.ResponseWriter, r *http.Request, azureRoute bool) (caller, bool) {
	if s.cfg.AllowNoAuth {
		return caller{id: -1, masked: "anonymous"}, true // New refused no-auth with keys
	}
	addr := clientAddr(r)
	now := time.Now()
	if wait, locked := s.authFail.locked(addr, now); locked {
		w.Header().Set("Retry-After", strconv.Itoa(retryAfterSeconds(wait)))
		writeError(w, http.StatusTooManyRequests, apicontract.CodeTooManyRequests,
			fmt.Sprintf("too many failed authentications from this address; retry after %s", wait.Round(time.Second)))
		return caller{}, false
	}
	key, present := requestKey(r, azureRoute)
	if !present {
		hint := "send Authorization: Bearer <key>"
		if azureRoute {
			hint += " or Ocp-Apim-Subscription-Key: <key>"
		}
		writeError(w, http.StatusUnauthorized, apicontract.CodeUnauthorized, "missing API key: "+hint)
		return caller{}, false
	}
	id := s.keys.match(key)
	if id < 0 {
		lockout := s.authFail.failed(addr, now)
		if fields := s.authLog.record(now, addr, apicontract.MaskKey(key), truncate(r.URL.Path, 100), lockout); fields != nil {
			s.log.Warn("rejected API keys (one summary line per interval)", fields...)
		}
		writeError(w, http.StatusUnauthorized, apicontract.CodeUnauthorized, "API key rejected")
		return caller{}, false
	}
	s.authFail.succeeded(addr)
	return caller{id: id, masked: apicontract.MaskKey(key)}, true
}

// clientAddr is the connection's IP. X-Forwarded-For is not trusted: any
// client could set it to dodge the throttle or lock out someone else.
func clientAddr(r *http.Request) string {
	if host, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		return host
	}
	return r.RemoteAddr
}

// requestKey extracts the key; present is true if any auth header was sent.
func requestKey(r *http.Request, azureRoute bool) (key string, present bool) {
	if h := r.Header.Get(apicontract.HeaderAuthorization); h != "" {
		const bearer = "bearer "
		if len(h) > len(bearer) && strings.EqualFold(h[:len(bearer)], bearer) {
			return strings.TrimSpace(h[len(bearer):]), true
		}
		return "", true // a malformed header is a rejected key, not a missing one
	}
	if azureRoute {
		if k := r.Header.Get(apicontract.HeaderSubscriptionKey); k != "" {
			return strings.TrimSpace(k), true
		}
	}
	return "", false
}

func (s *Server) handleHealth(w http.ResponseWriter, r *http.Request) {
	h := apicontract.Health{
		Status:        apicontract.StatusOK,
		Version:       s.cfg.Version,
		UptimeSeconds: time.Since(s.started).Seconds(),
	}
	h.ErrorRate, h.Requests5m = s.stats.Rate(time.Now())
	if h.ErrorRate > 0.05 {
		h.Status = apicontract.StatusDegraded
	}
	// A key on a health check is verified so a client can test its configuration
	// without spending a detection.
	if _, present := requestKey(r, true); present {
		if _, ok := s.authenticate(w, r, true); !ok {
			return
		}
		accepted := true
		h.KeyAccepted = &accepted
	}
	writeJSON(w, http.StatusOK, h)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		writeError(w, http.StatusInternalServerError, apicontract.CodeInternalError, "encode response: "+err.Error())
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

func writeError(w http.ResponseWriter, status int, code, message string) {
	body, _ := json.Marshal(apicontract.Error{Code: code, Message: message})
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set(apicontract.HeaderErrorCode, code)
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

func retryAfterSeconds(d time.Duration) int {
	sec := int((d + time.Second - 1) / time.Second)
	if sec < 1 {
		sec = 1
	}
	return sec
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
