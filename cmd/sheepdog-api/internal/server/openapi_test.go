package server

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/sheepdog-anomaly/sheepdog/pkg/apicontract"
)

type openAPISpec struct {
	Paths      map[string]map[string]any `yaml:"paths"`
	Components struct {
		Schemas map[string]struct {
			Required   []string       `yaml:"required"`
			Properties map[string]any `yaml:"properties"`
		} `yaml:"schemas"`
	} `yaml:"components"`
}

func loadSpec(t *testing.T) openAPISpec {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "..", "..", "..", "api", "openapi.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var spec openAPISpec
	if err := yaml.Unmarshal(data, &spec); err != nil {
		t.Fatalf("api/openapi.yaml: %v", err)
	}
	return spec
}

// TestServerMatchesOpenAPI keeps api/openapi.yaml and the server in step:
// every documented path is served, and every answer has exactly the
// documented fields (all required ones, nothing undocumented).
func TestServerMatchesOpenAPI(t *testing.T) {
	spec := loadSpec(t)
	ts, _ := newTestServer(t, nil)
	series := apicontract.SeriesRequest{Series: seasonal(200, 150), Granularity: "minutely"}
	snapshot := `{"metrics":{"cpu_usage":95.5,"memory_usage":88.2},"timestamp":1700000000}`

	schemaOf := map[string]string{
		apicontract.PathEntire: "EntireResponse", apicontract.PathLast: "LastResponse",
		apicontract.PathChangePoint: "ChangePointResponse", apicontract.PathSnapshot: "SnapshotResponse",
		apicontract.PathHealth: "Health",
	}
	var served []string
	for path, ops := range spec.Paths {
		served = append(served, path)
		for method := range ops {
			t.Run(strings.ToUpper(method)+" "+path, func(t *testing.T) {
				var status int
				var body []byte
				switch {
				case method == "get":
					resp, err := http.Get(ts.URL + path)
					if err != nil {
						t.Fatal(err)
					}
					defer resp.Body.Close()
					status = resp.StatusCode
					body = readAll(t, resp)
				case path == apicontract.PathSnapshot:
					resp, out := post(t, ts.URL+path, bearer(testKey), snapshot)
					status, body = resp.StatusCode, out
				case path == apicontract.PathEntireBatch:
					// One good item and one bad: both kinds of result are checked.
					bad := apicontract.SeriesRequest{Series: seasonal(3, -1), Granularity: "minutely"}
					resp, out := post(t, ts.URL+path, bearer(testKey), apicontract.BatchEntireRequest{Items: []apicontract.SeriesRequest{series, bad}})
					status, body = resp.StatusCode, out
					checkBatch(t, spec, body)
				default:
					resp, out := post(t, ts.URL+path, bearer(testKey), series)
					status, body = resp.StatusCode, out
				}
				if status != 200 {
					t.Fatalf("status %d: %s", status, body)
				}
				canonical := strings.Replace(path, apicontract.AzurePrefix, "/v1", 1)
				if name, ok := schemaOf[canonical]; ok {
					checkFields(t, spec, name, body)
				}
			})
		}
	}
	for _, p := range []string{apicontract.PathSnapshot, apicontract.PathEntire, apicontract.PathLast, apicontract.PathChangePoint,
		apicontract.AzurePath(apicontract.PathEntire), apicontract.AzurePath(apicontract.PathLast), apicontract.AzurePath(apicontract.PathChangePoint),
		apicontract.PathHealth, apicontract.PathMetrics, apicontract.PathEntireBatch} {
		if !slices.Contains(served, p) {
			t.Errorf("route %s is served but not documented in api/openapi.yaml", p)
		}
	}
	// Errors.
	resp, out := post(t, ts.URL+apicontract.PathEntire, bearer(testKey), `{"series":[]}`)
	if resp.StatusCode != 400 {
		t.Fatalf("empty series: %d", resp.StatusCode)
	}
	checkFields(t, spec, "Error", out)
}

func checkFields(t *testing.T, spec openAPISpec, schema string, body []byte) {
	t.Helper()
	s, ok := spec.Components.Schemas[schema]
	if !ok {
		t.Fatalf("schema %s missing from api/openapi.yaml", schema)
	}
	var got map[string]json.RawMessage
	if err := json.Unmarshal(body, &got); err != nil {
		t.Fatalf("%s: %v", schema, err)
	}
	for _, f := range s.Required {
		if _, ok := got[f]; !ok {
			t.Errorf("%s: required field %q missing from the server's answer", schema, f)
		}
	}
	for f := range got {
		if _, ok := s.Properties[f]; !ok {
			t.Errorf("%s: the server sends %q, which api/openapi.yaml does not document", schema, f)
		}
	}
	if schema == "SnapshotResponse" {
		var details map[string]json.RawMessage
		_ = json.Unmarshal(got["details"], &details)
		for _, d := range details {
			checkFields(t, spec, "SnapshotDetail", d)
		}
	}
}

// checkBatch checks a batch answer and every result and error inside it.
func checkBatch(t *testing.T, spec openAPISpec, body []byte) {
	t.Helper()
	checkFields(t, spec, "BatchEntireResponse", body)
	var w struct {
		Results []json.RawMessage `json:"results"`
	}
	if err := json.Unmarshal(body, &w); err != nil || len(w.Results) != 2 {
		t.Fatalf("batch answer %s: %v", body, err)
	}
	for k, raw := range w.Results {
		checkFields(t, spec, "BatchEntireResult", raw)
		var item struct {
			Status int             `json:"status"`
			Result json.RawMessage `json:"result"`
			Error  json.RawMessage `json:"error"`
		}
		_ = json.Unmarshal(raw, &item)
		switch {
		case k == 0 && item.Status == 200 && item.Result != nil && item.Error == nil:
			checkFields(t, spec, "EntireResponse", item.Result)
		case k == 1 && item.Status == 400 && item.Error != nil && item.Result == nil:
			checkFields(t, spec, "Error", item.Error)
		default:
			t.Errorf("batch item %d: %s", k, raw)
		}
	}
}

func readAll(t *testing.T, resp *http.Response) []byte {
	t.Helper()
	var b strings.Builder
	buf := make([]byte, 32<<10)
	for {
		n, err := resp.Body.Read(buf)
		b.Write(buf[:n])
		if err != nil {
			break
		}
	}
	return []byte(b.String())
}
