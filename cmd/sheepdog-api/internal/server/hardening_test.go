package server

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/sheepdog-anomaly/sheepdog/pkg/apicontract"
)

// TestFailedAuthThrottled: after the limit of failures from one address,
// every request from it gets 429 with Retry-After (even with the right key)
// until the lockout ends; the log holds a summary, not a line per attempt.
func TestFailedAuthThrottled(t *testing.T) {
	// The lockout is long enough for the hammering below even under the race
	// detector on a loaded machine: the loop stops a second after it began.
	const lockout = 3 * time.Second
	ts, logs := newTestServer(t, func(c *Config) {
		c.AuthFailLimit, c.AuthFailWindow, c.AuthLockout = 5, time.Minute, lockout
	})
	body := apicontract.SeriesRequest{Series: seasonal(60, -1), Granularity: "minutely"}
	var lockedAt time.Time
	for i := range 200 {
		if i > 5 && time.Since(lockedAt) > time.Second {
			break
		}
		resp, out := post(t, ts.URL+apicontract.PathEntire, bearer("hs_guess_0123456789abcd"+string(rune('a'+i%26))), body)
		want := http.StatusUnauthorized
		if i >= 5 {
			want = http.StatusTooManyRequests
		}
		if i == 4 {
			lockedAt = time.Now()
		}
		if resp.StatusCode != want {
			t.Fatalf("attempt %d: %d, want %d: %s", i+1, resp.StatusCode, want, out)
		}
		if want == http.StatusTooManyRequests {
			if ra := resp.Header.Get("Retry-After"); ra != "1" && ra != "2" && ra != "3" {
				t.Fatalf("attempt %d: Retry-After %q", i+1, ra)
			}
		}
	}
	if resp, _ := post(t, ts.URL+apicontract.PathEntire, bearer(testKey), body); resp.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("right key during the lockout: %d, want 429", resp.StatusCode)
	}
	if lines := strings.Count(logs.String(), "rejected API keys"); lines != 1 {
		t.Errorf("%d log lines about rejected keys for 5 failures, want 1 summary:\n%s", lines, logs)
	}
	time.Sleep(time.Until(lockedAt.Add(lockout + 100*time.Millisecond)))
	if resp, out := post(t, ts.URL+apicontract.PathEntire, bearer(testKey), body); resp.StatusCode != http.StatusOK {
		t.Fatalf("right key after the lockout: %d: %s", resp.StatusCode, out)
	}
}

func TestAuthThrottleBounded(t *testing.T) {
	a := newAuthThrottle(3, time.Minute, time.Minute, 100)
	now := time.Now()
	for i := range 1000 {
		a.failed(strings.Repeat("x", i%7)+string(rune(i)), now)
	}
	if len(a.addrs) > 100 {
		t.Fatalf("%d addresses tracked, cap 100", len(a.addrs))
	}
}

func TestInsecureNoAuthWithKeysRefused(t *testing.T) {
	_, err := New(Config{Keys: []string{testKey}, AllowNoAuth: true})
	if err == nil || !strings.Contains(err.Error(), "--insecure-no-auth") {
		t.Fatalf("no-auth with keys: %v", err)
	}
}

// TestIntervalAndTimestampLimits: a customInterval whose span wraps
// time.Duration, and microsecond timestamps that collide in the engine's
// millisecond resolution, get a 400 that says what to change.
func TestIntervalAndTimestampLimits(t *testing.T) {
	ts, _ := newTestServer(t, nil)
	ci := func(n int) *int { return &n }
	micro := make([]apicontract.Point, 20)
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range micro {
		v := float64(i % 3)
		micro[i] = apicontract.Point{Timestamp: t0.Add(time.Duration(i) * time.Microsecond).Format(time.RFC3339Nano), Value: &v}
	}
	for _, tc := range []struct {
		name string
		req  apicontract.SeriesRequest
		code string
		msg  string
	}{
		{"yearly × 1e6", apicontract.SeriesRequest{Series: seasonal(60, -1), Granularity: "yearly", CustomInterval: ci(1_000_000)}, apicontract.CodeInvalidCustomInterval, "customInterval"},
		{"monthly × 5000 × 60", apicontract.SeriesRequest{Series: seasonal(60, -1), Granularity: "monthly", CustomInterval: ci(5000)}, apicontract.CodeInvalidCustomInterval, "290 years"},
		{"microsecond collisions", apicontract.SeriesRequest{Series: micro, Granularity: "microsecond"}, apicontract.CodeInvalidSeries, "same millisecond"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, path := range []string{apicontract.PathEntire, apicontract.PathLast} {
				resp, out := post(t, ts.URL+path, bearer(testKey), tc.req)
				var e apicontract.Error
				_ = json.Unmarshal(out, &e)
				if resp.StatusCode != http.StatusBadRequest || e.Code != tc.code || !strings.Contains(e.Message, tc.msg) {
					t.Errorf("%s: %d %s, want 400 %s mentioning %q", path, resp.StatusCode, out, tc.code, tc.msg)
				}
			}
		})
	}
	// The largest step that fits still works.
	resp, out := post(t, ts.URL+apicontract.PathEntire, bearer(testKey), apicontract.SeriesRequest{Series: seasonal(60, -1), Granularity: "daily", CustomInterval: ci(30)})
	if resp.StatusCode != http.StatusOK {
		t.Errorf("daily × 30: %d %s", resp.StatusCode, out)
	}
}
