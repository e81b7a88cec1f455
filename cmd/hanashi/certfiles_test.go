package main

import (
	"bytes"
	"crypto/tls"
	"encoding/pem"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hanashi-chat/hanashi/internal/testutil"
)

// leafDER is the DER of the first certificate in a PEM file.
func leafDER(t *testing.T, certFile string) []byte {
	t.Helper()
	b, err := os.ReadFile(certFile)
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(b)
	if block == nil {
		t.Fatalf("%s holds no PEM block", certFile)
	}
	return block.Bytes
}

// installCert puts the certificate and key of ca at certFile and keyFile,
// each by a rename, as renewal tools do; key false leaves the key file as
// it was, cert false the certificate.
func installCert(t *testing.T, ca e2eTestCA, certFile, keyFile string, cert, key bool) {
	t.Helper()
	for _, f := range []struct {
		from, to string
		do       bool
	}{{ca.certFile, certFile, cert}, {ca.keyFile, keyFile, key}} {
		if !f.do {
			continue
		}
		b, err := os.ReadFile(f.from)
		if err != nil {
			t.Fatal(err)
		}
		tmp := f.to + ".new"
		if err := os.WriteFile(tmp, b, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, f.to); err != nil {
			t.Fatal(err)
		}
	}
}

// TestCertFilesReload: the pair is read again when a file changes, and on
// SIGHUP whatever the files look like; a pair that cannot be used (a key
// of another certificate, a missing file) leaves the one in use, and is
// logged once.
func TestCertFilesReload(t *testing.T) {
	a, b := newTestCA(t), newTestCA(t)
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	installCert(t, a, certFile, keyFile, true, true)
	var logs syncBuffer
	c, err := loadCertFiles(certFile, keyFile, slog.New(slog.NewTextHandler(&logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	serving := func(ca e2eTestCA) bool {
		cert, err := c.getCertificate(&tls.ClientHelloInfo{})
		return err == nil && bytes.Equal(cert.Certificate[0], leafDER(t, ca.certFile))
	}
	failures := func() int { return strings.Count(logs.String(), "cannot reload the TLS certificate") }
	step := func(what string, wantReload bool, want e2eTestCA, wantFailures int) {
		t.Helper()
		if got := c.reload(false); got != wantReload {
			t.Errorf("%s: reload() = %v, want %v", what, got, wantReload)
		}
		if !serving(want) {
			t.Errorf("%s: serving another certificate than expected", what)
		}
		if n := failures(); n != wantFailures {
			t.Errorf("%s: %d failures logged, want %d\n%s", what, n, wantFailures, logs.String())
		}
	}

	step("unchanged", false, a, 0)
	installCert(t, b, certFile, keyFile, true, true)
	step("replaced by B", true, b, 0)
	step("unchanged again", false, b, 0)
	installCert(t, a, certFile, keyFile, true, false) // A's certificate, B's key
	step("certificate without its key", false, b, 1)
	step("still without its key", false, b, 1) // logged once per change
	installCert(t, a, certFile, keyFile, false, true)
	step("and then its key", true, a, 1)
	if err := os.Remove(keyFile); err != nil {
		t.Fatal(err)
	}
	step("key missing", false, a, 2)
	installCert(t, a, certFile, keyFile, false, true)
	step("key back", true, a, 2)

	// SIGHUP: the files are read whether they changed or not; the interval
	// is too long to do it.
	hup := make(chan os.Signal, 1)
	go c.watch(t.Context(), time.Hour, hup)
	installCert(t, b, certFile, keyFile, true, true)
	hup <- syscall.SIGHUP
	testutil.Eventually(t, 5*time.Second, "certificate B after SIGHUP", func() bool { return serving(b) })
	if !strings.Contains(logs.String(), "reloaded the TLS certificate") {
		t.Errorf("no reload logged:\n%s", logs.String())
	}
}
