package hanashi

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// Profile is what any signed-in user may see of another: what the members
// list and the profile card show.
type Profile struct {
	ID        UserID `json:"id"`
	Name      string `json:"name"`
	AvatarURL string `json:"avatar_url"`
	// Guest users cannot be messaged directly, nor message anybody.
	Guest    bool   `json:"guest"`
	TimeZone string `json:"time_zone"`
	// Disabled users cannot sign in, so nobody starts a conversation
	// with them.
	Disabled bool `json:"disabled,omitempty"`
}

// Profile returns the public part of u.
func (u User) Profile() Profile {
	return Profile{ID: u.ID, Name: u.Name, AvatarURL: u.AvatarURL, Guest: u.Guest, TimeZone: u.TimeZone, Disabled: u.Disabled}
}

// Limits of profiles and rooms.
const (
	MaxTimeZoneLen = 64  // bytes in a time zone name
	MaxTopicLen    = 250 // runes in a room's topic
)

// CheckTimeZone checks the name of a time zone as the IANA time zone
// database spells it ("Europe/Paris", "America/Argentina/Buenos_Aires",
// "Etc/GMT+5", "UTC"): components of ASCII letters, digits, '_', '-' and
// '+' separated by '/', each starting with a letter. "" (unknown) passes.
//
// It is a check of form only, on purpose. The server never computes with
// a zone, it only keeps the name for other clients, which turn it into a
// local time through their own zone data (Intl in browsers) and show none
// when it is unknown to them. Checking names against the zone database
// would need one on every node, and the same one everywhere, or a node
// would refuse what another accepts: embedding time/tzdata costs some
// 450 KB, and zones are added and renamed every year, so a server left
// unupgraded would refuse new ones that clients already know.
func CheckTimeZone(tz string) error {
	if tz == "" {
		return nil
	}
	bad := Errorf(EINVALID, "time_zone must be an IANA time zone name such as \"Europe/Paris\"")
	if len(tz) > MaxTimeZoneLen {
		return bad
	}
	for part := range strings.SplitSeq(tz, "/") {
		if part == "" || !isASCIILetter(part[0]) {
			return bad
		}
		for i := 0; i < len(part); i++ {
			c := part[i]
			if !isASCIILetter(c) && !('0' <= c && c <= '9') && c != '_' && c != '-' && c != '+' {
				return bad
			}
		}
	}
	return nil
}

func isASCIILetter(c byte) bool { return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' }

// CheckTopic checks a room's topic and returns it as stored: plain text on
// one line, with surrounding space trimmed and every run of white space
// (line breaks too) made one space, at most MaxTopicLen runes; "" clears
// it. Invalid UTF-8, control and invisible formatting characters are
// refused (EINVALID), but for the zero width joiner of emoji sequences.
func CheckTopic(topic string) (string, error) {
	if !utf8.ValidString(topic) {
		return "", Errorf(EINVALID, "topic must be text")
	}
	var b strings.Builder
	for i, word := range strings.Fields(topic) {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(word)
	}
	topic = b.String()
	if utf8.RuneCountInString(topic) > MaxTopicLen {
		return "", Errorf(EINVALID, "topic is longer than %d characters", MaxTopicLen)
	}
	for _, c := range topic {
		// The zero width joiner is formatting, and part of many emoji.
		if unicode.IsControl(c) || unicode.Is(unicode.Cf, c) && c != '\u200d' {
			return "", Errorf(EINVALID, "topic contains control or invisible formatting characters")
		}
	}
	return topic, nil
}
