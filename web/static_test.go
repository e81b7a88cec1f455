package web_test

import (
	"bytes"
	"compress/gzip"
	"io"
	"io/fs"
	"net/http"
	"path"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/andybalholm/brotli"
	"github.com/hanashi-chat/hanashi/ui"
	"github.com/hanashi-chat/hanashi/web"
)

// clientScript returns the path of the client's entry script in ui/dist
// ("assets/index-….js"), as index.html names it, and its bytes.
func clientScript(t *testing.T) (string, []byte) {
	t.Helper()
	page, err := fs.ReadFile(ui.Files(), "index.html")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`<script type="module"[^>]* src="\./(assets/[^"]+\.js)"`).FindSubmatch(page)
	if m == nil {
		t.Fatalf("ui/dist/index.html names no module script under assets/:\n%s", page)
	}
	data, err := fs.ReadFile(ui.Files(), string(m[1]))
	if err != nil {
		t.Fatal(err)
	}
	if len(data) < 1024 {
		t.Fatalf("%s is %d bytes: too small to have compressed copies, which the tests need", m[1], len(data))
	}
	return string(m[1]), data
}

// staticClient is a client that neither follows redirects nor asks for or
// decodes a content coding by itself.
func staticClient() *http.Client {
	return &http.Client{
		Timeout:       10 * time.Second,
		Transport:     &http.Transport{DisableCompression: true},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

func do(t *testing.T, method, url string, header map[string]string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := staticClient().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, body
}

// decode undoes a response's Content-Encoding.
func decode(t *testing.T, encoding string, body []byte) []byte {
	t.Helper()
	var r io.Reader
	switch encoding {
	case "":
		return body
	case "gzip":
		zr, err := gzip.NewReader(bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		r = zr
	case "br":
		r = brotli.NewReader(bytes.NewReader(body))
	default:
		t.Fatalf("unexpected Content-Encoding %q", encoding)
	}
	out, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("decoding %s: %v", encoding, err)
	}
	return out
}

// storedFormats are the extensions that ui/build/compress.ts leaves
// without compressed copies: formats compressed already.
var storedFormats = map[string]bool{
	".gz": true, ".br": true, ".zip": true, ".png": true, ".jpg": true, ".jpeg": true, ".gif": true,
	".webp": true, ".avif": true, ".woff": true, ".woff2": true, ".mp3": true, ".mp4": true, ".webm": true, ".ogg": true,
}

// TestClientFilesHaveCompressedCopies checks the committed bundle: every
// file of at least 1 KiB that is not compressed already has a .gz and a .br
// copy that decode to it, each smaller than it.
func TestClientFilesHaveCompressedCopies(t *testing.T) {
	files := ui.Files()
	checked := 0
	err := fs.WalkDir(files, ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || storedFormats[path.Ext(name)] {
			return err
		}
		data, err := fs.ReadFile(files, name)
		if err != nil || len(data) < 1024 {
			return err
		}
		checked++
		for ext, encoding := range map[string]string{".gz": "gzip", ".br": "br"} {
			packed, err := fs.ReadFile(files, name+ext)
			if err != nil {
				t.Errorf("%s has no %s copy: %v", name, ext, err)
				continue
			}
			if !bytes.Equal(decode(t, encoding, packed), data) {
				t.Errorf("%s%s does not decode to %s", name, ext, name)
			}
			if len(packed) >= len(data) {
				t.Errorf("%s%s is %d bytes, %s %d", name, ext, len(packed), name, len(data))
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if checked == 0 {
		t.Fatal("ui/dist has no file of 1 KiB or more: is it built?")
	}
}

// TestClientPageHasNoInlineCode checks that index.html holds no inline
// script or style, which the Content-Security-Policy would refuse.
func TestClientPageHasNoInlineCode(t *testing.T) {
	page, err := fs.ReadFile(ui.Files(), "index.html")
	if err != nil {
		t.Fatal(err)
	}
	for _, tag := range regexp.MustCompile(`(?is)<script\b[^>]*>`).FindAll(page, -1) {
		if !regexp.MustCompile(`(?i)\ssrc=`).Match(tag) {
			t.Errorf("inline script in index.html: %s", tag)
		}
	}
	for _, bad := range []*regexp.Regexp{
		regexp.MustCompile(`(?i)<style\b`),
		regexp.MustCompile(`(?i)\sstyle\s*=`),
		regexp.MustCompile(`(?i)\son[a-z]+\s*=`),
		regexp.MustCompile(`(?i)javascript:`),
	} {
		if m := bad.Find(page); m != nil {
			t.Errorf("index.html has inline code: %q", m)
		}
	}
}

// TestStaticEncoding checks content negotiation for a compressed asset:
// brotli before gzip, q-values honoured, q=0 refused, the body decoding
// to the file, and Vary, Content-Type and Content-Length right for each.
func TestStaticEncoding(t *testing.T) {
	ts := newTestServer(t, nil)
	script, want := clientScript(t)
	for _, tt := range []struct {
		accept string // "-" for no header
		want   string
	}{
		{"-", ""},
		{"", ""},
		{"gzip", "gzip"},
		{"br", "br"},
		{"gzip, deflate, br, zstd", "br"},
		{"gzip, deflate", "gzip"},
		{"deflate", ""},
		{"identity", ""},
		{"br;q=0.5, gzip", "gzip"},
		{"gzip; q=0.8, br; q=0.9", "br"},
		{"br;q=1.0, gzip;q=1.0", "br"},
		{"br;q=0, gzip;q=0", ""},
		{"br;q=0", ""},
		{"*", "br"},
		{"*;q=0.5, br;q=0", "gzip"},
		{"*;q=0", ""},
		{"gzip;q=0.5, identity", ""},
		{"gzip, identity", "gzip"},
		{"GZIP", "gzip"},
		{"x-gzip", "gzip"},
		{"br;q=bogus, gzip;q=0.1", "gzip"},
		{"br;q=2, gzip", "gzip"},
	} {
		header := map[string]string{"Accept-Encoding": tt.accept}
		if tt.accept == "-" {
			header = nil
		}
		resp, body := do(t, "GET", ts.URL+"/"+script, header)
		name := "Accept-Encoding: " + tt.accept
		if resp.StatusCode != http.StatusOK {
			t.Errorf("%s: status %d", name, resp.StatusCode)
			continue
		}
		if got := resp.Header.Get("Content-Encoding"); got != tt.want {
			t.Errorf("%s: Content-Encoding %q, want %q", name, got, tt.want)
		}
		if got := resp.Header.Get("Vary"); got != "Accept-Encoding" {
			t.Errorf("%s: Vary %q, want Accept-Encoding", name, got)
		}
		if got := resp.Header.Get("Content-Type"); got != "text/javascript; charset=utf-8" {
			t.Errorf("%s: Content-Type %q", name, got)
		}
		if resp.ContentLength != int64(len(body)) {
			t.Errorf("%s: Content-Length %d, body %d bytes", name, resp.ContentLength, len(body))
		}
		if !bytes.Equal(decode(t, resp.Header.Get("Content-Encoding"), body), want) {
			t.Errorf("%s: the body is not %s", name, script)
		}
	}
	// Two header lines count as one list.
	req, _ := http.NewRequest("GET", ts.URL+"/"+script, nil)
	req.Header.Add("Accept-Encoding", "gzip")
	req.Header.Add("Accept-Encoding", "br")
	resp, err := staticClient().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if got := resp.Header.Get("Content-Encoding"); got != "br" {
		t.Errorf("Accept-Encoding on two lines gzip, br: Content-Encoding %q, want br", got)
	}
}

// TestStaticCaching checks Cache-Control, the entity tag of each
// representation, conditional requests and HEAD, at the root and under a
// path prefix.
func TestStaticCaching(t *testing.T) {
	script, _ := clientScript(t)
	page, err := fs.ReadFile(ui.Files(), "index.html")
	if err != nil {
		t.Fatal(err)
	}
	root := newTestServer(t, nil)
	prefixed := newTestServer(t, func(c *web.Config) { c.BaseURL += "/chat/" })
	for _, base := range []string{root.URL, prefixed.URL + "/chat"} {
		resp, body := do(t, "GET", base+"/", nil)
		if resp.StatusCode != http.StatusOK || !bytes.Equal(body, page) {
			t.Fatalf("GET %s/: %d, not index.html", base, resp.StatusCode)
		}
		if got := resp.Header.Get("Cache-Control"); got != "no-cache" {
			t.Errorf("GET %s/: Cache-Control %q, want no-cache", base, got)
		}
		if got := resp.Header.Get("Content-Type"); got != "text/html; charset=utf-8" {
			t.Errorf("GET %s/: Content-Type %q", base, got)
		}
		pageTag := resp.Header.Get("ETag")
		if !regexp.MustCompile(`^"[0-9a-f]{32}"$`).MatchString(pageTag) {
			t.Errorf("GET %s/: ETag %q", base, pageTag)
		}
		resp, body = do(t, "GET", base+"/", map[string]string{"If-None-Match": pageTag})
		if resp.StatusCode != http.StatusNotModified || len(body) != 0 || resp.Header.Get("ETag") != pageTag || resp.Header.Get("Cache-Control") != "no-cache" {
			t.Errorf("GET %s/ If-None-Match its tag: %d, %d bytes, ETag %q, Cache-Control %q; want 304, empty, the tag, no-cache",
				base, resp.StatusCode, len(body), resp.Header.Get("ETag"), resp.Header.Get("Cache-Control"))
		}

		tags := map[string]string{}
		for _, enc := range []string{"br", "gzip", "identity"} {
			url := base + "/" + script
			accept := map[string]string{"Accept-Encoding": enc}
			resp, body := do(t, "GET", url, accept)
			if got := resp.Header.Get("Cache-Control"); got != "public, max-age=31536000, immutable" {
				t.Errorf("GET %s (%s): Cache-Control %q", url, enc, got)
			}
			tag := resp.Header.Get("ETag")
			tags[enc] = tag

			head, headBody := do(t, "HEAD", url, accept)
			if head.StatusCode != http.StatusOK || len(headBody) != 0 || head.ContentLength != int64(len(body)) ||
				head.Header.Get("ETag") != tag || head.Header.Get("Content-Encoding") != resp.Header.Get("Content-Encoding") ||
				head.Header.Get("Content-Type") != resp.Header.Get("Content-Type") {
				t.Errorf("HEAD %s (%s): %d, %d bytes, Content-Length %d, headers %v; want GET's headers with no body",
					url, enc, head.StatusCode, len(headBody), head.ContentLength, head.Header)
			}

			for _, inm := range []string{tag, "W/" + tag, `"other", ` + tag, "*"} {
				resp, body := do(t, "GET", url, map[string]string{"Accept-Encoding": enc, "If-None-Match": inm})
				if resp.StatusCode != http.StatusNotModified || len(body) != 0 || resp.Header.Get("ETag") != tag ||
					resp.Header.Get("Vary") != "Accept-Encoding" || resp.Header.Get("Content-Encoding") != "" {
					t.Errorf("GET %s (%s) If-None-Match %s: %d, %d bytes, headers %v; want 304 with the tag and Vary",
						url, enc, inm, resp.StatusCode, len(body), resp.Header)
				}
			}
			resp, _ = do(t, "HEAD", url, map[string]string{"Accept-Encoding": enc, "If-None-Match": tag})
			if resp.StatusCode != http.StatusNotModified {
				t.Errorf("HEAD %s (%s) If-None-Match its tag: %d, want 304", url, enc, resp.StatusCode)
			}
		}
		if tags["br"] == tags["gzip"] || tags["br"] == tags["identity"] || tags["gzip"] == tags["identity"] {
			t.Errorf("one ETag for two representations: %v", tags)
		}
		// A tag of another representation is not a match.
		resp, _ = do(t, "GET", base+"/"+script, map[string]string{"Accept-Encoding": "gzip", "If-None-Match": tags["br"]})
		if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Encoding") != "gzip" {
			t.Errorf("GET gzip If-None-Match the br tag: %d %q, want 200 gzip", resp.StatusCode, resp.Header.Get("Content-Encoding"))
		}
	}
}

// TestStaticNotFound checks the paths that name no file of the client,
// and the methods it refuses.
func TestStaticNotFound(t *testing.T) {
	ts := newTestServer(t, nil)
	script, _ := clientScript(t)
	for _, tt := range []struct {
		method, path string
		status       int
	}{
		{"GET", "/assets/no-such-file.js", http.StatusNotFound},
		{"HEAD", "/assets/no-such-file.js", http.StatusNotFound},
		{"GET", "/assets/", http.StatusNotFound},
		{"GET", "/assets", http.StatusNotFound},
		{"GET", "/" + script + ".br", http.StatusNotFound},
		{"GET", "/" + script + ".gz", http.StatusNotFound},
		{"GET", "/rooms/3", http.StatusNotFound},
		{"GET", "/app.js", http.StatusNotFound},
		{"GET", "/index.html", http.StatusMovedPermanently},
		{"POST", "/", http.StatusMethodNotAllowed},
		{"PUT", "/" + script, http.StatusMethodNotAllowed},
	} {
		resp, _ := do(t, tt.method, ts.URL+tt.path, map[string]string{"Accept-Encoding": "br, gzip"})
		if resp.StatusCode != tt.status {
			t.Errorf("%s %s: %d, want %d", tt.method, tt.path, resp.StatusCode, tt.status)
		}
		if tt.status == http.StatusNotFound && (resp.Header.Get("Content-Encoding") != "" || strings.Contains(resp.Header.Get("Cache-Control"), "immutable")) {
			t.Errorf("%s %s: a 404 with %v", tt.method, tt.path, resp.Header)
		}
		if tt.status == http.StatusMethodNotAllowed && resp.Header.Get("Allow") != "GET, HEAD" {
			t.Errorf("%s %s: Allow %q", tt.method, tt.path, resp.Header.Get("Allow"))
		}
	}
}
