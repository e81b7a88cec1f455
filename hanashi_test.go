package hanashi_test

import (
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/hanashi-chat/hanashi"
)

func TestNewSortableID(t *testing.T) {
	t0 := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	seen := make(map[string]bool)
	prev := ""
	for i := range 1000 {
		id := hanashi.NewSortableID(t0.Add(time.Duration(i) * time.Millisecond))
		if len(id) != len(hanashi.NewID()) {
			t.Fatalf("id %q has length %d, want that of NewID", id, len(id))
		}
		if id <= prev {
			t.Fatalf("id %q made later does not sort after %q", id, prev)
		}
		if seen[id] {
			t.Fatalf("duplicate id %q", id)
		}
		seen[id], prev = true, id
	}
	// Within one millisecond the random part keeps them apart.
	a, b := hanashi.NewSortableID(t0), hanashi.NewSortableID(t0)
	if a == b {
		t.Fatalf("two ids in one millisecond are equal: %q", a)
	}
}

func TestDisplayName(t *testing.T) {
	long := strings.Repeat("x", hanashi.MaxNameLen+1)
	for _, c := range []struct {
		id   hanashi.Identity
		want string
	}{
		{hanashi.Identity{Name: "Alice Liddell", Email: "al@example.com"}, "Alice Liddell"},
		{hanashi.Identity{Name: "  Alice \t\n Liddell  "}, "Alice Liddell"},
		{hanashi.Identity{Email: "al@example.com"}, "al"},
		{hanashi.Identity{Name: " ", Email: "al@example.com"}, "al"},
		{hanashi.Identity{Email: "@example.com"}, "user"},
		{hanashi.Identity{Email: "not an address"}, "user"},
		{hanashi.Identity{}, "user"},
		{hanashi.Identity{Name: "a\x00b\x1bc\u202e\xffd"}, "abc\u202ed"},
		{hanashi.Identity{Name: long}, long[:hanashi.MaxNameLen]},
		// A space is not kept where no rune can follow it.
		{hanashi.Identity{Name: strings.Repeat("x", hanashi.MaxNameLen-1) + " y"}, strings.Repeat("x", hanashi.MaxNameLen-1)},
		{hanashi.Identity{Name: strings.Repeat("花", 100)}, strings.Repeat("花", hanashi.MaxNameLen)},
	} {
		got := c.id.DisplayName()
		if got != c.want {
			t.Errorf("DisplayName(%+v) = %q, want %q", c.id, got, c.want)
		}
		if n := utf8.RuneCountInString(got); n > hanashi.MaxNameLen || !utf8.ValidString(got) {
			t.Errorf("DisplayName(%+v) = %q: %d runes, valid UTF-8 %v", c.id, got, n, utf8.ValidString(got))
		}
	}
}

func TestNormalEmail(t *testing.T) {
	for in, want := range map[string]string{
		"alice@example.com":    "alice@example.com",
		" Alice@Example.COM\t": "alice@example.com",
		"ÅSA@例え.jp":            "åsa@例え.jp",
		"":                     "",
	} {
		if got := hanashi.NormalEmail(in); got != want {
			t.Errorf("NormalEmail(%q) = %q, want %q", in, got, want)
		}
	}
}
