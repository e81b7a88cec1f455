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
		xfh       []string // X-Forwarded-Host header lines
		fwd       []string // Forwarded header lines
		wantAddr  string
		wantHTTPS bool
		wantHost  string // "" for the request's own, example.com
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

		// X-Forwarded-Host.
		{name: "X-Forwarded-Host from a trusted proxy", peer: "10.1.2.3:80",
			xff: []string{"198.51.100.1"}, xfh: []string{"chat.example:8443"}, wantAddr: "198.51.100.1", wantHost: "chat.example:8443"},
		{name: "last X-Forwarded-Host counts", peer: "10.1.2.3:80",
			xfh: []string{"evil.example, chat.example"}, wantAddr: "10.1.2.3", wantHost: "chat.example"},
		{name: "X-Forwarded-Host from an untrusted peer is ignored", peer: "203.0.113.5:4711",
			xfh: []string{"chat.example"}, wantAddr: "203.0.113.5"},
		{name: "X-Forwarded-Host that is no host is ignored", peer: "10.1.2.3:80",
			xfh: []string{"chat.example/path"}, wantAddr: "10.1.2.3"},

		// Forwarded (RFC 7239).
		{name: "Forwarded from a trusted proxy", peer: "10.1.2.3:80",
			fwd: []string{"for=198.51.100.1;proto=https;host=chat.example"}, wantAddr: "198.51.100.1", wantHTTPS: true, wantHost: "chat.example"},
		{name: "Forwarded from an untrusted peer is ignored", peer: "203.0.113.5:4711",
			fwd: []string{"for=198.51.100.1;proto=https;host=chat.example"}, wantAddr: "203.0.113.5"},
		{name: "Forwarded: untrusted peer cannot downgrade TLS", peer: "203.0.113.5:4711", tls: true,
			fwd: []string{"for=198.51.100.1;proto=http"}, wantAddr: "203.0.113.5", wantHTTPS: true},
		{name: "Forwarded: names case-insensitive, quoted values, port", peer: "10.1.2.3:80",
			fwd: []string{`For="198.51.100.1:4711";PROTO="HTTPS";Host="chat.example:443"`}, wantAddr: "198.51.100.1", wantHTTPS: true, wantHost: "chat.example:443"},
		{name: "Forwarded: IPv6 in brackets", peer: "10.1.2.3:80",
			fwd: []string{`for="[2001:db8:cafe::17]"`}, wantAddr: "2001:db8:cafe::17"},
		{name: "Forwarded: IPv6 in brackets with a port", peer: "[fd00::1]:80",
			fwd: []string{`for="[2001:db8:cafe::17]:4711"`}, wantAddr: "2001:db8:cafe::17"},
		{name: "Forwarded: spoofed hops left of the client", peer: "10.1.2.3:80",
			fwd: []string{"for=1.1.1.1;proto=http, for=198.51.100.1;proto=https"}, wantAddr: "198.51.100.1", wantHTTPS: true},
		{name: "Forwarded: several trusted hops walked from the right", peer: "10.1.2.3:80",
			fwd:      []string{"for=6.6.6.6, for=198.51.100.1;proto=https;host=chat.example", `for=10.9.9.9;proto=http;host=internal`, `for="192.0.2.7"`},
			wantAddr: "198.51.100.1", wantHTTPS: true, wantHost: "chat.example"},
		{name: "Forwarded: scheme and host from the nearest element that has them", peer: "10.1.2.3:80",
			fwd: []string{"for=198.51.100.1, for=10.9.9.9;proto=https;host=chat.example"}, wantAddr: "198.51.100.1", wantHTTPS: true, wantHost: "chat.example"},
		{name: "Forwarded: every hop trusted", peer: "10.1.2.3:80",
			fwd: []string{"for=10.4.4.4;proto=https, for=10.5.5.5"}, wantAddr: "10.4.4.4", wantHTTPS: true},
		{name: "Forwarded: obfuscated identifier ends the walk", peer: "10.1.2.3:80",
			fwd: []string{"for=198.51.100.1, for=_hidden;proto=https, for=10.9.9.9"}, wantAddr: "10.9.9.9", wantHTTPS: true},
		{name: "Forwarded: unknown ends the walk", peer: "10.1.2.3:80",
			fwd: []string{"for=198.51.100.1, for=unknown"}, wantAddr: "10.1.2.3"},
		{name: "Forwarded: quoted obfuscated identifier with a port", peer: "10.1.2.3:80",
			fwd: []string{`for="_gazonk:_port"`}, wantAddr: "10.1.2.3"},
		{name: "Forwarded: unquoted IPv6 breaks the grammar", peer: "10.1.2.3:80",
			fwd: []string{"for=198.51.100.1, for=2001:db8::1"}, wantAddr: "10.1.2.3"},
		{name: "Forwarded: commas and semicolons inside quotes", peer: "10.1.2.3:80",
			fwd: []string{`for=198.51.100.1;ext="a,b;c", for=10.9.9.9`}, wantAddr: "198.51.100.1"},
		{name: "Forwarded: a repeated parameter spoils its element", peer: "10.1.2.3:80",
			fwd: []string{"for=198.51.100.1;for=10.9.9.9"}, wantAddr: "10.1.2.3"},
		{name: "Forwarded: unterminated quote", peer: "10.1.2.3:80",
			fwd: []string{`for="198.51.100.1`}, wantAddr: "10.1.2.3"},
		{name: "Forwarded: empty elements ignored", peer: "10.1.2.3:80",
			fwd: []string{" , for=198.51.100.1 ; proto=https ,, "}, wantAddr: "198.51.100.1", wantHTTPS: true},
		{name: "Forwarded: a host that is no host is ignored", peer: "10.1.2.3:80",
			fwd: []string{`for=198.51.100.1;host="evil.example/x y"`}, wantAddr: "198.51.100.1"},
		{name: "Forwarded wins over X-Forwarded-*", peer: "10.1.2.3:80",
			fwd: []string{"for=198.51.100.1"}, xff: []string{"203.0.113.9"}, proto: []string{"https"}, xfh: []string{"other.example"},
			wantAddr: "198.51.100.1"},
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
			for _, v := range tt.xfh {
				r.Header.Add("X-Forwarded-Host", v)
			}
			for _, v := range tt.fwd {
				r.Header.Add("Forwarded", v)
			}
			addr, https := trust.Client(r)
			if addr != tt.wantAddr || https != tt.wantHTTPS {
				t.Errorf("Client() = %q, https %v; want %q, https %v", addr, https, tt.wantAddr, tt.wantHTTPS)
			}
			if tt.wantHost == "" {
				tt.wantHost = "example.com"
			}
			if host := trust.Host(r); host != tt.wantHost {
				t.Errorf("Host() = %q, want %q", host, tt.wantHost)
			}
		})
	}

	// Nobody trusted: the headers never count.
	r := httptest.NewRequest("GET", "/", nil)
	r.RemoteAddr = "10.1.2.3:80"
	r.Header.Set("X-Forwarded-For", "198.51.100.1")
	r.Header.Set("X-Forwarded-Proto", "https")
	r.Header.Set("X-Forwarded-Host", "chat.example")
	r.Header.Set("Forwarded", "for=198.51.100.2;proto=https;host=chat.example")
	if addr, https := (Trust{}).Client(r); addr != "10.1.2.3" || https || (Trust{}).Host(r) != "example.com" {
		t.Errorf("with no trusted proxies: Client() = %q, https %v, Host() %q; want the peer over http, example.com", addr, https, (Trust{}).Host(r))
	}
}

func TestParseTrustedProxiesRefusesGarbage(t *testing.T) {
	for _, bad := range []string{"10.0.0.0/33", "example.com", "10.0.0.1/x", "fe80::1%eth0", "10.0.0", "/8"} {
		if _, err := Parse([]string{"127.0.0.1", bad}); err == nil || !strings.Contains(err.Error(), "trusted proxy") {
			t.Errorf("Parse(%q): err %v, want a clear error", bad, err)
		}
	}
}
