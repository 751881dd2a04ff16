package main

import (
	"os"
	"path/filepath"
	"testing"
)

// TestCheckedIn fails when src/generated/catalogue.ts is not what the engine's
// catalogue generates: the frontend's method list cannot drift from the Go one.
func TestCheckedIn(t *testing.T) {
	got, err := os.ReadFile(filepath.Join("..", "..", "..", output))
	if err != nil {
		t.Fatal(err)
	}
	if want := render(); string(got) != string(want) {
		t.Fatalf("%s differs from pkg/engine/catalogue.go: run go run ./internal/gen/catalogue from the repository root", output)
	}
}
