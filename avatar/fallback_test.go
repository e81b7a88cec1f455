package avatar_test

import (
	"bytes"
	"image"
	"image/color"
	"image/png"
	"testing"

	"github.com/hanashi-chat/hanashi/avatar"
)

func TestGravatar(t *testing.T) {
	// The hash of "test@example.com", as `printf %s test@example.com |
	// sha256sum` prints it.
	const want = "https://www.gravatar.com/avatar/973dfe463ec85785f5f95af5ba3906eedb2d931c24e69824a89ea65dba4e813b?s=256&d=404"
	for _, email := range []string{"test@example.com", "  Test@Example.COM\n", "TEST@EXAMPLE.COM"} {
		if got := avatar.Gravatar(email); got != want {
			t.Errorf("Gravatar(%q) = %s, want %s", email, got, want)
		}
	}
	for _, email := range []string{"", "  "} {
		if got := avatar.Gravatar(email); got != "" {
			t.Errorf("Gravatar(%q) = %s, want \"\"", email, got)
		}
	}
	if avatar.Gravatar("a@example.com") == avatar.Gravatar("b@example.com") {
		t.Error("two addresses give one URL")
	}
}

func TestInitials(t *testing.T) {
	decode := func(b []byte) image.Image {
		t.Helper()
		img, err := png.Decode(bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		if img.Bounds() != image.Rect(0, 0, avatar.Size, avatar.Size) {
			t.Fatalf("image is %v", img.Bounds())
		}
		return img
	}
	// white counts the pixels that are mostly white: the letters.
	white := func(img image.Image) int {
		n := 0
		for y := range avatar.Size {
			for x := range avatar.Size {
				if r, g, b, _ := img.At(x, y).RGBA(); r > 0xc000 && g > 0xc000 && b > 0xc000 {
					n++
				}
			}
		}
		return n
	}

	alice := avatar.Initials("u1", "Alice Liddell")
	img := decode(alice)
	if n := white(img); n < 1000 {
		t.Errorf("%d white pixels; want letters", n)
	}
	if c := img.At(2, 2); c.(color.RGBA).A != 0xff {
		t.Errorf("corner %v is not opaque", c)
	}
	if !bytes.Equal(alice, avatar.Initials("u1", "Alice Liddell")) {
		t.Error("the same arguments give different images")
	}
	if bytes.Equal(alice, avatar.Initials("u1", "Bob")) {
		t.Error("another name gives the same image")
	}

	// Colours follow the seed: some of a few seeds differ.
	colours := make(map[color.Color]bool)
	for _, seed := range []string{"u1", "u2", "u3", "u4", "u5", "u6"} {
		colours[decode(avatar.Initials(seed, "x")).At(2, 2)] = true
	}
	if len(colours) < 2 {
		t.Error("six seeds give one colour")
	}

	// No letters, or none the font has: the square alone.
	for _, name := range []string{"", "   ", "!!!", "花子"} {
		if n := white(decode(avatar.Initials("u1", name))); n != 0 {
			t.Errorf("Initials(%q) has %d white pixels, want none", name, n)
		}
	}
}
