package testpeer

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hanashi-chat/hanashi/internal/testutil"
)

// The static password user and client of every Dex that StartDex starts.
const (
	DexEmail        = "alice@example.com"
	DexUsername     = "alice"
	DexPassword     = "password"
	DexUserID       = "0c5b1a7e-6f53-4f0e-9d2a-6b1d7e0a9c41"
	DexClientID     = "hanashi"
	DexClientSecret = "hanashi-test-secret"

	// dexPasswordHash is bcrypt(DexPassword) at cost 10, the least Dex
	// accepts; a higher cost would only slow every login down.
	dexPasswordHash = "$2a$10$IWQFJ42p9aYLpMX9D5HTduHFeukcq2piuVph2aWPIabJp9v5bk3aa"
	// dexConnector is the id Dex gives its password database connector.
	dexConnector = "local"
)

// Dex is a private Dex, a real OpenID Connect provider, with in-memory
// storage, one static client and one static password user. Its fields are
// what a relying party is configured with and what it should see.
type Dex struct {
	// Issuer is the issuer URL, http://127.0.0.1:PORT/dex; discovery is at
	// Issuer + "/.well-known/openid-configuration".
	Issuer       string
	ClientID     string
	ClientSecret string
	// RedirectURLs are the client's registered redirect URIs. Dex compares
	// them as strings: another port, a trailing slash or a query string is
	// a different URI, and Dex shows an error page instead of redirecting.
	RedirectURLs []string

	// The static user: Email and Password sign in, Name is the user's name
	// claim (Dex falls back to the username), Subject is the sub claim of
	// the user's ID tokens.
	Email    string
	Name     string
	Password string
	Subject  string

	out *syncBuffer
}

// StartDex starts a private Dex on a free loopback port whose client
// accepts the given redirect URLs, and stops it when the test ends. Dex's
// log is written to the test log if the test fails. It skips the test when
// ./scripts/test has not provided the dex binary.
func StartDex(t testing.TB, redirectURLs ...string) *Dex {
	t.Helper()
	bin := need(t, EnvDex)
	port := FreePort(t)
	d := &Dex{
		Issuer:       fmt.Sprintf("http://127.0.0.1:%d/dex", port),
		ClientID:     DexClientID,
		ClientSecret: DexClientSecret,
		RedirectURLs: redirectURLs,
		Email:        DexEmail,
		Name:         DexUsername,
		Password:     DexPassword,
		Subject:      dexSubject(DexUserID, dexConnector),
		out:          new(syncBuffer),
	}
	dir := t.TempDir()
	config := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(config, d.config(port), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "serve", config)
	cmd.Dir = dir
	cmd.Stdout = d.out
	cmd.Stderr = d.out
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting dex: %v", err)
	}
	exited := make(chan struct{})
	go func() {
		cmd.Wait()
		close(exited)
	}()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-exited
		if t.Failed() {
			t.Logf("dex log:\n%s", d.out)
		}
	})

	// Poll discovery rather than the port: Dex listens before it is ready
	// to answer.
	discovery := d.Issuer + "/.well-known/openid-configuration"
	testutil.EventuallyNil(t, 30*time.Second, "dex to serve "+discovery, func() error {
		resp, err := http.Get(discovery)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-exited:
			t.Fatalf("dex exited before it served %s:\n%s", discovery, d.out)
		default:
		}
		return fmt.Errorf("last error %v:\n%s", err, d.out)
	})
	return d
}

// config is Dex's configuration. JSON is YAML, so strconv.Quote is enough
// to write any value safely.
func (d *Dex) config(port int) []byte {
	q := strconv.Quote
	var b bytes.Buffer
	fmt.Fprintf(&b, "issuer: %s\n", q(d.Issuer))
	b.WriteString("storage:\n  type: memory\n")
	fmt.Fprintf(&b, "web:\n  http: %s\n", q(fmt.Sprintf("127.0.0.1:%d", port)))
	b.WriteString("logger:\n  level: info\n  format: text\n")
	b.WriteString("oauth2:\n  skipApprovalScreen: true\n")
	b.WriteString("enablePasswordDB: true\n")
	b.WriteString("staticPasswords:\n")
	fmt.Fprintf(&b, "  - email: %s\n    hash: %s\n    username: %s\n    userID: %s\n",
		q(d.Email), q(dexPasswordHash), q(d.Name), q(DexUserID))
	b.WriteString("staticClients:\n")
	fmt.Fprintf(&b, "  - id: %s\n    secret: %s\n    name: Hanashi\n    redirectURIs: [", q(d.ClientID), q(d.ClientSecret))
	for i, u := range d.RedirectURLs {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(q(u))
	}
	b.WriteString("]\n")
	return b.Bytes()
}

// Log returns what Dex has logged so far.
func (d *Dex) Log() string { return d.out.String() }

// dexSubject is the sub claim Dex gives a user: its user id and connector
// id as a protocol buffer (fields 1 and 2, both strings), in unpadded
// base64url.
func dexSubject(userID, connID string) string {
	var b []byte
	for i, s := range []string{userID, connID} {
		b = append(b, byte((i+1)<<3|2), byte(len(s))) // lengths < 128 fit one byte
		b = append(b, s...)
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// ErrInvalidCredentials is what LoginWith returns when Dex turns the e-mail
// address and password down.
var ErrInvalidCredentials = errors.New("dex: invalid e-mail address or password")

// Login signs the static user in as a browser would, without one: it
// requests authURL (an authorization request to this Dex), follows Dex's
// redirects, fills in the password form, and returns the redirect to the
// client's redirect URI, carrying code and state (or error), without
// requesting it.
func (d *Dex) Login(t testing.TB, authURL string) *url.URL {
	t.Helper()
	u, err := d.LoginWith(t.Context(), authURL, d.Email, d.Password)
	if err != nil {
		t.Fatalf("signing in to dex: %v", err)
	}
	return u
}

// LoginWith is Login with any e-mail address and password. It returns
// ErrInvalidCredentials when Dex refuses them, and an error quoting Dex's
// error page when Dex refuses the authorization request itself (an unknown
// client or redirect URI, say: errors Dex shows rather than redirects).
func (d *Dex) LoginWith(ctx context.Context, authURL, email, password string) (*url.URL, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	issuer, err := url.Parse(d.Issuer)
	if err != nil {
		return nil, err
	}
	jar, _ := cookiejar.New(nil)
	client := &http.Client{
		Jar: jar,
		// Redirects are followed below, by hand, so that the one that
		// leaves Dex is returned instead of requested.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	atDex := func(u *url.URL) bool {
		return u.Scheme == issuer.Scheme && u.Host == issuer.Host && strings.HasPrefix(u.Path, issuer.Path+"/")
	}
	if u, err := url.Parse(authURL); err != nil || !atDex(u) {
		return nil, fmt.Errorf("dex: %s is not a URL of %s", authURL, d.Issuer)
	}
	method, target, form := http.MethodGet, authURL, url.Values(nil)
	postedPassword := false
	for range 20 {
		u, err := url.Parse(target)
		if err != nil {
			return nil, fmt.Errorf("dex: bad URL %q: %v", target, err)
		}
		if !atDex(u) {
			return u, nil
		}
		var body io.Reader
		if form != nil {
			body = strings.NewReader(form.Encode())
		}
		req, err := http.NewRequestWithContext(ctx, method, u.String(), body)
		if err != nil {
			return nil, err
		}
		if form != nil {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
		resp, err := client.Do(req)
		if err != nil {
			return nil, err
		}
		page, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		resp.Body.Close()
		if err != nil {
			return nil, err
		}
		switch {
		case resp.StatusCode >= 300 && resp.StatusCode < 400:
			loc, err := resp.Location()
			if err != nil {
				return nil, fmt.Errorf("dex: %s %s: redirect without Location", method, u.Path)
			}
			method, target, form = http.MethodGet, loc.String(), nil
			continue
		case bytes.Contains(page, []byte(`id="login-error"`)):
			// The password form again (401 Unauthorized), saying why.
			return nil, ErrInvalidCredentials
		case resp.StatusCode != http.StatusOK:
			return nil, fmt.Errorf("dex: %s %s: %s: %s", method, u.Path, resp.Status, dexPageText(page))
		}
		action, fields, ok := dexForm(page)
		switch {
		case !ok:
			return nil, fmt.Errorf("dex: %s %s: a page with no form: %s", method, u.Path, dexPageText(page))
		case fields.Has("approval"):
			// The approval screen, shown despite skipApprovalScreen when
			// the request says approval_prompt=force (prompt=consent
			// does not bring it back).
			fields.Set("approval", "approve")
		case bytes.Contains(page, []byte(`name="password"`)) && !postedPassword:
			postedPassword = true
			fields.Set("login", email)
			fields.Set("password", password)
		default:
			return nil, fmt.Errorf("dex: %s %s: an unexpected form: %s", method, u.Path, dexPageText(page))
		}
		next := u
		if action != "" {
			if next, err = u.Parse(action); err != nil {
				return nil, fmt.Errorf("dex: bad form action %q: %v", action, err)
			}
		}
		method, target, form = http.MethodPost, next.String(), fields
	}
	return nil, errors.New("dex: too many steps without reaching the redirect URI")
}

var (
	dexFormRe  = regexp.MustCompile(`(?s)<form\b([^>]*)>(.*?)</form>`)
	dexAttrRe  = regexp.MustCompile(`\b(action|name|value|type)="([^"]*)"`)
	dexInputRe = regexp.MustCompile(`<input\b[^>]*>`)
	dexTagRe   = regexp.MustCompile(`(?s)<script.*?</script>|<style.*?</style>|<[^>]*>`)
)

// dexForm returns the first form on one of Dex's pages: its action and its
// hidden fields. Dex's templates are simple and ours to read, so regular
// expressions are enough.
func dexForm(page []byte) (action string, fields url.Values, ok bool) {
	m := dexFormRe.FindSubmatch(page)
	if m == nil {
		return "", nil, false
	}
	attrs := func(tag []byte) map[string]string {
		a := make(map[string]string)
		for _, kv := range dexAttrRe.FindAllSubmatch(tag, -1) {
			a[string(kv[1])] = html.UnescapeString(string(kv[2]))
		}
		return a
	}
	action = attrs(m[1])["action"]
	fields = make(url.Values)
	for _, in := range dexInputRe.FindAll(m[2], -1) {
		if a := attrs(in); a["type"] == "hidden" && a["name"] != "" {
			fields.Set(a["name"], a["value"])
		}
	}
	return action, fields, true
}

// dexPageText is the text of a Dex page, for error messages.
func dexPageText(page []byte) string {
	s := html.UnescapeString(dexTagRe.ReplaceAllString(string(page), " "))
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 300 {
		s = s[:300] + "..."
	}
	return s
}

// syncBuffer collects a child process's output while tests read it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
