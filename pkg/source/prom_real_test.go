package source

import (
	"context"
	"errors"
	"math"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sheepdog-anomaly/sheepdog/internal/testprom"
)

// These tests run against a real Prometheus (Debian's /usr/bin/prometheus)
// backfilled with generated series; a missing binary fails them.

func TestPromClientAgainstRealPrometheus(t *testing.T) {
	srv := testprom.Start(t, testprom.Options{})
	data := srv.Data
	ctx := context.Background()

	// Count the query_range calls that reach Prometheus through a plain reverse proxy.
	target, _ := url.Parse(srv.URL)
	var queryRangeCalls atomic.Int64
	proxy := httputil.NewSingleHostReverseProxy(target)
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/api/v1/query_range") {
			queryRangeCalls.Add(1)
		}
		proxy.ServeHTTP(w, r)
	}))
	defer front.Close()

	client, err := NewPromClient(PromConfig{URL: front.URL})
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()

	t.Run("values and labels at the sample interval", func(t *testing.T) {
		queryRangeCalls.Store(0)
		r := Range{From: data.Start, To: data.End, Step: data.Interval}
		got, err := client.QueryRange(ctx, "cpu_usage", r, "")
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 2 {
			t.Fatalf("got %d series, want 2 (host a and b)", len(got))
		}
		if calls := queryRangeCalls.Load(); calls != 1 {
			t.Errorf("query_range calls = %d, want 1 for %d points", calls, len(data.Series[0].Times))
		}
		for _, s := range got {
			want := data.Find("cpu_usage", s.Labels)
			if want == nil {
				t.Fatalf("unexpected series %s %v", s.Name, s.Labels)
			}
			if s.Name != "cpu_usage" || s.DisplayName != FormatSelector("cpu_usage", want.Labels) {
				t.Errorf("name %q display %q", s.Name, s.DisplayName)
			}
			if _, ok := s.Labels["__name__"]; ok {
				t.Errorf("__name__ kept in labels")
			}
			if len(s.Times) != len(want.Times) {
				t.Fatalf("%v: %d points, want %d", s.Labels, len(s.Times), len(want.Times))
			}
			for i := range want.Times {
				if s.Times[i] != want.Times[i] || s.Values[i] != want.Values[i] {
					t.Fatalf("%v point %d = (%d, %v), want (%d, %v)", s.Labels, i, s.Times[i], s.Values[i], want.Times[i], want.Values[i])
				}
			}
		}
	})

	t.Run("long range is split into chunks and joined seamlessly", func(t *testing.T) {
		queryRangeCalls.Store(0)
		step := 15 * time.Second // 3 days at 15s = 17,281 points > 11,000
		r := Range{From: data.Start, To: data.End, Step: step}
		got, err := client.QueryRange(ctx, `cpu_usage{host="b"}`, r, "{{host}}")
		if err != nil {
			t.Fatal(err)
		}
		if calls := queryRangeCalls.Load(); calls != 2 {
			t.Errorf("query_range calls = %d, want 2", calls)
		}
		if len(got) != 1 || got[0].DisplayName != "b" {
			t.Fatalf("got %d series, display %q", len(got), got[0].DisplayName)
		}
		s := got[0]
		wantPoints := int(data.End.Sub(data.Start)/step) + 1
		if len(s.Times) != wantPoints {
			t.Fatalf("%d points, want %d", len(s.Times), wantPoints)
		}
		raw := data.Find("cpu_usage", map[string]string{"host": "b"})
		for i, ts := range s.Times {
			if want := data.Start.Add(time.Duration(i) * step).UnixMilli(); ts != want {
				t.Fatalf("point %d at %d, want %d", i, ts, want)
			}
			// Prometheus answers the latest sample at or before each step.
			j := int((ts - raw.Times[0]) / data.Interval.Milliseconds())
			if s.Values[i] != raw.Values[j] {
				t.Fatalf("point %d = %v, want sample %d = %v", i, s.Values[i], j, raw.Values[j])
			}
		}
	})

	t.Run("rate of the counter shows the injected burst", func(t *testing.T) {
		burst := data.AnomaliesOf("requests_total", map[string]string{"service": "api"})[0]
		r := Range{From: burst.Start.Add(-2 * time.Hour), To: burst.End.Add(2 * time.Hour), Step: time.Minute}
		got, err := client.QueryRange(ctx, `rate(requests_total[2m])`, r, "")
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 1 {
			t.Fatalf("got %d series", len(got))
		}
		s := got[0]
		if s.Name != "rate(requests_total[2m])" || s.DisplayName != `{service="api"}` || s.Labels["service"] != "api" {
			t.Errorf("name %q display %q labels %v", s.Name, s.DisplayName, s.Labels)
		}
		var inBurst, outside []float64
		for i, ts := range s.Times {
			switch {
			case ts >= burst.Start.Add(3*time.Minute).UnixMilli() && ts <= burst.End.UnixMilli():
				inBurst = append(inBurst, s.Values[i])
			case ts < burst.Start.Add(-10*time.Minute).UnixMilli() || ts > burst.End.Add(10*time.Minute).UnixMilli():
				outside = append(outside, s.Values[i])
			}
		}
		if len(inBurst) == 0 || len(outside) == 0 {
			t.Fatalf("no points around the burst: %d inside, %d outside", len(inBurst), len(outside))
		}
		if minIn, maxOut := minOf(inBurst), maxOf(outside); minIn < 2*maxOut {
			t.Errorf("burst rate min %.1f/s is not well above the normal max %.1f/s", minIn, maxOut)
		}
	})

	t.Run("no data gives no series and no error", func(t *testing.T) {
		got, err := client.QueryRange(ctx, `cpu_usage{host="nope"}`, Range{From: data.Start, To: data.End, Step: time.Minute}, "")
		if err != nil || len(got) != 0 {
			t.Fatalf("got %d series, err %v", len(got), err)
		}
	})

	t.Run("bad PromQL is a clear Prometheus error", func(t *testing.T) {
		_, err := client.QueryRange(ctx, `sum(rate(cpu_usage[5m]`, Range{From: data.Start, To: data.End, Step: time.Minute}, "")
		var perr *PromError
		if !errors.As(err, &perr) || perr.Type != "bad_data" || perr.HTTPStatus != http.StatusBadRequest {
			t.Fatalf("err = %v, want a bad_data PromError with HTTP 400", err)
		}
		if !strings.Contains(err.Error(), "parse error") {
			t.Errorf("message %q does not carry Prometheus's parse error", err)
		}
	})

	t.Run("health check reads buildinfo", func(t *testing.T) {
		h, err := client.Check(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(h.Version, "2.") || h.Latency <= 0 {
			t.Errorf("health %+v", h)
		}
	})
}

func minOf(v []float64) float64 {
	m := math.Inf(1)
	for _, x := range v {
		m = math.Min(m, x)
	}
	return m
}

func maxOf(v []float64) float64 {
	m := math.Inf(-1)
	for _, x := range v {
		m = math.Max(m, x)
	}
	return m
}

// Basic auth and TLS against Prometheus's own web config (--web.config.file).
func TestPromClientAuthAndTLSAgainstRealPrometheus(t *testing.T) {
	srv := testprom.Start(t, testprom.Options{TLS: true, BasicAuth: true})
	ctx := context.Background()
	r := Range{From: srv.Data.End.Add(-time.Hour), To: srv.Data.End, Step: time.Minute}
	auth := PromAuth{Mode: "basic", User: testprom.BasicAuthUser, Password: testprom.BasicAuthPassword}

	good, err := NewPromClient(PromConfig{URL: srv.URL, Auth: auth, TLS: TLSOptions{CACertPEM: srv.CACertPEM}})
	if err != nil {
		t.Fatal(err)
	}
	got, err := good.QueryRange(ctx, "temperature_celsius", r, "{{room}}")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].DisplayName != "lab" || len(got[0].Times) != 61 {
		t.Fatalf("got %+v", got)
	}
	if _, err := good.Check(ctx); err != nil {
		t.Errorf("check: %v", err)
	}

	wrongPass := auth
	wrongPass.Password = "not-the-password"
	for name, cfg := range map[string]PromConfig{
		"wrong password":       {URL: srv.URL, Auth: wrongPass, TLS: TLSOptions{CACertPEM: srv.CACertPEM}},
		"no auth":              {URL: srv.URL, TLS: TLSOptions{CACertPEM: srv.CACertPEM}},
		"untrusted cert":       {URL: srv.URL, Auth: auth},
		"plain http to https":  {URL: strings.Replace(srv.URL, "https://", "http://", 1), Auth: auth},
		"skip verify, no auth": {URL: srv.URL, TLS: TLSOptions{SkipVerify: true}},
	} {
		t.Run(name, func(t *testing.T) {
			c, err := NewPromClient(cfg)
			if err != nil {
				t.Fatal(err)
			}
			_, err = c.QueryRange(ctx, "temperature_celsius", r, "")
			if err == nil {
				t.Fatal("query succeeded")
			}
			if strings.Contains(err.Error(), testprom.BasicAuthPassword) || strings.Contains(err.Error(), "not-the-password") {
				t.Errorf("error leaks the password: %v", err)
			}
			if name == "wrong password" && !strings.Contains(err.Error(), "HTTP 401") {
				t.Errorf("err = %v, want HTTP 401 with advice", err)
			}
			if name == "untrusted cert" && !strings.Contains(err.Error(), "certificate") {
				t.Errorf("err = %v, want a certificate error", err)
			}
		})
	}
	skip, _ := NewPromClient(PromConfig{URL: srv.URL, Auth: auth, TLS: TLSOptions{SkipVerify: true}})
	if _, err := skip.QueryRange(ctx, "temperature_celsius", r, ""); err != nil {
		t.Errorf("skip verify with auth: %v", err)
	}
}
