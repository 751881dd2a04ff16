package source

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/sheepdog-anomaly/sheepdog/pkg/models"
)

// echoedHeaders is every request header as an echoing upstream would quote
// it, behind padding that puts the 200-character snippet cut inside the
// first one (the test names it in the query string: ?first=Authorization).
func echoedHeaders(r *http.Request, escape bool) string {
	first := r.URL.Query().Get("first")
	var parts []string
	for k, v := range r.Header {
		val := strings.Join(v, ",")
		if escape {
			val = url.QueryEscape(val)
		}
		if strings.EqualFold(k, first) {
			k = " " + k // sorts first
		}
		parts = append(parts, k+": "+val)
	}
	sort.Strings(parts)
	return strings.Repeat("x", 170) + strings.Join(parts, "; ")
}

// TestPromSecretsNeverEchoed: an upstream that echoes the request headers
// into every kind of answer must not put the bearer token, the basic-auth
// password (raw or as the header's base64 user:password) or a custom
// header's value into a query error or the health check.
func TestPromSecretsNeverEchoed(t *testing.T) {
	const (
		token  = "glc_token_8d7c6b5a4f3e2d1c"
		user   = "mimir-reader"
		pass   = "pw-with/odd+chars=9e8d"
		tenant = "tenant-secret-4711"
	)
	basic := base64.StdEncoding.EncodeToString([]byte(user + ":" + pass))
	answers := map[string]func(w http.ResponseWriter, r *http.Request){
		"error envelope": func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusBadRequest)
			_ = json.NewEncoder(w).Encode(map[string]string{"status": "error", "errorType": "bad_data", "error": echoedHeaders(r, false)})
		},
		"plain 500": func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusInternalServerError)
			_, _ = fmt.Fprint(w, echoedHeaders(r, false))
		},
		"plain 502 url-escaped": func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusBadGateway)
			_, _ = fmt.Fprint(w, echoedHeaders(r, true))
		},
		"401": func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusUnauthorized)
			_, _ = fmt.Fprint(w, echoedHeaders(r, false))
		},
		"200 not JSON": func(w http.ResponseWriter, r *http.Request) {
			_, _ = fmt.Fprint(w, echoedHeaders(r, false))
		},
		"200 broken JSON": func(w http.ResponseWriter, r *http.Request) {
			_, _ = fmt.Fprintf(w, `{"status":"success","data":{"resultType":"matrix","result":[{"metric":{},"values":[[1,%q`, echoedHeaders(r, false))
		},
		"200 odd status": func(w http.ResponseWriter, r *http.Request) {
			_ = json.NewEncoder(w).Encode(map[string]any{"status": echoedHeaders(r, false), "data": map[string]any{"version": echoedHeaders(r, false)}})
		},
		"200 matrix with echoed labels": func(w http.ResponseWriter, r *http.Request) {
			metric := map[string]string{"__name__": echoedHeaders(r, false), "echo": echoedHeaders(r, false)}
			for k, v := range r.Header {
				metric[strings.Join(v, ",")] = k // as a label name too
			}
			_ = json.NewEncoder(w).Encode(map[string]any{"status": "success", "data": map[string]any{"resultType": "matrix",
				"result": []any{map[string]any{"metric": metric, "values": [][]any{{float64(time.Now().Unix()), "1"}}}}}})
		},
		"200 buildinfo version": func(w http.ResponseWriter, r *http.Request) {
			_ = json.NewEncoder(w).Encode(map[string]any{"status": "success", "data": map[string]any{"version": echoedHeaders(r, false)}})
		},
	}
	auths := map[string]PromAuth{
		"bearer": {Mode: models.PromAuthBearer, Token: token},
		"basic":  {Mode: models.PromAuthBasic, User: user, Password: pass},
	}
	for answerName, handler := range answers {
		for authName, auth := range auths {
			for _, first := range []string{"Authorization", "X-Scope-OrgID"} {
				t.Run(answerName+"/"+authName+"/"+first, func(t *testing.T) {
					ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
						r.URL.RawQuery = "first=" + first
						handler(w, r)
					}))
					defer ts.Close()
					c, err := NewPromClient(PromConfig{URL: ts.URL, Auth: auth, Headers: map[string]string{"X-Scope-OrgID": tenant}})
					if err != nil {
						t.Fatal(err)
					}
					defer c.Close()
					var msgs []string
					now := time.Now()
					series, err := c.QueryRange(context.Background(), "up", Range{From: now.Add(-time.Hour), To: now, Step: time.Minute}, "")
					if err != nil {
						msgs = append(msgs, err.Error())
					}
					for _, s := range series {
						msgs = append(msgs, s.Name, s.DisplayName, fmt.Sprint(s.Labels))
					}
					h, err := c.Check(context.Background())
					msgs = append(msgs, h.Version)
					if err != nil {
						msgs = append(msgs, err.Error())
					}
					for _, m := range msgs {
						for _, secret := range []string{token, pass, basic, tenant, url.QueryEscape(pass)} {
							// Whole, or the part a cut would leave.
							for _, leak := range []string{secret, secret[:8], secret[len(secret)-8:]} {
								if strings.Contains(m, leak) {
									t.Errorf("message holds %q (from %q): %s", leak, secret, m)
								}
							}
						}
					}
				})
			}
		}
	}
}
