package web

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strconv"
	"strings"

	"github.com/hanashi-chat/hanashi/ui"
)

// Cache-Control of the web client's files. The hashed assets never change
// under their names; index.html, which names them, is revalidated on every
// load so that a new server's client is picked up at once.
const (
	cacheAsset = "public, max-age=31536000, immutable"
	cachePage  = "no-cache"
)

// encodings are the content codings the build writes beside a file (see
// ui/build/compress.ts), in the order the server prefers them: brotli is
// the smaller.
var encodings = []struct{ name, ext string }{{"br", ".br"}, {"gzip", ".gz"}}

// staticFile is one file of the web client, in every representation the
// build made of it.
type staticFile struct {
	contentType string
	cache       string
	identity    representation
	encoded     []representation // in the order of encodings
}

// representation is the bytes of a file in one content coding ("" for
// none) and their entity tag.
type representation struct {
	encoding string
	data     []byte
	etag     string
}

// handleStatic serves the web client (package ui): index.html at the root
// (which under a path prefix is the prefix, ServeHTTP having removed it)
// and the files the build wrote, each in the best content coding the
// request accepts. Paths that name no file are 404: the client routes by
// the location's hash, so no page path needs index.html.
func (s *Server) handleStatic() http.Handler {
	files, err := loadStatic(ui.Files())
	if err != nil {
		panic(err) // embedded files cannot fail to read
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		if r.URL.Path == "/index.html" {
			// As http.FileServer did: one address for the page.
			http.Redirect(w, r, "./", http.StatusMovedPermanently)
			return
		}
		f, ok := files[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		h := w.Header()
		h.Set("Cache-Control", f.cache)
		rep := f.identity
		if len(f.encoded) > 0 {
			h.Add("Vary", "Accept-Encoding")
			rep = f.negotiate(r.Header.Values("Accept-Encoding"))
		}
		h.Set("ETag", rep.etag)
		if etagListed(r.Header.Get("If-None-Match"), rep.etag) {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		h.Set("Content-Type", f.contentType)
		if rep.encoding != "" {
			h.Set("Content-Encoding", rep.encoding)
		}
		// The whole representation always: a server may ignore Range,
		// and these files are small.
		h.Set("Content-Length", strconv.Itoa(len(rep.data)))
		w.WriteHeader(http.StatusOK)
		if r.Method != http.MethodHead {
			w.Write(rep.data)
		}
	})
}

// loadStatic reads the files of fsys into memory by their URL paths,
// index.html at "/", each with the compressed copies the build wrote
// beside it (which have no URL of their own).
func loadStatic(fsys fs.FS) (map[string]*staticFile, error) {
	files := make(map[string]*staticFile)
	err := fs.WalkDir(fsys, ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		for _, e := range encodings {
			if strings.HasSuffix(name, e.ext) {
				if _, err := fs.Stat(fsys, strings.TrimSuffix(name, e.ext)); err == nil {
					return nil // a copy of another file, read with it
				}
			}
		}
		data, err := fs.ReadFile(fsys, name)
		if err != nil {
			return err
		}
		f := &staticFile{contentType: contentType(name), cache: cachePage, identity: newRepresentation("", data)}
		if strings.HasPrefix(name, "assets/") {
			f.cache = cacheAsset
		}
		for _, e := range encodings {
			data, err := fs.ReadFile(fsys, name+e.ext)
			if err == nil {
				f.encoded = append(f.encoded, newRepresentation(e.name, data))
			} else if !errors.Is(err, fs.ErrNotExist) {
				return err
			}
		}
		urlPath := "/" + name
		if name == "index.html" {
			urlPath = "/"
		}
		files[urlPath] = f
		return nil
	})
	return files, err
}

func newRepresentation(encoding string, data []byte) representation {
	sum := sha256.Sum256(data)
	return representation{encoding: encoding, data: data, etag: `"` + hex.EncodeToString(sum[:16]) + `"`}
}

// contentTypes fixes the types of the files a build makes, rather than
// leave them to the machine's MIME tables.
var contentTypes = map[string]string{
	".html":        "text/html; charset=utf-8",
	".js":          "text/javascript; charset=utf-8",
	".mjs":         "text/javascript; charset=utf-8",
	".css":         "text/css; charset=utf-8",
	".json":        "application/json",
	".map":         "application/json",
	".webmanifest": "application/manifest+json",
	".svg":         "image/svg+xml",
	".png":         "image/png",
	".webp":        "image/webp",
	".ico":         "image/x-icon",
	".woff2":       "font/woff2",
	".txt":         "text/plain; charset=utf-8",
	".wasm":        "application/wasm",
}

// contentType is the Content-Type of the file name.
func contentType(name string) string {
	ext := strings.ToLower(path.Ext(name))
	if t, ok := contentTypes[ext]; ok {
		return t
	}
	if t := mime.TypeByExtension(ext); t != "" {
		return t
	}
	return "application/octet-stream"
}

// negotiate picks the representation of f for a request's Accept-Encoding
// (RFC 9110, 12.5.3): the coding with the highest q-value, brotli before
// gzip and both before identity on a tie; q=0 refuses a coding, and so
// does leaving it out unless "*" is listed. Without the header, or when
// no coding is acceptable, the file goes as it is, as the RFC advises;
// identity, unless listed, is the last resort.
func (f *staticFile) negotiate(accept []string) representation {
	if len(accept) == 0 {
		return f.identity
	}
	q := acceptEncoding(accept)
	quality := func(coding string) float64 {
		if v, ok := q[coding]; ok {
			return v
		}
		if v, ok := q["*"]; ok {
			return v
		}
		return 0
	}
	best, bestQ := f.identity, q["identity"]
	for _, rep := range f.encoded {
		// A coding ties with identity in its favour, with another
		// coding in the other's, which comes first in encodings.
		if v := quality(rep.encoding); v > 0 && (v > bestQ || v == bestQ && best.encoding == "") {
			best, bestQ = rep, v
		}
	}
	return best
}

// acceptEncoding parses Accept-Encoding header values into each listed
// coding's q-value, lower-cased; x-gzip is gzip. The first mention of a
// coding counts; a malformed q-value refuses the coding.
func acceptEncoding(values []string) map[string]float64 {
	q := make(map[string]float64)
	for _, v := range values {
		for item := range strings.SplitSeq(v, ",") {
			coding, params, _ := strings.Cut(item, ";")
			coding = strings.ToLower(strings.TrimSpace(coding))
			if coding == "" {
				continue
			}
			if coding == "x-gzip" {
				coding = "gzip"
			}
			weight := 1.0
			for p := range strings.SplitSeq(params, ";") {
				k, v, ok := strings.Cut(p, "=")
				if !ok || !strings.EqualFold(strings.TrimSpace(k), "q") {
					continue
				}
				f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
				if err != nil || f < 0 || f > 1 {
					f = 0
				}
				weight = f
			}
			if _, seen := q[coding]; !seen {
				q[coding] = weight
			}
		}
	}
	return q
}

// etagListed reports whether an If-None-Match header value lists etag,
// by the weak comparison the header uses, or is "*".
func etagListed(header, etag string) bool {
	for tag := range strings.SplitSeq(header, ",") {
		tag = strings.TrimSpace(tag)
		if tag == "*" || strings.TrimPrefix(tag, "W/") == etag {
			return true
		}
	}
	return false
}
