// Package detector is the seam between a query and whatever judges its
// series: the embedded engine, the remote anomaly API (pkg/remote's Client),
// or a Fallback that answers a primary's failures with a secondary. A new
// detector implements Detector; the plugin holds one and never asks which.
package detector

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/grafana/grafana-plugin-sdk-go/backend/log"

	"github.com/sheepdog-anomaly/sheepdog/internal/workpool"
	"github.com/sheepdog-anomaly/sheepdog/pkg/engine"
)

// Who answered a series, as metric labels and Outcome.Engine.
const (
	NameEmbedded = "embedded"
	NameRemote   = "remote"
	NameFallback = "fallback"
)

// Outcome is the answer for one input series. Result is non-nil whenever a
// result is usable. Err says why the detector failed the series; it stays set
// when a Fallback answered (FellBack), and is alone without a result.
type Outcome struct {
	Result *engine.Result
	Engine string // NameEmbedded, NameRemote or NameFallback
	Err    error
	// Class is the failure's class, a metric label (timeout, server_error, …).
	Class string
	// Final marks an error no other detector should try to answer: invalid
	// input, or the caller gave up.
	Final          bool
	FellBack       bool
	FallbackReason string
	Attempts       int // requests made for this series, for detectors that make them
}

// Detector judges series. Detect returns one Outcome per series, in order;
// its error is for the whole call (misuse, or a query over a limit).
type Detector interface {
	Detect(ctx context.Context, series []engine.Series, opt engine.Options) ([]Outcome, error)
}

// Embedded is the embedded engine, one series per work item of Pool (nil:
// workpool.Default()), whose recovery turns a panic into that series' error.
type Embedded struct {
	Pool *workpool.Pool
}

// detectFunc is the embedded engine; a variable so tests can make it panic.
var detectFunc = engine.Detect

// Detect runs the engine on every series.
func (e Embedded) Detect(ctx context.Context, series []engine.Series, opt engine.Options) ([]Outcome, error) {
	pool := e.Pool
	if pool == nil {
		pool = workpool.Default()
	}
	out := make([]Outcome, len(series))
	errs := pool.Run(ctx, len(series), func(ctx context.Context, i int) error {
		r, err := detectFunc(ctx, series[i], opt)
		out[i].Result = r
		return err
	})
	for i, err := range errs {
		out[i].Engine = NameEmbedded
		if err != nil {
			out[i].Result, out[i].Err, out[i].Final = nil, err, true
		}
	}
	return out, nil
}

// Fallback answers with Secondary (the embedded engine) every series Primary
// (the remote API) failed, unless the failure is Final or the caller gave up.
// A panic in either becomes an error of the series it was detecting.
type Fallback struct {
	Primary, Secondary Detector
	// Count is told each fallback's failure class (sheepdog_remote_fallbacks_total).
	Count func(class string)
	// Logger (nil: the SDK's default) gets one line per call that fell back,
	// with the context's attributes (refId, source type).
	Logger log.Logger
}

// Detect runs Primary, then Secondary on the series Primary failed.
func (f Fallback) Detect(ctx context.Context, series []engine.Series, opt engine.Options) ([]Outcome, error) {
	out, err := guarded(ctx, f.Primary, series, opt)
	if err != nil {
		return nil, err
	}
	var retry []int
	for i, o := range out {
		if o.Result == nil && o.Err != nil && !o.Final && ctx.Err() == nil {
			retry = append(retry, i)
		}
	}
	if len(retry) == 0 {
		return out, nil
	}
	in := make([]engine.Series, len(retry))
	for k, i := range retry {
		in[k] = series[i]
	}
	sec, secErr := guarded(ctx, f.Secondary, in, opt)
	classes := map[string]int{}
	failed := 0
	for k, i := range retry {
		o := &out[i]
		var s Outcome
		if secErr == nil {
			s = sec[k]
		} else {
			s.Err = secErr
		}
		if s.Result == nil {
			o.Err = fmt.Errorf("%w; embedded fallback also failed: %v", o.Err, s.Err)
			failed++
			continue
		}
		class := o.Class
		if class == "" {
			class = "unknown"
		}
		classes[class]++
		if f.Count != nil {
			f.Count(class)
		}
		s.Result.Info.Notes = append(s.Result.Info.Notes, "remote API failed ("+class+"); answered by the embedded engine")
		o.Result, o.Engine, o.FellBack = s.Result, NameFallback, true
		o.FallbackReason = class + ": " + o.Err.Error()
	}
	logger := f.Logger
	if logger == nil {
		logger = log.DefaultLogger
	}
	names := make([]string, 0, len(classes))
	for c, n := range classes {
		names = append(names, fmt.Sprintf("%s×%d", c, n))
	}
	sort.Strings(names)
	logger.FromContext(ctx).Warn("detection fell back to the embedded engine", "series", len(series),
		"fellBack", len(retry)-failed, "fallbackFailed", failed, "classes", strings.Join(names, ","))
	return out, nil
}

// guarded calls d.Detect, a panic becoming every series' error (class panic,
// so a fallback may still answer), and checks it answered every series.
func guarded(ctx context.Context, d Detector, series []engine.Series, opt engine.Options) (out []Outcome, err error) {
	defer func() {
		if r := recover(); r != nil {
			out, err = make([]Outcome, len(series)), nil
			for i := range out {
				out[i] = Outcome{Err: fmt.Errorf("detector crashed unexpectedly: %v", r), Class: "panic"}
			}
		}
	}()
	out, err = d.Detect(ctx, series, opt)
	if err == nil && len(out) != len(series) {
		return nil, fmt.Errorf("detector answered %d of %d series", len(out), len(series))
	}
	return out, err
}
