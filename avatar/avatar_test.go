package avatar_test

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"hash/crc32"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"image/png"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hanashi-chat/hanashi"
	"github.com/hanashi-chat/hanashi/avatar"
)

// picture returns a w x h image: red on the left third, green in the middle
// and blue on the right, so a test can see the centred crop.
func picture(w, h int) *image.NRGBA {
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			c := color.NRGBA{0, 0xff, 0, 0xff}
			switch {
			case x < w/3:
				c = color.NRGBA{0xff, 0, 0, 0xff}
			case x >= w-w/3:
				c = color.NRGBA{0, 0, 0xff, 0xff}
			}
			img.SetNRGBA(x, y, c)
		}
	}
	return img
}

func encodePNG(t testing.TB, img image.Image) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func encodeJPEG(t testing.TB, img image.Image) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, &jpeg.Options{Quality: 95}); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func encodeGIF(t testing.TB, frames ...image.Image) []byte {
	t.Helper()
	g := &gif.GIF{}
	for _, f := range frames {
		p := image.NewPaletted(f.Bounds(), color.Palette{color.Black, color.White,
			color.RGBA{0xff, 0, 0, 0xff}, color.RGBA{0, 0xff, 0, 0xff}, color.RGBA{0, 0, 0xff, 0xff}})
		for y := f.Bounds().Min.Y; y < f.Bounds().Max.Y; y++ {
			for x := f.Bounds().Min.X; x < f.Bounds().Max.X; x++ {
				p.Set(x, y, f.At(x, y))
			}
		}
		g.Image = append(g.Image, p)
		g.Delay = append(g.Delay, 10)
	}
	var b bytes.Buffer
	if err := gif.EncodeAll(&b, g); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// pngChunk returns one PNG chunk: length, type, data and CRC.
func pngChunk(typ string, data []byte) []byte {
	b := binary.BigEndian.AppendUint32(nil, uint32(len(data)))
	b = append(b, typ...)
	b = append(b, data...)
	return binary.BigEndian.AppendUint32(b, crc32.ChecksumIEEE(append([]byte(typ), data...)))
}

const pngSignature = "\x89PNG\r\n\x1a\n"

// withPNGChunk inserts chunk right after the IHDR chunk of a PNG.
func withPNGChunk(p, chunk []byte) []byte {
	at := len(pngSignature) + 8 + 13 + 4 // signature, IHDR length+type, data, CRC
	return append(append(append([]byte(nil), p[:at]...), chunk...), p[at:]...)
}

// bitWriter writes bits least significant first, as VP8L reads them.
type bitWriter struct {
	buf []byte
	n   uint
}

func (w *bitWriter) write(v uint32, bits uint) {
	for i := range bits {
		if w.n%8 == 0 {
			w.buf = append(w.buf, 0)
		}
		w.buf[len(w.buf)-1] |= byte(v>>i&1) << (w.n % 8)
		w.n++
	}
}

// solidWebP returns a lossless WebP (VP8L) of w x h pixels of colour c, built
// bit by bit after the VP8L bitstream specification (RFC 9649): a header,
// no transforms, no colour cache, no meta prefix codes, then the five prefix
// codes (green, red, blue, alpha, distance) each as a "simple" code with a
// single symbol. A code with one symbol takes zero bits per use, so the
// pixels themselves need no bits at all: every pixel is the literal c.
// w and h go up to 16384, so it makes pixel floods too.
func solidWebP(w, h int, c color.NRGBA) []byte {
	var bw bitWriter
	bw.write(0x2f, 8) // VP8L signature
	bw.write(uint32(w-1), 14)
	bw.write(uint32(h-1), 14)
	bw.write(0, 1) // alpha_is_used: a hint only
	bw.write(0, 3) // version
	bw.write(0, 1) // no transform
	bw.write(0, 1) // no colour cache
	bw.write(0, 1) // no meta prefix codes
	for _, sym := range []uint8{c.G, c.R, c.B, c.A, 0} {
		bw.write(1, 1) // simple code
		bw.write(0, 1) // one symbol
		bw.write(1, 1) // of 8 bits
		bw.write(uint32(sym), 8)
	}
	data := bw.buf
	var b []byte
	b = append(b, "RIFF"...)
	size := 4 + 8 + len(data) + len(data)%2
	b = binary.LittleEndian.AppendUint32(b, uint32(size))
	b = append(b, "WEBPVP8L"...)
	b = binary.LittleEndian.AppendUint32(b, uint32(len(data)))
	b = append(b, data...)
	if len(data)%2 == 1 {
		b = append(b, 0)
	}
	return b
}

// decodeOutput checks that out is a Size x Size PNG made of nothing but
// IHDR, IDAT and IEND chunks, and returns the image.
func decodeOutput(t *testing.T, out []byte) image.Image {
	t.Helper()
	if !bytes.HasPrefix(out, []byte(pngSignature)) {
		t.Fatalf("output is not a PNG: % x", out[:min(len(out), 16)])
	}
	for rest := out[len(pngSignature):]; len(rest) > 0; {
		if len(rest) < 12 {
			t.Fatalf("truncated chunk at the end of the output")
		}
		n := binary.BigEndian.Uint32(rest)
		typ := string(rest[4:8])
		if typ != "IHDR" && typ != "IDAT" && typ != "IEND" {
			t.Errorf("output has a %s chunk; want only IHDR, IDAT and IEND", typ)
		}
		rest = rest[12+n:]
	}
	img, err := png.Decode(bytes.NewReader(out))
	if err != nil {
		t.Fatalf("output does not decode: %v", err)
	}
	if b := img.Bounds(); b != image.Rect(0, 0, avatar.Size, avatar.Size) {
		t.Fatalf("output is %v, want %dx%d", b, avatar.Size, avatar.Size)
	}
	return img
}

func near(a, b color.Color) bool {
	ar, ag, ab, aa := a.RGBA()
	br, bg, bb, ba := b.RGBA()
	d := func(x, y uint32) bool { return x-y < 0x1800 || y-x < 0x1800 }
	return d(ar, br) && d(ag, bg) && d(ab, bb) && d(aa, ba)
}

func TestProcessFormats(t *testing.T) {
	red := color.NRGBA{0xff, 0, 0, 0xff}
	green := color.NRGBA{0, 0xff, 0, 0xff}
	blue := color.NRGBA{0, 0, 0xff, 0xff}
	redFrame := image.NewNRGBA(image.Rect(0, 0, 40, 40))
	blueFrame := image.NewNRGBA(image.Rect(0, 0, 40, 40))
	for y := range 40 {
		for x := range 40 {
			redFrame.SetNRGBA(x, y, red)
			blueFrame.SetNRGBA(x, y, blue)
		}
	}
	tests := []struct {
		name   string
		in     []byte
		centre color.Color // at the centre of the output
		left   color.Color // near its left edge
	}{
		// A 600x200 picture cropped to its centre third: all green.
		{"PNG wide", encodePNG(t, picture(600, 200)), green, green},
		// A 300x300 picture is not cropped: red at the left.
		{"PNG square", encodePNG(t, picture(300, 300)), green, red},
		{"PNG tall", encodePNG(t, picture(90, 500)), green, red},
		{"PNG 1x1", encodePNG(t, picture(1, 1)), green, green},
		{"JPEG", encodeJPEG(t, picture(300, 300)), green, red},
		{"GIF", encodeGIF(t, picture(300, 300)), green, red},
		{"GIF first frame", encodeGIF(t, redFrame, blueFrame), red, red},
		{"WebP 1x1", solidWebP(1, 1, blue), blue, blue},
		{"WebP 300x200", solidWebP(300, 200, red), red, red},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := avatar.Process(bytes.NewReader(tt.in))
			if err != nil {
				t.Fatalf("Process: %v", err)
			}
			img := decodeOutput(t, out)
			if c := img.At(avatar.Size/2, avatar.Size/2); !near(c, tt.centre) {
				t.Errorf("centre is %v, want %v", c, tt.centre)
			}
			if c := img.At(8, avatar.Size/2); !near(c, tt.left) {
				t.Errorf("left edge is %v, want %v", c, tt.left)
			}
		})
	}
}

func TestProcessStripsMetadata(t *testing.T) {
	const secret = "SECRET-GPS-48.8584N-2.2945E"
	// A PNG with text chunks, and HTML after its end.
	p := withPNGChunk(encodePNG(t, picture(64, 64)), pngChunk("tEXt", []byte("Comment\x00"+secret)))
	p = withPNGChunk(p, pngChunk("iTXt", []byte("XML:com.adobe.xmp\x00\x00\x00\x00\x00<x:xmpmeta>"+secret+"</x:xmpmeta>")))
	p = append(p, "<html><script>alert(1)</script></html>"...)
	// A JPEG with an EXIF segment and a comment.
	j := encodeJPEG(t, picture(64, 64))
	exif := append([]byte("Exif\x00\x00MM\x00\x2a\x00\x00\x00\x08"), secret...)
	app1 := append([]byte{0xff, 0xe1, 0, 0}, exif...)
	binary.BigEndian.PutUint16(app1[2:], uint16(len(exif)+2))
	com := append([]byte{0xff, 0xfe, 0, 0}, secret...)
	binary.BigEndian.PutUint16(com[2:], uint16(len(secret)+2))
	j = append(append(append(j[:2:2], app1...), com...), j[2:]...)
	// A GIF with a comment extension after the header.
	g := encodeGIF(t, picture(64, 64))
	comment := append([]byte{0x21, 0xfe, byte(len(secret))}, secret...)
	comment = append(comment, 0)
	at := bytes.Index(g, []byte{0x21, 0xf9}) // before the graphic control extension
	g = append(append(append([]byte(nil), g[:at]...), comment...), g[at:]...)

	for name, in := range map[string][]byte{"PNG": p, "JPEG": j, "GIF": g} {
		t.Run(name, func(t *testing.T) {
			if !bytes.Contains(in, []byte(secret)) {
				t.Fatal("the input lacks the secret")
			}
			out, err := avatar.Process(bytes.NewReader(in))
			if err != nil {
				t.Fatalf("Process: %v", err)
			}
			decodeOutput(t, out)
			for _, s := range []string{secret, "<script>", "Exif", "Comment"} {
				if bytes.Contains(out, []byte(s)) {
					t.Errorf("output contains %q", s)
				}
			}
		})
	}
}

func TestProcessSize(t *testing.T) {
	// Exactly the limit is read whole (and then refused as no image); one
	// byte more is too large whatever it holds.
	limit := bytes.Repeat([]byte("a"), avatar.MaxUploadBytes)
	if _, err := avatar.Process(bytes.NewReader(limit)); hanashi.ErrorCode(err) != hanashi.EUNSUPPORTED {
		t.Errorf("Process(%d bytes) = %v, want %s", len(limit), err, hanashi.EUNSUPPORTED)
	}
	over := append(encodePNG(t, picture(8, 8)), make([]byte, avatar.MaxUploadBytes)...)
	if _, err := avatar.Process(bytes.NewReader(over)); hanashi.ErrorCode(err) != hanashi.ETOOLARGE {
		t.Errorf("Process(%d bytes) = %v, want %s", len(over), err, hanashi.ETOOLARGE)
	}
	exact := append(encodePNG(t, picture(8, 8)), make([]byte, avatar.MaxUploadBytes+1)...)[:avatar.MaxUploadBytes+1]
	if _, err := avatar.Process(bytes.NewReader(exact)); hanashi.ErrorCode(err) != hanashi.ETOOLARGE {
		t.Errorf("Process(MaxUploadBytes+1) = %v, want %s", err, hanashi.ETOOLARGE)
	}
	if _, err := avatar.Process(bytes.NewReader(nil)); hanashi.ErrorCode(err) != hanashi.EINVALID {
		t.Errorf("Process(empty) = %v, want %s", err, hanashi.EINVALID)
	}
}

func TestProcessRefuses(t *testing.T) {
	valid := encodePNG(t, picture(32, 32))
	tests := map[string]string{
		"SVG":             `<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><script>alert(1)</script></svg>`,
		"SVG with XML":    `<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"/>`,
		"HTML":            `<!doctype html><html><body><script>alert(document.cookie)</script></body></html>`,
		"PDF":             "%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n",
		"text":            "hello, world\n",
		"BMP":             "BM\x3a\x00\x00\x00\x00\x00\x00\x00\x36\x00\x00\x00\x28\x00\x00\x00\x01\x00\x00\x00\x01\x00\x00\x00\x01\x00\x18\x00",
		"TIFF":            "II*\x00\x08\x00\x00\x00",
		"HTML with PNG":   "<html><img src=x onerror=alert(1)>" + string(valid),
		"space then PNG":  " " + string(valid),
		"GIF then HTML":   "GIF89a\x01\x00\x01\x00\x00\x00\x00<html><script>alert(1)</script></html>",
		"GIF header only": "GIF89a\x10\x00\x10\x00\x00\x00\x00",
		"PNG then junk":   pngSignature + "<script>alert(1)</script>",
		"PNG truncated":   string(valid[:len(valid)/2]),
		"PNG bad CRC":     string(valid[:29]) + "\x00\x00\x00\x00" + string(valid[33:]),
		"JPEG then HTML":  "\xff\xd8\xff\xe0<html><script>alert(1)</script>",
		"WebP then HTML":  "RIFF\x30\x00\x00\x00WEBP<html><script>alert(1)</script></html>",
		"RIFF but AVI":    "RIFF\x30\x00\x00\x00AVI LIST",
		"PNG 0x0":         pngSignature + string(pngChunk("IHDR", ihdr(0, 0))) + string(pngChunk("IEND", nil)),
	}
	for name, in := range tests {
		t.Run(name, func(t *testing.T) {
			out, err := avatar.Process(strings.NewReader(in))
			if hanashi.ErrorCode(err) != hanashi.EUNSUPPORTED {
				t.Fatalf("Process = %d bytes, %v; want %s", len(out), err, hanashi.EUNSUPPORTED)
			}
			if hanashi.ErrorMessage(err) == "" {
				t.Errorf("error %v has no message for people", err)
			}
		})
	}
}

// ihdr returns the data of a PNG IHDR chunk: 8-bit RGBA of w x h.
func ihdr(w, h uint32) []byte {
	b := binary.BigEndian.AppendUint32(nil, w)
	b = binary.BigEndian.AppendUint32(b, h)
	return append(b, 8, 6, 0, 0, 0)
}

// floods are tiny files whose headers declare huge images. Decoding any of
// them would allocate a hundred megabytes or more.
var floods = sync.OnceValue(func() map[string][]byte {
	gifHeader := func(w, h uint16) []byte {
		b := []byte("GIF89a")
		b = binary.LittleEndian.AppendUint16(b, w)
		b = binary.LittleEndian.AppendUint16(b, h)
		return append(b, 0, 0, 0, ';')
	}
	jpegHeader := func(w, h uint16) []byte {
		b := []byte{0xff, 0xd8, 0xff, 0xc0, 0, 11, 8}
		b = binary.BigEndian.AppendUint16(b, h)
		b = binary.BigEndian.AppendUint16(b, w)
		b = append(b, 1, 1, 0x11, 0)                                        // one component
		return append(b, 0xff, 0xda, 0, 8, 1, 1, 0, 0, 0x3f, 0, 0xff, 0xd9) // SOS, EOI
	}
	pngHeader := func(w, h uint32) []byte {
		b := []byte(pngSignature)
		b = append(b, pngChunk("IHDR", ihdr(w, h))...)
		return append(b, pngChunk("IEND", nil)...)
	}
	// A complete, valid PNG of 10000x10000 black pixels at 1 bit each: 12 MB
	// of rows that deflate to about 12 kB, and 100 MB once decoded.
	bomb := func() []byte {
		var z bytes.Buffer
		zw, _ := zlib.NewWriterLevel(&z, zlib.BestSpeed)
		row := make([]byte, 1+10000/8) // filter type 0 and the pixels
		for range 10000 {
			zw.Write(row)
		}
		zw.Close()
		b := []byte(pngSignature)
		b = append(b, pngChunk("IHDR", append(binary.BigEndian.AppendUint64(nil, 10000<<32|10000), 1, 0, 0, 0, 0))...)
		b = append(b, pngChunk("IDAT", z.Bytes())...)
		return append(b, pngChunk("IEND", nil)...)
	}
	return map[string][]byte{
		"PNG 20000x20000":      pngHeader(20000, 20000),
		"PNG 10000x10000 bomb": bomb(),
		"PNG 8193x1":           pngHeader(avatar.MaxSide+1, 1),
		"PNG 6000x6000":        pngHeader(6000, 6000), // each side allowed, not the area
		"PNG 1000000x1000000":  pngHeader(1e6, 1e6),
		"GIF 20000x20000":      gifHeader(20000, 20000),
		"GIF 65535x65535":      gifHeader(65535, 65535),
		// A polyglot whose HTML lands on the width and height: 26684x28020.
		"GIF then HTML":    []byte("GIF89a<html><script>alert(1)</script></html>"),
		"JPEG 20000x20000": jpegHeader(20000, 20000),
		// A complete, valid WebP: it decodes, taking 1 GB and seconds.
		"WebP 16384x16384": solidWebP(16384, 16384, color.NRGBA{0xff, 0, 0, 0xff}),
	}
})

func TestProcessRefusesPixelFloods(t *testing.T) {
	for name, in := range floods() {
		t.Run(name, func(t *testing.T) {
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			start := time.Now()
			_, err := avatar.Process(bytes.NewReader(in))
			elapsed := time.Since(start)
			runtime.ReadMemStats(&after)
			if hanashi.ErrorCode(err) != hanashi.ETOOLARGE {
				t.Fatalf("Process = %v, want %s", err, hanashi.ETOOLARGE)
			}
			// Decoding would take at least width x height bytes; the header
			// alone takes a few kilobytes (bufio buffers, the error).
			if n := after.TotalAlloc - before.TotalAlloc; n > 256<<10 {
				t.Errorf("Process allocated %d bytes for a %d-byte file; it decoded pixels", n, len(in))
			}
			if elapsed > time.Second {
				t.Errorf("Process took %v", elapsed)
			}
			allocs := testing.AllocsPerRun(10, func() { avatar.Process(bytes.NewReader(in)) })
			if allocs > 50 {
				t.Errorf("Process made %v allocations", allocs)
			}
		})
	}
}

// FuzzProcess checks that no input makes Process panic, and that whatever
// it accepts comes out as a Size x Size PNG.
func FuzzProcess(f *testing.F) {
	f.Add(encodePNG(f, picture(3, 2)))
	f.Add(encodeJPEG(f, picture(3, 2)))
	f.Add(encodeGIF(f, picture(3, 2)))
	f.Add(solidWebP(2, 3, color.NRGBA{1, 2, 3, 4}))
	for _, b := range floods() {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		out, err := avatar.Process(bytes.NewReader(in))
		if err != nil {
			if code := hanashi.ErrorCode(err); code == hanashi.EINTERNAL {
				t.Fatalf("Process = %v, an internal error", err)
			}
			return
		}
		cfg, err := png.DecodeConfig(bytes.NewReader(out))
		if err != nil || cfg.Width != avatar.Size || cfg.Height != avatar.Size {
			t.Fatalf("output is %+v, %v", cfg, err)
		}
	})
}
