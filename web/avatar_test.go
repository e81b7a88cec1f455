package web

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"hash/crc32"
	"image"
	"image/png"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/textproto"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/hanashi-chat/hanashi"
	"github.com/hanashi-chat/hanashi/auth"
	"github.com/hanashi-chat/hanashi/avatar"
	"github.com/hanashi-chat/hanashi/internal/httpapi"
)

// fakeProfiles records SetAvatarUpload calls; fail makes them fail.
type fakeProfiles struct {
	mu    sync.Mutex
	calls []string // user=name
	fail  error
}

func (f *fakeProfiles) SetAvatarUpload(ctx context.Context, user hanashi.UserID, name string) (hanashi.User, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fail != nil {
		return hanashi.User{}, f.fail
	}
	f.calls = append(f.calls, string(user)+"="+name)
	return hanashi.User{ID: user, AvatarURL: avatarPath(name)}, nil
}

type avatarTest struct {
	t        *testing.T
	dir      *avatar.Dir
	profiles *fakeProfiles
	mux      *http.ServeMux
}

// newAvatarTest serves the two avatar routes as routes.go will; the upload
// runs as whatever user the request's X-Test-User header names (a JSON
// hanashi.User), standing in for s.authed.
func newAvatarTest(t *testing.T) *avatarTest {
	dir, err := avatar.OpenDir(filepath.Join(t.TempDir(), "avatars"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { dir.Close() })
	log := slog.New(slog.DiscardHandler)
	s := &Server{log: log, errs: &httpapi.Errors{Log: log}}
	at := &avatarTest{t: t, dir: dir, profiles: &fakeProfiles{}, mux: http.NewServeMux()}
	asUser := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			var u hanashi.User
			if h := r.Header.Get("X-Test-User"); h != "" {
				if err := json.Unmarshal([]byte(h), &u); err != nil {
					t.Fatal(err)
				}
			}
			next.ServeHTTP(w, r.WithContext(auth.WithUser(r.Context(), u)))
		})
	}
	at.mux.Handle("POST /api/v1/me/avatar", asUser(s.handleAvatarUpload(dir, at.profiles)))
	at.mux.Handle("GET /api/v1/avatars/{name}", s.handleAvatarServe(dir))
	return at
}

var alice = hanashi.User{ID: "alice-id", Name: "alice"}

func (at *avatarTest) do(r *http.Request, u hanashi.User) *httptest.ResponseRecorder {
	if u.ID != "" {
		b, _ := json.Marshal(u)
		r.Header.Set("X-Test-User", string(b))
	}
	w := httptest.NewRecorder()
	at.mux.ServeHTTP(w, r)
	return w
}

func (at *avatarTest) upload(body []byte, contentType string, u hanashi.User) *httptest.ResponseRecorder {
	r := httptest.NewRequest("POST", "/api/v1/me/avatar", bytes.NewReader(body))
	if contentType != "" {
		r.Header.Set("Content-Type", contentType)
	}
	return at.do(r, u)
}

// stored lists the names in the avatar directory.
func (at *avatarTest) stored() []string {
	entries, err := os.ReadDir(at.dir.Path())
	if err != nil {
		at.t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

func errorCode(t *testing.T, w *httptest.ResponseRecorder) string {
	t.Helper()
	var body httpapi.ErrorBody
	if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil {
		t.Fatalf("error body %q: %v", w.Body, err)
	}
	return body.Error.Code
}

func testPNG(t *testing.T, w, h int) []byte {
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for i := range img.Pix {
		img.Pix[i] = byte(i)
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// form returns a multipart/form-data body with the given parts, each a
// field name, a file name ("" for a plain field), a Content-Type and data.
func form(t *testing.T, parts ...[4]string) ([]byte, string) {
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	for _, p := range parts {
		h := textproto.MIMEHeader{}
		disp := `form-data; name="` + p[0] + `"`
		if p[1] != "" {
			disp += `; filename="` + p[1] + `"`
		}
		h.Set("Content-Disposition", disp)
		if p[2] != "" {
			h.Set("Content-Type", p[2])
		}
		pw, err := mw.CreatePart(h)
		if err != nil {
			t.Fatal(err)
		}
		pw.Write([]byte(p[3]))
	}
	mw.Close()
	return b.Bytes(), mw.FormDataContentType()
}

func TestAvatarUploadAndServe(t *testing.T) {
	at := newAvatarTest(t)
	raw := testPNG(t, 300, 200)
	multi, ct := form(t,
		[4]string{"note", "", "", "hello"},
		[4]string{"avatar", "../../evil.html", "text/html", string(raw)},
		[4]string{"avatar", "second.png", "image/png", "ignored"},
	)
	for name, req := range map[string]struct {
		body []byte
		ct   string
	}{
		"raw":             {raw, "image/png"},
		"raw, lying type": {raw, "text/html"},
		"raw, no type":    {raw, ""},
		"multipart":       {multi, ct},
	} {
		t.Run(name, func(t *testing.T) {
			w := at.upload(req.body, req.ct, alice)
			if w.Code != http.StatusOK {
				t.Fatalf("upload: %d %s", w.Code, w.Body)
			}
			var resp struct {
				AvatarURL string `json:"avatar_url"`
			}
			if err := json.Unmarshal(w.Body.Bytes(), &resp); err != nil {
				t.Fatal(err)
			}
			name, ok := strings.CutPrefix(resp.AvatarURL, "/api/v1/avatars/")
			if !ok || !avatar.ValidName(name) {
				t.Fatalf("avatar_url %q", resp.AvatarURL)
			}
			if last := at.profiles.calls[len(at.profiles.calls)-1]; last != "alice-id="+name {
				t.Errorf("SetAvatarUpload got %s", last)
			}

			w = at.do(httptest.NewRequest("GET", resp.AvatarURL, nil), hanashi.User{})
			if w.Code != http.StatusOK {
				t.Fatalf("GET %s: %d %s", resp.AvatarURL, w.Code, w.Body)
			}
			for k, v := range map[string]string{
				"Content-Type":            "image/png",
				"X-Content-Type-Options":  "nosniff",
				"Content-Security-Policy": "default-src 'none'; sandbox",
				"Cache-Control":           "public, max-age=31536000, immutable",
			} {
				if got := w.Header().Get(k); got != v {
					t.Errorf("%s: %q, want %q", k, got, v)
				}
			}
			img, err := png.Decode(w.Body)
			if err != nil || img.Bounds() != image.Rect(0, 0, avatar.Size, avatar.Size) {
				t.Fatalf("served avatar: %v, %v", img.Bounds(), err)
			}

			// Cached copies are revalidated by ETag.
			r := httptest.NewRequest("GET", resp.AvatarURL, nil)
			r.Header.Set("If-None-Match", w.Header().Get("ETag"))
			if w := at.do(r, hanashi.User{}); w.Code != http.StatusNotModified {
				t.Errorf("If-None-Match: %d, want 304", w.Code)
			}
		})
	}
	for _, n := range at.stored() {
		if !avatar.ValidName(n) {
			t.Errorf("the directory holds %q", n)
		}
	}
}

func TestAvatarUploadReplaces(t *testing.T) {
	at := newAvatarTest(t)
	url := func(w *httptest.ResponseRecorder) string {
		var resp struct {
			AvatarURL string `json:"avatar_url"`
		}
		json.Unmarshal(w.Body.Bytes(), &resp)
		return resp.AvatarURL
	}
	first := url(at.upload(testPNG(t, 10, 10), "", alice))
	u := alice
	u.AvatarUpload = strings.TrimPrefix(first, avatarPathPrefix)
	second := url(at.upload(testPNG(t, 10, 10), "", u))
	if first == "" || second == "" || first == second {
		t.Fatalf("uploads gave %q and %q", first, second)
	}
	if names := at.stored(); len(names) != 1 || avatarPath(names[0]) != second {
		t.Errorf("after a replacement the directory holds %v, want only %s", names, second)
	}
	// Only the recorded upload is removed, never a file an avatar URL
	// merely points at.
	u.AvatarUpload = ""
	u.AvatarURL = second
	at.upload(testPNG(t, 10, 10), "", u)
	if w := at.do(httptest.NewRequest("GET", second, nil), hanashi.User{}); w.Code != http.StatusOK {
		t.Errorf("an avatar was removed for a foreign URL: %d", w.Code)
	}
}

func TestAvatarUploadRefused(t *testing.T) {
	valid := testPNG(t, 16, 16)
	// A PNG header declaring 20000x20000 pixels: 1.6 GB once decoded.
	ihdr := []byte("IHDR\x00\x00\x4e\x20\x00\x00\x4e\x20\x08\x06\x00\x00\x00")
	huge := []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\x0d")
	huge = binary.BigEndian.AppendUint32(append(huge, ihdr...), crc32.ChecksumIEEE(ihdr))
	over := append(append([]byte(nil), valid...), make([]byte, avatar.MaxUploadBytes)...)
	noAvatar, noAvatarType := form(t, [4]string{"picture", "a.png", "image/png", string(valid)})
	overForm, overFormType := form(t, [4]string{"avatar", "a.png", "image/png", string(over)})
	svgForm, svgFormType := form(t, [4]string{"avatar", "a.png", "image/png", `<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>`})
	tests := []struct {
		name   string
		user   hanashi.User
		body   []byte
		ct     string
		status int
		code   string
	}{
		{"no user", hanashi.User{}, valid, "", 401, hanashi.EUNAUTHORIZED},
		{"guest", hanashi.User{ID: "g", Guest: true}, valid, "", 403, hanashi.EFORBIDDEN},
		{"empty", alice, nil, "", 400, hanashi.EINVALID},
		{"2 MiB + 1", alice, over[:avatar.MaxUploadBytes+1], "image/png", 413, hanashi.ETOOLARGE},
		{"far over", alice, append(over, make([]byte, 1<<20)...), "image/png", 413, hanashi.ETOOLARGE},
		{"multipart over", alice, overForm, overFormType, 413, hanashi.ETOOLARGE},
		{"20000x20000", alice, huge, "image/png", 413, hanashi.ETOOLARGE},
		{"SVG", alice, []byte(`<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>`), "image/svg+xml", 415, hanashi.EUNSUPPORTED},
		{"SVG as PNG", alice, svgForm, svgFormType, 415, hanashi.EUNSUPPORTED},
		{"HTML", alice, []byte("<!doctype html><script>alert(1)</script>"), "image/png", 415, hanashi.EUNSUPPORTED},
		{"PDF", alice, []byte("%PDF-1.7\n%%EOF\n"), "application/pdf", 415, hanashi.EUNSUPPORTED},
		{"GIF then HTML", alice, []byte("GIF89a\x01\x00\x01\x00\x00\x00\x00<script>alert(1)</script>"), "image/gif", 415, hanashi.EUNSUPPORTED},
		{"HTML with a PNG", alice, append([]byte("<html>"), valid...), "image/png", 415, hanashi.EUNSUPPORTED},
		{"no avatar field", alice, noAvatar, noAvatarType, 400, hanashi.EINVALID},
		{"broken form", alice, []byte("--x\r\nnot a part"), "multipart/form-data; boundary=x", 400, hanashi.EINVALID},
		{"form without boundary", alice, valid, "multipart/form-data", 400, hanashi.EINVALID},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			at := newAvatarTest(t)
			w := at.upload(tt.body, tt.ct, tt.user)
			if w.Code != tt.status || errorCode(t, w) != tt.code {
				t.Fatalf("upload: %d %s, want %d %s", w.Code, w.Body, tt.status, tt.code)
			}
			if len(at.profiles.calls) != 0 || len(at.stored()) != 0 {
				t.Errorf("a refused upload stored %v, recorded %v", at.stored(), at.profiles.calls)
			}
		})
	}

	t.Run("Content-Length over the limit", func(t *testing.T) {
		at := newAvatarTest(t)
		r := httptest.NewRequest("POST", "/api/v1/me/avatar", strings.NewReader("x"))
		r.ContentLength = maxUploadBody + 1
		if w := at.do(r, alice); w.Code != 413 {
			t.Fatalf("upload: %d %s", w.Code, w.Body)
		}
	})
	t.Run("chunked over the limit", func(t *testing.T) {
		// No Content-Length: http.MaxBytesReader stops the body.
		bigField, bigFieldType := form(t,
			[4]string{"note", "", "", strings.Repeat("x", maxUploadBody)},
			[4]string{"avatar", "a.png", "image/png", string(valid)})
		for _, body := range []struct {
			b  []byte
			ct string
		}{{over, "image/png"}, {append(over, make([]byte, maxUploadBody)...), ""}, {bigField, bigFieldType}} {
			at := newAvatarTest(t)
			r := httptest.NewRequest("POST", "/api/v1/me/avatar", io.MultiReader(bytes.NewReader(body.b)))
			r.ContentLength = -1
			r.Header.Set("Content-Type", body.ct)
			if w := at.do(r, alice); w.Code != 413 || errorCode(t, w) != hanashi.ETOOLARGE {
				t.Errorf("upload of %d bytes: %d %s", len(body.b), w.Code, w.Body)
			}
		}
	})
	t.Run("updater fails", func(t *testing.T) {
		at := newAvatarTest(t)
		at.profiles.fail = errors.New("database on fire")
		if w := at.upload(valid, "", alice); w.Code != 500 || errorCode(t, w) != hanashi.EINTERNAL || strings.Contains(w.Body.String(), "fire") {
			t.Fatalf("upload: %d %s", w.Code, w.Body)
		}
		if names := at.stored(); len(names) != 0 {
			t.Errorf("a failed upload left %v", names)
		}
	})
}

func TestAvatarServeNotFound(t *testing.T) {
	at := newAvatarTest(t)
	os.WriteFile(filepath.Join(filepath.Dir(at.dir.Path()), "secret"), []byte("SENTINEL"), 0o600)
	for _, path := range []string{
		"/api/v1/avatars/0123456789abcdef0123456789abcdef.png", // valid, not stored
		"/api/v1/avatars/..%2fsecret",
		"/api/v1/avatars/%2e%2e%2fsecret",
		"/api/v1/avatars/..%5csecret",
		"/api/v1/avatars/secret",
		"/api/v1/avatars/x.png",
		"/api/v1/avatars/0123456789ABCDEF0123456789ABCDEF.png",
		"/api/v1/avatars/.tmp-0123456789abcdef0123456789abcdef.png",
		"/api/v1/avatars/%00",
	} {
		w := at.do(httptest.NewRequest("GET", path, nil), hanashi.User{})
		if w.Code != http.StatusNotFound || errorCode(t, w) != hanashi.ENOTFOUND {
			t.Errorf("GET %s: %d %s, want 404", path, w.Code, w.Body)
		}
		if strings.Contains(w.Body.String(), "SENTINEL") || w.Header().Get("Content-Type") == "image/png" {
			t.Errorf("GET %s served something", path)
		}
	}
}

func TestAvatarUploadsConcurrently(t *testing.T) {
	at := newAvatarTest(t)
	body := testPNG(t, 64, 64)
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Go(func() {
			u := hanashi.User{ID: hanashi.UserID("u" + string(rune('a'+i)))}
			if w := at.upload(body, "", u); w.Code != 200 {
				t.Errorf("upload %d: %d %s", i, w.Code, w.Body)
			}
		})
	}
	wg.Wait()
	if n := len(at.stored()); n != 20 {
		t.Errorf("%d avatars stored, want 20", n)
	}
}
