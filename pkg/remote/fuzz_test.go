package remote

import (
	"math"
	"testing"
	"time"

	"github.com/sheepdog-anomaly/sheepdog/pkg/engine"
)

// FuzzDecodeEntire feeds arbitrary response bodies to the client's response
// validation: it must never panic, and whatever it accepts must satisfy the
// engine's Result contract (aligned arrays, finite values, ordered band,
// scores in 0..1, missing inputs unflagged).
func FuzzDecodeEntire(f *testing.F) {
	f.Add([]byte(`{"period":0,"expectedValues":[10,10,10],"upperMargins":[5,5,5],"lowerMargins":[5,5,5],"isAnomaly":[false,true,true],"isPositiveAnomaly":[false,true,false],"isNegativeAnomaly":[false,false,false],"severity":[0,0.8,0.4],"scores":[0.1,0.8,0.4],"method":"robust"}`))
	f.Add([]byte(`{"expectedValues":[1,2,3],"upperMargins":[0,0,0],"lowerMargins":[0,0,0],"isAnomaly":[true,false,null]}`))
	f.Add([]byte(`{"expectedValues":[1e308,-1e308,0],"upperMargins":[1e308,1e308,1e308],"lowerMargins":[1,1,1],"isAnomaly":[true,true,true],"period":1e9}`))
	f.Add([]byte(`{"period":0,"expectedValues":[1.5,2.`))
	s := engine.Series{Times: []int64{0, 60_000, 120_000}, Values: []float64{10, 50, math.NaN()}}
	f.Fuzz(func(t *testing.T, body []byte) {
		for _, dir := range []engine.Direction{"", engine.DirectionUp, engine.DirectionDown} {
			r, err := decodeEntire(body, s, engine.Options{Direction: dir}, time.Minute)
			if err != nil {
				if _, ok := err.(*InvalidResponseError); !ok {
					t.Fatalf("error of type %T: %v", err, err)
				}
				continue
			}
			n := len(s.Times)
			if len(r.Expected) != n || len(r.Lower) != n || len(r.Upper) != n || len(r.Score) != n || len(r.Anomaly) != n || len(r.Direction) != n {
				t.Fatal("arrays not aligned with the input")
			}
			for i := range n {
				for _, v := range []float64{r.Expected[i], r.Lower[i], r.Upper[i], r.Score[i]} {
					if math.IsNaN(v) || math.IsInf(v, 0) {
						t.Fatalf("non-finite value at %d", i)
					}
				}
				if r.Lower[i] > r.Expected[i] || r.Expected[i] > r.Upper[i] || r.Score[i] < 0 || r.Score[i] > 1 {
					t.Fatalf("point %d: band %v..%v..%v score %v", i, r.Lower[i], r.Expected[i], r.Upper[i], r.Score[i])
				}
				if math.IsNaN(s.Values[i]) && r.Anomaly[i] {
					t.Fatalf("missing point %d flagged", i)
				}
				if r.Anomaly[i] && ((dir == engine.DirectionUp && r.Direction[i] < 0) || (dir == engine.DirectionDown && r.Direction[i] > 0)) {
					t.Fatalf("point %d flagged against direction %s", i, dir)
				}
			}
		}
	})
}
