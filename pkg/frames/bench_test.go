package frames

import (
	"fmt"
	"math"
	"syscall"
	"testing"
	"time"

	"github.com/sheepdog-anomaly/sheepdog/pkg/engine"
	"github.com/sheepdog-anomaly/sheepdog/pkg/models"
)

// benchSeries makes n series of the given length on one shared time axis, with
// results whose first points are NaN (warm-up), as the engine returns them.
func benchSeries(n, points int) []Series {
	times := make([]int64, points)
	for i := range times {
		times[i] = 1_700_000_000_000 + int64(i)*60_000
	}
	out := make([]Series, n)
	for k := range out {
		vals, exp, lo, hi, score := make([]float64, points), make([]float64, points), make([]float64, points), make([]float64, points), make([]float64, points)
		anom := make([]bool, points)
		for i := range vals {
			vals[i] = 50 + 10*math.Sin(float64(i+k)/100)
			exp[i], lo[i], hi[i], score[i] = vals[i], vals[i]-3, vals[i]+3, 0.1
			if i < 60 {
				exp[i], lo[i], hi[i] = math.NaN(), math.NaN(), math.NaN()
			}
			anom[i] = i%997 == 0
		}
		out[k] = Series{Name: "cpu_usage", DisplayName: fmt.Sprintf("h%04d", k), Labels: map[string]string{"host": fmt.Sprintf("h%04d", k)},
			Times: times, Values: vals, Result: &engine.Result{Expected: exp, Lower: lo, Upper: hi, Score: score, Anomaly: anom}}
	}
	return out
}

// BenchmarkPanel measures building the panel frames (all outputs) for 1,000
// series of a week of minutely points, without detection or Arrow encoding.
func BenchmarkPanel(b *testing.B) {
	series := benchSeries(1000, 10_080)
	out := models.Outputs{Bands: true, Score: true, Flags: true, Windows: true}
	b.ReportAllocs()
	b.ResetTimer()
	cpu := cpuTime()
	for range b.N {
		if _, err := Panel("A", series, out); err != nil {
			b.Fatal(err)
		}
	}
	// CPU time measures the work where wall time on a shared machine also
	// measures the waiting.
	b.ReportMetric((cpuTime()-cpu).Seconds()/float64(b.N), "cpu-s/op")
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
