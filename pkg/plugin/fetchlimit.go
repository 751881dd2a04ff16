package plugin

import (
	"errors"
	"fmt"

	"github.com/sheepdog-anomaly/sheepdog/pkg/source"
)

// fetchLimit is the most points the query's next fetch may return, all
// series together, and the budget (its jsonData key) that bounds it: what is
// left of the query's budget or of the request's, whichever is less. The
// source clients stop reading an answer over it (source.Range.MaxPoints), so
// an answer over budget is refused before it is held in memory; charge still
// counts exactly what came back.
func (q *queryContext) fetchLimit() (int64, string) {
	perQuery := q.d.cfg.Budgets.MaxPointsPerQuery - q.points
	perRequest := q.budget.max - q.budget.used.Load()
	if perRequest < perQuery {
		return max(perRequest, 1), "maxPointsPerRequest"
	}
	return max(perQuery, 1), "maxPointsPerQuery"
}

// overBudget turns a fetch stopped at fetchLimit into the budget's 400, in
// the words of charge's refusals.
func (q *queryContext) overBudget(err error, key string) error {
	var ple *source.PointLimitError
	if !errors.As(err, &ple) {
		return err
	}
	what := fmt.Sprintf("the source answered more than %d points", ple.Limit)
	if ple.Bytes > 0 {
		what = fmt.Sprintf("the source's answer was over %d bytes, more than %d points take", ple.Bytes, ple.Limit)
	}
	what += " (history included; Sheepdog stopped reading it there)"
	if key == "maxPointsPerRequest" {
		return badRequest(fmt.Errorf("%s, and this request's queries had fetched %d points, over the budget of %d points per request: split the queries across panels, shorten their ranges, or "+raiseHint,
			what, q.budget.used.Load(), q.budget.max, key))
	}
	return badRequest(fmt.Errorf("%s, over the budget of %d points per query: shorten the range or the history, widen the step, or "+raiseHint,
		what, q.d.cfg.Budgets.MaxPointsPerQuery, key))
}
