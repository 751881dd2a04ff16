package engine

// NewStream starts an empty causal stream. Production code starts streams
// through DetectStream (the alert cache resumes what a first evaluation
// built); the tests push points into empty ones.
func NewStream(opt Options) (*Stream, error) {
	opt, err := normalise(opt)
	if err != nil {
		return nil, err
	}
	opt.Causal = true
	return newStream(opt, configFor(opt)), nil
}
