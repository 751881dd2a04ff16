package plugin

import (
	"testing"

	"github.com/sheepdog-anomaly/sheepdog/pkg/models"
)

// TestEverySourceTypeHasAKind: each type pkg/models accepts has a fetch and
// its capabilities in sourceKinds, which plan, query and the alert cache read
// instead of naming types.
func TestEverySourceTypeHasAKind(t *testing.T) {
	want := map[string]sourceKind{
		models.SourceCSV:        {ownTimes: true},
		models.SourcePrometheus: {cacheableForAlerts: true},
		models.SourceDatasource: {cacheableForAlerts: true, nested: true},
	}
	if len(sourceKinds) != len(want) {
		t.Errorf("%d source kinds, want %d", len(sourceKinds), len(want))
	}
	for typ, w := range want {
		k, ok := sourceKinds[typ]
		if !ok || k.fetch == nil {
			t.Errorf("%s: no kind or no fetch", typ)
			continue
		}
		if k.ownTimes != w.ownTimes || k.cacheableForAlerts != w.cacheableForAlerts || k.nested != w.nested {
			t.Errorf("%s: capabilities %+v, want %+v", typ, k, w)
		}
	}
}
