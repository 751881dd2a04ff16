package source

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/grafana/grafana-plugin-sdk-go/data"

	"github.com/sheepdog-anomaly/sheepdog/pkg/models"
)

// A week at one minute: the size the plugin's QueryData benchmark uses.
const benchPoints = 10080

var benchStart = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func promMatrixJSON(series, points int) []byte {
	var b bytes.Buffer
	b.WriteString(`{"status":"success","data":{"resultType":"matrix","result":[`)
	for s := 0; s < series; s++ {
		if s > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"metric":{"__name__":"cpu_usage","host":"h%d","job":"node"},"values":[`, s)
		for p := 0; p < points; p++ {
			if p > 0 {
				b.WriteByte(',')
			}
			ts := benchStart.Unix() + int64(p*60)
			fmt.Fprintf(&b, `[%d,"%s"]`, ts, strconv.FormatFloat(40+float64(p%97)*0.37, 'f', -1, 64))
		}
		b.WriteString(`]}`)
	}
	b.WriteString(`]}}`)
	return b.Bytes()
}

func benchmarkPromQueryRange(b *testing.B, series int) {
	body := promMatrixJSON(series, benchPoints)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write(body)
	}))
	defer srv.Close()
	c, err := NewPromClient(PromConfig{URL: srv.URL})
	if err != nil {
		b.Fatal(err)
	}
	r := Range{From: benchStart, To: benchStart.Add((benchPoints - 1) * time.Minute), Step: time.Minute}
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		got, err := c.QueryRange(context.Background(), "cpu_usage", r, "")
		if err != nil || len(got) != series || len(got[0].Times) != benchPoints {
			b.Fatalf("%d series, err %v", len(got), err)
		}
	}
}

func BenchmarkPromQueryRange100x10080(b *testing.B)  { benchmarkPromQueryRange(b, 100) }
func BenchmarkPromQueryRange1000x10080(b *testing.B) { benchmarkPromQueryRange(b, 1000) }

func dsQueryJSON(b *testing.B, series, points int) []byte {
	frames := make(data.Frames, series)
	times := make([]time.Time, points)
	for p := range times {
		times[p] = benchStart.Add(time.Duration(p) * time.Minute)
	}
	for s := range frames {
		values := make([]float64, points)
		for p := range values {
			values[p] = 40 + float64(p%97)*0.37
		}
		frames[s] = data.NewFrame("",
			data.NewField("Time", nil, times),
			data.NewField("cpu_usage", data.Labels{"__name__": "cpu_usage", "host": fmt.Sprint("h", s)}, values))
	}
	resp := backend.NewQueryDataResponse()
	resp.Responses["A"] = backend.DataResponse{Status: backend.StatusOK, Frames: frames}
	raw, err := json.Marshal(resp)
	if err != nil {
		b.Fatal(err)
	}
	return raw
}

func benchmarkGrafanaQuery(b *testing.B, series int) {
	body := dsQueryJSON(b, series, benchPoints)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if answerDataSourceType(w, r) { // the loop guard's type lookup, once: then cached
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write(body)
	}))
	defer srv.Close()
	c, err := NewGrafanaClient(GrafanaConfig{AppURL: srv.URL, Token: "t", Allowed: []string{"prom"}})
	if err != nil {
		b.Fatal(err)
	}
	r := Range{From: benchStart, To: benchStart.Add((benchPoints - 1) * time.Minute), Step: time.Minute}
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		got, err := c.Query(context.Background(), models.DataSourceRef{UID: "prom"}, nil, r, GrafanaQueryOptions{})
		if err != nil || len(got) != series || len(got[0].Times) != benchPoints {
			b.Fatalf("%d series, err %v", len(got), err)
		}
	}
}

func BenchmarkGrafanaQuery100x10080(b *testing.B)  { benchmarkGrafanaQuery(b, 100) }
func BenchmarkGrafanaQuery1000x10080(b *testing.B) { benchmarkGrafanaQuery(b, 1000) }

// The decoder alone, without HTTP: what one core spends per byte of answer.
func BenchmarkDecodePromMatrix100x10080(b *testing.B) {
	body := promMatrixJSON(100, benchPoints)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		ans, err := decodePromMatrix(body, benchPoints, 0, 0)
		if err != nil || len(ans.Result) != 100 {
			b.Fatal(err)
		}
	}
}
