package testprom

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"
)

// Credentials Prometheus demands when Options.BasicAuth is set.
const (
	BasicAuthUser     = "sheepdog"
	BasicAuthPassword = "sheepdog-test-password"
	// basicAuthHash is bcrypt(BasicAuthPassword) at cost 4, the cheapest, so
	// that each request stays fast. Prometheus's web config wants the hash.
	basicAuthHash = "$2a$04$1F/G6x9DoeNEXFvYPFJvD.k0v6fD..ZLI.Zp/NwSVG87n6yv.Jot2"
)

// writeWebConfig writes Prometheus's --web.config.file for the TLS and basic
// auth options, and returns its path (empty when neither is set) and the PEM
// of the self-signed certificate (empty without TLS).
func writeWebConfig(dir string, opt Options) (path, caPEM string, err error) {
	if !opt.TLS && !opt.BasicAuth {
		return "", "", nil
	}
	var cfg string
	if opt.TLS {
		certPEM, keyPEM, err := selfSignedCert()
		if err != nil {
			return "", "", err
		}
		certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
		if err := os.WriteFile(certFile, certPEM, 0o600); err != nil {
			return "", "", err
		}
		if err := os.WriteFile(keyFile, keyPEM, 0o600); err != nil {
			return "", "", err
		}
		cfg += fmt.Sprintf("tls_server_config:\n  cert_file: %q\n  key_file: %q\n", certFile, keyFile)
		caPEM = string(certPEM)
	}
	if opt.BasicAuth {
		cfg += fmt.Sprintf("basic_auth_users:\n  %s: %q\n", BasicAuthUser, basicAuthHash)
	}
	path = filepath.Join(dir, "web.yml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		return "", "", err
	}
	return path, caPEM, nil
}

// selfSignedCert makes a one-day certificate for 127.0.0.1 that is its own CA.
func selfSignedCert() (certPEM, keyPEM []byte, err error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(now.UnixNano()),
		Subject:               pkix.Name{CommonName: "testprom"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
		DNSNames:              []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, err
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return nil, nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), nil
}

// authTransport adds the test credentials to every request.
type authTransport struct {
	base http.RoundTripper
	user string
	pass string
}

func (a authTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.SetBasicAuth(a.user, a.pass)
	return a.base.RoundTrip(r)
}

// HTTPClient reaches the server the way its options require: trusting its
// certificate and sending the basic-auth credentials.
func (s *Server) HTTPClient() *http.Client {
	transport := http.DefaultTransport.(*http.Transport).Clone()
	if s.CACertPEM != "" {
		pool := x509.NewCertPool()
		pool.AppendCertsFromPEM([]byte(s.CACertPEM))
		transport.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	}
	var rt http.RoundTripper = transport
	if s.BasicAuth {
		rt = authTransport{base: transport, user: BasicAuthUser, pass: BasicAuthPassword}
	}
	return &http.Client{Transport: rt, Timeout: 10 * time.Second}
}
