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
	"math/bits"
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

const minExp, maxExp = -21, 40 // the decimal exponents guessed for minG .. maxG

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

// roundScaled returns a·10^k (a ≥ 0) rounded to the nearest integer,
// halves to even, computed exactly; ok is false when 10^k is not an exact float64 or
// the result could reach 2^52 (then the fraction is no longer exact).
func roundScaled(a float64, k int) (n uint64, ok bool) {
	var p float64
	switch {
	case k >= 0 && k < len(pow10):
		p = a * pow10[k]
	case k < 0 && -k < len(pow10):
		p = a / pow10[-k]
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
	n = uint64(int64(r))
	if frac != 0 {
		// Up when frac is positive: its sign bit, not a branch, which
		// would go either way at random.
		return n + (1 ^ math.Float64bits(frac)>>63), true
	}
	// p is a half: the exact a·10^k is above it, below it or on it. The
	// rounding error of the product or quotient is itself a float64
	// (the remainder, for a quotient), so math.FMA gives it exactly.
	var rest float64
	if k >= 0 {
		rest = math.FMA(a, pow10[k], -p)
	} else {
		rest = math.FMA(-p, pow10[-k], a)
	}
	switch {
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
	if next := e + 1 - minExp; next < len(decades) {
		// One more when a reaches the next power of ten (then a-10^(e+1)
		// has no sign bit): usually right now, and no branch that values
		// around a power of ten would make go either way; the loop below
		// corrects a near miss.
		e += int(1 ^ math.Float64bits(a-decades[next])>>63)
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
	// The digits left-aligned: n·10^(16-prec) has n's digits first, then
	// zeros (at least one: prec < 16); trailing zero digits are the zero
	// bytes at the top of the lanes (the last digit is in the highest byte).
	w0, w1 := lanes16(n * upow10[16-prec])
	var nd int
	if w1 != 0 {
		nd = 16 - bits.LeadingZeros64(w1)/8
	} else {
		nd = 8 - bits.LeadingZeros64(w0)/8
	}
	w0 += zeros
	w1 += zeros
	// Written into dst's spare capacity a word at a time; the words may
	// run past the text (they end within 32 bytes).
	n0 := len(dst)
	dst = slices.Grow(dst, 32)
	w := dst[n0 : n0+32]
	w[0] = '-' // kept for a negative v, else overwritten: no branch on the sign
	k := int(math.Float64bits(v) >> 63)
	switch {
	case e < -4 || e >= prec: // d.ddde±xx
		if nd > 1 {
			w0, w1 = insertPoint(w0, w1, 1)
			nd++
		}
		binary.LittleEndian.PutUint64(w[k:], w0)
		binary.LittleEndian.PutUint64(w[k+8:], w1)
		k += nd
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
	case e < 0: // 0.0ddd: "0." and -e-1 zeros, 2 to 5 bytes, before the digits
		sh := uint(8 * (1 - e))
		prefix := uint64(zeros&^0xff00|'.'<<8) & (1<<sh - 1)
		binary.LittleEndian.PutUint64(w[k:], prefix|w0<<sh)
		binary.LittleEndian.PutUint64(w[k+8:], w0>>(64-sh)|w1<<sh)
		binary.LittleEndian.PutUint64(w[k+16:], w1>>(64-sh))
		k += 1 - e + nd
	default: // ddd.ddd: e+1 digits before the point (the lanes are '0' past the digits)
		dp := e + 1
		if nd > dp {
			w0, w1 = insertPoint(w0, w1, dp)
			nd++
		} else {
			nd = dp
		}
		binary.LittleEndian.PutUint64(w[k:], w0)
		binary.LittleEndian.PutUint64(w[k+8:], w1)
		k += nd
	}
	return dst[:n0+k], true
}

const zeros uint64 = 0x3030303030303030 // '0' in every byte

// insertPoint puts a '.' after the first at (1..15) of the sixteen bytes
// w0 and w1 hold, first byte lowest, and drops the last byte.
func insertPoint(w0, w1 uint64, at int) (uint64, uint64) {
	if at < 8 {
		sh := uint(8 * at)
		m := uint64(1)<<sh - 1
		return w0&m | '.'<<sh | (w0&^m)<<8, w1<<8 | w0>>56
	}
	sh := uint(8 * (at - 8))
	m := uint64(1)<<sh - 1
	return w0, w1&m | '.'<<sh | (w1&^m)<<8
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
	// n's digits right-aligned: the last prec are the decimals, the ni
	// before them the integer part (at least one digit).
	ni := 1
	for ni < 16-prec && n >= upow10[prec+ni] {
		ni++
	}
	if ni+prec > 15 {
		return dst, false // no room for the point in sixteen bytes
	}
	w0, w1 := lanes16(n)
	w0 += zeros
	w1 += zeros
	// Drop the leading zero digits: shift right by 16-prec-ni bytes.
	if skip := uint(8 * (16 - prec - ni)); skip >= 64 {
		w0, w1 = w1>>(skip-64), 0
	} else if skip > 0 {
		w0, w1 = w0>>skip|w1<<(64-skip), w1>>skip
	}
	if prec > 0 {
		w0, w1 = insertPoint(w0, w1, ni)
		ni++
	}
	n0 := len(dst)
	dst = slices.Grow(dst, 17)
	w := dst[n0 : n0+17]
	w[0] = '-' // kept for a negative v, else overwritten: no branch on the sign
	k := int(math.Float64bits(v) >> 63)
	binary.LittleEndian.PutUint64(w[k:], w0)
	binary.LittleEndian.PutUint64(w[k+8:], w1)
	return dst[:n0+k+ni+prec], true
}

// lanes16 returns the sixteen decimal digits of n (below 10^16), zero-padded,
// one per byte, the first eight in hi, the first of each in the lowest byte.
func lanes16(n uint64) (hi, lo uint64) {
	if n < 1e8 {
		return 0, digits8(n) // a small value's digits cost one chain, not two
	}
	h := n / 1e8
	return digits8(h), digits8(n - h*1e8)
}

// digits8 returns the eight decimal digits of x (below 10^8), one per
// byte, the first in the lowest byte, computed in lanes of one word: x
// splits into two 4-digit halves in 32-bit lanes, each into two 2-digit
// quarters in 16-bit lanes, each into two digits in bytes; a lane's
// division by 100 or 10 is a multiplication and a shift (exact below
// 43,699 and 179).
func digits8(x uint64) uint64 {
	hi := x / 10000
	v := hi | (x-hi*10000)<<32
	q := (v * 10486 >> 20) & 0x0000007F0000007F
	v = (v-q*100)<<16 | q
	q = (v * 103 >> 10) & 0x000F000F000F000F
	return (v-q*10)<<8 | q
}
