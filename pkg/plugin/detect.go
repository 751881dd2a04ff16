package plugin

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/data"

	"github.com/sheepdog-anomaly/sheepdog/pkg/engine"
	"github.com/sheepdog-anomaly/sheepdog/pkg/models"
	"github.com/sheepdog-anomaly/sheepdog/pkg/remote"
	"github.com/sheepdog-anomaly/sheepdog/pkg/source"
)

// minPoints is the fewest non-missing points a series needs to be analysed.
const minPoints = 3

// analysed is one source series with its detection result (full length).
type analysed struct {
	src    source.Series
	result *engine.Result
	engine string // embedded, remote or fallback
}

// noticeSet gathers notices and states each distinct one once.
type noticeSet struct {
	mu   sync.Mutex
	list []data.Notice
	seen map[string]bool
}

func (n *noticeSet) add(sev data.NoticeSeverity, format string, a ...any) {
	text := fmt.Sprintf(format, a...)
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.seen == nil {
		n.seen = map[string]bool{}
	}
	if n.seen[text] {
		return
	}
	n.seen[text] = true
	n.list = append(n.list, data.Notice{Severity: sev, Text: text})
}

// nameList renders a few series names for a notice.
func nameList(names []string) string {
	const show = 5
	sort.Strings(names)
	if len(names) <= show {
		return strings.Join(names, ", ")
	}
	return fmt.Sprintf("%s and %d more", strings.Join(names[:show], ", "), len(names)-show)
}

func displayOf(s source.Series) string {
	if s.DisplayName != "" {
		return s.DisplayName
	}
	return source.FormatSelector(s.Name, s.Labels)
}

// dropShort removes series with too few points to analyse, with a notice;
// it also notes samples merged because they repeated a timestamp.
func dropShort(series []source.Series, notes *noticeSet) []source.Series {
	kept := series[:0:0]
	var dropped, repeated []string
	duplicates := 0
	for _, s := range series {
		if s.Duplicates > 0 {
			duplicates += s.Duplicates
			repeated = append(repeated, displayOf(s))
		}
		if s.PointCount() < minPoints {
			dropped = append(dropped, fmt.Sprintf("%s (%d points)", displayOf(s), s.PointCount()))
			continue
		}
		kept = append(kept, s)
	}
	if len(dropped) > 0 {
		metricSeriesDropped.Add(float64(len(dropped)))
		notes.add(data.NoticeSeverityWarning, "%d series dropped with fewer than %d points to analyse: %s", len(dropped), minPoints, nameList(dropped))
	}
	if duplicates > 0 {
		notes.add(data.NoticeSeverityInfo, "%d samples repeated a timestamp and were replaced by the last sample of that timestamp: %s", duplicates, nameList(repeated))
	}
	return kept
}

// detect runs the configured engine on every series. Series the engine cannot
// answer are dropped with a notice; if none can be answered the query fails.
func (d *Datasource) detect(ctx context.Context, series []source.Series, opt engine.Options, notes *noticeSet) ([]analysed, error) {
	if len(series) == 0 {
		return nil, nil
	}
	start := time.Now()
	var points int
	for _, s := range series {
		points += len(s.Times)
	}
	metricPoints.Add(float64(points))

	in := make([]engine.Series, len(series))
	for i, s := range series {
		in[i] = engine.Series{Times: s.Times, Values: s.Values}
	}
	outcomes, err := d.detector.Detect(ctx, in, opt)
	var callLimit *remote.CallLimitError
	switch {
	case errors.As(err, &callLimit):
		return nil, badRequest(fmt.Errorf("remote engine: %w", err)) // the viewer narrows the query or the admin raises the cap
	case err != nil:
		return nil, downstream(fmt.Errorf("%s engine: %w", d.cfg.Engine, err))
	}
	out := make([]analysed, len(series))
	errs := make([]error, len(series))
	var fellBack []string
	reasons := map[string]bool{}
	for i, o := range outcomes {
		out[i] = analysed{src: series[i], result: o.Result, engine: o.Engine}
		switch {
		case o.Result == nil:
			errs[i] = o.Err
			if errs[i] == nil {
				errs[i] = fmt.Errorf("%s engine returned no result", d.cfg.Engine)
			}
			errs[i] = fmt.Errorf("%s: %w", displayOf(series[i]), errs[i])
		case o.FellBack:
			fellBack = append(fellBack, displayOf(series[i]))
			if o.FallbackReason != "" {
				reasons[o.FallbackReason] = true
			}
		}
	}
	if len(fellBack) > 0 {
		metricFallbacks.Add(float64(len(fellBack)))
		rs := make([]string, 0, len(reasons))
		for r := range reasons {
			rs = append(rs, r)
		}
		sort.Strings(rs)
		why := strings.Join(rs, "; ")
		if why == "" {
			why = "remote engine unavailable"
		}
		notes.add(data.NoticeSeverityWarning, "remote engine fell back to the embedded engine for %d of %d series (%s): %s",
			len(fellBack), len(series), why, nameList(fellBack))
	}
	metricEngineSeconds.WithLabelValues(d.cfg.Engine).Observe(time.Since(start).Seconds())

	kept := out[:0]
	var failed []string
	var firstErr error
	for i, a := range out {
		if errs[i] != nil {
			if ctx.Err() != nil {
				return nil, fmt.Errorf("detection on %d series: %w", len(series), ctx.Err())
			}
			failed = append(failed, displayOf(series[i]))
			if firstErr == nil {
				firstErr = errs[i]
			}
			continue
		}
		metricSeries.WithLabelValues(a.engine).Inc()
		kept = append(kept, a)
	}
	if len(kept) == 0 && firstErr != nil {
		if d.cfg.Engine == models.EngineRemote {
			fb := "turn on the fallback to answer with the embedded engine meanwhile"
			if d.cfg.Remote.Fallback {
				fb = "the embedded fallback failed too"
			}
			return nil, downstream(fmt.Errorf("the remote engine failed for every series (%s): %w", fb, firstErr))
		}
		return nil, fmt.Errorf("detection failed for every series: %w", firstErr)
	}
	noteFailed(notes, failed, firstErr)
	warmUpNotices(kept, notes)
	return kept, nil
}

// noteFailed states which series detection failed for, and why (the first
// error), so a query that answers for the other series says what it left out.
func noteFailed(notes *noticeSet, failed []string, firstErr error) {
	if len(failed) > 0 {
		notes.add(data.NoticeSeverityWarning, "detection failed for %d series (%v): %s", len(failed), firstErr, nameList(failed))
	}
}

func warmUpNotices(series []analysed, notes *noticeSet) {
	var short []string
	warm := 0
	for _, a := range series {
		if a.result != nil && !a.result.Info.WarmUpMet {
			short = append(short, displayOf(a.src))
			warm = a.result.Info.WarmUp
		}
	}
	if len(short) > 0 {
		notes.add(data.NoticeSeverityInfo, "warm-up not met for %d series: the detector needs %d points before it flags anything; widen the time range or the history: %s",
			len(short), warm, nameList(short))
	}
}
