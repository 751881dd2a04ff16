// Package numfmt formats float64 values with a fixed precision several times
// faster than strconv, byte for byte as strconv.AppendFloat does: AppendG is
// AppendFloat(dst, v, 'g', prec, 64) and AppendF is AppendFloat(dst, v, 'f',
// prec, 64). Values it cannot format exactly with one float64 multiplication
// or division (tiny, huge, subnormal, infinite or NaN values, and precisions
// above 15) are left to strconv, so the output never differs
// (FuzzMatchesStrconv).
//
// The method: scale |v| by a power of ten that float64 holds exactly (10^0 ..
// 10^22), so the product or quotient is rounded once; math.FMA gives the
// exact sign of that rounding error, which decides the rounding of the
// scaled value to an integer exactly, halves to even as strconv does. The
// integer's digits are then laid out as strconv lays out its digits.
package numfmt

import (
	"encoding/binary"
	"math"
	"slices"
	"strconv"
)

// MaxPrec is the largest precision formatted here; above it strconv is used.
const MaxPrec = 15

// pow10 are the powers of ten float64 represents exactly.
var pow10 = [...]float64{
	1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
	1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
}

// decades[i] is 10^(i+minExp), to the nearest float64, for guessing a
// value's decimal exponent.
var decades = func() (d [maxExp - minExp + 2]float64) {
	for i := range d {
		d[i] = math.Pow(10, float64(i+minExp))
	}
	return d
}()

const minExp, maxExp = -21, 40 // floor(log10) of minG's and maxG's binary decades

var upow10 = [...]uint64{
	1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
	1e12, 1e13, 1e14, 1e15, 1e16,
}

// Range of |v| that AppendG tries to format itself, far from underflow and
// overflow; roundScaled refuses the scales outside pow10 within it.
const (
	minG = 1e-20
	maxG = 1e40
)

// roundScaled returns |v|·10^k rounded to the nearest integer, halves to
// even, computed exactly; ok is false when 10^k is not an exact float64 or
// the result could reach 2^52 (then the fraction is no longer exact).
func roundScaled(a float64, k int) (n uint64, ok bool) {
	var p, rest float64 // rest has the sign of (a·10^k − p)
	switch {
	case k >= 0 && k < len(pow10):
		p = a * pow10[k]
		rest = math.FMA(a, pow10[k], -p) // exact: a product's error is a float64
	case k < 0 && -k < len(pow10):
		d := pow10[-k]
		p = a / d
		rest = math.FMA(-p, d, a) // exact: so is a quotient's remainder
	default:
		return 0, false
	}
	if !(p < 1<<52) {
		return 0, false
	}
	r := math.Floor(p)
	// p, r and 0.5 are multiples of p's unit in the last place (it is at
	// most 0.5 below 2^52), so frac is exact and, when it is not zero, at
	// least that unit: larger than the rounding error, whose sign then
	// cannot change the decision.
	frac := p - r - 0.5
	n = uint64(r)
	switch {
	case frac > 0:
		n++
	case frac < 0:
	case rest > 0:
		n++
	case rest < 0:
	case n&1 == 1: // an exact half: to even
		n++
	}
	return n, true
}

// AppendG appends strconv.AppendFloat(dst, v, 'g', prec, 64).
func AppendG(dst []byte, v float64, prec int) []byte {
	if out, ok := fastG(dst, v, prec); ok {
		return out
	}
	return strconv.AppendFloat(dst, v, 'g', prec, 64)
}

// AppendF appends strconv.AppendFloat(dst, v, 'f', prec, 64).
func AppendF(dst []byte, v float64, prec int) []byte {
	if out, ok := fastF(dst, v, prec); ok {
		return out
	}
	return strconv.AppendFloat(dst, v, 'f', prec, 64)
}

// fastG is AppendG without strconv; ok is false, and dst untouched, for
// the values it leaves to strconv.
func fastG(dst []byte, v float64, prec int) (out []byte, ok bool) {
	a := math.Abs(v)
	if prec < 1 || prec > MaxPrec || !(a >= minG && a < maxG) {
		if a == 0 && prec >= 0 {
			if math.Signbit(v) {
				return append(dst, '-', '0'), true
			}
			return append(dst, '0'), true
		}
		return dst, false
	}
	// e is the decimal exponent of a's first digit: an estimate from the
	// binary exponent (floor(e2·log10 2), never above the true one) raised
	// until the scaled value has exactly prec digits.
	e := ((int(math.Float64bits(a)>>52) - 1023) * 78913) >> 18
	if next := e + 1 - minExp; next < len(decades) && a >= decades[next] {
		e++ // usually right now; the loop below corrects a near miss
	}
	var n uint64
	for tries := 0; ; tries++ {
		var ok bool
		n, ok = roundScaled(a, prec-1-e)
		if !ok || tries == 3 {
			return dst, false
		}
		if n >= upow10[prec] {
			e++ // includes 9.99… rounding up to 10.0…: the next decade's 1.00…
			continue
		}
		if n < upow10[prec-1] {
			e--
			continue
		}
		break
	}
	// The digits left-aligned: n·10^(16-prec) has n's digits first.
	var d [16]byte
	digits16(&d, n*upow10[16-prec])
	nd := prec
	for d[nd-1] == '0' {
		nd--
	}
	// Written into dst's spare capacity: at most a sign, 15 digits, a
	// point and "e-NN", or a sign, "0.000" and 15 digits.
	n0 := len(dst)
	dst = slices.Grow(dst, 24)
	w := dst[n0 : n0+24]
	k := 0
	if v < 0 {
		w[0] = '-'
		k = 1
	}
	switch {
	case e < -4 || e >= prec: // d.ddde±xx
		w[k] = d[0]
		k++
		if nd > 1 {
			w[k] = '.'
			k++
			for j := 1; j < nd; j++ {
				w[k] = d[j]
				k++
			}
		}
		x := e
		w[k], w[k+1] = 'e', '+'
		if x < 0 {
			w[k+1] = '-'
			x = -x
		}
		k += 2
		if x >= 100 {
			w[k] = byte(x/100) + '0'
			x %= 100
			k++
		}
		w[k], w[k+1] = byte(x/10)+'0', byte(x%10)+'0'
		k += 2
	case e < 0: // 0.0ddd
		w[k], w[k+1] = '0', '.'
		k += 2
		for j := e + 1; j < 0; j++ {
			w[k] = '0'
			k++
		}
		for j := 0; j < nd; j++ {
			w[k] = d[j]
			k++
		}
	default: // ddd.ddd: e+1 digits before the point (d is '0' past the digits)
		for j := 0; j <= e; j++ {
			w[k] = d[j]
			k++
		}
		if nd > e+1 {
			w[k] = '.'
			k++
			for j := e + 1; j < nd; j++ {
				w[k] = d[j]
				k++
			}
		}
	}
	return dst[:n0+k], true
}

// fastF is AppendF without strconv's float formatting; ok is false, and dst
// untouched, for the values it leaves to strconv.
func fastF(dst []byte, v float64, prec int) (out []byte, ok bool) {
	a := math.Abs(v)
	if prec < 0 || prec > MaxPrec || !(a < 1e15) || (a != 0 && a < 1e-30) {
		return dst, false
	}
	n, ok := roundScaled(a, prec)
	if !ok {
		return dst, false
	}
	// n's digits right-aligned; those before the last prec are the
	// integer part, which has at least one digit.
	var d [16]byte
	digits16(&d, n)
	first := 15 - prec
	for first > 0 && n >= upow10[16-first] {
		first--
	}
	n0 := len(dst)
	dst = slices.Grow(dst, 18)
	w := dst[n0 : n0+18]
	k := 0
	if math.Signbit(v) {
		w[0] = '-'
		k = 1
	}
	for j := first; j < 16-prec; j++ {
		w[k] = d[j]
		k++
	}
	if prec > 0 {
		w[k] = '.'
		k++
		for j := 16 - prec; j < 16; j++ {
			w[k] = d[j]
			k++
		}
	}
	return dst[:n0+k], true
}

// digits16 writes n (below 10^16) as sixteen decimal digits, zero-padded.
func digits16(d *[16]byte, n uint64) {
	hi := n / 1e8
	binary.LittleEndian.PutUint64(d[0:8], digits8(hi))
	binary.LittleEndian.PutUint64(d[8:16], digits8(n-hi*1e8))
}

// digits8 returns x (below 10^8) as eight ASCII digits, the first in the
// lowest byte, computed in lanes of one word: x splits into two 4-digit
// halves in 32-bit lanes, each into two 2-digit quarters in 16-bit lanes,
// each into two digits in bytes; a lane's division by 100 or 10 is a
// multiplication and a shift (exact below 43,699 and 179).
func digits8(x uint64) uint64 {
	hi := x / 10000
	v := hi | (x-hi*10000)<<32
	q := (v * 10486 >> 20) & 0x0000007F0000007F
	v = (v-q*100)<<16 | q
	q = (v * 103 >> 10) & 0x000F000F000F000F
	v = (v-q*10)<<8 | q
	return v + 0x3030303030303030
}
