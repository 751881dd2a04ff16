package main

import (
	"testing"
	"time"

	"github.com/sheepdog-anomaly/sheepdog/internal/gen/gentest"
)

// TestCheckedIn fails when src/generated/settings.ts is not what
// pkg/models/defaults.go generates: the editor's defaults cannot drift from
// the backend's.
func TestCheckedIn(t *testing.T) {
	want, err := render()
	if err != nil {
		t.Fatal(err)
	}
	gentest.CheckedIn(t, output, want, "pkg/models/defaults.go", "go run ./internal/gen/settings")
}

func TestShortDuration(t *testing.T) {
	for d, want := range map[time.Duration]string{10 * time.Minute: "10m", 30 * time.Second: "30s", 200 * time.Millisecond: "200ms",
		2 * time.Hour: "2h", 90 * time.Minute: "1h30m", 61 * time.Second: "1m1s"} {
		if got := shortDuration(d); got != want {
			t.Errorf("shortDuration(%v) = %q, want %q", d, got, want)
		}
	}
}

func TestTSNumber(t *testing.T) {
	for n, want := range map[int]string{5: "5", 200: "200", 9999: "9999", 10000: "10_000", 1500000: "1_500_000", 256: "256"} {
		if got := tsNumber(n); got != want {
			t.Errorf("tsNumber(%d) = %q, want %q", n, got, want)
		}
	}
}
