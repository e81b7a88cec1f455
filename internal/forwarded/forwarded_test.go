package forwarded

import (
	"crypto/tls"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestProxyTrustClient(t *testing.T) {
	trust, err := Parse([]string{"10.0.0.0/8", " 192.0.2.7 ", "", "fd00::/8"})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name      string
		peer      string
		tls       bool
		xff       []string // X-Forwarded-For header lines
		proto     []string // X-Forwarded-Proto header lines
		wantAddr  string
		wantHTTPS bool
	}{
		{name: "direct client", peer: "203.0.113.5:4711", wantAddr: "203.0.113.5"},
		{name: "direct over TLS", peer: "203.0.113.5:4711", tls: true, wantAddr: "203.0.113.5", wantHTTPS: true},
		{name: "untrusted peer's headers are ignored", peer: "203.0.113.5:4711",
			xff: []string{"198.51.100.1"}, proto: []string{"https"}, wantAddr: "203.0.113.5"},
		{name: "untrusted peer cannot downgrade TLS", peer: "203.0.113.5:4711", tls: true,
			proto: []string{"http"}, wantAddr: "203.0.113.5", wantHTTPS: true},
		{name: "trusted proxy", peer: "10.1.2.3:80",
			xff: []string{"198.51.100.1"}, proto: []string{"https"}, wantAddr: "198.51.100.1", wantHTTPS: true},
		{name: "trusted proxy by exact address", peer: "192.0.2.7:80",
			xff: []string{"198.51.100.1"}, proto: []string{"HTTPS"}, wantAddr: "198.51.100.1", wantHTTPS: true},
		{name: "trusted proxy says http", peer: "10.1.2.3:80", tls: true,
			proto: []string{"http"}, wantAddr: "10.1.2.3", wantHTTPS: false},
		{name: "unknown proto is ignored", peer: "10.1.2.3:80",
			proto: []string{"gopher"}, wantAddr: "10.1.2.3"},
		{name: "last proto counts", peer: "10.1.2.3:80",
			proto: []string{"http, https"}, wantAddr: "10.1.2.3", wantHTTPS: true},
		{name: "spoofed entries left of the client", peer: "10.1.2.3:80",
			xff: []string{"1.1.1.1, 198.51.100.1"}, wantAddr: "198.51.100.1"},
		{name: "chain of trusted proxies", peer: "10.1.2.3:80",
			xff: []string{"6.6.6.6, 198.51.100.1, 10.9.9.9", "192.0.2.7"}, wantAddr: "198.51.100.1"},
		{name: "every hop trusted", peer: "10.1.2.3:80",
			xff: []string{"10.4.4.4, 10.5.5.5"}, wantAddr: "10.4.4.4"},
		{name: "entries with ports", peer: "10.1.2.3:80",
			xff: []string{"[2001:db8::1]:5555, 198.51.100.1:443"}, wantAddr: "198.51.100.1"},
		{name: "IPv6 client", peer: "[fd00::1]:80",
			xff: []string{"2001:db8::1"}, wantAddr: "2001:db8::1"},
		{name: "IPv4-mapped peer matches an IPv4 entry", peer: "[::ffff:10.1.2.3]:80",
			xff: []string{"::ffff:198.51.100.1"}, wantAddr: "198.51.100.1"},
		{name: "garbage stops the walk at the last trusted hop", peer: "10.1.2.3:80",
			xff: []string{"1.1.1.1, <script>, 10.9.9.9"}, wantAddr: "10.9.9.9"},
		{name: "empty header", peer: "10.1.2.3:80", xff: []string{""}, wantAddr: "10.1.2.3"},
		{name: "unparsable peer", peer: "pipe", xff: []string{"198.51.100.1"}, wantAddr: "pipe"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/", nil)
			r.RemoteAddr = tt.peer
			if tt.tls {
				r.TLS = &tls.ConnectionState{}
			}
			for _, v := range tt.xff {
				r.Header.Add("X-Forwarded-For", v)
			}
			for _, v := range tt.proto {
				r.Header.Add("X-Forwarded-Proto", v)
			}
			addr, https := trust.Client(r)
			if addr != tt.wantAddr || https != tt.wantHTTPS {
				t.Errorf("client() = %q, https %v; want %q, https %v", addr, https, tt.wantAddr, tt.wantHTTPS)
			}
		})
	}

	// Nobody trusted: the headers never count.
	r := httptest.NewRequest("GET", "/", nil)
	r.RemoteAddr = "10.1.2.3:80"
	r.Header.Set("X-Forwarded-For", "198.51.100.1")
	r.Header.Set("X-Forwarded-Proto", "https")
	if addr, https := (Trust{}).Client(r); addr != "10.1.2.3" || https {
		t.Errorf("with no trusted proxies: client() = %q, https %v; want the peer over http", addr, https)
	}
}

func TestParseTrustedProxiesRefusesGarbage(t *testing.T) {
	for _, bad := range []string{"10.0.0.0/33", "example.com", "10.0.0.1/x", "fe80::1%eth0", "10.0.0", "/8"} {
		if _, err := Parse([]string{"127.0.0.1", bad}); err == nil || !strings.Contains(err.Error(), "trusted proxy") {
			t.Errorf("Parse(%q): err %v, want a clear error", bad, err)
		}
	}
}
