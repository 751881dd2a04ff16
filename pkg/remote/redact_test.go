package remote

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/sheepdog-anomaly/sheepdog/pkg/apicontract"
	"github.com/sheepdog-anomaly/sheepdog/pkg/engine"
)

// TestEchoedKeyNeverReachesTheMessage: a hostile server echoes the key, in
// each form, placed so the 300-character cut falls inside it, into error
// answers of the detect route and into both answers of the health route.
func TestEchoedKeyNeverReachesTheMessage(t *testing.T) {
	forms := map[string]func(string) string{
		"raw":         func(k string) string { return k },
		"base64":      func(k string) string { return base64.StdEncoding.EncodeToString([]byte(k)) },
		"url-escaped": func(k string) string { return url.QueryEscape(k + "/+") },
	}
	for name, form := range forms {
		t.Run(name, func(t *testing.T) {
			key := testKey
			if name == "url-escaped" {
				key = testKey + "/+" // needs characters that escape
			}
			echo := func(r *http.Request) string {
				got := strings.TrimPrefix(r.Header.Get(apicontract.HeaderAuthorization), "Bearer ")
				// 280 characters of padding put the cut at 300 inside the key.
				return strings.Repeat("x", 280) + form(got)
			}
			for _, health := range []string{"error", "status", "version"} {
				ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					if r.URL.Path == apicontract.PathHealth && health != "error" {
						h := apicontract.Health{Status: "ok", Version: "1"}
						if health == "status" {
							h.Status = echo(r)
						} else {
							h.Version = echo(r)
						}
						_ = json.NewEncoder(w).Encode(h)
						return
					}
					apiError(w, 400, apicontract.CodeBadArgument, echo(r))
				}))
				cfg := matrixConfig(ts.URL)
				cfg.APIKey = key
				c, err := New(cfg)
				if err != nil {
					t.Fatal(err)
				}
				h, err := c.Check(context.Background())
				msgs := []string{h.Message, h.Status, h.Version}
				if err != nil {
					msgs = append(msgs, err.Error())
				}
				outs, _ := detectVia(c, context.Background(), []engine.Series{wave(60, -1)}, engine.Options{})
				msgs = append(msgs, outs[0].Err.Error(), outs[0].FallbackReason)
				for _, m := range msgs {
					for _, leak := range []string{key, form(key), form(key)[:12], form(key)[len(form(key))-12:]} {
						if strings.Contains(m, leak) {
							t.Errorf("health %s: message holds %q: %s", health, leak, m)
						}
					}
				}
				c.Close()
				ts.Close()
			}
		})
	}
}
