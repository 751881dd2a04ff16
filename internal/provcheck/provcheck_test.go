package provcheck

import (
	"slices"
	"testing"
)

func TestMetricNames(t *testing.T) {
	cases := []struct {
		expr string
		want []string
	}{
		{`cpu_usage`, []string{"cpu_usage"}},
		{`cpu_usage and on (host) sheepdog_demo_host_info{host=~"web-1|db-1"}`, []string{"cpu_usage", "sheepdog_demo_host_info"}},
		{`sum by (host) (rate(request_count[2m]))`, []string{"request_count"}},
		{`histogram_quantile(0.99, sum by (le, engine) (rate(sheepdog_engine_duration_seconds_bucket[1m])))`, []string{"sheepdog_engine_duration_seconds_bucket"}},
		{`sum(rate(x_total{status=~"5.."}[1m])) / clamp_min(sum(rate(x_total[1m])), 1e-9)`, []string{"x_total"}},
		{`{__name__="memory_usage", host="a"}`, []string{"memory_usage"}},
		{`up offset 5m`, []string{"up"}},
	}
	for _, c := range cases {
		if got := MetricNames(c.expr); !slices.Equal(got, c.want) {
			t.Errorf("MetricNames(%q) = %v, want %v", c.expr, got, c.want)
		}
	}
}

func TestSubstitute(t *testing.T) {
	vals := map[string]string{"metric": "cpu_usage", "host": "web-1", "host:regex": "(web-1|db-1)"}
	got, unknown := Substitute(`$metric{host="$host"} ${host:regex} [[metric]] ${metric} $nope`, vals)
	if want := `cpu_usage{host="web-1"} (web-1|db-1) cpu_usage cpu_usage $nope`; got != want {
		t.Errorf("Substitute = %q, want %q", got, want)
	}
	if !slices.Equal(unknown, []string{"nope"}) {
		t.Errorf("unknown = %v", unknown)
	}
}

func TestExpandEnv(t *testing.T) {
	got, missing := ExpandEnv("url: ${A}/x $B cost $$5 ${C}", map[string]string{"A": "http://a", "B": "b"})
	if got != "url: http://a/x b cost $5 " || !slices.Equal(missing, []string{"C"}) {
		t.Errorf("ExpandEnv = %q, missing %v", got, missing)
	}
}

func TestCustomOptions(t *testing.T) {
	v := Variable{Type: "custom", Query: `cpu_usage : cpu_usage,request rate : sum by (host) (rate(request_count[2m])),a\,b`}
	want := []string{"cpu_usage", "sum by (host) (rate(request_count[2m]))", "a,b"}
	if got := v.CustomOptions(); !slices.Equal(got, want) {
		t.Errorf("CustomOptions = %q, want %q", got, want)
	}
}
