package main

// Accessibility (axe-core on every screen, light and dark), pictures that
// fail, and the README's screenshots.

import (
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// TestBrowserAxe scans every screen with axe-core (WCAG 2.2 AA): sign-in,
// a room with messages, a thread, the settings, a direct room and the
// phone's drawer, each in the light and the dark theme; there must be no
// violation. Both people sign in by e-mail, so their avatars are Gravatar
// addresses, which cannot load here: every picture shown must have loaded
// or given way to initials.
func TestBrowserAxe(t *testing.T) {
	chromium := browserFindChromium(t)
	axe := browserAxeScript(t)
	deadline := time.Now().Add(2 * time.Minute)
	srv, base := browserServe(t, deadline)
	alice := browserOpen(t, chromium, "alice", deadline)
	bob := browserOpen(t, chromium, "bob", deadline)
	guest := browserOpen(t, chromium, "guest", deadline)
	browserEach(t, []*browserPerson{alice, bob}, func(p *browserPerson) {
		browserChatSignIn(t, p, srv, base, p.name+"@hanashi.test")
	})
	guest.do(t, "open the page", chromedp.Navigate(base), chromedp.WaitVisible(chromedp.ID("login")))

	// Content: a room with a mention, code, a link, a reaction and a thread.
	room := alice.createRoom(t, "design", false)
	bob.join(t, room)
	alice.send(t, "hi @bob, the spec is at https://example.com/spec")
	bob.send(t, "looks good; `npm run build` passes:\n```\nok 12 tests\n```")
	alice.poll(t, "bob's code", `document.querySelectorAll("#messages .message:not(.pending) .body pre").length === 1`)
	root := browserEval[string](t, bob, `[...document.querySelectorAll("#messages .message")][0].dataset.id`)
	browserChatAwait(t, bob, "a reaction and a reply", fmt.Sprintf(`(async () => {
		const r1 = await fetch("api/v1/rooms/%[1]s/messages/%[2]s/reactions/%[3]s", {method: "PUT"});
		const r2 = await fetch("api/v1/rooms/%[1]s/messages", {method: "POST", headers: {"Content-Type": "application/json"},
			body: JSON.stringify({client_id: "axe-reply", body: "in a thread", thread: %[2]q})});
		return r1.ok && r2.ok;
	})()`, room, root, url.PathEscape("👍")))
	alice.poll(t, "the reaction and the reply count", `!!document.querySelector("#messages .reactions button.reaction") && !!document.querySelector("#messages .reply-summary")`)
	alice.do(t, "find bob", chromedp.SendKeys(chromedp.ID("dm-search"), "bob"))
	browserChatClick(t, alice, "bob in the results", `[...document.querySelectorAll("#dm-results .person")].find(b => b.textContent.includes("bob"))`)
	alice.poll(t, "the direct room", `document.querySelector("#directs a.room.active")`)
	dm := browserEval[string](t, alice, `document.querySelector("#directs a.room.active").dataset.roomId`)
	alice.send(t, "a direct word")

	closeAll := func() {
		t.Helper()
		alice.key(t, kb.Escape)
		alice.poll(t, "the settings closed", browserHidden("settings"))
		alice.poll(t, "the thread closed", `(() => {
			if (`+browserHidden("thread")+`) return true;
			document.getElementById("thread-close")?.click();
			return false;
		})()`)
	}
	screens := []struct {
		name string
		open func()
	}{
		{"room", func() { browserChatOpenRoom(t, alice, room) }},
		{"thread", func() {
			browserChatClick(t, alice, "the reply count", `document.querySelector("#messages .reply-summary")`)
			alice.poll(t, "the thread", `document.querySelector("#thread-messages .message")`)
		}},
		{"settings", func() {
			browserChatClick(t, alice, "settings", `document.getElementById("settings-button")`)
			alice.do(t, "the settings", chromedp.WaitVisible(chromedp.ID("language")))
		}},
		{"direct room", func() { browserChatOpenRoom(t, alice, dm) }},
		{"phone drawer", func() {
			alice.emulatePhone(t, browserPhone390)
			browserChatClick(t, alice, "the menu", `document.getElementById("menu-button")`)
			alice.poll(t, "the drawer open", `document.getElementById("menu-button").getAttribute("aria-expanded") === "true"`)
		}},
	}
	backgrounds := map[string]string{}
	for _, scheme := range []string{"light", "dark"} {
		for _, p := range []*browserPerson{alice, guest} {
			p.colorScheme(t, scheme)
		}
		bg := browserEval[string](t, alice, `getComputedStyle(document.body).backgroundColor`)
		for s, other := range backgrounds {
			if other == bg {
				t.Errorf("the page's background is %s in both the %s and the %s scheme", bg, s, scheme)
			}
		}
		backgrounds[scheme] = bg
		guest.checkAxe(t, axe, "sign-in, "+scheme)
		for _, s := range screens {
			s.open()
			alice.checkAxe(t, axe, s.name+", "+scheme)
			if s.name == "phone drawer" {
				browserChatClick(t, alice, "the menu", `document.getElementById("menu-button")`)
				alice.emulateDesktop(t, 1100, 800)
			}
			closeAll()
		}
	}

	// The theme chosen in the settings wins over the system's.
	alice.colorScheme(t, "light")
	browserChatClick(t, alice, "settings", `document.getElementById("settings-button")`)
	alice.do(t, "choose the dark theme", chromedp.WaitVisible(chromedp.ID("theme")), browserFill("theme", "dark"))
	alice.poll(t, "the dark background under a light system", fmt.Sprintf(`getComputedStyle(document.body).backgroundColor === %q`, backgrounds["dark"]))
	closeAll()

	// No broken picture anywhere: each shown img loaded, and the people's
	// own (Gravatar, unreachable) pictures gave way to initials.
	for _, p := range []*browserPerson{alice, bob} {
		p.checkImages(t)
		browserChatAwait(t, p, "a Gravatar address, shown as initials", `(async () => {
			const me = (await (await fetch("api/v1/me")).json()).user;
			return me.avatar_url.startsWith("https://www.gravatar.com/") && document.getElementById("me-avatar").tagName !== "IMG";
		})()`)
	}
	for _, p := range []*browserPerson{alice, bob, guest} {
		p.checkClean(t)
	}
}

// checkImages fails for every img on screen that has no picture (it
// failed to load, or is still loading after the wait), and if #me-avatar
// is not shown.
func (p *browserPerson) checkImages(t *testing.T) {
	t.Helper()
	// Pictures load lazily: those on screen count.
	const shown = `[...document.images].filter(i => {
		const r = i.getBoundingClientRect();
		return i.getClientRects().length > 0 && r.bottom > 0 && r.right > 0 && r.top < innerHeight && r.left < innerWidth;
	})`
	p.poll(t, "every picture on screen settled", shown+`.every(i => i.complete)`)
	broken := browserEval[[]string](t, p, shown+`.filter(i => i.naturalWidth === 0)
		.map(i => (i.id ? "#" + i.id : i.className) + " " + i.getAttribute("src"))`)
	for _, b := range broken {
		t.Errorf("%s: a broken picture: %s", p.name, b)
	}
	if !browserEval[bool](t, p, `(el => !!el && el.getClientRects().length > 0 && (el.tagName !== "IMG" || el.naturalWidth > 0))(document.getElementById("me-avatar"))`) {
		t.Errorf("%s: #me-avatar is not shown as a picture or initials", p.name)
	}
}

// TestBrowserScreenshots writes the README's pictures, docs/screenshot-
// desktop.png (1280x800, a room with a thread open) and docs/screenshot-
// phone.png (390x844), when HANASHI_SCREENSHOTS=1; other runs skip it, so
// they leave the tree as it is.
func TestBrowserScreenshots(t *testing.T) {
	if os.Getenv("HANASHI_SCREENSHOTS") != "1" {
		t.Skip("HANASHI_SCREENSHOTS=1 writes docs/screenshot-*.png")
	}
	chromium := browserFindChromium(t)
	deadline := time.Now().Add(time.Minute)
	_, base := browserServe(t, deadline)
	p := browserOpen(t, chromium, "Mika Sato", deadline)
	p.pickName(t, base)
	for _, r := range []string{"general", "random"} {
		p.createRoom(t, r, false)
	}
	room := p.createRoom(t, "design", false)

	team := map[string]*browserChatAPI{}
	for _, name := range []string{"Aiko Tanaka", "Ben Carter", "Chloé Martin"} {
		team[name] = browserChatGuest(t, base, name)
		if code := team[name].call(t, "POST", "rooms/"+room+"/members", "{}"); code != 200 {
			t.Fatalf("%s joins: %d %s", name, code, team[name].last)
		}
	}
	n := 0
	post := func(who, body, thread string) string {
		t.Helper()
		n++
		req, _ := json.Marshal(map[string]string{"client_id": fmt.Sprint("shot-", n), "body": body, "thread": thread})
		a := team[who]
		if code := a.call(t, "POST", "rooms/"+room+"/messages", string(req)); code/100 != 2 {
			t.Fatalf("%s posts: %d %s", who, code, a.last)
		}
		var res struct {
			Message struct {
				ID string `json:"id"`
			} `json:"message"`
		}
		json.Unmarshal([]byte(a.last), &res)
		return res.Message.ID
	}
	mock := post("Aiko Tanaka", "Morning! The new sidebar mock-ups are up: phones get a drawer, desktops keep the list.", "")
	contrast := post("Ben Carter", "Looks great. One thing: the unread badge needs **4.5:1** contrast in the dark theme.", "")
	post("Chloé Martin", "Here is the token I used:\n```css\n.unread {\n  background: var(--accent-strong);\n  color: #fff;\n}\n```", "")
	p.send(t, "Good catch, Ben: I'll run axe on it before we ship.")
	post("Aiko Tanaka", "Shipping on Friday then 🚀", "")
	post("Aiko Tanaka", "Agreed, I'll move it to `--accent-strong`.", contrast)
	post("Ben Carter", "Thanks! Checked it on a phone too.", contrast)
	for who, emoji := range map[string]string{"Ben Carter": "👍", "Chloé Martin": "🎉"} {
		if code := team[who].call(t, "PUT", "rooms/"+room+"/messages/"+mock+"/reactions/"+url.PathEscape(emoji), ""); code/100 != 2 {
			t.Fatalf("%s reacts: %d %s", who, code, team[who].last)
		}
	}

	p.colorScheme(t, "light")
	p.emulateDesktop(t, 1280, 800)
	browserChatOpenRoom(t, p, room)
	p.poll(t, "the conversation", `document.querySelectorAll("#messages .message").length === 5 && document.querySelectorAll("#messages .reaction").length === 2`)
	browserChatClick(t, p, "the thread", fmt.Sprintf(`document.querySelector('#messages .message[data-id="%s"] .reply-summary')`, contrast))
	p.poll(t, "the thread's replies", `document.querySelectorAll("#thread-messages .message").length === 2`)
	// The room wide enough to read: the member list folded away.
	members := `(b => { if (b.getAttribute("aria-expanded") === "true") b.click(); return true; })(document.getElementById("members-toggle"))`
	p.poll(t, "the members folded", members)
	p.do(t, "a draft", browserFill("composer", "Friday works for me 👍"))
	still := `document.getAnimations().length === 0 && [...document.images].every(i => i.complete)`
	p.poll(t, "a still page", still)
	p.do(t, "no focus ring in the picture", chromedp.Evaluate[chromedp.Void](`document.activeElement?.blur()`))
	p.screenshot(t, filepath.Join("..", "..", "docs", "screenshot-desktop.png"))

	browserChatClick(t, p, "close the thread", `document.getElementById("thread-close")`)
	p.emulatePhone(t, browserPhone{"390x844", 390, 844, 2})
	p.poll(t, "the members folded", members)
	p.poll(t, "a still page", still)
	p.do(t, "no focus ring in the picture", chromedp.Evaluate[chromedp.Void](`document.activeElement?.blur()`))
	p.screenshot(t, filepath.Join("..", "..", "docs", "screenshot-phone.png"))
	p.checkClean(t)
}
