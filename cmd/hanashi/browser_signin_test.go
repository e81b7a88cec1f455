package main

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/hanashi-chat/hanashi/internal/testpeer"
)

// TestBrowserSignIn signs two people in with real Chromium: Alice through
// Dex (the whole redirect flow), Bob by a link e-mailed to Mailpit. Alice
// uploads a picture, and Bob sees it on her next message; then Alice signs
// out.
func TestBrowserSignIn(t *testing.T) {
	chromium := browserFindChromium(t)
	mp := testpeer.MailpitFromEnv(t)
	deadline := time.Now().Add(browserTestTimeout)
	addr := freeAddr(t)
	// The pages are opened as 127.0.0.1, and the server sends the browser
	// to its base URL, http://localhost:PORT, where everything else
	// happens: the callback Dex knows is there.
	base := "http://" + addr + "/"
	dex := testpeer.StartDex(t, canonicalBase(t, addr)+"/auth/dex/callback")
	browserStartServerWith(t, addr, t.TempDir(), deadline, map[string]string{
		"HANASHI_OIDC":                   "dex",
		"HANASHI_OIDC_DEX_TITLE":         "Dex",
		"HANASHI_OIDC_DEX_ISSUER":        dex.Issuer,
		"HANASHI_OIDC_DEX_CLIENT_ID":     dex.ClientID,
		"HANASHI_OIDC_DEX_CLIENT_SECRET": dex.ClientSecret,
	}, "-smtp", mp.SMTPURL)

	alice := browserOpen(t, chromium, "alice", deadline)
	bob := browserOpen(t, chromium, "bob", deadline)

	// Alice: the page, "Sign in", Dex's form, and back. Each click that
	// leaves a page is followed by waitPage, not by a step that looks for
	// a node: that could meet the page going away.
	alice.do(t, "go to the sign-in page",
		chromedp.Navigate(base),
		chromedp.WaitVisible(chromedp.ID("login-link")),
		chromedp.Click(chromedp.ID("login-link")),
	)
	alice.waitPage(t, "the sign-in page", `document.getElementById("provider-dex")`)
	alice.do(t, "go to Dex", chromedp.Click(chromedp.ID("provider-dex")))
	alice.waitPage(t, "Dex's form", `document.querySelector('input[name="login"]')`)
	alice.do(t, "sign in at Dex",
		chromedp.SendKeys(chromedp.CSS(`input[name="login"]`), dex.Email),
		chromedp.SendKeys(chromedp.CSS(`input[name="password"]`), dex.Password),
		chromedp.Submit(chromedp.CSS(`input[name="password"]`)),
	)
	alice.waitPage(t, "the app", `document.getElementById("app")`)
	alice.do(t, "see the app", chromedp.WaitVisible(chromedp.ID("app")))
	alice.poll(t, "the app at the base URL", fmt.Sprintf(`location.origin === %s`, browserJS(canonicalBase(t, addr))))
	alice.poll(t, "her name", fmt.Sprintf(`document.getElementById("me")?.textContent === %s`, browserJS(dex.Name)))
	alice.waitStatus(t, "connected")

	// Bob: an e-mailed link.
	email := testpeer.Address()
	bob.do(t, "ask for a sign-in link",
		chromedp.Navigate(base+"login"),
		chromedp.WaitVisible(chromedp.ID("email")),
		chromedp.SendKeys(chromedp.ID("email"), email),
		chromedp.Click(chromedp.ID("send-link")),
	)
	bob.waitPage(t, "the page that says a link was sent", `document.getElementById("sent")`)
	link := linkPattern.FindString(mp.WaitMessage(t, email, browserWaitLimit).Text)
	if link == "" {
		t.Fatal("no sign-in link in the mail")
	}
	bob.do(t, "follow the link and press the button",
		chromedp.Navigate(link),
		chromedp.WaitVisible(chromedp.ID("redeem")),
		chromedp.Click(chromedp.ID("redeem")),
	)
	bob.waitPage(t, "the app", `document.getElementById("app")`)
	bob.do(t, "see the app", chromedp.WaitVisible(chromedp.ID("app")))
	bob.poll(t, "his name", fmt.Sprintf(`document.getElementById("me")?.textContent === %s`, browserJS(strings.Split(email, "@")[0])))
	bob.waitStatus(t, "connected")

	// Alice sets a picture.
	img := image.NewRGBA(image.Rect(0, 0, 64, 48))
	for i := range img.Pix {
		img.Pix[i] = byte(i)
	}
	img.Set(0, 0, color.RGBA{255, 0, 0, 255})
	var buf bytes.Buffer
	png.Encode(&buf, img)
	picture := filepath.Join(t.TempDir(), "me.png")
	if err := os.WriteFile(picture, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	browserChatClick(t, alice, "settings", `document.getElementById("settings-button")`)
	alice.do(t, "upload a picture",
		chromedp.SetUploadFiles(chromedp.ID("avatar-input"), []string{picture}, chromedp.NodeReady),
	)
	alice.poll(t, "her new picture", `document.getElementById("me-avatar")?.getAttribute("src")?.includes("/api/v1/avatars/")`)
	alice.key(t, kb.Escape)
	alice.poll(t, "the settings closed", browserHidden("settings"))

	// A room for both; Alice's next message carries the picture to Bob.
	roomID := alice.createRoom(t, "pictures", false)
	bob.join(t, roomID)
	alice.send(t, "do you like my picture?")
	bob.waitBody(t, "do you like my picture?")
	bob.poll(t, "Alice's picture on her message", `(() => {
		const m = [...document.querySelectorAll("#messages .message")].find(m => m.querySelector(".body")?.textContent === "do you like my picture?");
		const img = m?.querySelector("img.avatar");
		return !!img && img.getAttribute("src").includes("/api/v1/avatars/") && img.complete && img.naturalWidth === 256;
	})()`)

	// Alice signs out: the name picker is back and the session is gone.
	browserChatClick(t, alice, "settings", `document.getElementById("settings-button")`)
	alice.do(t, "sign out",
		chromedp.Click(chromedp.ID("sign-out")),
		chromedp.WaitVisible(chromedp.ID("name-form")),
	)
	alice.do(t, "reload: still signed out",
		chromedp.Reload(),
		chromedp.WaitVisible(chromedp.ID("name-form")),
	)
	if browserEval[bool](t, alice, `!!document.getElementById("me")`) {
		t.Error("after signing out and a reload, the page shows someone signed in")
	}
	for _, p := range []*browserPerson{alice, bob} {
		p.checkClean(t)
	}
}
