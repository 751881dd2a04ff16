// Package remote is Sheepdog's client for an anomaly API speaking the open
// contract of api/openapi.yaml (the reference server is cmd/sheepdog-api).
// It is built so a slow or broken API never hangs a dashboard or an alert
// rule: every call is bounded by the caller's context, transient failures are
// retried with backoff, and a circuit breaker stops hammering a dead host.
// It is a client only: the Client is a detector.Detector, and answering its
// failures with the embedded engine is detector.Fallback's job.
package remote

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend/httpclient"
	"github.com/grafana/grafana-plugin-sdk-go/backend/log"

	"github.com/sheepdog-anomaly/sheepdog/internal/redact"
	"github.com/sheepdog-anomaly/sheepdog/internal/rollingrate"
	"github.com/sheepdog-anomaly/sheepdog/internal/workpool"
	"github.com/sheepdog-anomaly/sheepdog/pkg/apicontract"
	"github.com/sheepdog-anomaly/sheepdog/pkg/detector"
	"github.com/sheepdog-anomaly/sheepdog/pkg/engine"
)

// Config configures a Client. Zero durations and counts take the defaults
// below, except MaxRetries, which is taken as given (0 = one attempt only).
type Config struct {
	URL    string // base URL, e.g. https://anomaly.example.com; a path ending in /anomalydetector/v1.1 selects the Azure-style routes
	APIKey string // sent as Authorization: Bearer (Ocp-Apim-Subscription-Key on Azure-style routes)

	Timeout         time.Duration // per attempt
	BackoffBase     time.Duration // first retry waits up to this (full jitter), doubling
	BackoffMax      time.Duration // cap of one backoff
	BreakerCooldown time.Duration // open time before a half-open probe

	MaxRetries       int // retries after the first attempt
	BreakerThreshold int // consecutive failures that open the breaker
	MaxInFlight      int // concurrent HTTP requests to the host

	Fallback      bool // a fallback answers failures: keep a reserve of the caller's deadline for it
	TLSSkipVerify bool
	CACertPEM     string // extra trusted CA certificates (PEM)

	// MaxPoints and MinPoints are the API's per-request limits; longer series
	// are split into overlapping chunks, shorter ones are detected locally.
	MaxPoints int
	MinPoints int
	// MaxElapsed bounds one Detect call when the caller's context has no deadline.
	MaxElapsed time.Duration

	// MaxCallsPerQuery bounds the remote requests (before retries) of one
	// Detect call; a query needing more is refused with a CallLimitError.
	MaxCallsPerQuery int
	// BatchMaxItems, BatchMaxBytes and BatchMaxPoints size the requests of
	// the batch route.
	BatchMaxItems  int
	BatchMaxBytes  int
	BatchMaxPoints int

	// DataSource names the data source (its uid) in metric labels, so two
	// data sources on one host keep their own breaker and error-rate series.
	DataSource string
	// Logger receives remote failures, fallbacks and breaker transitions
	// (never the key); nil means the SDK's default logger.
	Logger log.Logger
}

// Defaults, matching pkg/models settings defaults.
const (
	DefaultTimeout          = 5 * time.Second
	DefaultBackoffBase      = 200 * time.Millisecond
	DefaultBackoffMax       = 5 * time.Second
	DefaultBreakerCooldown  = 30 * time.Second
	DefaultBreakerThreshold = 5
	DefaultMaxInFlight      = 8
	DefaultMaxPoints        = 8640
	DefaultMinPoints        = 12
	maxResponseBytes        = 64 << 20
)

// Outcome is the answer for one input series: a Result, or Err with its
// failure class (Class) and Attempts, the HTTP attempts made (all chunks).
type Outcome = detector.Outcome

var _ detector.Detector = (*Client)(nil)

// CountFallback counts one series another detector answered because the
// remote failed with class (sheepdog_remote_fallbacks_total).
func CountFallback(class string) {
	getMetrics().fallbacks.WithLabelValues(class).Inc()
}

// Health is what Check found.
type Health struct {
	Reachable   bool
	KeyAccepted bool // the server confirmed the key (Sheepdog servers do on /v1/health)
	Latency     time.Duration
	Status      string // server-reported: ok, degraded
	Version     string
	ErrorRate   float64 // server-reported 5xx share over 5 minutes
	Breaker     BreakerState
	Message     string // human summary for the data source's health check
}

// Client talks to one API host. It is safe for concurrent use.
type Client struct {
	cfg       Config
	base      *url.URL
	azure     bool
	host      string
	http      *http.Client
	transport *http.Transport
	sem       chan struct{}
	pool      *workpool.Pool // the requests of one Detect call, up to MaxInFlight
	breaker   *breaker
	rate      *rollingrate.Window
	m         *clientMetrics
	logger    log.Logger
	red       *redact.Redactor // the key in every form a server may echo

	rngMu sync.Mutex
	rng   *rand.Rand

	noBatch atomic.Bool // the server answered 404/405 on the batch route
}

// New validates cfg and prepares a client. It makes no network call.
func New(cfg Config) (*Client, error) {
	cfg = withDefaults(cfg)
	if cfg.MaxRetries < 0 || cfg.MaxRetries > 20 {
		return nil, fmt.Errorf("remote: retries %d outside 0..20", cfg.MaxRetries)
	}
	if cfg.MinPoints > cfg.MaxPoints {
		return nil, fmt.Errorf("remote: min points %d exceeds max points %d", cfg.MinPoints, cfg.MaxPoints)
	}
	// The URL is never repeated in errors (nor url.Parse's, which quote it):
	// it may carry a password, and these errors reach logs and health messages.
	base, err := url.Parse(strings.TrimSpace(cfg.URL))
	if err != nil || base.Host == "" || (base.Scheme != "http" && base.Scheme != "https") {
		return nil, errors.New("remote: the URL must be an absolute http(s) URL such as https://anomaly.example.com")
	}
	if base.User != nil || base.RawQuery != "" || base.Fragment != "" {
		return nil, errors.New("remote: URL must not contain credentials, a query or a fragment; put the key in the API key setting")
	}
	if strings.ContainsFunc(cfg.APIKey, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		return nil, errors.New("remote: API key contains control characters (a pasted newline?)")
	}
	base.Path = strings.TrimRight(base.Path, "/")
	tlsCfg := &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: cfg.TLSSkipVerify} //nolint:gosec // only when the admin asks
	if strings.TrimSpace(cfg.CACertPEM) != "" {
		pool, err := x509.SystemCertPool()
		if err != nil {
			pool = x509.NewCertPool()
		}
		if !pool.AppendCertsFromPEM([]byte(cfg.CACertPEM)) {
			return nil, errors.New("remote: CA certificate setting holds no PEM certificate")
		}
		tlsCfg.RootCAs = pool
	}
	dialTimeout := min(cfg.Timeout, 10*time.Second)
	tr := &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: dialTimeout, KeepAlive: 30 * time.Second}).DialContext,
		TLSClientConfig:       tlsCfg,
		TLSHandshakeTimeout:   dialTimeout,
		MaxIdleConns:          cfg.MaxInFlight,
		MaxIdleConnsPerHost:   cfg.MaxInFlight, // reuse every connection the in-flight cap allows
		MaxConnsPerHost:       cfg.MaxInFlight,
		IdleConnTimeout:       90 * time.Second,
		ExpectContinueTimeout: time.Second,
		ForceAttemptHTTP2:     true,
	}
	c := &Client{
		cfg:       cfg,
		base:      base,
		azure:     strings.HasSuffix(strings.ToLower(base.Path), strings.ToLower(apicontract.AzurePrefix)),
		host:      base.Host,
		transport: tr,
		sem:       make(chan struct{}, cfg.MaxInFlight),
		pool:      workpool.New(cfg.MaxInFlight),
		rate:      rollingrate.New(5*time.Minute, 30),
		m:         getMetrics(),
		red:       redact.New(cfg.APIKey),
		logger:    cfg.Logger,
		rng:       rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 0x5eed)),
	}
	if c.logger == nil {
		c.logger = log.DefaultLogger
	}
	// The SDK's tracing middleware (backend/httpclient/tracing_middleware.go):
	// a client span per attempt and the query's trace context as traceparent.
	c.http = &http.Client{Transport: httpclient.TracingMiddleware(nil).CreateMiddleware(httpclient.Options{}, tr), CheckRedirect: c.checkRedirect}
	c.breaker = newBreaker(cfg.BreakerThreshold, cfg.BreakerCooldown, func(s BreakerState) {
		c.m.breaker.WithLabelValues(cfg.DataSource, c.host).Set(float64(s))
		if s == BreakerOpen {
			c.logger.Warn("remote API circuit breaker opened: calls paused", "host", c.host, "cooldown", cfg.BreakerCooldown.String())
		} else {
			c.logger.Info("remote API circuit breaker "+s.String(), "host", c.host)
		}
	})
	c.m.breaker.WithLabelValues(cfg.DataSource, c.host).Set(float64(BreakerClosed))
	return c, nil
}

func withDefaults(cfg Config) Config {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	defInt := func(d *int, v int) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&cfg.Timeout, DefaultTimeout)
	def(&cfg.BackoffBase, DefaultBackoffBase)
	def(&cfg.BackoffMax, DefaultBackoffMax)
	def(&cfg.BreakerCooldown, DefaultBreakerCooldown)
	defInt(&cfg.BreakerThreshold, DefaultBreakerThreshold)
	defInt(&cfg.MaxInFlight, DefaultMaxInFlight)
	defInt(&cfg.MaxPoints, DefaultMaxPoints)
	defInt(&cfg.MinPoints, DefaultMinPoints)
	defInt(&cfg.MaxCallsPerQuery, DefaultMaxCallsPerQuery)
	defInt(&cfg.BatchMaxItems, DefaultBatchMaxItems)
	defInt(&cfg.BatchMaxBytes, DefaultBatchMaxBytes)
	defInt(&cfg.BatchMaxPoints, DefaultBatchMaxPoints)
	if cfg.BackoffMax < cfg.BackoffBase {
		cfg.BackoffMax = cfg.BackoffBase
	}
	if cfg.MaxElapsed <= 0 {
		cfg.MaxElapsed = cfg.Timeout*time.Duration(cfg.MaxRetries+1) + cfg.BackoffMax*time.Duration(cfg.MaxRetries)
	}
	return cfg
}

// Close releases idle connections. In-flight calls finish normally.
func (c *Client) Close() {
	c.transport.CloseIdleConnections()
}

// BreakerState reports the circuit breaker's state.
func (c *Client) BreakerState() BreakerState { return c.breaker.current() }

// checkRedirect follows redirects only within the configured scheme and host,
// so the key (which net/http would resend to the same host) never leaves it.
func (c *Client) checkRedirect(req *http.Request, via []*http.Request) error {
	if req.URL.Host != c.base.Host || req.URL.Scheme != c.base.Scheme {
		req.Header.Del(apicontract.HeaderAuthorization)
		req.Header.Del(apicontract.HeaderSubscriptionKey)
		return &RedirectError{From: c.base.Host, To: req.URL.Host}
	}
	if len(via) >= 3 {
		return errors.New("remote API redirected more than 3 times")
	}
	return nil
}

func (c *Client) path(p string) string {
	if c.azure {
		return c.base.String() + strings.TrimPrefix(p, "/v1")
	}
	return c.base.String() + p
}

// Detect runs detection for every series: several series per request on
// the batch route where the server has one, requests concurrent up to
// MaxInFlight. It returns one Outcome per series, in order; the error is for
// misuse (a caller context already done) and for a query that needs more
// than MaxCallsPerQuery requests (*CallLimitError).
func (c *Client) Detect(ctx context.Context, series []engine.Series, opt engine.Options) ([]Outcome, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	outcomes := make([]Outcome, len(series))
	if len(series) == 0 {
		return outcomes, nil
	}
	singles, batches, calls, err := c.plan(series, opt)
	if err != nil {
		return nil, err
	}
	if calls > c.cfg.MaxCallsPerQuery {
		return nil, &CallLimitError{Calls: calls, Limit: c.cfg.MaxCallsPerQuery, Series: len(series)}
	}
	budget := newCallBudget(c.cfg.MaxCallsPerQuery)
	remoteCtx, cancel := c.remoteContext(ctx)
	defer cancel()

	type job struct {
		run    func()
		series []int // the series it answers
	}
	jobs := make([]job, 0, len(singles)+len(batches))
	for _, i := range singles {
		jobs = append(jobs, job{func() { outcomes[i] = c.detectOne(ctx, remoteCtx, series[i], opt, budget) }, []int{i}})
	}
	for _, b := range batches {
		idx := make([]int, len(b))
		for k, it := range b {
			idx[k] = it.index
		}
		jobs = append(jobs, job{func() { c.detectBatch(ctx, remoteCtx, b, series, opt, budget, outcomes) }, idx})
	}
	// A job that panicked fails the series it was answering (class panic, so
	// a fallback may still answer them); the pool recovered it.
	errs := c.pool.Run(ctx, len(jobs), func(_ context.Context, k int) error {
		jobs[k].run()
		return nil
	})
	for k, err := range errs {
		if err == nil {
			continue
		}
		for _, i := range jobs[k].series {
			if ctx.Err() != nil {
				outcomes[i] = Outcome{Err: fmt.Errorf("remote detection abandoned: %w", ctx.Err()), Class: string(classCanceled), Final: true}
			} else {
				outcomes[i] = Outcome{Err: fmt.Errorf("remote client: %w", err), Class: "panic"}
			}
		}
	}
	for i := range outcomes {
		outcomes[i].Engine = detector.NameRemote
	}
	c.logOutcomes(ctx, outcomes)
	return outcomes, nil
}

// logOutcomes writes one line per Detect call, not one per series: a query
// of thousands of series against a dead API would flood the log. The line
// carries the context's attributes (the query's refId and source type).
func (c *Client) logOutcomes(ctx context.Context, outcomes []Outcome) {
	failed := 0
	var first error
	for _, o := range outcomes {
		if o.Err == nil {
			continue
		}
		failed++
		if first == nil {
			first = o.Err
		}
	}
	if failed == 0 {
		return
	}
	// Outcome errors are redacted already; redact again in case a caller built one.
	c.logger.FromContext(ctx).Warn("remote detection failed", "host", c.host, "series", len(outcomes), "failed", failed,
		"class", string(classify(first)), "error", c.redact(first).Error())
}

// remoteContext bounds all remote work of one Detect call: the caller's
// deadline minus a reserve for the fallback, or MaxElapsed without one.
func (c *Client) remoteContext(ctx context.Context) (context.Context, context.CancelFunc) {
	deadline, ok := ctx.Deadline()
	if !ok {
		return context.WithTimeout(ctx, c.cfg.MaxElapsed)
	}
	if c.cfg.Fallback {
		reserve := min(250*time.Millisecond, time.Until(deadline)/10)
		deadline = deadline.Add(-reserve)
	}
	if limit := time.Now().Add(c.cfg.MaxElapsed); limit.Before(deadline) {
		deadline = limit
	}
	return context.WithDeadline(ctx, deadline)
}

func (c *Client) detectOne(ctx, remoteCtx context.Context, s engine.Series, opt engine.Options, budget *callBudget) Outcome {
	if err := s.Validate(); err != nil {
		return Outcome{Err: err, Final: true}
	}
	if present := countPresent(s.Values); present < c.cfg.MinPoints {
		err := fmt.Errorf("series has %d values; the remote API needs at least %d", present, c.cfg.MinPoints)
		return Outcome{Err: err, Class: string(classTooShort)}
	}
	res, attempts, err := c.detectRemote(remoteCtx, s, opt, budget)
	if err == nil {
		return Outcome{Result: res, Attempts: attempts}
	}
	return c.remoteFailed(ctx, c.redact(err), attempts)
}

// remoteFailed is the outcome of a series whose remote detection failed with
// err (already redacted). A fallback may answer it unless it is Final: the
// caller gave up, or the call was canceled.
func (c *Client) remoteFailed(ctx context.Context, err error, attempts int) Outcome {
	if ctx.Err() != nil {
		return Outcome{Attempts: attempts, Err: fmt.Errorf("remote detection abandoned: %w", ctx.Err()), Class: string(classCanceled), Final: true}
	}
	class := classify(err)
	return Outcome{Attempts: attempts, Err: err, Class: string(class), Final: class == classCanceled}
}

func countPresent(v []float64) int {
	n := 0
	for _, x := range v {
		if !math.IsNaN(x) {
			n++
		}
	}
	return n
}

// detectRemote sends the series in chunks within MaxPoints. Chunks overlap by
// a quarter so every kept point had history before it; each chunk keeps only
// the points it owns.
func (c *Client) detectRemote(ctx context.Context, s engine.Series, opt engine.Options, budget *callBudget) (*engine.Result, int, error) {
	n := len(s.Times)
	maxPts := c.cfg.MaxPoints
	if n <= maxPts {
		res, attempts, err := c.detectChunk(ctx, s, opt, budget)
		if err != nil {
			return nil, attempts, err
		}
		res.Windows = engine.BuildWindows(s, res, opt)
		return res, attempts, nil
	}
	overlap := maxPts / 4
	full := newResult(n)
	total := 0
	var info engine.Info
	for owned := 0; owned < n; {
		start := max(0, owned-overlap)
		end := min(n, start+maxPts)
		chunk := engine.Series{Times: s.Times[start:end], Values: s.Values[start:end]}
		if countPresent(chunk.Values) < c.cfg.MinPoints {
			return nil, total, fmt.Errorf("chunk %d..%d of the series has fewer than %d values", start, end, c.cfg.MinPoints)
		}
		res, attempts, err := c.detectChunk(ctx, chunk, opt, budget)
		total += attempts
		if err != nil {
			return nil, total, fmt.Errorf("points %d..%d: %w", start, end-1, err)
		}
		for i := owned; i < end; i++ {
			j := i - start
			full.Expected[i], full.Lower[i], full.Upper[i] = res.Expected[j], res.Lower[j], res.Upper[j]
			full.Score[i], full.Anomaly[i], full.Direction[i] = res.Score[j], res.Anomaly[j], res.Direction[j]
		}
		if owned == 0 {
			info = res.Info
		}
		owned = end
	}
	info.Notes = append(info.Notes, fmt.Sprintf("remote: series of %d points sent in chunks of at most %d", n, maxPts))
	full.Info = info
	full.Windows = engine.BuildWindows(s, full, opt)
	return full, total, nil
}

func newResult(n int) *engine.Result {
	return &engine.Result{
		Expected: make([]float64, n), Lower: make([]float64, n), Upper: make([]float64, n),
		Score: make([]float64, n), Anomaly: make([]bool, n), Direction: make([]int8, n),
	}
}

func (c *Client) detectChunk(ctx context.Context, s engine.Series, opt engine.Options, budget *callBudget) (*engine.Result, int, error) {
	if !budget.take() {
		return nil, 0, errCallBudget
	}
	req, step := buildRequest(s, opt)
	body, err := json.Marshal(req)
	if err != nil {
		return nil, 0, fmt.Errorf("encode request: %w", err)
	}
	var res *engine.Result
	attempts, err := c.call(ctx, apicontract.PathEntire, http.MethodPost, body, func(resp []byte) (err error) {
		res, err = decodeEntire(resp, s, opt, step)
		return err
	})
	if err != nil {
		return nil, attempts, err
	}
	return res, attempts, nil
}

// call makes one logical request with retries. accept reads a 2xx body; its
// error (an invalid answer) is a failed attempt like a 5xx, for the breaker,
// the error rate and the status metric alike.
func (c *Client) call(ctx context.Context, endpoint, method string, body []byte, accept func([]byte) error) (int, error) {
	var lastErr error
	for attempt := 0; ; attempt++ {
		probe, ok := c.breaker.allow(time.Now())
		if !ok {
			if lastErr != nil {
				return attempt, fmt.Errorf("%w (last error: %v)", ErrCircuitOpen, lastErr)
			}
			return attempt, ErrCircuitOpen
		}
		err := c.attempt(ctx, endpoint, method, body, accept)
		if err == nil {
			c.breaker.done(probe, breakerSuccess, time.Now())
			return attempt + 1, nil
		}
		var notSent *notSentError
		switch {
		case errors.As(err, &notSent):
			// The deadline ran out while queued behind the in-flight cap: the
			// remote was never asked, so this says nothing about its health.
			c.breaker.done(probe, breakerNeutral, time.Now())
			return attempt, fmt.Errorf("no request sent before the deadline (queued behind %d in-flight requests): %w", c.cfg.MaxInFlight, notSent.err)
		case ctx.Err() != nil && classify(err) == classCanceled:
			c.breaker.done(probe, breakerNeutral, time.Now())
		case countsAgainstBreaker(err):
			c.breaker.done(probe, breakerFailure, time.Now())
		default:
			c.breaker.done(probe, breakerSuccess, time.Now()) // it answered; the problem is ours
		}
		lastErr = err
		if !retryable(err) || attempt >= c.cfg.MaxRetries {
			return attempt + 1, c.finalError(err, attempt+1)
		}
		wait := c.backoff(attempt)
		var apiErr *APIError
		if errors.As(err, &apiErr) {
			if ra, ok := parseRetryAfter(apiErr.RetryAfter, time.Now()); ok && ra > wait {
				wait = ra
			}
		}
		if deadline, ok := ctx.Deadline(); ok && time.Until(deadline) <= wait {
			return attempt + 1, c.finalError(fmt.Errorf("%w; not retrying: next attempt (in %s) would pass the deadline", err, wait.Round(time.Millisecond)), attempt+1)
		}
		c.m.retries.WithLabelValues(endpoint, string(classify(err))).Inc()
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return attempt + 1, c.finalError(fmt.Errorf("%w; gave up waiting to retry: %w", err, ctx.Err()), attempt+1)
		}
	}
}

func (c *Client) finalError(err error, attempts int) error {
	if attempts > 1 {
		return fmt.Errorf("after %d attempts: %w", attempts, err)
	}
	return err
}

// backoff is full jitter: uniform in [0, min(max, base*2^attempt)].
func (c *Client) backoff(attempt int) time.Duration {
	ceiling := float64(c.cfg.BackoffBase) * math.Pow(2, float64(attempt))
	ceiling = math.Min(ceiling, float64(c.cfg.BackoffMax))
	c.rngMu.Lock()
	f := c.rng.Float64()
	c.rngMu.Unlock()
	return time.Duration(f * ceiling)
}

// parseRetryAfter reads delay-seconds or an HTTP date.
func parseRetryAfter(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if sec, err := strconv.Atoi(v); err == nil && sec >= 0 {
		return time.Duration(sec) * time.Second, true
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(0, t.Sub(now)), true
	}
	return 0, false
}

// attempt is one HTTP exchange under the per-attempt timeout and the host's in-flight cap.
func (c *Client) attempt(ctx context.Context, endpoint, method string, body []byte, accept func([]byte) error) error {
	if err := ctx.Err(); err != nil {
		return &notSentError{err}
	}
	select {
	case c.sem <- struct{}{}:
	case <-ctx.Done():
		return &notSentError{ctx.Err()}
	}
	defer func() { <-c.sem }()
	inFlight := c.m.inFlight.WithLabelValues(c.cfg.DataSource, c.host)
	inFlight.Inc()
	defer inFlight.Dec()

	actx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()
	start := time.Now()
	respBody, status, err := c.exchange(actx, endpoint, method, body)
	c.m.duration.WithLabelValues(endpoint).Observe(time.Since(start).Seconds())
	if err == nil && accept != nil {
		err = accept(respBody)
	}
	label := strconv.Itoa(status)
	if status == 0 || classify(err) == classInvalid {
		label = string(classify(err))
	}
	c.m.requests.WithLabelValues(label, endpoint).Inc()
	now := time.Now()
	c.rate.Add(now, err != nil && countsAgainstBreaker(err))
	rate, _ := c.rate.Rate(now)
	c.m.errorRate.WithLabelValues(c.cfg.DataSource, c.host).Set(rate)
	return err
}

func (c *Client) exchange(ctx context.Context, endpoint, method string, body []byte) ([]byte, int, error) {
	var reader io.Reader
	if body != nil {
		reader = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.path(endpoint), reader)
	if err != nil {
		return nil, 0, fmt.Errorf("build request: %w", err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "sheepdog-remote/1")
	if c.cfg.APIKey != "" {
		if c.azure {
			req.Header.Set(apicontract.HeaderSubscriptionKey, c.cfg.APIKey)
		} else {
			req.Header.Set(apicontract.HeaderAuthorization, "Bearer "+c.cfg.APIKey)
		}
	}
	resp, err := c.http.Do(req)
	if err != nil {
		var redirect *RedirectError
		if errors.As(err, &redirect) {
			return nil, 0, redirect
		}
		return nil, 0, fmt.Errorf("%s %s: %w", method, endpoint, unwrapURLError(err))
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes+1))
	if err != nil {
		return nil, resp.StatusCode, fmt.Errorf("read response of %s: %w", endpoint, err)
	}
	if len(data) > maxResponseBytes {
		return nil, resp.StatusCode, invalidf("response larger than %d bytes", maxResponseBytes)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		apiErr := &APIError{Status: resp.StatusCode, RetryAfter: resp.Header.Get("Retry-After")}
		var e apicontract.Error
		// Redacted before cleanMessage cuts it: a key echoed across the cut
		// would otherwise survive in part.
		if json.Unmarshal(data, &e) == nil && (e.Code != "" || e.Message != "") {
			apiErr.Code, apiErr.Message = c.clean(e.Code), c.clean(e.Message)
		} else {
			apiErr.Message = c.clean(string(data))
		}
		return nil, resp.StatusCode, apiErr
	}
	return data, resp.StatusCode, nil
}

// notSentError is a deadline or cancellation that struck before the request left.
type notSentError struct{ err error }

func (e *notSentError) Error() string { return e.err.Error() }
func (e *notSentError) Unwrap() error { return e.err }

// unwrapURLError drops net/http's "Post "url": " prefix; the URL is already
// in our message and repeating it adds noise.
func unwrapURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// Check makes one health request with the key: is the host reachable, is the
// key accepted, what does the server say about itself. It bypasses the
// breaker and retries so the health check reports the truth now.
func (c *Client) Check(ctx context.Context) (Health, error) {
	h := Health{Breaker: c.breaker.current()}
	ctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()
	if c.azure {
		return c.checkAzure(ctx, h)
	}
	start := time.Now()
	body, status, err := c.exchange(ctx, apicontract.PathHealth, http.MethodGet, nil)
	h.Latency = time.Since(start)
	if status != 0 || classify(err) == classInvalid {
		h.Reachable = true
	}
	if err != nil {
		err = c.redact(err)
		h.Message = err.Error()
		return h, err
	}
	var wire apicontract.Health
	if err := json.Unmarshal(body, &wire); err != nil || wire.Status == "" {
		err := invalidf("health response is not the contract's JSON (status field missing)")
		h.Message = err.Error()
		return h, err
	}
	h.Status, h.Version, h.ErrorRate = c.clean(wire.Status), c.clean(wire.Version), wire.ErrorRate
	h.KeyAccepted = wire.KeyAccepted != nil && *wire.KeyAccepted
	h.Message = fmt.Sprintf("remote API %s reachable in %s, status %s, version %s", c.host, h.Latency.Round(time.Millisecond), h.Status, h.Version)
	if c.cfg.APIKey != "" && !h.KeyAccepted {
		h.Message += "; the server did not confirm the API key"
	}
	if h.Breaker != BreakerClosed {
		h.Message += "; circuit breaker " + h.Breaker.String()
	}
	return h, nil
}

// azureProbePoints is the synthetic series of the Azure-style health probe:
// Azure's minimum of 12 points, hourly, a gentle wave with nothing to flag.
const azureProbePoints = 12

// checkAzure probes an Azure-compatible base URL (…/anomalydetector/v1.1):
// that flavour has no health route, so the check sends the smallest valid
// last/detect request. A 2xx with the contract's answer proves the URL, the
// key and detection itself; it costs one detection call.
func (c *Client) checkAzure(ctx context.Context, h Health) (Health, error) {
	req := apicontract.SeriesRequest{Series: make([]apicontract.Point, azureProbePoints), Granularity: apicontract.GranularityHourly}
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range req.Series {
		v := 10 + math.Sin(float64(i))
		req.Series[i] = apicontract.Point{Timestamp: apicontract.FormatTimestamp(t0.Add(time.Duration(i) * time.Hour).UnixMilli()), Value: &v}
	}
	body, err := json.Marshal(req)
	if err != nil {
		return h, fmt.Errorf("encode health probe: %w", err)
	}
	start := time.Now()
	resp, status, err := c.exchange(ctx, apicontract.PathLast, http.MethodPost, body)
	h.Latency = time.Since(start)
	if status != 0 {
		h.Reachable = true
	}
	if err != nil {
		err = c.redact(err)
		var apiErr *APIError
		if errors.As(err, &apiErr) && apiErr.Status == http.StatusNotFound {
			err = fmt.Errorf("%w (probed %s; check the base URL ends in %s)", err, apicontract.AzurePath(apicontract.PathLast), apicontract.AzurePrefix)
		}
		h.Message = err.Error()
		return h, err
	}
	var wire map[string]json.RawMessage
	if json.Unmarshal(resp, &wire) != nil || wire["expectedValue"] == nil || wire["isAnomaly"] == nil {
		err := invalidf("answer to the health probe (%s) is not the contract's JSON (expectedValue or isAnomaly missing)", apicontract.AzurePath(apicontract.PathLast))
		h.Message = err.Error()
		return h, err
	}
	h.Status = "ok"
	// Azure-style routes take the key on every call; a 2xx with one set means it was accepted.
	h.KeyAccepted = c.cfg.APIKey != ""
	h.Message = fmt.Sprintf("remote API %s (Azure-compatible routes) answered a %d-point last/detect probe in %s",
		c.host, azureProbePoints, h.Latency.Round(time.Millisecond))
	if h.Breaker != BreakerClosed {
		h.Message += "; circuit breaker " + h.Breaker.String()
	}
	return h, nil
}
