package hanashi

import (
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Identity is a person as an identity provider vouches for them: who they are
// at the provider (Provider, Subject) and what the provider says about them.
// Store.SignIn links every identity to one user.
//
// Provider is the name the server gives the provider ("github", "google",
// "dex", ...); "email" is the provider of e-mail sign-in links, whose Subject
// is the address in normal form (see NormalEmail) and whose EmailVerified is
// true, since following the link proves the address.
type Identity struct {
	Provider string
	Subject  string
	// Email is the address the provider gives, if any; EmailVerified says
	// whether the provider vouches that it belongs to the person. Only a
	// verified address links identities of different providers to one user.
	Email         string
	EmailVerified bool
	Name          string // display name from the provider, if any
	Picture       string // picture URL from the provider, if any
}

// EmailProvider is the Identity.Provider of e-mail sign-in links.
const EmailProvider = "email"

// DisplayName returns the name a new user signing in with id starts with:
// id.Name, else the local part of id.Email, else "user". It is cut to
// MaxNameLen runes, with invalid UTF-8, control characters and surrounding
// space removed, so that whatever a provider sends is a name every store can
// keep.
func (id Identity) DisplayName() string {
	for _, s := range []string{id.Name, localPart(id.Email)} {
		if n := cleanName(s); n != "" {
			return n
		}
	}
	return "user"
}

func localPart(email string) string {
	local, _, ok := strings.Cut(email, "@")
	if !ok {
		return ""
	}
	return local
}

// cleanName returns s without invalid UTF-8 and control characters, with
// runs of space made single and trimmed, and cut to MaxNameLen runes.
func cleanName(s string) string {
	var b strings.Builder
	n, space := 0, false
runes:
	for _, r := range s {
		switch {
		case r == utf8.RuneError, unicode.IsControl(r):
			continue
		case unicode.IsSpace(r):
			space = n > 0 // leading space is dropped
			continue
		}
		if space {
			if n+2 > MaxNameLen { // no room for the space and a rune
				break runes
			}
			b.WriteByte(' ')
			n, space = n+1, false
		}
		if n == MaxNameLen {
			break runes
		}
		b.WriteRune(r)
		n++
	}
	return b.String()
}

// NormalEmail returns the normal form of an e-mail address as the store
// keeps and compares it: without surrounding space, in lower case. (Strictly
// only the domain is case-insensitive, but no mail system that matters
// treats local parts differently, and two accounts for Alice@ and alice@
// would be worse.) It does not check that s is an address.
func NormalEmail(s string) string {
	return strings.ToLower(strings.TrimSpace(s))
}

// LoginToken is a single-use e-mail sign-in link as the store keeps it.
// Like a session token, the token itself is never stored: only its SHA-256
// hash is.
type LoginToken struct {
	Hash      []byte
	Email     string // the address the link was sent to; stored in normal form
	IP        string // the client that asked for the link, for rate limits
	ExpiresAt time.Time
}

// ProfileUpdate changes what a user may change about themselves. A nil field
// leaves its value as it is. The store keeps the values as given: names are
// checked by the web layer, and AvatarURL is the avatar the web layer
// resolved from the user's sources.
type ProfileUpdate struct {
	Name         *string
	AvatarUpload *string
	AvatarURL    *string
	// TimeZone is an IANA zone name checked by CheckTimeZone, or "".
	TimeZone *string
}

// RevocationPage is the most entries Store.RevokedSessions returns at once.
const RevocationPage = 1000

// RevocationRetention is how long the store keeps an entry of the revocation
// log at least. A node that falls further behind misses entries: sessions
// revoked that long ago have no live sockets left to close anyway, unless the
// node was cut off from the store for a day.
const RevocationRetention = 24 * time.Hour

// LoginTokenRetention is how long the store keeps a login token after it
// expired, used or not. Store.CountLoginTokens counts tokens made since any
// time within that window.
const LoginTokenRetention = 24 * time.Hour
