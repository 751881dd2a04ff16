package source

import (
	"encoding/pem"
	"net/http/httptest"
	"testing"
)

// certPEM is the test server's certificate, to trust as a CA.
func certPEM(t *testing.T, srv *httptest.Server) string {
	t.Helper()
	cert := srv.Certificate()
	if cert == nil {
		t.Fatal("no certificate")
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Raw}))
}
