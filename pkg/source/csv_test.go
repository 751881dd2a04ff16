package source

import (
	"fmt"
	"math"
	"strings"
	"testing"
)

func TestParseCSV(t *testing.T) {
	got, err := ParseCSV("timestamp,cpu,mem\n1700000000,1,10\n1700000060,,20\n1700000120,3,NaN\n", CSVLimits{})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 {
		t.Fatalf("got %d series", len(got))
	}
	cpu, mem := got[0], got[1]
	if cpu.Name != "cpu" || cpu.DisplayName != "cpu" || mem.Name != "mem" || len(cpu.Labels) != 0 {
		t.Errorf("names %q %q labels %v", cpu.Name, mem.Name, cpu.Labels)
	}
	if fmt.Sprint(cpu.Times) != "[1700000000000 1700000060000 1700000120000]" {
		t.Errorf("times %v", cpu.Times)
	}
	if cpu.Values[0] != 1 || !math.IsNaN(cpu.Values[1]) || cpu.Values[2] != 3 || mem.Values[1] != 20 || !math.IsNaN(mem.Values[2]) {
		t.Errorf("values %v %v", cpu.Values, mem.Values)
	}
	cpu.Times[0] = 0
	if mem.Times[0] != 1700000000000 {
		t.Error("series share their time slice")
	}
}

func TestParseCSVErrors(t *testing.T) {
	big := "timestamp,value\n" + strings.Repeat("1700000000,1\n", 10)
	for _, tc := range []struct {
		name, text string
		limits     CSVLimits
		want       string
	}{
		{"empty", "  \n", CSVLimits{}, "empty"},
		{"over the byte limit", big, CSVLimits{MaxBytes: 64}, "over the 64 bytes limit"},
		{"over the row limit", "timestamp,value\n1,1\n2,2\n3,3\n", CSVLimits{MaxRows: 2}, "more than 2 rows"},
		{"decreasing time names the line", "timestamp,value\n1700000060,1\n1700000000,2\n", CSVLimits{}, "line 3"},
		{"bad value names the line", "timestamp,value\n1700000000,abc\n", CSVLimits{}, "line 2"},
		{"header only", "timestamp,value\n", CSVLimits{}, "no data rows"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseCSV(tc.text, tc.limits)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
			if !strings.HasPrefix(err.Error(), "inline CSV") {
				t.Errorf("error %q does not say it is about the inline CSV", err)
			}
		})
	}
}

func TestParseCSVDefaultLimit(t *testing.T) {
	text := "timestamp,value\n" + strings.Repeat("x", DefaultCSVMaxBytes)
	_, err := ParseCSV(text, CSVLimits{})
	if err == nil || !strings.Contains(err.Error(), humanBytes(DefaultCSVMaxBytes)+" limit") {
		t.Fatalf("err = %v", err)
	}
}

func TestParseCSVSkipsLabelColumns(t *testing.T) {
	tests := []struct {
		name, text string
		want       []string // series names
		wantErr    string
	}{
		{"shared dataset format", "timestamp,value,label\n1700000000,1,0\n1700000060,9,1\n", []string{"value"}, ""},
		{"is_anomaly, any case", "timestamp,cpu,IS_ANOMALY,mem\n1700000000,1,0,5\n1700000060,2,1,6\n", []string{"cpu", "mem"}, ""},
		{"label first", "timestamp,Label,value\n1700000000,0,1\n", []string{"value"}, ""},
		{"labels only", "timestamp,label\n1700000000,0\n", nil, "no value column"},
		{"no label column", "timestamp,labels\n1700000000,3\n", []string{"labels"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseCSV(tt.text, CSVLimits{})
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, s := range got {
				names = append(names, s.Name)
			}
			if fmt.Sprint(names) != fmt.Sprint(tt.want) {
				t.Errorf("series %v, want %v", names, tt.want)
			}
			if len(got) > 1 {
				got[0].Times[0] = 0
				if got[1].Times[0] == 0 {
					t.Error("series share their time slice")
				}
			}
		})
	}
}

func TestParseCSVSeriesBudget(t *testing.T) {
	wide := func(cols int, extra string) string {
		return "t" + strings.Repeat(",a", cols) + extra + "\n1700000000" + strings.Repeat(",1", cols) + strings.Repeat(",0", strings.Count(extra, ",")) + "\n"
	}
	tests := []struct {
		name    string
		text    string
		limits  CSVLimits
		want    int // series
		wantErr string
	}{
		{"at the default", wide(500, ""), CSVLimits{}, 500, ""},
		{"over the default", wide(501, ""), CSVLimits{}, 0, "501 value columns, over the budget of 500 series per query"},
		{"label columns are not series", wide(3, ",label,is_anomaly"), CSVLimits{MaxSeries: 3}, 3, ""},
		{"configured", wide(4, ""), CSVLimits{MaxSeries: 3}, 0, "raise jsonData.maxSeriesPerQuery"},
		// Rows are not read once the header is over: the malformed row is never reached.
		{"before any row", "t" + strings.Repeat(",a", 600) + "\nbroken\n", CSVLimits{}, 0, "line 1: the header has 600 value columns"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseCSV(tt.text, tt.limits)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || len(got) != tt.want {
				t.Fatalf("%d series, err %v; want %d", len(got), err, tt.want)
			}
		})
	}
}
