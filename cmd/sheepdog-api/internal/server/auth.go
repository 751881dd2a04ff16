package server

import (
	"crypto/sha256"
	"crypto/subtle"
	"fmt"
	"math"
	"strings"
	"sync"
	"time"

	"github.com/sheepdog-anomaly/sheepdog/pkg/apicontract"
)

// keyring holds SHA-256 digests of the accepted keys. Comparing digests of
// equal length in constant time, and always against every key, leaks neither
// key contents nor which key was close.
type keyring struct {
	digests [][sha256.Size]byte
}

func newKeyring(keys []string) (*keyring, error) {
	kr := &keyring{}
	seen := map[[sha256.Size]byte]bool{}
	for i, k := range keys {
		k = strings.TrimSpace(k)
		if k == "" {
			continue
		}
		if len(k) < 16 {
			return nil, fmt.Errorf("API key #%d (%s) is shorter than 16 characters", i+1, apicontract.MaskKey(k))
		}
		d := sha256.Sum256([]byte(k))
		if seen[d] {
			continue
		}
		seen[d] = true
		kr.digests = append(kr.digests, d)
	}
	return kr, nil
}

// match returns the index of key, or -1.
func (kr *keyring) match(key string) int {
	d := sha256.Sum256([]byte(key))
	found := -1
	for i := range kr.digests {
		if subtle.ConstantTimeCompare(d[:], kr.digests[i][:]) == 1 {
			found = i
		}
	}
	return found
}

// ParseKeys splits SHEEPDOG_API_KEYS-style text (commas or newlines; lines
// starting with # are comments) into keys.
func ParseKeys(text string) []string {
	var keys []string
	for _, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		for _, k := range strings.Split(line, ",") {
			if k = strings.TrimSpace(k); k != "" {
				keys = append(keys, k)
			}
		}
	}
	return keys
}

// rateLimiter is one token bucket per caller id. Callers are the configured
// keys, so the map is bounded by the keyring.
type rateLimiter struct {
	rate  float64
	burst float64
	mu    sync.Mutex
	b     map[int]*bucket
}

type bucket struct {
	tokens float64
	last   time.Time
}

func newRateLimiter(rps float64, burst int) *rateLimiter {
	if burst <= 0 {
		burst = int(math.Max(1, math.Ceil(rps)))
	}
	return &rateLimiter{rate: rps, burst: float64(burst), b: map[int]*bucket{}}
}

// allow takes a token for id; when none is left it returns how long until one is.
func (rl *rateLimiter) allow(id int, now time.Time) (time.Duration, bool) {
	if rl.rate <= 0 {
		return 0, true
	}
	rl.mu.Lock()
	defer rl.mu.Unlock()
	b := rl.b[id]
	if b == nil {
		b = &bucket{tokens: rl.burst, last: now}
		rl.b[id] = b
	}
	b.tokens = math.Min(rl.burst, b.tokens+now.Sub(b.last).Seconds()*rl.rate)
	b.last = now
	if b.tokens >= 1 {
		b.tokens--
		return 0, true
	}
	wait := time.Duration((1 - b.tokens) / rl.rate * float64(time.Second))
	return wait, false
}

// authThrottle counts failed authentications per client address. After
// limit failures within window the address is refused (429 with
// Retry-After) for lockout, valid key or not, so keys cannot be guessed at
// line rate. The map is bounded: at maxAddrs, expired entries are dropped
// and, if none are, the stalest one.
type authThrottle struct {
	limit    int
	window   time.Duration
	lockout  time.Duration
	maxAddrs int

	mu    sync.Mutex
	addrs map[string]*authFailures
}

type authFailures struct {
	count       int
	first       time.Time // start of the counting window
	lockedUntil time.Time
}

func newAuthThrottle(limit int, window, lockout time.Duration, maxAddrs int) *authThrottle {
	return &authThrottle{limit: limit, window: window, lockout: lockout, maxAddrs: maxAddrs, addrs: map[string]*authFailures{}}
}

// locked says whether addr is locked out now, and for how long yet.
func (a *authThrottle) locked(addr string, now time.Time) (time.Duration, bool) {
	if a.limit <= 0 {
		return 0, false
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	f := a.addrs[addr]
	if f == nil || !now.Before(f.lockedUntil) {
		return 0, false
	}
	return f.lockedUntil.Sub(now), true
}

// failed records a failure; it reports whether this one started a lockout.
func (a *authThrottle) failed(addr string, now time.Time) bool {
	if a.limit <= 0 {
		return false
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	f := a.addrs[addr]
	if f == nil {
		a.makeRoom(now)
		f = &authFailures{first: now}
		a.addrs[addr] = f
	}
	if now.Sub(f.first) > a.window {
		f.count, f.first = 0, now
	}
	f.count++
	if f.count >= a.limit {
		f.count, f.first = 0, now
		f.lockedUntil = now.Add(a.lockout)
		return true
	}
	return false
}

// succeeded forgets the address's failures: a client that found its key is
// not punished for the typo before.
func (a *authThrottle) succeeded(addr string) {
	if a.limit <= 0 {
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if f := a.addrs[addr]; f != nil && f.lockedUntil.IsZero() {
		delete(a.addrs, addr)
	}
}

func (a *authThrottle) makeRoom(now time.Time) {
	if len(a.addrs) < a.maxAddrs {
		return
	}
	var stalest string
	var stalestAt time.Time
	for addr, f := range a.addrs {
		if now.Sub(f.first) > a.window && !now.Before(f.lockedUntil) {
			delete(a.addrs, addr)
			continue
		}
		if stalest == "" || f.first.Before(stalestAt) {
			stalest, stalestAt = addr, f.first
		}
	}
	if len(a.addrs) >= a.maxAddrs {
		delete(a.addrs, stalest)
	}
}

// authLog writes at most one summary line per interval about rejected keys,
// so a key-guessing client cannot flood the log (or the disk).
type authLog struct {
	interval time.Duration

	mu        sync.Mutex
	last      time.Time
	rejected  int
	lockouts  int
	lastAddr  string
	lastKey   string // masked
	lastRoute string
}

// record counts a rejection and returns the fields of a summary line when one is due.
func (l *authLog) record(now time.Time, addr, maskedKey, route string, lockout bool) []any {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.rejected++
	if lockout {
		l.lockouts++
	}
	l.lastAddr, l.lastKey, l.lastRoute = addr, maskedKey, route
	if !l.last.IsZero() && now.Sub(l.last) < l.interval {
		return nil
	}
	fields := []any{"rejected", l.rejected, "lockouts", l.lockouts, "last_remote", l.lastAddr, "last_key", l.lastKey, "last_path", l.lastRoute}
	if !l.last.IsZero() {
		fields = append(fields, "since", now.Sub(l.last).Round(time.Second).String())
	}
	l.last, l.rejected, l.lockouts = now, 0, 0
	return fields
}
