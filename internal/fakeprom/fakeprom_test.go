package fakeprom

import (
	"encoding/json"
	"io"
	"net/http"
	"testing"
)

// Three steps from start to end inclusive give three points per series, and
// every call and byte is counted.
func TestStartAnswersEveryStep(t *testing.T) {
	s := Start(t, 2)
	resp, err := http.Get(s.URL + "/api/v1/query_range?start=100&end=130&step=15")
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	var body struct {
		Data struct {
			Result []struct {
				Metric map[string]string `json:"metric"`
				Values [][2]any          `json:"values"`
			} `json:"result"`
		} `json:"data"`
	}
	if err := json.Unmarshal(raw, &body); err != nil {
		t.Fatalf("%v: %s", err, raw)
	}
	if len(body.Data.Result) != 2 || len(body.Data.Result[1].Values) != 3 || body.Data.Result[1].Metric["host"] != "h1" {
		t.Fatalf("answer %s", raw)
	}
	if s.Calls.Load() != 1 || s.Sent.Load() != int64(len(raw)) {
		t.Fatalf("calls %d, sent %d, read %d", s.Calls.Load(), s.Sent.Load(), len(raw))
	}
	resp, err = http.Get(s.URL + "/api/v1/query")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Fatalf("query: HTTP %d", resp.StatusCode)
	}
}
