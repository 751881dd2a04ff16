package provcheck

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"testing"
	"time"

	"github.com/sheepdog-anomaly/sheepdog/cmd/sheepdog-demo/demogen"
	"github.com/sheepdog-anomaly/sheepdog/internal/testprom"
)

// DemoPrometheus is a real Prometheus (Debian's binary, started by
// internal/testprom) serving the demo generator's history, backfilled
// exactly as the compose stack does it.
type DemoPrometheus struct {
	URL string
	Gen *demogen.Generator
	End time.Time // last backfilled sample
}

// StartDemoPrometheus backfills hours of the generator's history ending at
// end with the given extra labels (the job/instance the stack's scrape adds),
// imports it with promtool and starts Prometheus on a free 127.0.0.1 port.
// It stops Prometheus when t ends. Missing binaries fail the test.
func StartDemoPrometheus(t testing.TB, gen *demogen.Generator, end time.Time, hours float64, labels map[string]string) *DemoPrometheus {
	t.Helper()
	from := end.Add(-time.Duration(hours * float64(time.Hour)))
	srv := testprom.Start(t, testprom.Options{
		OpenMetrics: func(w io.Writer) error {
			_, err := demogen.WriteOpenMetrics(context.Background(), w, gen, from, end, 15*time.Second, labels)
			return err
		},
	})
	return &DemoPrometheus{URL: srv.URL, Gen: gen, End: end}
}

// Series is one series of a query_range answer.
type Series struct {
	Metric map[string]string `json:"metric"`
	Values [][2]any          `json:"values"`
}

// QueryRange runs a range query and returns its matrix, or Prometheus's error.
func (p *DemoPrometheus) QueryRange(ctx context.Context, expr string, start, end time.Time, step time.Duration) ([]Series, error) {
	v := url.Values{
		"query": {expr},
		"start": {strconv.FormatInt(start.Unix(), 10)},
		"end":   {strconv.FormatInt(end.Unix(), 10)},
		"step":  {strconv.FormatFloat(step.Seconds(), 'f', -1, 64)},
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.URL+"/api/v1/query_range", bytes.NewBufferString(v.Encode()))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	var r struct {
		Status string `json:"status"`
		Error  string `json:"error"`
		Data   struct {
			ResultType string   `json:"resultType"`
			Result     []Series `json:"result"`
		} `json:"data"`
	}
	if err := json.Unmarshal(body, &r); err != nil {
		return nil, fmt.Errorf("decode answer (%d): %w", resp.StatusCode, err)
	}
	if r.Status != "success" {
		return nil, fmt.Errorf("%s", r.Error)
	}
	return r.Data.Result, nil
}
