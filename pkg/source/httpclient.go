package source

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend/httpclient"
)

// TLSOptions configure HTTPS to a source.
type TLSOptions struct {
	SkipVerify bool   // accept any certificate (self-signed test set-ups only)
	CACertPEM  string // extra CA certificates (PEM) trusted besides the system pool
	ServerName string // override the name checked in the certificate
}

// Defaults shared by the HTTP clients.
const (
	DefaultTimeout          = 30 * time.Second
	DefaultMaxResponseBytes = 256 << 20
	userAgent               = "sheepdog-source/1"
)

// errRedirectOffHost stops a redirect that would carry credentials elsewhere.
var errRedirectOffHost = errors.New("redirected to another host")

// parseBaseURL checks a configured base URL. Credentials in the URL are
// refused: they would end up in logs and error messages.
func parseBaseURL(what, raw string) (*url.URL, error) {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return nil, fmt.Errorf("%s URL is empty", what)
	}
	u, err := url.Parse(raw)
	if err != nil {
		// url.Parse errors quote the input, which may hold a secret: say only what is wrong.
		return nil, fmt.Errorf("%s URL is not a valid URL", what)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("%s URL must start with http:// or https://", what)
	}
	if u.Host == "" {
		return nil, fmt.Errorf("%s URL has no host", what)
	}
	if u.User != nil {
		return nil, fmt.Errorf("%s URL must not contain a user or password: use the authentication settings instead", what)
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("%s URL must not contain a query string or fragment", what)
	}
	u.Path = strings.TrimRight(u.Path, "/")
	u.RawPath = ""
	return u, nil
}

// Traced puts the SDK's tracing middleware in front of transport
// (grafana-plugin-sdk-go backend/httpclient/tracing_middleware.go,
// TracingMiddleware): a client span per request, and the trace context
// injected as headers by the global propagator, which the SDK sets up when
// the plugin starts (backend/setup.go, SetupTracer: W3C traceparent by
// default), so Grafana's trace of a panel continues through /api/ds/query and
// the source. The result still closes transport's idle connections.
func Traced(transport *http.Transport) http.RoundTripper {
	return tracedTransport{httpclient.TracingMiddleware(nil).CreateMiddleware(httpclient.Options{}, transport), transport}
}

type tracedTransport struct {
	http.RoundTripper
	base *http.Transport
}

func (t tracedTransport) CloseIdleConnections() { t.base.CloseIdleConnections() }

// newHTTPClient builds a client that trusts the configured CAs and refuses
// redirects to another scheme or host, so an Authorization header never leaves
// the configured server.
func newHTTPClient(base *url.URL, opt TLSOptions, timeout time.Duration) (*http.Client, error) {
	tlsCfg := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: opt.ServerName}
	if opt.SkipVerify {
		tlsCfg.InsecureSkipVerify = true //nolint:gosec // explicit admin choice for self-signed servers
	}
	if strings.TrimSpace(opt.CACertPEM) != "" {
		pool, err := x509.SystemCertPool()
		if err != nil || pool == nil {
			pool = x509.NewCertPool()
		}
		if !pool.AppendCertsFromPEM([]byte(opt.CACertPEM)) {
			return nil, errors.New("the CA certificate is not valid PEM")
		}
		tlsCfg.RootCAs = pool
	}
	transport := &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		TLSClientConfig:       tlsCfg,
		TLSHandshakeTimeout:   10 * time.Second,
		MaxIdleConns:          32,
		MaxIdleConnsPerHost:   8,
		IdleConnTimeout:       90 * time.Second,
		ExpectContinueTimeout: time.Second,
		ForceAttemptHTTP2:     true,
	}
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	return &http.Client{
		Transport: Traced(transport),
		Timeout:   timeout,
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if req.URL.Scheme != base.Scheme || req.URL.Host != base.Host {
				return fmt.Errorf("%w (%s://%s); refusing to send credentials there: configure the final URL instead", errRedirectOffHost, req.URL.Scheme, req.URL.Host)
			}
			if len(via) >= 3 {
				return errors.New("too many redirects")
			}
			return nil
		},
	}, nil
}

// safeURL names an endpoint without query string or user info.
func safeURL(u *url.URL) string {
	return u.Scheme + "://" + u.Host + u.Path
}

// transportError rewrites an http.Client error so that it names the endpoint
// without the query string, and says plainly what went wrong.
func transportError(ctx context.Context, method string, u *url.URL, err error) error {
	if ctxErr := ctx.Err(); ctxErr != nil {
		return fmt.Errorf("%s %s: %w", method, safeURL(u), ctxErr)
	}
	var uerr *url.Error
	if errors.As(err, &uerr) {
		err = uerr.Err
	}
	var certErr *tls.CertificateVerificationError
	if errors.As(err, &certErr) {
		return fmt.Errorf("%s %s: %w: trust the server's CA certificate, fix the host name, or (for test set-ups only) skip TLS verification", method, safeURL(u), err)
	}
	var nerr net.Error
	if errors.As(err, &nerr) && nerr.Timeout() {
		return fmt.Errorf("%s %s: timed out: %w", method, safeURL(u), err)
	}
	return fmt.Errorf("%s %s: %w", method, safeURL(u), err)
}

// readBody reads at most limit bytes, failing clearly beyond. A known
// Content-Length sizes the buffer once instead of growing it by doubling.
func readBody(resp *http.Response, limit int64) ([]byte, error) {
	if limit <= 0 {
		limit = DefaultMaxResponseBytes
	}
	if resp.ContentLength > limit {
		return nil, fmt.Errorf("response of %s is larger than %s: narrow the query or the time range", humanBytes(resp.ContentLength), humanBytes(limit))
	}
	var buf bytes.Buffer
	if resp.ContentLength > 0 {
		buf.Grow(int(resp.ContentLength) + bytes.MinRead)
	}
	_, err := buf.ReadFrom(io.LimitReader(resp.Body, limit+1))
	b := buf.Bytes()
	if err != nil {
		return nil, fmt.Errorf("read response: %w", err)
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("response larger than %s: narrow the query or the time range", humanBytes(limit))
	}
	return b, nil
}

// snippet is a short, single-line excerpt of a non-JSON error body.
func snippet(b []byte) string {
	s := strings.Join(strings.Fields(string(b)), " ")
	const max = 200
	if len(s) > max {
		s = s[:max] + "…"
	}
	return s
}
