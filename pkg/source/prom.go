package source

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	jsoniter "github.com/json-iterator/go"

	"github.com/sheepdog-anomaly/sheepdog/internal/redact"
	"github.com/sheepdog-anomaly/sheepdog/pkg/models"
)

// PromMaxPointsPerQuery is Prometheus's limit on points per series in one
// query_range answer; longer ranges are fetched in chunks of at most this many.
const PromMaxPointsPerQuery = 11000

// DefaultPromMaxPointsPerSeries bounds one series across all chunks, so a
// year at 1s cannot exhaust memory.
const DefaultPromMaxPointsPerSeries = 1_000_000

// PromAuth is how requests to Prometheus authenticate. Password and Token come
// from the data source's decrypted secure settings and are never logged.
type PromAuth struct {
	Mode     string // models.PromAuthNone (default), PromAuthBasic, PromAuthBearer
	User     string
	Password string
	Token    string
}

// PromConfig configures a PromClient.
type PromConfig struct {
	URL                string // base URL, e.g. http://prometheus:9090 or https://mimir/prometheus
	Auth               PromAuth
	TLS                TLSOptions
	Timeout            time.Duration // per HTTP request; 0 = DefaultTimeout
	MaxResponseBytes   int64         // per HTTP response; 0 = DefaultMaxResponseBytes
	MaxPointsPerSeries int64         // across chunks; 0 = DefaultPromMaxPointsPerSeries
	// Headers are sent with every request, e.g. X-Scope-OrgID for a Mimir or
	// Cortex tenant. Authorization cannot be set here: use Auth.
	Headers map[string]string
}

// PromClient queries a Prometheus-compatible HTTP API (Prometheus, Mimir,
// VictoriaMetrics, Thanos). It is safe for concurrent use.
type PromClient struct {
	base      *url.URL
	http      *http.Client
	auth      PromAuth
	headers   http.Header
	maxBody   int64
	maxPoints int64
	// red masks the password, basic-auth pair, token and header values in
	// everything a server answers that ends up in an error or the health check.
	red *redact.Redactor
}

// NewPromClient checks cfg and builds a client. It does not contact the server.
func NewPromClient(cfg PromConfig) (*PromClient, error) {
	base, err := parseBaseURL("Prometheus", cfg.URL)
	if err != nil {
		return nil, err
	}
	auth := cfg.Auth
	switch auth.Mode {
	case "", models.PromAuthNone:
		auth = PromAuth{Mode: models.PromAuthNone}
	case models.PromAuthBasic:
		if auth.User == "" {
			return nil, errors.New("Prometheus basic auth is selected but no user is set")
		}
		if auth.Password == "" {
			return nil, errors.New("Prometheus basic auth is selected but no password is stored in the secure settings")
		}
	case models.PromAuthBearer:
		if auth.Token == "" {
			return nil, errors.New("Prometheus bearer auth is selected but no token is stored in the secure settings")
		}
	default:
		return nil, fmt.Errorf("unknown Prometheus auth mode %q (want none, basic or bearer)", auth.Mode)
	}
	hc, err := newHTTPClient(base, cfg.TLS, cfg.Timeout)
	if err != nil {
		return nil, fmt.Errorf("Prometheus TLS settings: %w", err)
	}
	maxPoints := cfg.MaxPointsPerSeries
	if maxPoints <= 0 {
		maxPoints = DefaultPromMaxPointsPerSeries
	}
	headers := http.Header{}
	secrets := []string{auth.Password, auth.Token}
	if auth.Mode == models.PromAuthBasic {
		secrets = append(secrets, redact.BasicAuth(auth.User, auth.Password))
	}
	for k, v := range cfg.Headers {
		if strings.EqualFold(k, "Authorization") {
			return nil, errors.New("set Prometheus credentials with the authentication settings, not as a header")
		}
		headers.Set(k, v)
		secrets = append(secrets, v) // header values are secure settings (a tenant, an API key)
	}
	return &PromClient{base: base, http: hc, auth: auth, headers: headers, maxBody: cfg.MaxResponseBytes, maxPoints: maxPoints,
		red: redact.New(secrets...)}, nil
}

// Close releases idle connections.
func (c *PromClient) Close() { c.http.CloseIdleConnections() }

// PromWindow is one query_range call: start and end in unix ms, inclusive.
type PromWindow struct{ Start, End int64 }

// PlanQueryRange chooses the step (Range.Interval) and aligns start and end
// down to multiples of it, as Grafana's Prometheus data source does, so points
// fall on the same instants from one refresh to the next. Ranges of more than
// PromMaxPointsPerQuery steps are split into consecutive, non-overlapping
// windows.
func PlanQueryRange(r Range, maxPointsPerSeries int64) (step time.Duration, windows []PromWindow, err error) {
	if err := r.Validate(); err != nil {
		return 0, nil, err
	}
	step = r.Interval()
	stepMs := step.Milliseconds()
	start := floorDiv(r.From.UnixMilli(), stepMs) * stepMs
	end := floorDiv(r.To.UnixMilli(), stepMs) * stepMs
	if end < start {
		end = start
	}
	points := (end-start)/stepMs + 1
	if maxPointsPerSeries > 0 && points > maxPointsPerSeries {
		return 0, nil, fmt.Errorf("the range %s at step %s gives %d points per series, over the limit of %d: widen the step or shorten the range (or the history)", r.To.Sub(r.From), step, points, maxPointsPerSeries)
	}
	for s := start; s <= end; s += PromMaxPointsPerQuery * stepMs {
		windows = append(windows, PromWindow{Start: s, End: min(s+(PromMaxPointsPerQuery-1)*stepMs, end)})
	}
	return step, windows, nil
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}

// QueryRange evaluates expr over r and returns one Series per result series.
// Series are named by legendFormat ("{{host}} cpu") when given, otherwise by
// their selector, and keep their labels (without __name__, which is the Name).
func (c *PromClient) QueryRange(ctx context.Context, expr string, r Range, legendFormat string) ([]Series, error) {
	out, err := c.queryRange(ctx, expr, r, legendFormat)
	// A last wall: whatever the server echoed, in whichever message, is masked.
	return out, c.red.Error(err)
}

func (c *PromClient) queryRange(ctx context.Context, expr string, r Range, legendFormat string) ([]Series, error) {
	expr = strings.TrimSpace(expr)
	if expr == "" {
		return nil, errors.New("the PromQL expression is empty")
	}
	step, windows, err := PlanQueryRange(r, c.maxPoints)
	if err != nil {
		return nil, err
	}
	var (
		out    []Series
		index  = map[string]int{}
		points int64 // decoded so far, for r.MaxPoints
	)
	for wi, w := range windows {
		form := url.Values{
			"query": {expr},
			"start": {formatPromTime(w.Start)},
			"end":   {formatPromTime(w.End)},
			"step":  {strconv.FormatFloat(step.Seconds(), 'f', -1, 64)},
		}
		result, err := c.queryRangeWindow(ctx, form, int((w.End-w.Start)/step.Milliseconds())+1, r.MaxPoints, points)
		var ple *PointLimitError
		if errors.As(err, &ple) {
			return nil, err // says so for the whole fetch, not this chunk
		}
		if err != nil {
			if len(windows) > 1 {
				return nil, fmt.Errorf("chunk %d of %d: %w", wi+1, len(windows), err)
			}
			return nil, err
		}
		for _, rs := range result {
			points += int64(len(rs.Times))
			// Labels reach every viewer's legend: an echoing server could put
			// the request's credentials there too.
			labels := make(map[string]string, len(rs.Metric))
			for k, v := range rs.Metric {
				if k != "__name__" {
					labels[c.red.String(k)] = c.red.String(v)
				}
			}
			name := c.red.String(rs.Metric["__name__"])
			key := LabelsKey(name, labels)
			i, ok := index[key]
			if !ok {
				i = len(out)
				index[key] = i
				out = append(out, Series{
					Name:        seriesName(name, expr),
					Labels:      labels,
					DisplayName: promDisplayName(expr, name, labels, legendFormat),
				})
			}
			s := &out[i]
			if s.Times == nil {
				s.Times, s.Values = rs.Times, rs.Values
			} else {
				s.Times = append(s.Times, rs.Times...)
				s.Values = append(s.Values, rs.Values...)
			}
		}
	}
	for i := range out {
		out[i] = keepLastOfRepeats(out[i])
		if err := checkSeries(out[i]); err != nil {
			return nil, fmt.Errorf("Prometheus answer: %w", err)
		}
	}
	return out, nil
}

func seriesName(metricName, expr string) string {
	if metricName != "" {
		return metricName
	}
	return expr
}

func formatPromTime(ms int64) string {
	return strconv.FormatFloat(float64(ms)/1000, 'f', -1, 64)
}

var legendRE = regexp.MustCompile(`\{\{\s*(.+?)\s*\}\}`)

// promDisplayName follows Grafana's Prometheus legend rules: a template fills
// {{label}} with label values (missing labels give ""); without one (or with
// "__auto") the series shows as name{labels}, or as the expression when it
// has neither.
func promDisplayName(expr, name string, labels map[string]string, legendFormat string) string {
	if legendFormat != "" && legendFormat != "__auto" {
		legend := legendRE.ReplaceAllStringFunc(legendFormat, func(m string) string {
			key := legendRE.FindStringSubmatch(m)[1]
			if key == "__name__" {
				return name
			}
			return labels[key]
		})
		if strings.TrimSpace(legend) != "" {
			return legend
		}
	}
	if name == "" && len(labels) == 0 {
		return expr
	}
	return FormatSelector(name, labels)
}

// promAPIResponse is the envelope of every Prometheus HTTP API answer.
type promAPIResponse struct {
	Status    string          `json:"status"`
	Data      json.RawMessage `json:"data"`
	ErrorType string          `json:"errorType"`
	Error     string          `json:"error"`
}

// promSeriesJS is one series of a matrix answer.
type promSeriesJS struct {
	Metric map[string]string
	Times  []int64
	Values []float64
}

// promMatrixAnswer is a decoded query_range answer.
type promMatrixAnswer struct {
	Status, ErrorType, Error, ResultType string
	Result                               []promSeriesJS
}

// decodePromMatrix reads a query_range answer in one pass. A week of
// one-minute points for a thousand series is about 200 MB of JSON, so it
// streams with jsoniter rather than building [time, "value"] pairs through
// encoding/json.
//
// maxPoints > 0 stops decoding as soon as the fetch's points, all series
// together and the already decoded before this answer, are more: a
// *PointLimitError.
func decodePromMatrix(body []byte, pointsHint int, maxPoints, already int64) (*promMatrixAnswer, error) {
	iter := jsoniter.ConfigDefault.BorrowIterator(body)
	defer jsoniter.ConfigDefault.ReturnIterator(iter)
	ans := &promMatrixAnswer{}
	left := int64(math.MaxInt64)
	if maxPoints > 0 {
		left = maxPoints - already
	}
	budget := max(len(body)/16, 0) // a point takes at least ~16 bytes of JSON
	if iter.WhatIsNext() != jsoniter.ObjectValue {
		return nil, errors.New("not a JSON object")
	}
	for field := iter.ReadObject(); field != "" && iter.Error == nil; field = iter.ReadObject() {
		switch field {
		case "status":
			ans.Status = iter.ReadString()
		case "errorType":
			ans.ErrorType = iter.ReadString()
		case "error":
			ans.Error = iter.ReadString()
		case "data":
			if iter.WhatIsNext() != jsoniter.ObjectValue {
				iter.Skip()
				continue
			}
			for df := iter.ReadObject(); df != "" && iter.Error == nil; df = iter.ReadObject() {
				switch df {
				case "resultType":
					ans.ResultType = iter.ReadString()
				case "result":
					if iter.WhatIsNext() != jsoniter.ArrayValue {
						iter.Skip()
						continue
					}
					for iter.ReadArray() {
						if iter.WhatIsNext() != jsoniter.ObjectValue {
							iter.Skip() // a scalar or string result: reported by resultType
							continue
						}
						// Pre-size dense series, within a budget so that many sparse
						// series cannot reserve memory they never fill.
						hint := 0
						if budget >= pointsHint {
							hint = pointsHint
							budget -= pointsHint
						}
						s, err := readPromSeries(iter, hint, &left)
						if errors.Is(err, errPointLimit) {
							return nil, &PointLimitError{Limit: maxPoints, Points: maxPoints + 1}
						}
						if err != nil {
							return nil, fmt.Errorf("series %d: %w", len(ans.Result)+1, err)
						}
						ans.Result = append(ans.Result, s)
					}
				default:
					iter.Skip()
				}
			}
		default:
			iter.Skip() // warnings, infos, ...
		}
	}
	if iter.Error != nil && !errors.Is(iter.Error, io.EOF) {
		return nil, iter.Error
	}
	return ans, nil
}

// errPointLimit stops readPromSeries when its budget of points is spent.
var errPointLimit = errors.New("point limit")

// readPromSeries decodes one series; left is the points the answer may still
// hold, decreased by each point read.
func readPromSeries(iter *jsoniter.Iterator, pointsHint int, left *int64) (promSeriesJS, error) {
	var s promSeriesJS
	if pointsHint > 0 && pointsHint <= PromMaxPointsPerQuery {
		s.Times = make([]int64, 0, pointsHint)
		s.Values = make([]float64, 0, pointsHint)
	}
	for f := iter.ReadObject(); f != "" && iter.Error == nil; f = iter.ReadObject() {
		switch f {
		case "metric":
			s.Metric = map[string]string{}
			iter.ReadMapCB(func(it *jsoniter.Iterator, key string) bool {
				s.Metric[key] = it.ReadString()
				return true
			})
		case "values":
			for iter.ReadArray() {
				if *left--; *left < 0 {
					return s, errPointLimit
				}
				if !iter.ReadArray() {
					return s, errors.New("sample is not a [time, value] pair")
				}
				ts := iter.ReadFloat64()
				if !iter.ReadArray() {
					return s, errors.New("sample is not a [time, value] pair")
				}
				if iter.WhatIsNext() != jsoniter.StringValue {
					return s, errors.New("sample value is not a quoted number")
				}
				raw := iter.ReadStringAsSlice()
				v, err := strconv.ParseFloat(string(raw), 64)
				if err != nil {
					return s, fmt.Errorf("sample value %q: %w", raw, err)
				}
				if iter.ReadArray() {
					return s, errors.New("sample has more than a time and a value")
				}
				if iter.Error != nil {
					return s, iter.Error
				}
				s.Times = append(s.Times, int64(math.Round(ts*1000)))
				s.Values = append(s.Values, v)
			}
		default:
			iter.Skip() // "histograms": native histograms are not analysed
		}
	}
	if iter.Error != nil && !errors.Is(iter.Error, io.EOF) {
		return s, iter.Error
	}
	return s, nil
}

// queryRangeWindow runs one query_range call; points is the most a series can
// hold, used to size its slices once.
//
// maxPoints > 0 bounds the fetch's points, all series together, of which
// already were decoded from earlier chunks: the answer is refused by its size
// (BytesForPoints) before decoding, and decoding stops at the first point
// over; both give a *PointLimitError.
func (c *PromClient) queryRangeWindow(ctx context.Context, form url.Values, points int, maxPoints, already int64) ([]promSeriesJS, error) {
	endpoint := c.endpoint("/api/v1/query_range")
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint.String(), strings.NewReader(form.Encode()))
	if err != nil {
		return nil, fmt.Errorf("build query_range request: %w", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	sizeFor := int64(0)
	if maxPoints > 0 {
		sizeFor = max(maxPoints-already, 1)
	}
	status, body, err := c.sendFor(ctx, req, endpoint, sizeFor)
	var ple *PointLimitError
	if errors.As(err, &ple) {
		ple.Limit = maxPoints
		return nil, err
	}
	if err != nil {
		return nil, err
	}
	ans, decodeErr := decodePromMatrix(body, points, maxPoints, already)
	if errors.As(decodeErr, &ple) && status/100 == 2 {
		return nil, decodeErr
	}
	if decodeErr == nil && ans.Status == "error" {
		return nil, &PromError{HTTPStatus: status, Type: ans.ErrorType, Message: c.red.String(ans.Error)}
	}
	if err := c.statusError(status, body, endpoint); err != nil {
		return nil, err
	}
	switch {
	case decodeErr != nil:
		// Both the decoder's error (it quotes bytes around the fault) and the
		// snippet are cut short, so they are taken from the masked body.
		clean := c.red.Bytes(body)
		if _, err := decodePromMatrix(clean, 0, 0, 0); err != nil {
			decodeErr = err
		}
		return nil, fmt.Errorf("%s %s: the answer is not Prometheus API JSON (%v): %s", req.Method, safeURL(endpoint), decodeErr, snippet(clean))
	case ans.Status != "success":
		return nil, fmt.Errorf("%s %s: unexpected status %q in the answer", req.Method, safeURL(endpoint), ans.Status)
	case ans.ResultType != "matrix":
		return nil, fmt.Errorf("Prometheus query_range answered a %q result; expected a matrix", ans.ResultType)
	}
	return ans.Result, nil
}

func (c *PromClient) endpoint(path string) *url.URL {
	u := *c.base
	u.Path = c.base.Path + path
	return &u
}

func (c *PromClient) authorize(req *http.Request) {
	for k, v := range c.headers {
		req.Header[k] = v
	}
	req.Header.Set("User-Agent", userAgent)
	req.Header.Set("Accept", "application/json")
	switch c.auth.Mode {
	case models.PromAuthBasic:
		req.SetBasicAuth(c.auth.User, c.auth.Password)
	case models.PromAuthBearer:
		req.Header.Set("Authorization", "Bearer "+c.auth.Token)
	}
}

// PromError is an error answered by the Prometheus API.
type PromError struct {
	HTTPStatus int
	Type       string // errorType: bad_data, execution, timeout, canceled, internal, unavailable, not_found
	Message    string
}

func (e *PromError) Error() string {
	if e.Type != "" {
		return fmt.Sprintf("Prometheus error (%s, HTTP %d): %s", e.Type, e.HTTPStatus, e.Message)
	}
	return fmt.Sprintf("Prometheus answered HTTP %d: %s", e.HTTPStatus, e.Message)
}

// send authorizes and sends req, and reads the whole answer.
func (c *PromClient) send(ctx context.Context, req *http.Request, endpoint *url.URL) (int, []byte, error) {
	return c.sendFor(ctx, req, endpoint, 0)
}

// sendFor is send for an answer of at most maxPoints points (0 = no limit):
// a larger body is refused by its size, with a *PointLimitError.
func (c *PromClient) sendFor(ctx context.Context, req *http.Request, endpoint *url.URL, maxPoints int64) (int, []byte, error) {
	c.authorize(req)
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, nil, transportError(ctx, req.Method, endpoint, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		maxPoints = 0 // an error answer holds no points: read as before
	}
	body, err := readBodyFor(resp, c.maxBody, maxPoints)
	var ple *PointLimitError
	if errors.As(err, &ple) {
		return 0, nil, err
	}
	if err != nil {
		return 0, nil, fmt.Errorf("%s %s: %w", req.Method, safeURL(endpoint), err)
	}
	return resp.StatusCode, body, nil
}

// statusError explains a non-2xx answer that carried no Prometheus error
// envelope, from the masked body (the snippet is cut short).
func (c *PromClient) statusError(status int, body []byte, endpoint *url.URL) error {
	if status/100 == 2 {
		return nil
	}
	body = c.red.Bytes(body)
	switch {
	case status == http.StatusUnauthorized || status == http.StatusForbidden:
		return &PromError{HTTPStatus: status, Message: fmt.Sprintf("%s at %s: check the Prometheus authentication (user and password, or token) in the Sheepdog data source settings", http.StatusText(status), safeURL(endpoint))}
	case status == http.StatusNotFound:
		return &PromError{HTTPStatus: status, Message: fmt.Sprintf("%s not found: check the Prometheus URL (for Mimir or Thanos include the API prefix, e.g. /prometheus)", safeURL(endpoint))}
	case status/100 != 2:
		return &PromError{HTTPStatus: status, Message: fmt.Sprintf("%s from %s: %s", http.StatusText(status), safeURL(endpoint), snippet(body))}
	}
	return nil
}

// do sends a small API request and returns the decoded envelope of a successful answer.
func (c *PromClient) do(ctx context.Context, req *http.Request, endpoint *url.URL) (*promAPIResponse, error) {
	status, body, err := c.send(ctx, req, endpoint)
	if err != nil {
		return nil, err
	}
	var env promAPIResponse
	jsonErr := json.Unmarshal(body, &env)
	if jsonErr == nil && env.Status == "error" {
		return nil, &PromError{HTTPStatus: status, Type: env.ErrorType, Message: c.red.String(env.Error)}
	}
	if err := c.statusError(status, body, endpoint); err != nil {
		return nil, err
	}
	switch {
	case jsonErr != nil:
		return nil, fmt.Errorf("%s %s: the answer is not Prometheus API JSON (%v): %s", req.Method, safeURL(endpoint), jsonErr, snippet(c.red.Bytes(body)))
	case env.Status != "success":
		return nil, fmt.Errorf("%s %s: unexpected status %q in the answer", req.Method, safeURL(endpoint), env.Status)
	}
	return &env, nil
}

// PromHealth is what Check learned about the server.
type PromHealth struct {
	Version string        // from buildinfo; empty when the server does not offer it
	Latency time.Duration // of the successful request
}

// Check verifies that the server answers and accepts the credentials: it asks
// for buildinfo and, where that endpoint is missing (some Prometheus-compatible
// servers), evaluates the query "1".
func (c *PromClient) Check(ctx context.Context) (PromHealth, error) {
	h, err := c.check(ctx)
	return h, c.red.Error(err)
}

func (c *PromClient) check(ctx context.Context) (PromHealth, error) {
	begin := time.Now()
	endpoint := c.endpoint("/api/v1/status/buildinfo")
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, endpoint.String(), nil)
	if err != nil {
		return PromHealth{}, fmt.Errorf("build buildinfo request: %w", err)
	}
	env, err := c.do(ctx, req, endpoint)
	if err == nil {
		var info struct {
			Version string `json:"version"`
		}
		_ = json.Unmarshal(env.Data, &info) // the version is informative only
		return PromHealth{Version: snippet([]byte(c.red.String(info.Version))), Latency: time.Since(begin)}, nil
	}
	var perr *PromError
	if !errors.As(err, &perr) || (perr.HTTPStatus != http.StatusNotFound && perr.HTTPStatus != http.StatusMethodNotAllowed) {
		return PromHealth{}, err
	}
	begin = time.Now()
	endpoint = c.endpoint("/api/v1/query")
	endpoint.RawQuery = url.Values{"query": {"1"}}.Encode()
	req, err = http.NewRequestWithContext(ctx, http.MethodGet, endpoint.String(), nil)
	if err != nil {
		return PromHealth{}, fmt.Errorf("build query request: %w", err)
	}
	if _, err := c.do(ctx, req, endpoint); err != nil {
		return PromHealth{}, err
	}
	return PromHealth{Latency: time.Since(begin)}, nil
}
