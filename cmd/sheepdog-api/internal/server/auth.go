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
