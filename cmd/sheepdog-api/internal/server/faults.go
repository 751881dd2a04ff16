package server

import (
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sheepdog-anomaly/sheepdog/pkg/apicontract"
)

// Faults make the server misbehave on purpose, for demos and client tests.
// All are off at their zero value. They apply to detection routes only, after
// authentication and rate limiting, so health checks and /metrics stay honest.
type Faults struct {
	Latency       time.Duration // added before answering
	LatencyJitter time.Duration // plus a uniform random extra up to this
	ErrorRate     float64       // share answered with ErrorStatus
	ErrorStatus   int           // default 503
	ThrottleRate  float64       // share answered 429
	RetryAfter    time.Duration // Retry-After on injected 429s; 0 sends none
	DropRate      float64       // share whose connection is reset without an answer
	MalformedRate float64       // share answered 200 with truncated JSON
	First         int           // only the first N detection requests are faulted; 0 = all
	Seed          uint64        // random seed, for repeatable runs
}

// Enabled reports whether any fault is configured.
func (f Faults) Enabled() bool {
	return f.Latency > 0 || f.LatencyJitter > 0 || f.ErrorRate > 0 || f.ThrottleRate > 0 || f.DropRate > 0 || f.MalformedRate > 0
}

type faultInjector struct {
	f     Faults
	count atomic.Int64
	mu    sync.Mutex
	rng   *rand.Rand
}

func newFaultInjector(f Faults) (*faultInjector, error) {
	for name, v := range map[string]float64{"error rate": f.ErrorRate, "throttle rate": f.ThrottleRate, "drop rate": f.DropRate, "malformed rate": f.MalformedRate} {
		if v < 0 || v > 1 || v != v {
			return nil, fmt.Errorf("fault %s %v is outside 0..1", name, v)
		}
	}
	if f.ErrorStatus == 0 {
		f.ErrorStatus = http.StatusServiceUnavailable
	}
	if f.ErrorStatus < 400 || f.ErrorStatus > 599 {
		return nil, fmt.Errorf("fault error status %d is not a 4xx/5xx status", f.ErrorStatus)
	}
	if f.Latency < 0 || f.LatencyJitter < 0 || f.First < 0 {
		return nil, fmt.Errorf("fault latency, jitter and first must not be negative")
	}
	return &faultInjector{f: f, rng: rand.New(rand.NewPCG(f.Seed, f.Seed^0x5eed))}, nil
}

func (fi *faultInjector) draw() float64 {
	fi.mu.Lock()
	defer fi.mu.Unlock()
	return fi.rng.Float64()
}

// apply injects at most one fault; it returns true when it answered (or
// dropped) the request itself.
func (fi *faultInjector) apply(w http.ResponseWriter, r *http.Request) bool {
	f := fi.f
	if !f.Enabled() {
		return false
	}
	if n := fi.count.Add(1); f.First > 0 && n > int64(f.First) {
		return false
	}
	if d := f.Latency + time.Duration(fi.draw()*float64(f.LatencyJitter)); d > 0 {
		t := time.NewTimer(d)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
			return true // the client left; nobody to answer
		}
	}
	switch {
	case f.DropRate > 0 && fi.draw() < f.DropRate:
		dropConnection(w)
	case f.ThrottleRate > 0 && fi.draw() < f.ThrottleRate:
		if f.RetryAfter > 0 {
			w.Header().Set("Retry-After", strconv.Itoa(retryAfterSeconds(f.RetryAfter)))
		}
		writeError(w, http.StatusTooManyRequests, apicontract.CodeTooManyRequests, "injected fault: throttled")
	case f.ErrorRate > 0 && fi.draw() < f.ErrorRate:
		writeError(w, f.ErrorStatus, apicontract.CodeServiceUnavailable, "injected fault: server error")
	case f.MalformedRate > 0 && fi.draw() < f.MalformedRate:
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write([]byte(`{"period":0,"expectedValues":[1.5,2.`))
	default:
		return false
	}
	return true
}

// dropConnection resets the TCP connection without writing a response, the
// way a crashed proxy or an OOM-killed backend looks to a client.
func dropConnection(w http.ResponseWriter) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		panic(http.ErrAbortHandler) // HTTP/2 or a test recorder: abort the stream instead
	}
	if tc, ok := conn.(*net.TCPConn); ok {
		_ = tc.SetLinger(0) // RST instead of FIN
	}
	_ = conn.Close()
}
