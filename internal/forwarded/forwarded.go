// Package forwarded tells who sent a request and over which scheme. Behind
// a reverse proxy the TCP peer of every request is the proxy, and TLS ends
// there: the client's address and scheme arrive in X-Forwarded-For and
// X-Forwarded-Proto. Anybody can send those headers, so they are believed
// only from the proxies the operator lists; everything here decides from
// that list alone, never from what a request says about itself.
//
// Both web (the origin checks) and auth (secure cookies, the rate limits of
// sign-in links) ask the same Trust, so they always agree.
package forwarded

import (
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// Trust is the list of trusted proxies. The zero value trusts nobody.
// It is immutable and safe for concurrent use.
type Trust struct {
	nets []netip.Prefix
}

// Parse reads addresses ("10.0.0.7", "::1") and CIDRs
// ("10.0.0.0/8", "fd00::/8"); empty entries are skipped.
func Parse(list []string) (Trust, error) {
	var p Trust
	for _, s := range list {
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		if strings.Contains(s, "/") {
			n, err := netip.ParsePrefix(s)
			if err != nil {
				return Trust{}, fmt.Errorf("trusted proxy %q: want an IP address or a CIDR such as 10.0.0.0/8", s)
			}
			p.nets = append(p.nets, n.Masked())
			continue
		}
		a, err := netip.ParseAddr(s)
		if err != nil || a.Zone() != "" {
			return Trust{}, fmt.Errorf("trusted proxy %q: want an IP address or a CIDR such as 10.0.0.0/8", s)
		}
		p.nets = append(p.nets, netip.PrefixFrom(a, a.BitLen()))
	}
	return p, nil
}

// trusts reports whether a is a trusted proxy. IPv4 addresses seen as
// IPv6 (::ffff:10.0.0.7, on a dual-stack listener) match IPv4 entries.
func (p Trust) trusts(a netip.Addr) bool {
	a = a.Unmap()
	for _, n := range p.nets {
		if n.Contains(a) {
			return true
		}
	}
	return false
}

// Client returns the address of the client that sent r and whether it
// reached the server over HTTPS. From an untrusted peer (or with no
// trusted proxies) that is the peer and whether r came over TLS; the
// forwarding headers are ignored. From a trusted proxy the address is the
// rightmost in X-Forwarded-For that is not itself a trusted proxy — each
// proxy appends the peer it saw, so entries left of the first untrusted
// one are whatever the client chose to send — and the scheme is the last
// value of X-Forwarded-Proto, the one the nearest proxy wrote.
func (p Trust) Client(r *http.Request) (addr string, https bool) {
	https = r.TLS != nil
	peer, ok := parseHostAddr(r.RemoteAddr)
	if !ok {
		host, _, err := net.SplitHostPort(r.RemoteAddr)
		if err != nil {
			return r.RemoteAddr, https
		}
		return host, https
	}
	peer = peer.Unmap()
	if !p.trusts(peer) {
		return peer.String(), https
	}
	if protos := r.Header.Values("X-Forwarded-Proto"); len(protos) > 0 {
		last := protos[len(protos)-1]
		if i := strings.LastIndexByte(last, ','); i >= 0 {
			last = last[i+1:]
		}
		switch strings.ToLower(strings.TrimSpace(last)) {
		case "https":
			https = true
		case "http":
			https = false
		}
	}
	client := peer
	hops := r.Header.Values("X-Forwarded-For")
	for i := len(hops) - 1; i >= 0; i-- {
		entries := strings.Split(hops[i], ",")
		for j := len(entries) - 1; j >= 0; j-- {
			a, ok := parseHostAddr(strings.TrimSpace(entries[j]))
			if !ok {
				// A trusted proxy passed on something that is not an
				// address: nothing left of it can be placed.
				return client.String(), https
			}
			client = a.Unmap()
			if !p.trusts(client) {
				return client.String(), https
			}
		}
	}
	// Every hop is a trusted proxy: the leftmost is the client.
	return client.String(), https
}

// parseHostAddr reads an IP address, with or without a port ("10.0.0.7",
// "10.0.0.7:4711", "[::1]:4711", "::1"), as RemoteAddr and the entries of
// X-Forwarded-For carry them.
func parseHostAddr(s string) (netip.Addr, bool) {
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap.Addr(), true
	}
	s = strings.TrimSuffix(strings.TrimPrefix(s, "["), "]")
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Addr{}, false
	}
	return a.WithZone(""), true
}

// ClientIP is the address the request came from, for rate limits and
// logs: the peer, or behind a trusted proxy the client it forwards for.
func (p Trust) ClientIP(r *http.Request) string {
	addr, _ := p.Client(r)
	return addr
}

// Secure reports whether the client reached the server over HTTPS: over
// TLS, or through a trusted proxy that says so. Cookies are then Secure
// and take the __Host- prefix, and the server's own origin is https.
func (p Trust) Secure(r *http.Request) bool {
	_, https := p.Client(r)
	return https
}
