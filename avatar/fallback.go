package avatar

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"image"
	"image/color"
	"image/png"
	"strings"
	"unicode"

	"golang.org/x/image/draw"
	"golang.org/x/image/font"
	"golang.org/x/image/font/gofont/gobold"
	"golang.org/x/image/font/opentype"
	"golang.org/x/image/math/fixed"
)

// Gravatar returns the URL of the Gravatar image for an e-mail address: the
// SHA-256 of the address, trimmed and in lower case, as Gravatar documents.
// The URL asks for Size pixels and for a 404 (d=404) when the address has
// no Gravatar, so a client can fall back to the next source (Initials)
// instead of showing Gravatar's default picture. It returns "" for an
// empty address. It makes no request.
func Gravatar(email string) string {
	email = strings.ToLower(strings.TrimSpace(email))
	if email == "" {
		return ""
	}
	sum := sha256.Sum256([]byte(email))
	return "https://www.gravatar.com/avatar/" + hex.EncodeToString(sum[:]) + "?s=256&d=404"
}

// Initials returns a Size x Size PNG: a square in a colour chosen by a hash
// of seed (a user id, so the colour stays when the user is renamed) with
// the initials of name in white: the first letter of its first word and of
// its last, in upper case. A name with no letter, or with a letter the
// built-in font lacks (it covers Latin, Greek and Cyrillic), gives the
// square alone. The same arguments always give the same bytes.
func Initials(seed, name string) []byte {
	img := image.NewRGBA(image.Rect(0, 0, Size, Size))
	draw.Draw(img, img.Bounds(), image.NewUniform(colorOf(seed)), image.Point{}, draw.Src)
	if text := initials(name); text != "" {
		drawCentred(img, text)
	}
	var out bytes.Buffer
	if err := png.Encode(&out, img); err != nil {
		panic("avatar: encoding an image into memory failed: " + err.Error()) // cannot happen
	}
	return out.Bytes()
}

// palette holds colours dark enough for white letters to read on them.
var palette = [...]color.RGBA{
	{0xc6, 0x28, 0x28, 0xff}, {0xad, 0x14, 0x57, 0xff}, {0x6a, 0x1b, 0x9a, 0xff},
	{0x45, 0x27, 0xa0, 0xff}, {0x28, 0x35, 0x93, 0xff}, {0x15, 0x65, 0xc0, 0xff},
	{0x00, 0x69, 0x7c, 0xff}, {0x00, 0x79, 0x6b, 0xff}, {0x2e, 0x7d, 0x32, 0xff},
	{0x55, 0x8b, 0x2f, 0xff}, {0xbf, 0x36, 0x0c, 0xff}, {0x4e, 0x34, 0x2e, 0xff},
	{0x37, 0x47, 0x4f, 0xff},
}

func colorOf(seed string) color.RGBA {
	sum := sha256.Sum256([]byte(seed))
	return palette[int(sum[0])%len(palette)]
}

// initials returns up to two upper-case letters from name.
func initials(name string) string {
	words := strings.FieldsFunc(name, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) })
	var out []rune
	for i, w := range words {
		if i == 0 || i == len(words)-1 {
			out = append(out, unicode.ToUpper([]rune(w)[0]))
		}
	}
	return string(out)
}

// drawCentred draws text in white, centred on img, or nothing if the font
// lacks one of its letters.
func drawCentred(img *image.RGBA, text string) {
	f, err := opentype.Parse(gobold.TTF)
	if err != nil {
		return // the embedded font is known to parse
	}
	face, err := opentype.NewFace(f, &opentype.FaceOptions{Size: 104, DPI: 72, Hinting: font.HintingFull})
	if err != nil {
		return
	}
	defer face.Close()
	for _, r := range text {
		if _, ok := face.GlyphAdvance(r); !ok {
			return
		}
	}
	d := font.Drawer{Dst: img, Src: image.White, Face: face}
	width := d.MeasureString(text)
	capHeight := face.Metrics().CapHeight
	if capHeight <= 0 {
		capHeight = face.Metrics().Ascent * 7 / 10
	}
	d.Dot = fixed.Point26_6{
		X: (fixed.I(Size) - width) / 2,
		Y: (fixed.I(Size) + capHeight) / 2,
	}
	d.DrawString(text)
}
