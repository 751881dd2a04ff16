package engine

import (
	"context"
	"encoding/binary"
	"math"
	"testing"
	"time"
)

// FuzzDetect feeds arbitrary series and options: Detect must never panic,
// must reject bad input with an error, and must return finite outputs with
// scores in [0,1] and lower <= upper otherwise.
func FuzzDetect(f *testing.F) {
	f.Add([]byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}, uint8(0), float64(50), false)
	f.Add([]byte("\x00\x00\x00\x00\x00\x00\xf0\x7f\x00\x00\x00\x00\x00\x00\xf0\xff"), uint8(4), float64(100), true)
	f.Add(make([]byte, 400), uint8(2), float64(-1), true)
	f.Fuzz(func(t *testing.T, data []byte, methodIdx uint8, sens float64, causal bool) {
		var s Series
		ts := int64(0)
		for i := 0; i+9 <= len(data) && len(s.Times) < 5000; i += 9 {
			ts += int64(data[i]%5) * 30_000 // steps of 0..2 minutes: zero steps make duplicates
			v := math.Float64frombits(binary.LittleEndian.Uint64(data[i+1 : i+9]))
			s.Times = append(s.Times, ts)
			s.Values = append(s.Values, v)
		}
		opt := Options{Method: allMethods[int(methodIdx)%len(allMethods)], Sensitivity: sens, Causal: causal,
			MinDuration: time.Duration(methodIdx%3) * time.Minute}
		r, err := Detect(context.Background(), s, opt)
		if err != nil {
			return
		}
		lead := firstFinite(s)
		for i := range s.Times {
			if i < lead {
				if r.Score[i] != 0 || r.Anomaly[i] {
					t.Fatalf("score %v before the first value", r.Score[i])
				}
				continue // no forecast before the first value (NaN, null)
			}
			for _, x := range []float64{r.Expected[i], r.Lower[i], r.Upper[i], r.Score[i]} {
				if math.IsNaN(x) || math.IsInf(x, 0) {
					t.Fatalf("non-finite output at %d: %v %v %v %v", i, r.Expected[i], r.Lower[i], r.Upper[i], r.Score[i])
				}
			}
			if r.Score[i] < 0 || r.Score[i] > 1 || r.Lower[i] > r.Upper[i] {
				t.Fatalf("bad score %v or band [%v,%v] at %d", r.Score[i], r.Lower[i], r.Upper[i], i)
			}
		}
	})
}
