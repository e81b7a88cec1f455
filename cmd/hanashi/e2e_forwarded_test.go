package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
	"testing"

	"github.com/hanashi-chat/hanashi/auth"
)

// TestE2EForwardedClient puts the server behind httputil.ReverseProxy on
// 127.0.0.1, the one trusted proxy, and has clients reach the proxy from
// 127.0.0.2 and 127.0.0.3: the proxy says who they are in Forwarded
// (RFC 7239) or in X-Forwarded-For. Sign-in links are counted per client,
// whatever a client writes in those headers itself to pass for another,
// and the log names the client the limit stopped.
func TestE2EForwardedClient(t *testing.T) {
	// Linux routes all of 127.0.0.0/8 to loopback; other systems may not.
	if ln, err := net.Listen("tcp", "127.0.0.3:0"); err != nil {
		t.Skipf("SKIPPED: this test needs the loopback addresses 127.0.0.2 and 127.0.0.3: %v", err)
	} else {
		ln.Close()
	}
	for _, header := range []string{"Forwarded", "X-Forwarded-For"} {
		t.Run(header, func(t *testing.T) {
			srv, public := e2eBehindProxy(t, "/", "127.0.0.1", func(r *httputil.ProxyRequest) {
				if header == "X-Forwarded-For" {
					r.SetXForwarded() // appends to the client's own
					return
				}
				// As nginx's $proxy_add_forwarded: the client's lines,
				// then this proxy's element.
				for _, v := range r.In.Header.Values("Forwarded") {
					r.Out.Header.Add("Forwarded", v)
				}
				r.Out.Header.Add("Forwarded", fmt.Sprintf("for=%q;proto=http;host=%q", r.In.RemoteAddr, r.In.Host))
			})

			// A client that connects from the loopback address from.
			clientFrom := func(from string) *http.Client {
				d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}}
				return &http.Client{Timeout: e2eTimeout, Transport: &http.Transport{
					DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
						return d.DialContext(ctx, network, addr)
					},
				}}
			}
			ask := func(c *http.Client, i int, spoof string) int {
				t.Helper()
				form := url.Values{"email": {fmt.Sprintf("user%d@example.com", i)}}
				req, _ := http.NewRequest("POST", public+"/auth/email", strings.NewReader(form.Encode()))
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				if header == "Forwarded" {
					req.Header.Set("Forwarded", "for="+spoof)
				} else {
					req.Header.Set("X-Forwarded-For", spoof)
				}
				resp, err := c.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				return resp.StatusCode
			}
			a, b := clientFrom("127.0.0.2"), clientFrom("127.0.0.3")
			for i := range auth.LinksPerIP {
				// A new made-up address each time, as if another client.
				if got := ask(a, i, fmt.Sprintf("198.51.100.%d", i+1)); got != http.StatusOK {
					t.Fatalf("link %d for 127.0.0.2: %d, want 200", i+1, got)
				}
			}
			if got := ask(a, auth.LinksPerIP, "198.51.100.99"); got != http.StatusTooManyRequests {
				t.Errorf("link %d for 127.0.0.2, claiming to be another client: %d, want 429", auth.LinksPerIP+1, got)
			}
			if got := ask(b, 100, "198.51.100.1"); got != http.StatusOK {
				t.Errorf("first link for 127.0.0.3 behind the same proxy: %d, want 200", got)
			}
			if out := srv.out.String(); !strings.Contains(out, "too many asked for") || !strings.Contains(out, "client=127.0.0.2") {
				t.Errorf("the log does not name the client the limit stopped:\n%s", out)
			}
		})
	}
}
