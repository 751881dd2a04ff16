// Package redact removes secrets from text that reaches users and logs, in
// every form an upstream may echo them back: raw, base64 (an echoed
// "Authorization: Basic" header), URL-encoded, JSON- or Go-quoted.
//
// Callers redact before they shorten a message: a cut made first can leave
// part of a secret that no longer matches.
package redact

import (
	"encoding/base64"
	"encoding/json"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// Mask replaces every redacted form.
const Mask = "[redacted]"

// MinLen is the shortest form redacted. Shorter values (a tenant "42") cannot
// be told apart from ordinary text: masking them would garble every message
// ("HTTP 4[redacted]2") and protect nothing worth protecting.
const MinLen = 4

// Redactor masks a fixed set of secrets. The zero value and nil mask nothing.
type Redactor struct {
	forms []string // longest first, so a longer form is never half-masked by a shorter one
}

// New returns a redactor for the given secrets. For HTTP basic auth pass the
// password and BasicAuth(user, password).
func New(secrets ...string) *Redactor {
	seen := map[string]bool{}
	var forms []string
	add := func(f string) {
		if len(f) >= MinLen && !seen[f] {
			seen[f] = true
			forms = append(forms, f)
		}
	}
	for _, s := range secrets {
		if len(s) < MinLen {
			continue
		}
		for _, f := range encodings(s) {
			add(f)
		}
	}
	slices.SortFunc(forms, func(a, b string) int { return len(b) - len(a) })
	return &Redactor{forms: forms}
}

// BasicAuth is the credential a basic-auth header carries; passed to New,
// its base64 form (what the header holds) is masked too.
func BasicAuth(user, password string) string { return user + ":" + password }

var percentHex = regexp.MustCompile(`%[0-9A-F]{2}`)

func encodings(s string) []string {
	out := []string{s}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding, base64.RawStdEncoding, base64.RawURLEncoding} {
		out = append(out, enc.EncodeToString([]byte(s)))
	}
	for _, esc := range []string{url.QueryEscape(s), url.PathEscape(s), strings.ReplaceAll(url.QueryEscape(s), "+", "%20")} {
		// Some servers write the escapes' hex in lower case.
		out = append(out, esc, percentHex.ReplaceAllStringFunc(esc, strings.ToLower))
	}
	if b, err := json.Marshal(s); err == nil {
		out = append(out, string(b[1:len(b)-1]))
	}
	q := strconv.Quote(s)
	out = append(out, q[1:len(q)-1])
	return out
}

// String masks every form of every secret in s.
func (r *Redactor) String(s string) string {
	if r == nil {
		return s
	}
	for _, f := range r.forms {
		if strings.Contains(s, f) {
			s = strings.ReplaceAll(s, f, Mask)
		}
	}
	return s
}

// Bytes is String for a body read from the wire.
func (r *Redactor) Bytes(b []byte) []byte {
	if r == nil || len(r.forms) == 0 {
		return b
	}
	return []byte(r.String(string(b)))
}

// Contains reports whether s holds any form of a secret.
func (r *Redactor) Contains(s string) bool {
	if r == nil {
		return false
	}
	for _, f := range r.forms {
		if strings.Contains(s, f) {
			return true
		}
	}
	return false
}

// Error returns err unchanged when its message holds no secret, otherwise an
// error with the masked message. The result does not unwrap: the wrapped
// error still holds the secret, and anything that printed it would leak.
func (r *Redactor) Error(err error) error {
	if err == nil || !r.Contains(err.Error()) {
		return err
	}
	return &Error{msg: r.String(err.Error())}
}

// Error is an error whose message was masked.
type Error struct{ msg string }

func (e *Error) Error() string { return e.msg }
