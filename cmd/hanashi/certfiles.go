package main

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// certFiles is the certificate of -tls-cert and -tls-key, read again when
// the files change (checked every -tls-reload-interval) or on SIGHUP, so
// that a renewed certificate needs no restart. Handshakes take the pair in
// use from GetCertificate; connections already open keep theirs and are
// not touched. It is safe for concurrent use.
type certFiles struct {
	certFile, keyFile string
	log               *slog.Logger

	cur atomic.Pointer[tls.Certificate] // never nil once loaded

	mu   sync.Mutex // serialises reloads
	seen fileStamps // of the files as last read, loaded or not
}

// fileStamps tell whether the two files changed: digests of their
// contents (the zero value when a file could not be read). Times and sizes
// would miss a pair of the same size replaced within the file system's
// clock tick, as a renewal script can.
type fileStamps [2][sha256.Size]byte

// readFiles reads the pair and stamps what it read.
func readFiles(certFile, keyFile string) (certPEM, keyPEM []byte, st fileStamps, err error) {
	if certPEM, err = os.ReadFile(certFile); err != nil {
		return nil, nil, fileStamps{}, err
	}
	if keyPEM, err = os.ReadFile(keyFile); err != nil {
		return nil, nil, fileStamps{}, err
	}
	return certPEM, keyPEM, fileStamps{sha256.Sum256(certPEM), sha256.Sum256(keyPEM)}, nil
}

// loadCertFiles reads the pair for the first time: an error here stops
// the server rather than waiting for the first handshake.
func loadCertFiles(certFile, keyFile string, log *slog.Logger) (*certFiles, error) {
	c := &certFiles{certFile: certFile, keyFile: keyFile, log: log}
	certPEM, keyPEM, st, err := readFiles(certFile, keyFile)
	if err != nil {
		return nil, err
	}
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return nil, err
	}
	c.cur.Store(&cert)
	c.seen = st
	return c, nil
}

// getCertificate is the tls.Config's GetCertificate.
func (c *certFiles) getCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	return c.cur.Load(), nil
}

// reload reads the pair again if either file changed since it was last
// read, or in any case with force (SIGHUP), and reports whether the
// certificate in use was replaced. A pair that cannot be used — a file
// missing or half written, a key that is not the certificate's — is
// logged once and the certificate in use stays: renewal tools write the
// two files one after the other, and the next change (or SIGHUP) tries
// again.
func (c *certFiles) reload(force bool) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	certPEM, keyPEM, st, err := readFiles(c.certFile, c.keyFile)
	if st == c.seen && !force {
		return false
	}
	c.seen = st
	var cert tls.Certificate
	if err == nil {
		cert, err = tls.X509KeyPair(certPEM, keyPEM)
	}
	if err != nil {
		c.log.Error("cannot reload the TLS certificate; still serving the one loaded before",
			"cert", c.certFile, "key", c.keyFile, "err", err)
		return false
	}
	c.cur.Store(&cert)
	attrs := []any{"cert", c.certFile}
	if leaf := cert.Leaf; leaf != nil {
		attrs = append(attrs, "subject", leaf.Subject.String(), "not_after", leaf.NotAfter)
	}
	c.log.Info("reloaded the TLS certificate", attrs...)
	return true
}

// watch reloads the pair every interval when the files changed, and at
// once when hup receives, until ctx ends.
func (c *certFiles) watch(ctx context.Context, interval time.Duration, hup <-chan os.Signal) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			c.reload(false)
		case <-hup:
			c.reload(true)
		}
	}
}
