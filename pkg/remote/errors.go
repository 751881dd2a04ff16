package remote

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"unicode"
)

// ErrCircuitOpen is returned (inside an Outcome) while the breaker is open.
var ErrCircuitOpen = errors.New("circuit breaker open: the remote API failed repeatedly, calls are paused until the cooldown ends")

// APIError is a non-2xx answer from the API, with the API's own message.
type APIError struct {
	Status     int
	Code       string
	Message    string
	RetryAfter string // as sent, for 429/503
}

func (e *APIError) Error() string {
	switch e.Status {
	case http.StatusUnauthorized, http.StatusForbidden:
		// The key itself never appears; the API's message is kept, it may say why.
		return fmt.Sprintf("remote API rejected the API key (%d %s): %s; check the key in the data source settings",
			e.Status, http.StatusText(e.Status), e.detail())
	case http.StatusTooManyRequests:
		return fmt.Sprintf("remote API is rate limiting (429, Retry-After %q): %s", e.RetryAfter, e.detail())
	}
	return fmt.Sprintf("remote API answered %d %s: %s", e.Status, http.StatusText(e.Status), e.detail())
}

func (e *APIError) detail() string {
	switch {
	case e.Code != "" && e.Message != "":
		return e.Code + ": " + e.Message
	case e.Message != "":
		return e.Message
	case e.Code != "":
		return e.Code
	}
	return "no error message in the response"
}

// InvalidResponseError is a 2xx answer that does not satisfy the contract.
type InvalidResponseError struct {
	Reason string
}

func (e *InvalidResponseError) Error() string {
	return "remote API sent an invalid response: " + e.Reason
}

func invalidf(format string, args ...any) error {
	return &InvalidResponseError{Reason: fmt.Sprintf(format, args...)}
}

// RedirectError is a redirect the client refused to follow.
type RedirectError struct {
	From, To string // hosts
}

func (e *RedirectError) Error() string {
	return fmt.Sprintf("remote API redirected from %s to %s; refused so the API key is not sent to another host (set the final URL in the settings)", e.From, e.To)
}

// failure classes drive retries, the breaker, fallback reasons and metric labels.
type failureClass string

const (
	classNone        failureClass = ""
	classTimeout     failureClass = "timeout"
	classConnection  failureClass = "connection"
	classThrottled   failureClass = "throttled"
	classServer      failureClass = "server_error"
	classRejected    failureClass = "key_rejected"
	classClient      failureClass = "client_error"
	classInvalid     failureClass = "invalid_response"
	classRedirect    failureClass = "redirect_refused"
	classCircuitOpen failureClass = "circuit_open"
	classCanceled    failureClass = "canceled"
	classTooShort    failureClass = "series_too_short"
	classTLS         failureClass = "tls"
	classCallBudget  failureClass = "call_budget"
)

func classify(err error) failureClass {
	var apiErr *APIError
	var invalid *InvalidResponseError
	var redirect *RedirectError
	var netErr net.Error
	var red *redactedError
	var certErr *tls.CertificateVerificationError
	var unknownCA x509.UnknownAuthorityError
	var hostErr x509.HostnameError
	var invalidCert x509.CertificateInvalidError
	switch {
	case err == nil:
		return classNone
	case errors.As(err, &red):
		return red.class
	case errors.Is(err, ErrCircuitOpen):
		return classCircuitOpen
	case errors.Is(err, errCallBudget):
		return classCallBudget
	case errors.As(err, &redirect):
		return classRedirect
	case errors.As(err, &apiErr):
		switch {
		case apiErr.Status == http.StatusTooManyRequests:
			return classThrottled
		case apiErr.Status == http.StatusUnauthorized || apiErr.Status == http.StatusForbidden:
			return classRejected
		case apiErr.Status >= 500:
			return classServer
		}
		return classClient
	case errors.As(err, &invalid):
		return classInvalid
	case errors.As(err, &certErr) || errors.As(err, &unknownCA) || errors.As(err, &hostErr) || errors.As(err, &invalidCert):
		return classTLS // a configuration problem: retrying cannot help
	case errors.Is(err, context.DeadlineExceeded):
		return classTimeout
	case errors.Is(err, context.Canceled):
		return classCanceled
	case errors.As(err, &netErr) && netErr.Timeout():
		return classTimeout
	}
	return classConnection
}

// retryable says whether another attempt may succeed. 500 is not retried: it
// is the server's own bug and usually repeats; 502/503/504 are transient.
func retryable(err error) bool {
	switch classify(err) {
	case classTimeout, classConnection, classThrottled:
		return true
	case classServer:
		var apiErr *APIError
		errors.As(err, &apiErr)
		switch apiErr.Status {
		case http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
			return true
		}
	}
	return false
}

// countsAgainstBreaker: failures that say the remote is unhealthy. Rejections
// and bad requests come from our side; 429 means alive but busy.
func countsAgainstBreaker(err error) bool {
	switch classify(err) {
	case classTimeout, classConnection, classServer, classInvalid:
		return true
	}
	return false
}

// redactedError hides the API key if a hostile or careless server echoed it.
// It does not unwrap: the wrapped error still holds the key.
type redactedError struct {
	msg   string
	class failureClass // classified before redaction, since the wrapped error is dropped
}

func (e *redactedError) Error() string { return e.msg }

func (c *Client) redact(err error) error {
	if err == nil || !c.red.Contains(err.Error()) {
		return err
	}
	return &redactedError{msg: c.red.String(err.Error()), class: classify(err)}
}

// clean masks the key in text from the server, then makes it printable and
// short; in that order, so a cut never leaves part of the key.
func (c *Client) clean(s string) string {
	return cleanMessage(c.red.String(s))
}

// cleanMessage keeps an API message printable and short.
func cleanMessage(s string) string {
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, s)
	s = strings.TrimSpace(s)
	if len(s) > 300 {
		s = s[:300] + "…"
	}
	return s
}
