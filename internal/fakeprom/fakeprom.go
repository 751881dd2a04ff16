// Package fakeprom is a Prometheus-compatible query_range endpoint for tests
// of the point and byte budgets: it answers any range and step with a fixed
// number of series holding a point at every step (start, start+step, ... up
// to end, as Prometheus evaluates a range), without Prometheus' own
// 11,000-point limit, as an attacker's range and step would need.
package fakeprom

import (
	"bufio"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
)

// Server counts the calls it answered and the bytes it wrote.
type Server struct {
	*httptest.Server
	Calls atomic.Int64
	Sent  atomic.Int64
}

// Start serves series series cpu{host="h0"}, cpu{host="h1"}, ... with values
// 50 + (i+s) mod 7 (point i of series s) until the test ends. Paths other
// than /api/v1/query_range get 404, a step <= 0 or end < start 400.
func Start(t testing.TB, series int) *Server {
	t.Helper()
	s := &Server{}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.Calls.Add(1)
		if !strings.HasSuffix(r.URL.Path, "/api/v1/query_range") {
			http.Error(w, `{"status":"error","errorType":"bad_data","error":"not found"}`, http.StatusNotFound)
			return
		}
		_ = r.ParseForm()
		start, _ := strconv.ParseFloat(r.Form.Get("start"), 64)
		end, _ := strconv.ParseFloat(r.Form.Get("end"), 64)
		step, _ := strconv.ParseFloat(r.Form.Get("step"), 64)
		if step <= 0 || end < start {
			http.Error(w, `{"status":"error","errorType":"bad_data","error":"bad range"}`, http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		cw := &countingWriter{w: w, n: &s.Sent}
		bw := bufio.NewWriterSize(cw, 1<<16)
		bw.WriteString(`{"status":"success","data":{"resultType":"matrix","result":[`)
		for k := range series {
			if k > 0 {
				bw.WriteByte(',')
			}
			fmt.Fprintf(bw, `{"metric":{"__name__":"cpu","host":"h%d"},"values":[`, k)
			i := 0
			for ts := start; ts <= end; ts += step {
				if i > 0 {
					bw.WriteByte(',')
				}
				fmt.Fprintf(bw, `[%.3f,"%d"]`, ts, 50+(i+k)%7)
				i++
			}
			bw.WriteString(`]}`)
		}
		bw.WriteString(`]}}`)
		bw.Flush()
	}))
	t.Cleanup(s.Close)
	return s
}

type countingWriter struct {
	w http.ResponseWriter
	n *atomic.Int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n.Add(int64(n))
	return n, err
}
