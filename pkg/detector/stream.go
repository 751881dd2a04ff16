package detector

import (
	"context"

	"github.com/sheepdog-anomaly/sheepdog/pkg/engine"
)

// Stream is the causal state of one series that the alert cache keeps
// between evaluations: points are pushed in time order, a Clone is an
// independent checkpoint to resume from (or to score provisional points on
// and throw away), and SizeBytes is the estimate the cache's byte bound
// counts for it.
type Stream interface {
	Push(t int64, v float64) engine.PointResult
	Clone() Stream
	Info() engine.Info
	SizeBytes() int64
}

// Streaming is a Detector whose alerts can be cached: DetectStream judges one
// series causally and returns the state after its last point. A Detector that
// is not Streaming has every alert evaluation computed in full.
type Streaming interface {
	Detector
	DetectStream(ctx context.Context, s engine.Series, opt engine.Options) (*engine.Result, Stream, error)
}

// EngineStreamBytes is the size counted for one engine.Stream. A stream's
// memory is bounded by the engine's caps on seasonal buckets and period-scan
// bins, whatever the series' length; clones measured 16-53 KB
// (pkg/plugin's TestStreamStateBytesEstimate keeps this an upper bound).
const EngineStreamBytes = 64 << 10

// DetectStream runs the embedded engine's causal stream over s.
func (Embedded) DetectStream(ctx context.Context, s engine.Series, opt engine.Options) (*engine.Result, Stream, error) {
	res, st, err := engine.DetectStream(ctx, s, opt)
	if err != nil {
		return nil, nil, err
	}
	return res, EngineStream{st}, nil
}

// EngineStream is the engine's stream as a Stream.
type EngineStream struct{ *engine.Stream }

// Clone copies the engine's state.
func (s EngineStream) Clone() Stream { return EngineStream{s.Stream.Clone()} }

// SizeBytes is EngineStreamBytes.
func (EngineStream) SizeBytes() int64 { return EngineStreamBytes }
