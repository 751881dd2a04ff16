package server

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/sheepdog-anomaly/sheepdog/pkg/apicontract"
)

// TestEntireBatch: each item gets what entire/detect would answer for it
// alone; the item cap is a 400 naming the flag; Azure's prefix has no batch.
func TestEntireBatch(t *testing.T) {
	ts, _ := newTestServer(t, func(c *Config) { c.MaxBatchItems = 3 })
	item := apicontract.SeriesRequest{Series: seasonal(120, 90), Granularity: "minutely"}
	_, single := post(t, ts.URL+apicontract.PathEntire, bearer(testKey), item)
	resp, out := post(t, ts.URL+apicontract.PathEntireBatch, bearer(testKey), apicontract.BatchEntireRequest{Items: []apicontract.SeriesRequest{item, item}})
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("batch: %d %s", resp.StatusCode, out)
	}
	var batch apicontract.BatchEntireResponse
	if err := json.Unmarshal(out, &batch); err != nil || len(batch.Results) != 2 {
		t.Fatalf("batch answer %s: %v", out, err)
	}
	for k, r := range batch.Results {
		got, _ := json.Marshal(r.Result)
		if r.Status != 200 || strings.TrimSpace(string(single)) != string(got) {
			t.Errorf("item %d differs from entire/detect:\n%s\n%s", k, got, single)
		}
	}
	four := apicontract.BatchEntireRequest{Items: []apicontract.SeriesRequest{item, item, item, item}}
	resp, out = post(t, ts.URL+apicontract.PathEntireBatch, bearer(testKey), four)
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(out), "--max-batch-items") {
		t.Errorf("4 items over a cap of 3: %d %s", resp.StatusCode, out)
	}
	resp, out = post(t, ts.URL+apicontract.PathEntireBatch, bearer(testKey), `{"items":[]}`)
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("no items: %d %s", resp.StatusCode, out)
	}
	resp, _ = post(t, ts.URL+apicontract.AzurePrefix+"/timeseries/entire/detect/batch", bearer(testKey), four)
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("batch under the Azure prefix: %d, want 404", resp.StatusCode)
	}
}
