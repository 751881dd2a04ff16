package remote

import (
	"sync"
	"time"
)

// BreakerState is the circuit breaker's state.
type BreakerState int

const (
	BreakerClosed   BreakerState = iota // calls go through
	BreakerHalfOpen                     // one probe call is allowed
	BreakerOpen                         // calls fail fast
)

func (s BreakerState) String() string {
	switch s {
	case BreakerHalfOpen:
		return "half-open"
	case BreakerOpen:
		return "open"
	}
	return "closed"
}

// breaker opens after threshold consecutive failures, stays open for the
// cooldown, then lets exactly one probe through: its success closes the
// circuit, its failure reopens it for another cooldown.
type breaker struct {
	threshold int
	cooldown  time.Duration
	onChange  func(BreakerState)

	mu       sync.Mutex
	state    BreakerState
	failures int
	openedAt time.Time
	probing  bool
}

func newBreaker(threshold int, cooldown time.Duration, onChange func(BreakerState)) *breaker {
	return &breaker{threshold: threshold, cooldown: cooldown, onChange: onChange}
}

// allow asks to make a call. probe is true when this call is the half-open probe;
// the caller must then report with done.
func (b *breaker) allow(now time.Time) (probe, ok bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	switch b.state {
	case BreakerClosed:
		return false, true
	case BreakerOpen:
		if now.Sub(b.openedAt) < b.cooldown {
			return false, false
		}
		b.set(BreakerHalfOpen)
	}
	if b.probing {
		return false, false
	}
	b.probing = true
	return true, true
}

// outcome of one call, as far as the breaker cares.
type breakerOutcome int

const (
	breakerSuccess breakerOutcome = iota // the remote answered sensibly (2xx or a 4xx about our request)
	breakerFailure                       // the remote looks unhealthy
	breakerNeutral                       // we gave up (caller cancelled): says nothing about the remote
)

func (b *breaker) done(probe bool, o breakerOutcome, now time.Time) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if probe {
		b.probing = false
	}
	switch o {
	case breakerSuccess:
		b.failures = 0
		if b.state != BreakerClosed && (probe || b.state == BreakerHalfOpen) {
			b.set(BreakerClosed)
		}
	case breakerFailure:
		b.failures++
		if probe || (b.state == BreakerClosed && b.failures >= b.threshold) {
			b.openedAt = now
			b.set(BreakerOpen)
		}
	}
}

func (b *breaker) current() BreakerState {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.state
}

func (b *breaker) set(s BreakerState) {
	if b.state == s {
		return
	}
	b.state = s
	if b.onChange != nil {
		b.onChange(s)
	}
}
