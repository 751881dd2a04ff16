package main

import (
	"os"
	"path/filepath"
	"testing"
)

// TestCheckedIn fails when src/generated/settings.ts is not what
// pkg/models/defaults.go generates: the editor's defaults cannot drift from
// the backend's.
func TestCheckedIn(t *testing.T) {
	got, err := os.ReadFile(filepath.Join("..", "..", "..", output))
	if err != nil {
		t.Fatal(err)
	}
	want, err := render()
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != string(want) {
		t.Fatalf("%s differs from pkg/models/defaults.go: run go run ./internal/gen/settings from the repository root", output)
	}
}

func TestTSNumber(t *testing.T) {
	for n, want := range map[int]string{5: "5", 200: "200", 9999: "9999", 10000: "10_000", 1500000: "1_500_000", 256: "256"} {
		if got := tsNumber(n); got != want {
			t.Errorf("tsNumber(%d) = %q, want %q", n, got, want)
		}
	}
}
