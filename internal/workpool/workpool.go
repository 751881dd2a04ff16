// Package workpool is Sheepdog's one bounded executor: queries, series and
// frames run through it instead of hand-rolled worker pools, and it is the
// one place a panic in that work is recovered.
//
// A Pool bounds work across nested use. The goroutine that calls Run always
// works on its own items, and borrows helper goroutines only while the pool
// has a free slot, so an item that calls Run again (a query running its
// series) never waits for a slot it cannot get: nesting cannot deadlock, and
// the items running at once stay within the bound per top-level caller
// (the caller plus at most bound-1 helpers, shared by all callers).
package workpool

import (
	"context"
	"fmt"
	"runtime"
	"runtime/debug"
	"sync"
	"sync/atomic"
)

// Pool is safe for concurrent and nested use.
type Pool struct {
	helpers chan struct{} // one slot per helper goroutine running
}

// New returns a pool running at most bound items at once per caller of Run.
func New(bound int) *Pool {
	return &Pool{helpers: make(chan struct{}, max(1, bound)-1)}
}

var (
	defaultOnce sync.Once
	defaultPool *Pool
)

// Default is the process's pool for CPU-bound work, bounded by GOMAXPROCS.
func Default() *Pool {
	defaultOnce.Do(func() { defaultPool = New(runtime.GOMAXPROCS(0)) })
	return defaultPool
}

// PanicError is an item that panicked.
type PanicError struct {
	Value any
	Stack []byte
}

func (e *PanicError) Error() string { return fmt.Sprintf("crashed unexpectedly: %v", e.Value) }

// Run calls fn(ctx, i) for i in [0, n) and returns their errors, index by
// index; a panic in fn becomes that item's *PanicError. Every item runs,
// even after ctx is done: fn is passed ctx and says what it abandoned.
func (p *Pool) Run(ctx context.Context, n int, fn func(ctx context.Context, i int) error) []error {
	errs := make([]error, n)
	if n == 0 {
		return errs
	}
	var next atomic.Int64
	work := func() {
		for {
			i := int(next.Add(1) - 1)
			if i >= n {
				return
			}
			errs[i] = safe(ctx, i, fn)
		}
	}
	var wg sync.WaitGroup
	for helpers := 0; helpers < n-1; helpers++ {
		select {
		case p.helpers <- struct{}{}:
		default:
			helpers = n // no free slot: the caller works alone (with any helpers it has)
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-p.helpers }()
			work()
		}()
	}
	work()
	wg.Wait()
	return errs
}

func safe(ctx context.Context, i int, fn func(ctx context.Context, i int) error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = &PanicError{Value: r, Stack: debug.Stack()}
		}
	}()
	return fn(ctx, i)
}
