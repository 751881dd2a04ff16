package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sheepdog-anomaly/sheepdog/internal/gen/gentest"
	"github.com/sheepdog-anomaly/sheepdog/pkg/engine"
)

// TestCheckedIn fails when src/generated/catalogue.ts is not what the engine's
// catalogue generates: the frontend's method list cannot drift from the Go one.
func TestCheckedIn(t *testing.T) {
	gentest.CheckedIn(t, output, render(), "pkg/engine/catalogue.go", "go run ./internal/gen/catalogue")
}

// TestOpenAPIEnums fails when api/openapi.yaml's method or direction enum
// (the remote API's contract, written by hand) lists other values than the
// engine's catalogue.
func TestOpenAPIEnums(t *testing.T) {
	spec, err := os.ReadFile(filepath.Join("..", "..", "..", "api", "openapi.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	for field, choices := range map[string][]engine.Choice{"method": engine.Methods, "direction": engine.Directions} {
		want := field + ":\n          type: string\n          enum: [" + strings.Join(engine.Values(choices), ", ") + "]"
		if !strings.Contains(string(spec), want) {
			t.Errorf("api/openapi.yaml: the %s enum is not [%s] (pkg/engine/catalogue.go)", field, strings.Join(engine.Values(choices), ", "))
		}
	}
}
