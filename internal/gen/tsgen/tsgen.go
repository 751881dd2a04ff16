// Package tsgen holds what the generators under internal/gen share: the
// command's main and TypeScript string literals written as prettier writes
// them.
package tsgen

import (
	"flag"
	"fmt"
	"os"
	"strings"
)

// Main is a generator's main: it writes what render returns to -o (output
// by default, relative to the repository root) and exits 1 on an error.
func Main(name, output string, render func() ([]byte, error)) {
	out := flag.String("o", output, "file to write")
	flag.Parse()
	b, err := render()
	if err == nil {
		err = os.WriteFile(*out, b, 0o644)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, name+":", err)
		os.Exit(1)
	}
}

// String quotes s as prettier does: single quotes unless s holds more
// single than double quotes.
func String(s string) string {
	q := "'"
	if strings.Count(s, "'") > strings.Count(s, `"`) {
		q = `"`
	}
	s = strings.ReplaceAll(s, `\`, `\\`)
	s = strings.ReplaceAll(s, q, `\`+q)
	s = strings.ReplaceAll(s, "\n", `\n`)
	return q + s + q
}
