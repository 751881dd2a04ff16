package remote

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/sheepdog-anomaly/sheepdog/pkg/apicontract"
	"github.com/sheepdog-anomaly/sheepdog/pkg/engine"
)

// Batching defaults: a batch stays under the reference server's default
// --max-body-bytes (4 MiB) and --max-batch-items (100), and its points
// within what the reference server detects in about half a second (50
// series × 1,000 points took 1.4 s on a loaded 2-core machine), well inside
// the per-attempt timeout.
const (
	DefaultBatchMaxItems    = 50
	DefaultBatchMaxBytes    = 3 << 20
	DefaultBatchMaxPoints   = 20_000
	DefaultMaxCallsPerQuery = 200
)

// CallLimitError refuses a Detect call that would need more remote calls
// than Config.MaxCallsPerQuery: every viewer can run a query, and each call
// may be billed to the admin's key.
type CallLimitError struct {
	Calls, Limit, Series int
}

func (e *CallLimitError) Error() string {
	return fmt.Sprintf("%d series need %d remote API calls, over the limit of %d per query: narrow the query (fewer series, a shorter range) or raise remoteMaxCallsPerQuery in the data source settings",
		e.Series, e.Calls, e.Limit)
}

// errCallBudget is what a series gets when the budget ran out while running
// (the plan fit, but the server turned out to have no batch route).
var errCallBudget = errors.New("remote call budget of this query (remoteMaxCallsPerQuery) used up")

// callBudget counts the remote calls one Detect call may still make.
type callBudget struct{ left atomic.Int64 }

func newCallBudget(n int) *callBudget {
	b := &callBudget{}
	b.left.Store(int64(n))
	return b
}

func (b *callBudget) take() bool { return b.left.Add(-1) >= 0 }

// chunkCount is how many requests detectRemote makes for n points.
func (c *Client) chunkCount(n int) int {
	maxPts := c.cfg.MaxPoints
	if n <= maxPts {
		return 1
	}
	overlap, count := maxPts/4, 0
	for owned := 0; owned < n; count++ {
		start := max(0, owned-overlap)
		owned = min(n, start+maxPts)
	}
	return count
}

// batchItem is one series ready for the batch route.
type batchItem struct {
	index int
	body  json.RawMessage
	step  time.Duration
}

// plan sorts the series into work: series answered without the remote (bad
// or too short), series sent on their own (chunked, or no batch route), and
// batches. calls is how many remote requests it takes, before retries.
func (c *Client) plan(series []engine.Series, opt engine.Options) (singles []int, batches [][]batchItem, calls int, err error) {
	batching := !c.azure && !c.noBatch.Load()
	var pending []batchItem
	size, points := 0, 0
	flush := func() {
		if len(pending) > 0 {
			batches = append(batches, pending)
			calls++
		}
		pending, size, points = nil, 0, 0
	}
	for i, s := range series {
		n := len(s.Times)
		switch {
		case s.Validate() != nil || countPresent(s.Values) < c.cfg.MinPoints:
			singles = append(singles, i) // no remote call
		case n > c.cfg.MaxPoints || !batching:
			singles = append(singles, i)
			calls += c.chunkCount(n)
		default:
			req, step := buildRequest(s, opt)
			body, mErr := json.Marshal(req)
			if mErr != nil {
				return nil, nil, 0, fmt.Errorf("encode request: %w", mErr)
			}
			full := len(pending) >= c.cfg.BatchMaxItems ||
				(len(pending) > 0 && (size+len(body) > c.cfg.BatchMaxBytes || points+n > c.cfg.BatchMaxPoints))
			if full {
				flush()
			}
			pending = append(pending, batchItem{index: i, body: body, step: step})
			size += len(body) + 1
			points += n
		}
	}
	flush()
	return singles, batches, calls, nil
}

// detectBatch sends a batch and fills the outcomes of its series. A server
// without the batch route (404/405: Azure-compatible or older servers) is
// remembered, and this batch's series go one by one.
func (c *Client) detectBatch(ctx, remoteCtx context.Context, items []batchItem, series []engine.Series, opt engine.Options, budget *callBudget, outcomes []Outcome) {
	var body bytes.Buffer
	body.WriteString(`{"items":[`)
	for k, it := range items {
		if k > 0 {
			body.WriteByte(',')
		}
		body.Write(it.body)
	}
	body.WriteString(`]}`)

	results := make([]*engine.Result, len(items))
	itemErrs := make([]error, len(items))
	var attempts int
	var err error
	if !budget.take() {
		err = errCallBudget
	} else {
		attempts, err = c.call(remoteCtx, apicontract.PathEntireBatch, http.MethodPost, body.Bytes(), func(resp []byte) error {
			return c.decodeBatch(resp, items, series, opt, results, itemErrs)
		})
	}
	var apiErr *APIError
	var invalid *InvalidResponseError
	switch {
	case errors.As(err, &apiErr) && (apiErr.Status == http.StatusNotFound || apiErr.Status == http.StatusMethodNotAllowed):
		if !c.noBatch.Swap(true) {
			c.logger.Info("remote API has no batch route; sending one request per series", "host", c.host, "status", apiErr.Status)
		}
		fallthrough
	case errors.As(err, &apiErr) && apiErr.Status == http.StatusRequestEntityTooLarge:
		for _, it := range items {
			outcomes[it.index] = c.detectOne(ctx, remoteCtx, series[it.index], opt, budget)
		}
		return
	case err != nil && !errors.As(err, &invalid):
		err = c.redact(err)
		for _, it := range items {
			outcomes[it.index] = c.remoteFailed(ctx, err, attempts)
		}
		return
	}
	// Success, or an answer with invalid items (counted as a failed attempt):
	// each series takes its own result or error.
	for k, it := range items {
		switch {
		case results[k] != nil:
			outcomes[it.index] = Outcome{Result: results[k], Attempts: attempts}
		case itemErrs[k] != nil:
			outcomes[it.index] = c.remoteFailed(ctx, c.redact(itemErrs[k]), attempts)
		default:
			outcomes[it.index] = c.remoteFailed(ctx, c.redact(err), attempts)
		}
	}
}

// wireBatch keeps each item raw so an invalid item spoils only its series.
type wireBatch struct {
	Results []struct {
		Status int                `json:"status"`
		Result json.RawMessage    `json:"result"`
		Error  *apicontract.Error `json:"error"`
	} `json:"results"`
}

// decodeBatch reads a batch answer into per-item results and errors. Its
// error (an invalid envelope, or any invalid item) makes the attempt count
// as failed; valid items are still kept.
func (c *Client) decodeBatch(body []byte, items []batchItem, series []engine.Series, opt engine.Options, results []*engine.Result, itemErrs []error) error {
	var w wireBatch
	if err := decodeJSON(body, &w); err != nil {
		return err
	}
	if len(w.Results) != len(items) {
		return invalidf("batch answer has %d results for %d series", len(w.Results), len(items))
	}
	var firstInvalid error
	for k, r := range w.Results {
		s := series[items[k].index]
		switch {
		case r.Status >= 200 && r.Status <= 299:
			res, err := decodeEntire(r.Result, s, opt, items[k].step)
			if err != nil {
				itemErrs[k] = fmt.Errorf("batch item %d: %w", k, err)
				if firstInvalid == nil {
					firstInvalid = itemErrs[k]
				}
				continue
			}
			res.Windows = engine.BuildWindows(s, res, opt)
			results[k] = res
		case r.Status >= 400 && r.Status <= 599:
			e := &APIError{Status: r.Status}
			if r.Error != nil {
				e.Code, e.Message = c.clean(r.Error.Code), c.clean(r.Error.Message)
			}
			itemErrs[k] = e
		default:
			itemErrs[k] = invalidf("batch item %d has status %d", k, r.Status)
			if firstInvalid == nil {
				firstInvalid = itemErrs[k]
			}
		}
	}
	return firstInvalid
}
