package workpool

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"
)

// TestNestedRunStaysWithinBound: queries running series running frames (three
// levels of Run) on one pool never have more than the bound running at once,
// where hand-rolled pools per level multiplied into bound³ goroutines.
func TestNestedRunStaysWithinBound(t *testing.T) {
	const bound = 3
	p := New(bound)
	var running, peak, leaves atomic.Int64
	leaf := func(context.Context, int) error {
		now := running.Add(1)
		for {
			old := peak.Load()
			if now <= old || peak.CompareAndSwap(old, now) {
				break
			}
		}
		time.Sleep(time.Millisecond)
		leaves.Add(1)
		running.Add(-1)
		return nil
	}
	// An inner item's own work counts as running while it waits for its
	// children: the caller of a nested Run is one of the running items.
	nest := func(inner func(context.Context, int) error) func(context.Context, int) error {
		return func(ctx context.Context, _ int) error {
			for _, err := range p.Run(ctx, 4, inner) {
				if err != nil {
					return err
				}
			}
			return nil
		}
	}
	for _, err := range p.Run(context.Background(), 4, nest(nest(leaf))) {
		if err != nil {
			t.Fatal(err)
		}
	}
	if leaves.Load() != 64 {
		t.Fatalf("%d leaves ran, want 64", leaves.Load())
	}
	if peak.Load() > bound {
		t.Fatalf("%d items ran at once, bound %d", peak.Load(), bound)
	}
	if len(p.helpers) != 0 {
		t.Fatalf("%d helper slots still held", len(p.helpers))
	}
}

// TestPanicIsThatItemsError: one item panicking fails that item only.
func TestPanicIsThatItemsError(t *testing.T) {
	errs := New(2).Run(context.Background(), 3, func(_ context.Context, i int) error {
		if i == 1 {
			panic("boom")
		}
		return nil
	})
	var pe *PanicError
	if errs[0] != nil || errs[2] != nil || !errors.As(errs[1], &pe) || pe.Value != "boom" || len(pe.Stack) == 0 {
		t.Fatalf("errors %v", errs)
	}
}

// TestCanceledItemsStillRun: each item decides what a done context means
// (a query names what it abandoned), so Run calls them all.
func TestCanceledItemsStillRun(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var ran atomic.Int64
	errs := New(1).Run(ctx, 5, func(ctx context.Context, i int) error {
		ran.Add(1)
		return ctx.Err()
	})
	if ran.Load() != 5 || !errors.Is(errs[4], context.Canceled) {
		t.Fatalf("ran %d, errors %v", ran.Load(), errs)
	}
}
