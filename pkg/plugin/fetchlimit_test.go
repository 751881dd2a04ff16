package plugin

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"

	"github.com/sheepdog-anomaly/sheepdog/internal/fakeprom"
	"github.com/sheepdog-anomaly/sheepdog/pkg/models"
	"github.com/sheepdog-anomaly/sheepdog/pkg/source"
)

// A Prometheus answer over the point budget is refused while it is read, not
// after: 30 days at 1m is 43,201 points per series, four query_range chunks;
// 10 series pass the budget of 150,000 points in the second chunk, so the
// client stops there, and the 400 names the budget as the refusal after a
// fetch does.
func TestPointBudgetStopsTheFetch(t *testing.T) {
	srv := fakeprom.Start(t, 10)
	calls := &srv.Calls
	js := fmt.Sprintf(`{"prometheusUrl":%q,"maxPointsPerQuery":150000}`, srv.URL)
	d := newDatasource(backend.DataSourceInstanceSettings{UID: "b", JSONData: []byte(js)})
	if d.cfgErr != nil {
		t.Fatal(d.cfgErr)
	}
	defer d.Dispose()
	to := time.Unix(1_767_225_600, 0)
	q := query("A", `{"source":{"type":"prometheus","expr":"m"},"detector":{"history":"0"}}`, to.Add(-30*24*time.Hour), to)
	resp, err := d.QueryData(context.Background(), &backend.QueryDataRequest{Queries: []backend.DataQuery{q}})
	if err != nil {
		t.Fatal(err)
	}
	r := resp.Responses["A"]
	if r.Error == nil || r.Status != backend.StatusBadRequest {
		t.Fatalf("status %d, error %v; want a 400", r.Status, r.Error)
	}
	for _, want := range []string{"more than 150000 points", "stopped reading", "over the budget of 150000 points per query", "raise jsonData.maxPointsPerQuery"} {
		if !strings.Contains(r.Error.Error(), want) {
			t.Errorf("error %q does not say %q", r.Error, want)
		}
	}
	if n := calls.Load(); n != 2 {
		t.Errorf("%d query_range calls, want 2: the fetch goes on past the budget", n)
	}
}

// The limit handed to the source is what is left of the query's budget or of
// the request's, whichever is less, and the refusal names that one.
func TestFetchLimitIsWhatIsLeft(t *testing.T) {
	srv := fakeprom.Start(t, 10)
	js := fmt.Sprintf(`{"prometheusUrl":%q,"maxPointsPerQuery":100000,"maxPointsPerRequest":120000}`, srv.URL)
	d := newDatasource(backend.DataSourceInstanceSettings{UID: "b", JSONData: []byte(js)})
	defer d.Dispose()
	pq, err := models.ParseQuery([]byte(`{"source":{"type":"prometheus","expr":"m"}}`))
	if err != nil {
		t.Fatal(err)
	}
	to := time.Unix(1_767_225_600, 0)
	r := d.newRequestBudget()
	qc := &queryContext{d: d, refID: "A", pq: pq, notes: &noticeSet{}, budget: r}
	if limit, key := qc.fetchLimit(); limit != 100_000 || key != "maxPointsPerQuery" {
		t.Errorf("fresh: %d %s", limit, key)
	}
	r.used.Store(50_000) // other queries of the request fetched that much
	if limit, key := qc.fetchLimit(); limit != 70_000 || key != "maxPointsPerRequest" {
		t.Errorf("after other queries: %d %s", limit, key)
	}
	// 10 series × 12,001 points is over the 70,000 left of the request's budget.
	_, err = qc.fetch(context.Background(), sourceRange(to.Add(-12_000*time.Minute), to, time.Minute))
	if err == nil || !strings.Contains(err.Error(), "over the budget of 120000 points per request") || !strings.Contains(err.Error(), "raise jsonData.maxPointsPerRequest") {
		t.Errorf("err = %v", err)
	}
}

func sourceRange(from, to time.Time, step time.Duration) source.Range {
	return source.Range{From: from, To: to, Step: step}
}
