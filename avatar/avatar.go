// Package avatar turns an uploaded picture into a safe avatar and keeps it:
// Process checks, decodes, crops, resizes and re-encodes an upload as a
// 256x256 PNG; Dir stores those PNGs under generated names; Gravatar and
// Initials give the fallbacks for users without an upload.
//
// The point of the pipeline is that nothing the client sent survives but
// pixels: the format is sniffed from the bytes (never from a file name or a
// Content-Type), only PNG, JPEG, GIF and WebP are decoded, the image header
// is checked before any pixel is decoded, and the output is a fresh PNG with
// no metadata, so a file that is also HTML, SVG or a script is never served
// back as one.
package avatar

import (
	"bytes"
	"fmt"
	"image"
	"image/gif"
	"image/jpeg"
	"image/png"
	"io"

	"golang.org/x/image/draw"
	"golang.org/x/image/webp"

	"github.com/hanashi-chat/hanashi"
)

// Limits on uploads and the size of what Process makes.
const (
	// MaxUploadBytes is the largest upload Process reads: 2 MiB.
	MaxUploadBytes = 2 << 20
	// MaxSide is the largest width or height an upload may declare.
	MaxSide = 8192
	// MaxPixels is the largest width x height an upload may declare. An
	// image is decoded whole before it is scaled, so this bounds the memory
	// one upload can take: 25 megapixels are 100 MB as 8-bit RGBA (200 MB at
	// 16 bits) however small the compressed file is.
	MaxPixels = 25_000_000
	// Size is the width and height of every processed avatar.
	Size = 256
)

// format is an image format Process accepts.
type format struct {
	name   string
	match  func(b []byte) bool
	config func(io.Reader) (image.Config, error)
	decode func(io.Reader) (image.Image, error)
}

// formats are the accepted formats. The decoder is the one chosen by the
// signature, never image.Decode's registry, so a file cannot be sniffed as
// one format and decoded as another.
var formats = []format{
	{"PNG", hasPrefix("\x89PNG\r\n\x1a\n"), png.DecodeConfig, png.Decode},
	{"JPEG", hasPrefix("\xff\xd8\xff"), jpeg.DecodeConfig, jpeg.Decode},
	{"GIF", func(b []byte) bool { return hasPrefix("GIF87a")(b) || hasPrefix("GIF89a")(b) }, gif.DecodeConfig, gif.Decode},
	{"WebP", func(b []byte) bool { return len(b) >= 12 && string(b[:4]) == "RIFF" && string(b[8:12]) == "WEBP" }, webp.DecodeConfig, webp.Decode},
}

func hasPrefix(sig string) func([]byte) bool {
	return func(b []byte) bool { return bytes.HasPrefix(b, []byte(sig)) }
}

// Process reads an uploaded image from r (at most MaxUploadBytes; it reads
// one byte more to tell an upload that is too large) and returns it as a
// Size x Size PNG: the largest centred square of the image (of the first
// frame of a GIF), scaled with Catmull-Rom. The PNG is encoded afresh, so no
// metadata (EXIF, comments, text chunks) and no trailing bytes of the upload
// survive. (The EXIF orientation of a JPEG is not applied either: a photo
// taken sideways stays sideways.) Process is safe for concurrent use.
//
// Its errors, and the HTTP status each code maps to in package web:
//
//   - hanashi.ETOOLARGE (413): the upload is over MaxUploadBytes, or its
//     header declares more than MaxSide pixels on a side or more than
//     MaxPixels in all (a "pixel flood"), checked before any pixel is
//     decoded; both are "over a limit", and the message says which.
//   - hanashi.EUNSUPPORTED (415): not a PNG, JPEG, GIF or WebP by its
//     signature, or it has one of those signatures but does not decode as
//     that format (a polyglot, a truncated or corrupt file).
//   - hanashi.EINVALID (400): the upload is empty.
//   - any other error (EINTERNAL, 500): reading r failed; the error wraps
//     r's error, so a caller can recognise its own (an
//     *http.MaxBytesError, a cancelled request).
func Process(r io.Reader) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, MaxUploadBytes+1))
	switch {
	case err != nil:
		return nil, fmt.Errorf("avatar: reading the upload: %w", err)
	case len(b) > MaxUploadBytes:
		return nil, hanashi.Errorf(hanashi.ETOOLARGE, "the image is larger than %d MiB", MaxUploadBytes>>20)
	case len(b) == 0:
		return nil, hanashi.Errorf(hanashi.EINVALID, "no image was sent")
	}
	var f *format
	for i := range formats {
		if formats[i].match(b) {
			f = &formats[i]
			break
		}
	}
	if f == nil {
		return nil, hanashi.Errorf(hanashi.EUNSUPPORTED, "only PNG, JPEG, GIF and WebP images are accepted")
	}

	// The header alone, before a single pixel is decoded: a few hundred
	// bytes may declare an image that would take gigabytes.
	cfg, err := f.config(bytes.NewReader(b))
	if err != nil {
		return nil, notA(f.name)
	}
	switch w, h := int64(cfg.Width), int64(cfg.Height); {
	case w <= 0 || h <= 0:
		return nil, notA(f.name)
	case w > MaxSide || h > MaxSide || w*h > MaxPixels:
		return nil, hanashi.Errorf(hanashi.ETOOLARGE, "the image is %dx%d pixels; at most %d on a side and %d megapixels in all are accepted", w, h, MaxSide, MaxPixels/1_000_000)
	}

	img, err := f.decode(bytes.NewReader(b))
	if err != nil {
		return nil, notA(f.name)
	}
	// Decoders check the pixels against the header they were given, but the
	// limits above are only as good as that: check what was decoded too.
	src := img.Bounds()
	if w, h := int64(src.Dx()), int64(src.Dy()); w <= 0 || h <= 0 || w > MaxSide || h > MaxSide || w*h > MaxPixels {
		return nil, notA(f.name)
	}

	side := min(src.Dx(), src.Dy())
	sq := image.Rect(0, 0, side, side).Add(src.Min).Add(image.Pt((src.Dx()-side)/2, (src.Dy()-side)/2))
	dst := image.NewRGBA(image.Rect(0, 0, Size, Size))
	draw.CatmullRom.Scale(dst, dst.Bounds(), img, sq, draw.Src, nil)

	var out bytes.Buffer
	if err := png.Encode(&out, dst); err != nil {
		return nil, fmt.Errorf("avatar: encoding PNG: %w", err)
	}
	return out.Bytes(), nil
}

func notA(format string) error {
	return hanashi.Errorf(hanashi.EUNSUPPORTED, "the file is not a valid %s image", format)
}
