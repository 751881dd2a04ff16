// Package gentest holds the drift test the generators under internal/gen
// share: the checked-in file must be what the generator writes now.
package gentest

import (
	"os"
	"path/filepath"
	"testing"
)

// CheckedIn fails t when output (relative to the repository root; the test
// runs in internal/gen/<name>) differs from want, naming the Go source it is
// generated from and the command that writes it again.
func CheckedIn(t testing.TB, output string, want []byte, from, command string) {
	t.Helper()
	got, err := os.ReadFile(filepath.Join("..", "..", "..", output))
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != string(want) {
		t.Fatalf("%s differs from %s: run %s from the repository root", output, from, command)
	}
}
