package redact

import (
	"encoding/base64"
	"errors"
	"net/url"
	"strings"
	"testing"
)

func TestEveryForm(t *testing.T) {
	const token = "tok/en+with=odd&chars\"<>"
	const user, pass = "grafana", "p@ss:w0rd/é"
	r := New(token, pass, BasicAuth(user, pass), "acme-tenant-7")
	basic := base64.StdEncoding.EncodeToString([]byte(user + ":" + pass))
	for name, leak := range map[string]string{
		"raw token":           token,
		"query-escaped":       url.QueryEscape(token),
		"path-escaped":        url.PathEscape(token),
		"lower-case escapes":  strings.ToLower(url.QueryEscape(token)),
		"base64 token":        base64.StdEncoding.EncodeToString([]byte(token)),
		"base64url token":     base64.RawURLEncoding.EncodeToString([]byte(token)),
		"json-escaped token":  `tok/en+with=odd\u0026chars\"\u003c\u003e`,
		"go-quoted token":     `tok/en+with=odd&chars\"<>`,
		"basic auth header":   "Basic " + basic,
		"raw password":        pass,
		"escaped password":    url.QueryEscape(pass),
		"tenant header value": "acme-tenant-7",
	} {
		got := r.String("upstream said: " + leak + " (end)")
		if r.Contains(got) || strings.Contains(got, leak) {
			t.Errorf("%s: %q still leaks", name, got)
		}
		if !strings.Contains(got, Mask) || !strings.HasSuffix(got, " (end)") {
			t.Errorf("%s: %q lost the surrounding text", name, got)
		}
	}
}

func TestShortValuesAndNil(t *testing.T) {
	r := New("42", "")
	if got := r.String("HTTP 422"); got != "HTTP 422" {
		t.Fatalf("short value masked: %q", got)
	}
	var none *Redactor
	if none.String("x") != "x" || none.Error(errors.New("x")).Error() != "x" {
		t.Fatal("nil redactor changed text")
	}
}

func TestErrorDoesNotUnwrap(t *testing.T) {
	inner := errors.New("echo: s3cr3t-key")
	err := New("s3cr3t-key").Error(inner)
	if strings.Contains(err.Error(), "s3cr3t-key") || errors.Unwrap(err) != nil || errors.Is(err, inner) {
		t.Fatalf("redacted error exposes the secret: %v", err)
	}
	clean := errors.New("nothing here")
	if New("s3cr3t-key").Error(clean) != clean {
		t.Fatal("clean error replaced")
	}
}
