package remote_test

import (
	"context"
	"fmt"
	"time"

	"github.com/sheepdog-anomaly/sheepdog/pkg/detector"
	"github.com/sheepdog-anomaly/sheepdog/pkg/engine"
	"github.com/sheepdog-anomaly/sheepdog/pkg/remote"
)

// How the data source uses the client: one Client per data-source instance
// (Close it on Dispose), the query's context bounds everything, and every
// series gets an Outcome that is usable whenever Result is non-nil.
func ExampleClient_Detect() {
	c, err := remote.New(remote.Config{
		URL:        "https://anomaly.example.com",
		APIKey:     "hs_from_secureJsonData_only",
		Timeout:    3 * time.Second,
		MaxRetries: 3,
		Fallback:   true,
	})
	if err != nil {
		fmt.Println("settings:", err)
		return
	}
	defer c.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second) // the Grafana query's context
	defer cancel()
	var series []engine.Series // fetched by pkg/source
	// The embedded engine answers what the API cannot, as the plugin wires it.
	var d detector.Detector = detector.Fallback{Primary: c, Secondary: detector.Embedded{}, Count: remote.CountFallback}
	outcomes, err := d.Detect(ctx, series, engine.Options{Sensitivity: 60})
	if err != nil {
		fmt.Println("query:", err)
		return
	}
	for i, o := range outcomes {
		switch {
		case o.Result == nil:
			fmt.Printf("series %d failed: %v\n", i, o.Err) // show as a frame error
		case o.FellBack:
			fmt.Printf("series %d from the embedded engine: %s\n", i, o.FallbackReason) // show as a frame notice
		default:
			fmt.Printf("series %d from the API after %d attempt(s)\n", i, o.Attempts)
		}
	}
}
