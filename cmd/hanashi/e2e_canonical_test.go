package main

import (
	"context"
	"io"
	"net/http"
	"regexp"
	"testing"
	"time"

	"github.com/hanashi-chat/hanashi/internal/testutil"
)

// TestE2ECanonicalAddress: a server on loopback with no base URL, on any
// port, is http://localhost:PORT with the port it got, and sends the pages
// asked for as 127.0.0.1 there; the API and the probes answer under either
// name.
func TestE2ECanonicalAddress(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	out := new(syncBuffer)
	done := make(chan error, 1)
	args := []string{"hanashi", "-addr", "127.0.0.1:0", "-data", t.TempDir(), "-drain-grace", "0s"}
	go func() { done <- run(ctx, args, func(string) string { return "" }, out, out) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("run: %v", err)
			}
		case <-time.After(e2eTimeout):
			t.Errorf("the server did not stop")
		}
		if t.Failed() {
			t.Logf("server output:\n%s", out)
		}
	})
	var port string
	serving := regexp.MustCompile(`Hanashi is serving on http://127\.0\.0\.1:(\d+)`)
	testutil.Eventually(t, e2eTimeout, "the server to say where it serves", func() bool {
		if m := serving.FindStringSubmatch(out.String()); m != nil {
			port = m[1]
		}
		return port != ""
	})
	base := "http://localhost:" + port
	if want := "base_url=" + base; !regexp.MustCompile(regexp.QuoteMeta(want) + `\b`).MatchString(out.String()) {
		t.Fatalf("the server's log does not say %s", want)
	}

	client := &http.Client{
		Timeout:       e2eTimeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	get := func(url string) (int, string) {
		t.Helper()
		resp, err := client.Get(url)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode, resp.Header.Get("Location")
	}
	ip := "http://127.0.0.1:" + port
	for _, tt := range []struct {
		url      string
		status   int
		location string
	}{
		{ip + "/?room=3", http.StatusFound, base + "/?room=3"},
		{ip + "/login", http.StatusFound, base + "/login"},
		{base + "/", http.StatusOK, ""},
		{base + "/login", http.StatusOK, ""},
		{ip + "/healthz", http.StatusOK, ""},
		{ip + "/api/v1/me", http.StatusUnauthorized, ""},
	} {
		if status, loc := get(tt.url); status != tt.status || loc != tt.location {
			t.Errorf("GET %s: %d to %q, want %d to %q", tt.url, status, loc, tt.status, tt.location)
		}
	}
}
