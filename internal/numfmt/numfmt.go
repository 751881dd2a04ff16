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
	"math"
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
	all := digits16(n)
	d := all[16-prec:]
	nd := prec
	for d[nd-1] == '0' {
		nd--
	}
	d = d[:nd]
	if v < 0 {
		dst = append(dst, '-')
	}
	if e < -4 || e >= prec {
		// d.ddde±xx
		dst = append(dst, d[0])
		if nd > 1 {
			dst = append(dst, '.')
			dst = append(dst, d[1:]...)
		}
		dst = append(dst, 'e')
		x := e
		if x < 0 {
			dst = append(dst, '-')
			x = -x
		} else {
			dst = append(dst, '+')
		}
		if x >= 100 {
			dst = append(dst, byte(x/100)+'0')
			x %= 100
		}
		return append(dst, byte(x/10)+'0', byte(x%10)+'0'), true
	}
	// Plain decimal: dp digits before the point.
	dp := e + 1
	if dp <= 0 {
		dst = append(dst, '0', '.')
		for ; dp < 0; dp++ {
			dst = append(dst, '0')
		}
		return append(dst, d...), true
	}
	if nd <= dp {
		dst = append(dst, d...)
		for ; nd < dp; nd++ {
			dst = append(dst, '0')
		}
		return dst, true
	}
	dst = append(dst, d[:dp]...)
	dst = append(dst, '.')
	return append(dst, d[dp:]...), true
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
	if math.Signbit(v) {
		dst = append(dst, '-')
	}
	if prec == 0 {
		return strconv.AppendUint(dst, n, 10), true
	}
	dst = strconv.AppendUint(dst, n/upow10[prec], 10)
	dst = append(dst, '.')
	all := digits16(n % upow10[prec])
	return append(dst, all[16-prec:]...), true
}

const pairs = "00010203040506070809" + "10111213141516171819" + "20212223242526272829" +
	"30313233343536373839" + "40414243444546474849" + "50515253545556575859" +
	"60616263646566676869" + "70717273747576777879" + "80818283848586878889" + "90919293949596979899"

// digits16 returns n (below 10^16) as sixteen decimal digits, zero-padded,
// in two 32-bit blocks of eight.
func digits16(n uint64) (d [16]byte) {
	hi := uint32(n / 1e8)
	lo := uint32(n % 1e8)
	put8((*[8]byte)(d[0:8]), hi)
	put8((*[8]byte)(d[8:16]), lo)
	return d
}

// put8 writes x (below 10^8) as eight digits.
func put8(d *[8]byte, x uint32) {
	hi, lo := x/1e4, x%1e4
	a, b, c, e := hi/100, hi%100, lo/100, lo%100
	d[0], d[1] = pairs[2*a], pairs[2*a+1]
	d[2], d[3] = pairs[2*b], pairs[2*b+1]
	d[4], d[5] = pairs[2*c], pairs[2*c+1]
	d[6], d[7] = pairs[2*e], pairs[2*e+1]
}
