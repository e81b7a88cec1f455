package hanashi_test

import (
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/hanashi-chat/hanashi"
)

func TestMentionNames(t *testing.T) {
	for _, c := range []struct {
		body  string
		names [][]string
		room  bool
	}{
		{"hello", nil, false},
		{"@bob", [][]string{{"bob"}}, false},
		{"hi @Bob!", [][]string{{"bob", "bob!"}}, false},
		{"@Ann Lee, hi", [][]string{{"ann", "ann lee", "ann lee,", "ann lee, hi"}}, false},
		{"@J. Doe", [][]string{{"j", "j.", "j. doe"}}, false},
		{"a@b.c", nil, false},
		{"_@x", nil, false},
		{"(@x)", [][]string{{"x", "x)"}}, false},
		{"@ x", nil, false},
		{"@", nil, false},
		{"@@x", [][]string{{"@x"}, {"x"}}, false}, // either @ may start a name
		{"@x\ny", [][]string{{"x"}}, false},
		{"@room", nil, true},
		{"@ROOM: @bob", [][]string{{"bob"}}, true},
		{"@roomy", [][]string{{"roomy"}}, false},
		{"@花子 さん", [][]string{{"花子", "花子 さん"}}, false},
		{"@Ülice", [][]string{{"Ülice"}}, false},
	} {
		names, room := hanashi.MentionNames(c.body)
		if !slices.EqualFunc(names, c.names, slices.Equal) || room != c.room {
			t.Errorf("MentionNames(%q) = %q, %v; want %q, %v", c.body, names, room, c.names, c.room)
		}
	}

	// Names are at most MaxNameLen runes, and only MaxMentionAts @s count.
	long := "@" + strings.Repeat("é", hanashi.MaxNameLen+10)
	if names, _ := hanashi.MentionNames(long); len(names) != 0 {
		t.Errorf("MentionNames(a name too long) = %q, want none", names)
	}
	exact := "@" + strings.Repeat("é", hanashi.MaxNameLen) + " x"
	if names, _ := hanashi.MentionNames(exact); len(names) != 1 || len(names[0]) != 1 ||
		utf8.RuneCountInString(names[0][0]) != hanashi.MaxNameLen {
		t.Errorf("MentionNames(a name of MaxNameLen) = %q, want that name only", names)
	}
	many := strings.Repeat("@a ", 3*hanashi.MaxMentionAts)
	if names, _ := hanashi.MentionNames(many); len(names) != hanashi.MaxMentionAts {
		t.Errorf("MentionNames(%d @s) found %d, want %d", 3*hanashi.MaxMentionAts, len(names), hanashi.MaxMentionAts)
	}
}

func TestNameKey(t *testing.T) {
	if got := hanashi.NameKey("Ann LEE Ölaf 花子"); got != "ann lee Ölaf 花子" {
		t.Errorf("NameKey = %q, want only ASCII letters lowered", got)
	}
}

func TestDirectRoomName(t *testing.T) {
	if got := hanashi.DirectRoomName([]string{"carol", "Bob", "alice", "bob"}); got != "alice, Bob, bob, carol" {
		t.Errorf("DirectRoomName = %q", got)
	}
	var names []string
	for range hanashi.MaxDirectMembers {
		names = append(names, strings.Repeat("x", 20))
	}
	got := hanashi.DirectRoomName(names)
	if utf8.RuneCountInString(got) > hanashi.MaxNameLen || !strings.HasSuffix(got, "…") {
		t.Errorf("DirectRoomName(long names) = %q, want at most %d runes ending in an ellipsis", got, hanashi.MaxNameLen)
	}
}

func TestPostValidate(t *testing.T) {
	for _, c := range []struct {
		p    hanashi.Post
		code string
	}{
		{hanashi.Post{Body: "hi"}, ""},
		{hanashi.Post{Body: ""}, ""}, // stores take blank messages; entry points refuse them
		{hanashi.Post{Kind: hanashi.KindMessage, Thread: "root", Body: "a reply"}, ""},
		{hanashi.Post{Body: strings.Repeat("x", hanashi.MaxBodyBytes+1)}, hanashi.ETOOLARGE},
		{hanashi.Post{Body: "\x00"}, hanashi.EINVALID},
		{hanashi.Post{Body: "x", ClientID: "\xff"}, hanashi.EINVALID},
		{hanashi.Post{Kind: hanashi.KindEdit, Target: "m", Body: "new"}, ""},
		{hanashi.Post{Kind: hanashi.KindEdit, Target: "m", Body: " "}, hanashi.EINVALID},
		{hanashi.Post{Kind: hanashi.KindDelete, Target: "m"}, ""},
		{hanashi.Post{Kind: hanashi.KindDelete}, hanashi.EINVALID},
		{hanashi.Post{Kind: hanashi.KindReact, Target: "m", Emoji: "👍"}, ""},
		{hanashi.Post{Kind: hanashi.KindUnreact, Target: "m", Emoji: ":+1:"}, ""},
		{hanashi.Post{Kind: hanashi.KindReact, Target: "m", Emoji: "a b"}, hanashi.EINVALID},
		{hanashi.Post{Kind: hanashi.KindReact, Target: "m", Emoji: "\u200b\u0007"}, hanashi.EINVALID},
		{hanashi.Post{Kind: hanashi.KindRoom, Body: "x"}, hanashi.EINVALID},
		{hanashi.Post{Kind: "other"}, hanashi.EINVALID},
	} {
		if got := hanashi.ErrorCode(c.p.Validate()); got != c.code {
			t.Errorf("Validate(%+v) = code %q, want %q", c.p, got, c.code)
		}
	}
}
