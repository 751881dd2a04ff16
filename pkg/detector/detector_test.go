package detector

import (
	"context"
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/sheepdog-anomaly/sheepdog/internal/workpool"
	"github.com/sheepdog-anomaly/sheepdog/pkg/engine"
)

func wave(n int) engine.Series {
	s := engine.Series{Times: make([]int64, n), Values: make([]float64, n)}
	for i := range n {
		s.Times[i] = int64(i) * 60_000
		s.Values[i] = 10 + math.Sin(float64(i)/5)
	}
	return s
}

// scripted answers each series with the outcome at its index, or panics.
type scripted struct {
	outs  []Outcome
	panic any
	calls int
}

func (s *scripted) Detect(_ context.Context, series []engine.Series, _ engine.Options) ([]Outcome, error) {
	s.calls++
	if s.panic != nil {
		panic(s.panic)
	}
	return s.outs, nil
}

// withPanickingEngine makes the embedded engine panic on series of n points.
func withPanickingEngine(t *testing.T, n int) {
	orig := detectFunc
	detectFunc = func(ctx context.Context, s engine.Series, opt engine.Options) (*engine.Result, error) {
		if len(s.Times) == n {
			panic("index out of range [61]")
		}
		return orig(ctx, s, opt)
	}
	t.Cleanup(func() { detectFunc = orig })
}

// TestEmbeddedPanicIsThatSeriesError: the engine runs in the pool's worker
// goroutines, where a panic would end the plugin process (Grafana then shows
// "plugin unavailable" for every query); it fails only that series.
func TestEmbeddedPanicIsThatSeriesError(t *testing.T) {
	withPanickingEngine(t, 61)
	outs, err := Embedded{Pool: workpool.New(2)}.Detect(context.Background(), []engine.Series{wave(61), wave(60)}, engine.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var pe *workpool.PanicError
	if outs[0].Result != nil || !errors.As(outs[0].Err, &pe) || !outs[0].Final {
		t.Errorf("panicking series: %+v", outs[0])
	}
	if outs[1].Result == nil || outs[1].Err != nil || outs[1].Engine != NameEmbedded {
		t.Errorf("other series: %+v", outs[1])
	}
}

// TestFallbackAnswersPrimaryPanic: a primary that panics fails every series
// with class panic; the secondary answers them and the reason is recorded.
func TestFallbackAnswersPrimaryPanic(t *testing.T) {
	var counted []string
	f := Fallback{Primary: &scripted{panic: "nil map"}, Secondary: Embedded{}, Count: func(c string) { counted = append(counted, c) }}
	outs, err := f.Detect(context.Background(), []engine.Series{wave(60), wave(60)}, engine.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for i, o := range outs {
		if o.Result == nil || !o.FellBack || o.Engine != NameFallback || !strings.HasPrefix(o.FallbackReason, "panic: detector crashed unexpectedly: nil map") {
			t.Errorf("series %d: %+v", i, o)
		}
		if !strings.Contains(strings.Join(o.Result.Info.Notes, "\n"), "answered by the embedded engine") {
			t.Errorf("series %d: no note in %q", i, o.Result.Info.Notes)
		}
	}
	if strings.Join(counted, ",") != "panic,panic" {
		t.Errorf("counted %v", counted)
	}
}

// TestFallbackSecondaryPanic: the embedded engine panicking on one fallback
// series fails that series, with both errors; the other still falls back.
func TestFallbackSecondaryPanic(t *testing.T) {
	withPanickingEngine(t, 61)
	down := errors.New("remote API answered 500")
	primary := &scripted{outs: []Outcome{{Err: down, Class: "server_error"}, {Err: down, Class: "server_error"}}}
	outs, err := Fallback{Primary: primary, Secondary: Embedded{}}.Detect(context.Background(), []engine.Series{wave(61), wave(60)}, engine.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if outs[0].Result != nil || !errors.Is(outs[0].Err, down) || !strings.Contains(outs[0].Err.Error(), "embedded fallback also failed: crashed unexpectedly: index out of range") {
		t.Errorf("panicking series: %+v", outs[0])
	}
	if outs[1].Result == nil || !outs[1].FellBack || outs[1].FallbackReason != "server_error: remote API answered 500" || !errors.Is(outs[1].Err, down) {
		t.Errorf("other series: %+v", outs[1])
	}
}

// TestFallbackLeavesFinalAndAnswered: answered series, Final errors (bad
// input, a canceled call) and a caller that gave up are not re-detected.
func TestFallbackLeavesFinalAndAnswered(t *testing.T) {
	ok := &engine.Result{}
	primary := &scripted{outs: []Outcome{{Result: ok, Engine: NameRemote}, {Err: errors.New("times do not increase"), Final: true}}}
	secondary := &scripted{panic: "must not run"}
	outs, err := Fallback{Primary: primary, Secondary: secondary}.Detect(context.Background(), []engine.Series{wave(60), wave(60)}, engine.Options{})
	if err != nil || outs[0].Result != ok || outs[1].Result != nil || outs[1].FellBack || secondary.calls != 0 {
		t.Fatalf("outcomes %+v, err %v, secondary calls %d", outs, err, secondary.calls)
	}

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	primary = &scripted{outs: []Outcome{{Err: context.Canceled, Class: "timeout"}}}
	outs, _ = Fallback{Primary: primary, Secondary: secondary}.Detect(ctx, []engine.Series{wave(60)}, engine.Options{})
	if outs[0].Result != nil || secondary.calls != 0 {
		t.Fatalf("fell back after the caller gave up: %+v", outs[0])
	}
}

// TestFallbackRefusesShortAnswer: a primary answering fewer series than
// asked is an error, not an index out of range.
func TestFallbackRefusesShortAnswer(t *testing.T) {
	_, err := Fallback{Primary: &scripted{outs: nil}, Secondary: Embedded{}}.Detect(context.Background(), []engine.Series{wave(60)}, engine.Options{})
	if err == nil || !strings.Contains(err.Error(), "answered 0 of 1") {
		t.Fatalf("err %v", err)
	}
}
