//go:build integration

// Package integration runs the built plugin binary through internal/harness,
// the way Grafana runs it. Build first: `npm run build` (or
// `go tool mage -v build:backend`), then `go test -tags integration ./integration/...`.
package integration

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/sheepdog-anomaly/sheepdog/internal/harness"
)

var plugin *harness.Plugin

func TestMain(m *testing.M) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	p, err := harness.Start(ctx, harness.Options{})
	cancel()
	if err != nil {
		os.Stderr.WriteString("integration: " + err.Error() + "\n")
		os.Exit(1)
	}
	plugin = p
	code := m.Run()
	if code != 0 {
		os.Stderr.WriteString("plugin log (tail):\n" + tail(p.Logs(), 4000) + "\n")
	}
	p.Close()
	os.Exit(code)
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[len(s)-n:]
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}
