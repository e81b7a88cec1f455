package forwarded

import (
	"net/netip"
	"strings"
)

// fwdElement is one element of a Forwarded header: what one proxy says
// about the request it received. Values are unquoted; absent ones are "".
type fwdElement struct {
	forNode, proto, host string
}

// parseForwarded reads the elements of Forwarded header lines, in order
// (RFC 7239 section 4):
//
//	Forwarded         = 1#forwarded-element
//	forwarded-element = [ forwarded-pair ] *( ";" [ forwarded-pair ] )
//	forwarded-pair    = token "=" value
//	value             = token / quoted-string
//
// Parameter names are case-insensitive; other parameters than for, proto
// and host are skipped; empty elements are ignored, as in every HTTP list.
// An element that breaks the grammar, or repeats a parameter, is kept with
// nothing in it, so that a walk over the hops stops there: what is left of
// it cannot be placed.
func parseForwarded(lines []string) []fwdElement {
	var out []fwdElement
	for _, line := range lines {
		var (
			e     fwdElement
			pairs int
			bad   bool
			seen  [3]bool // for, proto, host
		)
		end := func() {
			switch {
			case bad:
				out = append(out, fwdElement{})
			case pairs > 0:
				out = append(out, e)
			}
			e, pairs, bad, seen = fwdElement{}, 0, false, [3]bool{}
		}
		for i := 0; ; {
			i = skipSpace(line, i)
			if i >= len(line) {
				end()
				break
			}
			switch line[i] {
			case ',':
				end()
				i++
				continue
			case ';':
				i++
				continue
			}
			j := i
			for j < len(line) && isTokenChar(line[j]) {
				j++
			}
			name := strings.ToLower(line[i:j])
			if name == "" || j >= len(line) || line[j] != '=' {
				bad = true
				i = skipElement(line, j)
				continue
			}
			value, next, ok := readValue(line, j+1)
			if !ok {
				bad = true
				i = skipElement(line, next)
				continue
			}
			i = next
			pairs++
			k := -1
			switch name {
			case "for":
				k, e.forNode = 0, value
			case "proto":
				k, e.proto = 1, value
			case "host":
				k, e.host = 2, value
			}
			if k >= 0 {
				bad = bad || seen[k]
				seen[k] = true
			}
		}
	}
	return out
}

// readValue reads a token or a quoted string at line[i:], and returns it
// and where it ends.
func readValue(line string, i int) (value string, next int, ok bool) {
	if i < len(line) && line[i] == '"' {
		var b strings.Builder
		for i++; i < len(line); i++ {
			switch c := line[i]; c {
			case '"':
				return b.String(), i + 1, true
			case '\\':
				i++
				if i >= len(line) {
					return "", i, false
				}
				b.WriteByte(line[i])
			default:
				b.WriteByte(c)
			}
		}
		return "", i, false // unterminated
	}
	j := i
	for j < len(line) && isTokenChar(line[j]) {
		j++
	}
	if j == i {
		return "", j, false
	}
	// The value must end the pair.
	if k := skipSpace(line, j); k < len(line) && line[k] != ';' && line[k] != ',' {
		return "", j, false
	}
	return line[i:j], j, true
}

// skipElement returns where the element that line[i:] is in ends: at the
// next comma outside a quoted string, or the end of the line.
func skipElement(line string, i int) int {
	quoted := false
	for ; i < len(line); i++ {
		switch line[i] {
		case '\\':
			if quoted {
				i++
			}
		case '"':
			quoted = !quoted
		case ',':
			if !quoted {
				return i
			}
		}
	}
	return i
}

func skipSpace(s string, i int) int {
	for i < len(s) && (s[i] == ' ' || s[i] == '\t') {
		i++
	}
	return i
}

// isTokenChar reports whether c may be in an HTTP token (RFC 9110
// section 5.6.2).
func isTokenChar(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	return strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0
}

// parseNode reads the address of a for= value (RFC 7239 section 6): an
// IPv4 address or a bracketed IPv6 address, either with an optional port.
// "unknown" and obfuscated identifiers ("_hidden") are not addresses.
func parseNode(node string) (netip.Addr, bool) {
	host := node
	if rest, ok := strings.CutPrefix(node, "["); ok {
		h, port, ok := strings.Cut(rest, "]")
		if !ok || (port != "" && !strings.HasPrefix(port, ":")) {
			return netip.Addr{}, false
		}
		host = h
		a, err := netip.ParseAddr(host)
		if err != nil || !a.Is6() || a.Zone() != "" {
			return netip.Addr{}, false
		}
		return a.Unmap(), true
	}
	host, _, _ = strings.Cut(node, ":")
	a, err := netip.ParseAddr(host)
	if err != nil || !a.Is4() {
		return netip.Addr{}, false
	}
	return a, true
}
