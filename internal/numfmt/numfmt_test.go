package numfmt

import (
	"math"
	"math/rand/v2"
	"strconv"
	"testing"
)

// edges are values every test runs: zeros, signs, integers, halves that tie,
// decade boundaries and the ends of the float64 range.
var edges = []float64{
	0, math.Copysign(0, -1), 1, -1, 0.5, 1.5, 2.5, -2.5, 0.125, 10, 100, 1e6, 1e11, 1e12, 1e15, 1e16,
	99.6403, 99.58692008412467, 100.3856, 0.1, 0.2, 0.3, 0.30000000000000004, 1.0 / 3, 2.0 / 3,
	9.5, 9.95, 9.9999999999995, 99999999999.95, 999999999999.5, 0.99999999999999, 1e-4, 9.99999e-5, 1e-5,
	1700000000, 1700000060.5, 123456789012.5, 1234567890123.5, 4503599627370495.5, 1 << 52, 1 << 53,
	1e-7, 1e-11, 1e-15, 1e-20, 1e-21, 1e-300, 1e300, 1e308, math.MaxFloat64, math.SmallestNonzeroFloat64,
	2.2250738585072014e-308, 2.225073858507201e-308, 5e-324 * 3, 1e22, 1e23, 1e29, 1e30, 1e39, 1e40,
	math.Inf(1), math.Inf(-1), math.NaN(), 0.00049999, 0.00005, 0.00015, 0.00025, 12345.67895, 0.045, 1.005,
}

// check fails when AppendG or AppendF differs from strconv for v.
func check(t *testing.T, v float64, prec int) {
	t.Helper()
	if got, want := string(AppendG([]byte("x"), v, prec)), "x"+strconv.FormatFloat(v, 'g', prec, 64); got != want {
		t.Fatalf("AppendG(%v (%b), %d) = %q, strconv %q", v, v, prec, got, want)
	}
	if got, want := string(AppendF([]byte("x"), v, prec)), "x"+strconv.FormatFloat(v, 'f', prec, 64); got != want {
		t.Fatalf("AppendF(%v (%b), %d) = %q, strconv %q", v, v, prec, got, want)
	}
}

func TestEdgesMatchStrconv(t *testing.T) {
	for _, v := range edges {
		for prec := -1; prec <= MaxPrec+2; prec++ {
			check(t, v, prec)
			check(t, -v, prec)
			check(t, math.Nextafter(v, 0), prec)
			check(t, math.Nextafter(v, math.Inf(1)), prec)
		}
	}
}

// Random values across the whole float64 range (random bits) and across the
// range metrics live in (random mantissa, decimal exponent -25..45), plus
// short decimals, the common case and the one where exact halves occur.
func TestRandomMatchesStrconv(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 300_000; i++ {
		var v float64
		switch i % 3 {
		case 0:
			v = math.Float64frombits(r.Uint64())
		case 1:
			v = (r.Float64() + 0.1) * math.Pow(10, float64(r.IntN(70)-25))
		default:
			v = float64(r.Int64N(2_000_000_001)-1_000_000_000) / math.Pow(10, float64(r.IntN(10)))
		}
		check(t, v, 1+r.IntN(MaxPrec))
		check(t, v, 12)
		check(t, v, 4)
	}
}

// Read back, a 'g' value is within half a unit of its last significant digit.
func TestRoundTripWithinPrecision(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for i := 0; i < 100_000; i++ {
		v := (r.Float64() - 0.5) * math.Pow(10, float64(r.IntN(60)-30))
		for _, prec := range []int{6, 8, 12, 15} {
			s := string(AppendG(nil, v, prec))
			back, err := strconv.ParseFloat(s, 64)
			if err != nil {
				t.Fatalf("%q: %v", s, err)
			}
			if rel := math.Abs(back-v) / math.Abs(v); rel > 0.5*math.Pow(10, float64(1-prec))*(1+1e-9) {
				t.Fatalf("%v at %d digits printed %q, relative error %g", v, prec, s, rel)
			}
		}
	}
}

func FuzzMatchesStrconv(f *testing.F) {
	for _, v := range edges {
		f.Add(math.Float64bits(v), uint8(12))
	}
	f.Fuzz(func(t *testing.T, bits uint64, prec uint8) {
		check(t, math.Float64frombits(bits), int(prec%(MaxPrec+3))-1)
	})
}

var sink []byte

func BenchmarkAppendG12(b *testing.B) {
	vals := benchValues()
	for i := 0; b.Loop(); i++ {
		sink = AppendG(sink[:0], vals[i&1023], 12)
	}
}

func BenchmarkStrconvG12(b *testing.B) {
	vals := benchValues()
	for i := 0; b.Loop(); i++ {
		sink = strconv.AppendFloat(sink[:0], vals[i&1023], 'g', 12, 64)
	}
}

func BenchmarkStrconvShortest(b *testing.B) {
	vals := benchValues()
	for i := 0; b.Loop(); i++ {
		sink = strconv.AppendFloat(sink[:0], vals[i&1023], 'g', -1, 64)
	}
}

func BenchmarkAppendF4(b *testing.B) {
	vals := benchValues()
	for i := 0; b.Loop(); i++ {
		sink = AppendF(sink[:0], vals[i&1023]/30, 4)
	}
}

func BenchmarkStrconvF4(b *testing.B) {
	vals := benchValues()
	for i := 0; b.Loop(); i++ {
		sink = strconv.AppendFloat(sink[:0], vals[i&1023]/30, 'f', 4, 64)
	}
}

// benchValues look like a band around a metric near 100.
func benchValues() []float64 {
	r := rand.New(rand.NewPCG(5, 6))
	v := make([]float64, 1024)
	for i := range v {
		v[i] = 100 + 20*r.NormFloat64()
	}
	return v
}

// The comparisons above would pass if everything fell back to strconv:
// values in the range metrics live in must take the fast path.
func TestFastPathCoversMetricRange(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	for i := 0; i < 100_000; i++ {
		v := (1 + 9*r.Float64()) * math.Pow(10, float64(r.IntN(24)-7)) // 1e-7 .. 1e17
		if r.IntN(2) == 0 {
			v = -v
		}
		for prec := 1; prec <= MaxPrec; prec++ {
			if _, ok := fastG(nil, v, prec); !ok {
				t.Fatalf("%v (%b) at %d digits left to strconv", v, v, prec)
			}
		}
		if _, ok := fastF(nil, v, 4); !ok && math.Abs(v) < 1e11 {
			t.Fatalf("%v (%b) with 4 decimals left to strconv", v, v)
		}
	}
}
