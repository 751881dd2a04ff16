package testprom

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestGenerateIsDeterministicAndCarriesItsAnomalies(t *testing.T) {
	end := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	d1 := Generate(Options{End: end})
	d2 := Generate(Options{End: end})
	if len(d1.Series) != 4 || len(d1.Anomalies) != 4 {
		t.Fatalf("got %d series and %d anomalies, want 4 and 4", len(d1.Series), len(d1.Anomalies))
	}
	for i := range d1.Series {
		for j := range d1.Series[i].Values {
			if d1.Series[i].Values[j] != d2.Series[i].Values[j] {
				t.Fatalf("series %d point %d differs between two runs", i, j)
			}
		}
	}
	if got, want := len(d1.Series[0].Times), int(72*time.Hour/(30*time.Second))+1; got != want {
		t.Fatalf("points = %d, want %d", got, want)
	}
	if d1.End != end || d1.Start != end.Add(-72*time.Hour) {
		t.Fatalf("range %v..%v", d1.Start, d1.End)
	}

	// Each injected anomaly must stand out from the series around it.
	for _, a := range d1.Anomalies {
		s := d1.Find(a.Metric, a.Labels)
		if s == nil {
			t.Fatalf("no series for anomaly %+v", a)
		}
		if a.Metric == "requests_total" {
			continue // a counter: the burst shows in its rate, checked below
		}
		before := valueAt(s, a.Start.Add(-10*time.Minute))
		inside := valueAt(s, a.Start)
		if math.Abs(inside-before) < math.Abs(a.Delta)/2 {
			t.Errorf("%s %v: value %.2f at the anomaly vs %.2f ten minutes before; delta %.0f not visible", a.Kind, a.Labels, inside, before, a.Delta)
		}
	}
	req := d1.Find("requests_total", map[string]string{"service": "api"})
	for i := 1; i < len(req.Values); i++ {
		if req.Values[i] < req.Values[i-1] {
			t.Fatalf("counter decreases at point %d", i)
		}
	}
	burst := d1.AnomaliesOf("requests_total", map[string]string{"service": "api"})[0]
	rate := func(at time.Time) float64 {
		return (valueAt(req, at) - valueAt(req, at.Add(-5*time.Minute))) / 300
	}
	if in, out := rate(burst.End), rate(burst.Start.Add(-time.Hour)); in < 2.5*out {
		t.Errorf("burst rate %.1f/s not well above the rate an hour before (%.1f/s)", in, out)
	}

	var buf bytes.Buffer
	if err := d1.WriteOpenMetrics(&buf); err != nil {
		t.Fatal(err)
	}
	text := buf.String()
	for _, want := range []string{"# TYPE cpu_usage gauge\n", "# TYPE requests counter\n", `requests_total{service="api"} 1000 `, "# EOF\n"} {
		if !strings.Contains(text, want) {
			t.Errorf("OpenMetrics output lacks %q", want)
		}
	}
}

func valueAt(s *GenSeries, at time.Time) float64 {
	for i, t := range s.Times {
		if t == at.UnixMilli() {
			return s.Values[i]
		}
	}
	return math.NaN()
}

func TestStartServesTheBackfilledSeries(t *testing.T) {
	srv := Start(t, Options{})
	a := srv.Data.AnomaliesOf("cpu_usage", map[string]string{"host": "a"})[0]
	raw, err := srv.Query(context.Background(), `cpu_usage{host="a"}`, a.Start)
	if err != nil {
		t.Fatal(err)
	}
	var body struct {
		Data struct {
			Result []struct {
				Metric map[string]string `json:"metric"`
				Value  [2]any            `json:"value"`
			} `json:"result"`
		} `json:"data"`
	}
	if err := json.Unmarshal(raw, &body); err != nil {
		t.Fatal(err)
	}
	if len(body.Data.Result) != 1 {
		t.Fatalf("want 1 series, got %s", raw)
	}
	want := valueAt(srv.Data.Find("cpu_usage", map[string]string{"host": "a"}), a.Start)
	if got := body.Data.Result[0].Value[1]; got != formatValue(want) {
		t.Fatalf("value at the spike = %v, want %v", got, want)
	}
}

func formatValue(v float64) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// TestStartWithGivenOpenMetricsAndScrape: Options.OpenMetrics replaces the
// generated data, and Options.ScrapeConfigs adds live scrapes on top of it.
func TestStartWithGivenOpenMetricsAndScrape(t *testing.T) {
	exporter := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, "# TYPE live_gauge gauge\nlive_gauge 7")
	}))
	defer exporter.Close()
	end := time.Now().Add(-time.Hour).Truncate(time.Minute)
	srv := Start(t, Options{
		OpenMetrics: func(w io.Writer) error {
			fmt.Fprintln(w, "# HELP given_gauge A hand-written series.\n# TYPE given_gauge gauge")
			for i := 120; i >= 0; i-- {
				fmt.Fprintf(w, "given_gauge{k=\"v\"} %d %d\n", i, end.Add(-time.Duration(i)*time.Minute).Unix())
			}
			_, err := fmt.Fprintln(w, "# EOF")
			return err
		},
		ScrapeConfigs:  fmt.Sprintf("- job_name: live\n  static_configs: [{targets: [%q]}]", strings.TrimPrefix(exporter.URL, "http://")),
		ScrapeInterval: time.Second,
	})
	if srv.Data != nil || !srv.BackfillEnd.Equal(end) {
		t.Fatalf("Data %v, BackfillEnd %s, want nil and %s", srv.Data, srv.BackfillEnd, end)
	}
	value := func(expr string, at time.Time) (string, error) {
		raw, err := srv.Query(context.Background(), expr, at)
		if err != nil {
			return "", err
		}
		var body struct {
			Data struct {
				Result []struct {
					Value [2]any `json:"value"`
				} `json:"result"`
			} `json:"data"`
		}
		if err := json.Unmarshal(raw, &body); err != nil {
			return "", err
		}
		if len(body.Data.Result) != 1 {
			return "", fmt.Errorf("want 1 series, got %s", raw)
		}
		return fmt.Sprint(body.Data.Result[0].Value[1]), nil
	}
	if got, err := value(`given_gauge{k="v"}`, end.Add(-30*time.Minute)); err != nil || got != "30" {
		t.Fatalf("given_gauge 30 minutes before the end = %q (%v), want 30", got, err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		got, err := value(`live_gauge{job="live"}`, time.Now())
		if err == nil && got == "7" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("live_gauge not scraped within 30s: %q %v\n%s", got, err, srv.LogTail())
		}
		time.Sleep(200 * time.Millisecond)
	}
}
