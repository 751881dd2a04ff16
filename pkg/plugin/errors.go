package plugin

import "github.com/grafana/grafana-plugin-sdk-go/backend"

// queryError is a per-query error with the status Grafana should show.
type queryError struct {
	status backend.Status
	source backend.ErrorSource
	err    error
}

func (e *queryError) Error() string { return e.err.Error() }
func (e *queryError) Unwrap() error { return e.err }

// badRequest: the query or the settings are wrong; the user fixes them.
func badRequest(err error) error {
	return &queryError{status: backend.StatusBadRequest, source: backend.ErrorSourceDownstream, err: err}
}

// forbidden: the source is not allowed or access was refused.
func forbidden(err error) error {
	return &queryError{status: backend.StatusForbidden, source: backend.ErrorSourceDownstream, err: err}
}

// downstream: a source or the remote engine failed.
func downstream(err error) error {
	return &queryError{status: backend.StatusBadGateway, source: backend.ErrorSourceDownstream, err: err}
}
