package duration

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// testdata/parse.json is shared with the frontend's parser
// (src/__tests__/duration.test.ts): both must read every case alike.
// A case has the duration in milliseconds, or a substring of the error.
func TestParse(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("testdata", "parse.json"))
	if err != nil {
		t.Fatal(err)
	}
	var tests []struct {
		In    string  `json:"in"`
		MS    float64 `json:"ms"`
		Error string  `json:"error"`
	}
	if err := json.Unmarshal(raw, &tests); err != nil {
		t.Fatal(err)
	}
	if len(tests) < 30 {
		t.Fatalf("%d cases in testdata/parse.json", len(tests))
	}
	for _, tt := range tests {
		got, err := Parse(tt.In)
		if tt.Error == "" {
			if want := time.Duration(tt.MS * float64(time.Millisecond)); err != nil || got != want {
				t.Errorf("Parse(%q) = %v, %v; want %v", tt.In, got, err, want)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), tt.Error) {
			t.Errorf("Parse(%q) = %v, %v; want an error containing %q", tt.In, got, err, tt.Error)
		}
		if got != 0 {
			t.Errorf("Parse(%q) returned %v with an error", tt.In, got)
		}
	}
}
