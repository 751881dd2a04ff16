package plugin

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"

	"github.com/sheepdog-anomaly/sheepdog/pkg/detector"
	"github.com/sheepdog-anomaly/sheepdog/pkg/engine"
	"github.com/sheepdog-anomaly/sheepdog/pkg/source"
)

// panickingFetcher panics for one refId and serves the others.
type panickingFetcher struct {
	memFetcher
	refID string
}

func (p *panickingFetcher) Fetch(ctx context.Context, fr FetchRequest) ([]source.Series, error) {
	if fr.RefID == p.refID {
		panic("nil map in a source")
	}
	return p.memFetcher.Fetch(ctx, fr)
}

// panickingDetector stands in for a detector with a bug.
type panickingDetector struct{}

func (panickingDetector) Detect(context.Context, []engine.Series, engine.Options) ([]detector.Outcome, error) {
	panic("index out of range in a detector")
}

// TestPanicIsThatQuerysError: queries run on the shared executor (internal/
// workpool), whose recovery is the one panic site: a panic while fetching or
// detecting fails that query with an internal error, never the plugin
// process (which would fail every panel with "plugin unavailable"), and the
// other query of the request is answered.
func TestPanicIsThatQuerysError(t *testing.T) {
	series := genSeries(2, 600)
	to := time.UnixMilli(series[0].Times[599])
	js := `{"source":{"type":"prometheus","expr":"x"},"detector":{"history":"2h"}}`
	req := &backend.QueryDataRequest{Queries: []backend.DataQuery{query("A", js, to.Add(-time.Hour), to), query("B", js, to.Add(-time.Hour), to)}}

	resp, err := benchDatasource(&panickingFetcher{memFetcher: memFetcher{series: series}, refID: "B"}).QueryData(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	if a := resp.Responses["A"]; a.Error != nil || len(a.Frames) == 0 {
		t.Errorf("A: error %v, %d frames", a.Error, len(a.Frames))
	}
	if b := resp.Responses["B"]; b.Error == nil || b.Status != backend.StatusInternal || !strings.Contains(b.Error.Error(), "internal error while answering query B") {
		t.Errorf("B: status %v, error %v", b.Status, b.Error)
	}

	d := benchDatasource(&memFetcher{series: series})
	d.detector = panickingDetector{}
	resp, _ = d.QueryData(context.Background(), req)
	for _, ref := range []string{"A", "B"} {
		if r := resp.Responses[ref]; r.Status != backend.StatusInternal {
			t.Errorf("%s with a panicking detector: status %v, error %v", ref, r.Status, r.Error)
		}
	}
}
