// Package forwarded tells who sent a request, over which scheme and to
// which host. Behind a reverse proxy the TCP peer of every request is the
// proxy, and TLS ends there: the client's address, scheme and host arrive
// in Forwarded (RFC 7239) or in X-Forwarded-For, -Proto and -Host. Anybody
// can send those headers, so they are believed only from the proxies the
// operator lists; everything here decides from that list alone, never
// from what a request says about itself.
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
// reached the server over HTTPS (see Trust.resolve).
func (p Trust) Client(r *http.Request) (addr string, https bool) {
	c := p.resolve(r)
	return c.addr, c.https
}

// Host returns the host (and port) the client asked for: r.Host, or
// behind a trusted proxy what the proxy says the client asked for
// (Forwarded's host=, X-Forwarded-Host), when it says so.
func (p Trust) Host(r *http.Request) string {
	return p.resolve(r).host
}

// client is what resolve tells of a request's client.
type client struct {
	addr  string
	https bool
	host  string
}

// resolve tells who sent r, over which scheme, to which host. From an
// untrusted peer (or with no trusted proxies) that is the peer, whether r
// came over TLS, and r.Host; the forwarding headers are ignored. From a
// trusted proxy they are read: Forwarded (RFC 7239) when the request has
// one, X-Forwarded-For, -Proto and -Host otherwise, never a mix.
//
// The address is found by walking the hops from the right, the one the
// nearest proxy appended, skipping trusted proxies: each proxy appends the
// peer it saw, so the first untrusted hop is the client, and what is left
// of it is whatever the client chose to send. A hop that is not an address
// (an obfuscated identifier such as "_hidden", "unknown", garbage) ends
// the walk: nothing left of it can be placed, and the client is the last
// trusted hop.
func (p Trust) resolve(r *http.Request) client {
	c := client{https: r.TLS != nil, host: r.Host}
	peer, ok := parseHostAddr(r.RemoteAddr)
	if !ok {
		c.addr = r.RemoteAddr
		if host, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
			c.addr = host
		}
		return c
	}
	peer = peer.Unmap()
	c.addr = peer.String()
	if !p.trusts(peer) {
		return c
	}
	if fwd := r.Header.Values("Forwarded"); len(fwd) > 0 {
		p.walkForwarded(&c, peer, parseForwarded(fwd))
		return c
	}
	// X-Forwarded-Proto and -Host: the last value, the one the nearest
	// proxy wrote.
	switch strings.ToLower(lastValue(r.Header.Values("X-Forwarded-Proto"))) {
	case "https":
		c.https = true
	case "http":
		c.https = false
	}
	if h := lastValue(r.Header.Values("X-Forwarded-Host")); validHost(h) {
		c.host = h
	}
	var hops []string
	for _, line := range r.Header.Values("X-Forwarded-For") {
		hops = append(hops, strings.Split(line, ",")...)
	}
	client := peer
	for i := len(hops) - 1; i >= 0; i-- {
		a, ok := parseHostAddr(strings.TrimSpace(hops[i]))
		if !ok {
			break
		}
		client = a.Unmap()
		if !p.trusts(client) {
			break
		}
	}
	// Every hop a trusted proxy: the leftmost is the client.
	c.addr = client.String()
	return c
}

// walkForwarded finds the client among the elements of Forwarded headers,
// each appended by one proxy: for= is the peer that proxy saw, proto= and
// host= what that peer asked it for. The scheme and host are those of the
// element the walk ends at, the one naming the client (or, when the walk
// stops early, the last one a trusted proxy wrote), or failing that of the
// nearest element to its right that has them: all were written by trusted
// proxies.
func (p Trust) walkForwarded(c *client, peer netip.Addr, elems []fwdElement) {
	client := peer
	end := -1 // the element the walk ended at
	for i := len(elems) - 1; i >= 0; i-- {
		end = i
		a, ok := parseNode(elems[i].forNode)
		if !ok {
			break
		}
		client = a
		if !p.trusts(client) {
			break
		}
	}
	c.addr = client.String()
	protoSet, hostSet := false, false
	for i := end; i >= 0 && i < len(elems); i++ {
		e := elems[i]
		if !protoSet && e.proto != "" {
			switch strings.ToLower(e.proto) {
			case "https":
				c.https, protoSet = true, true
			case "http":
				c.https, protoSet = false, true
			}
		}
		if !hostSet && validHost(e.host) {
			c.host, hostSet = e.host, true
		}
	}
}

// lastValue is the last comma-separated value of a header's lines,
// trimmed.
func lastValue(lines []string) string {
	if len(lines) == 0 {
		return ""
	}
	last := lines[len(lines)-1]
	if i := strings.LastIndexByte(last, ','); i >= 0 {
		last = last[i+1:]
	}
	return strings.TrimSpace(last)
}

// validHost accepts a host[:port] as a Host header may hold, and nothing
// that could smuggle a path, user info or spaces into an origin compared
// with it.
func validHost(h string) bool {
	if h == "" || len(h) > 255 {
		return false
	}
	for i := 0; i < len(h); i++ {
		switch c := h[i]; {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case c == '-', c == '.', c == ':', c == '[', c == ']', c == '_':
		default:
			return false
		}
	}
	return true
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
