package main

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"runtime"
	"testing"
)

// sineCSV is n one-minute rows of a daily sine with a little deterministic noise.
func sineCSV(n int) []byte {
	var b bytes.Buffer
	b.WriteString("timestamp,value\n")
	for i := 0; i < n; i++ {
		v := 100 + 20*math.Sin(2*math.Pi*float64(i)/1440) + float64((i*7919)%13)/13
		fmt.Fprintf(&b, "%d,%.4f\n", 1_700_000_000+60*i, v)
	}
	return b.Bytes()
}

// Output blocks are formatted in parallel but must come out in input order,
// byte for byte what one core writes.
func TestDetectOutputSameOnAnyCoreCount(t *testing.T) {
	in := sineCSV(150_000) // several output blocks per worker
	var outs []string
	for _, procs := range []int{1, 2, 3} {
		prev := runtime.GOMAXPROCS(procs)
		var out, errOut bytes.Buffer
		err := run(context.Background(), []string{"detect", "--method", "basic"}, bytes.NewReader(in), &out, &errOut)
		runtime.GOMAXPROCS(prev)
		if err != nil {
			t.Fatal(err)
		}
		outs = append(outs, out.String())
	}
	if outs[0] != outs[1] || outs[0] != outs[2] {
		t.Fatal("detect output differs with the number of cores")
	}
	if got := bytes.Count([]byte(outs[0]), []byte("\n")); got != 150_001 {
		t.Fatalf("%d lines, want 150,001", got)
	}
}

// BenchmarkDetectEndToEnd is `sheepdog detect` on 1,000,000 rows of CSV in
// memory: read, detect (basic and auto), write. rows/s is the figure the
// README quotes.
func BenchmarkDetectEndToEnd(b *testing.B) {
	in := sineCSV(1_000_000)
	for _, method := range []string{"basic", "auto"} {
		b.Run(method, func(b *testing.B) {
			var out bytes.Buffer
			for i := 0; i < b.N; i++ {
				out.Reset()
				var errOut bytes.Buffer
				if err := run(context.Background(), []string{"detect", "--method", method}, bytes.NewReader(in), &out, &errOut); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N)*1e6/b.Elapsed().Seconds(), "rows/s")
		})
	}
}
