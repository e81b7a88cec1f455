package main

// The client on phones, with the keyboard alone, and in Japanese.

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// TestBrowserPhone uses the client on two phones, 390x844 and 320x568:
// nothing reaches beyond the screen on any screen (sign-in, room with long
// messages, drawer), the room list is a drawer that opens and closes, the
// main controls are at least 44 px, a message sent by touch arrives, a
// long press shows a message's actions, and the composer stays in sight
// when the on-screen keyboard takes half the screen.
func TestBrowserPhone(t *testing.T) {
	chromium := browserFindChromium(t)
	deadline := time.Now().Add(2 * time.Minute)
	_, base := browserServe(t, deadline)

	bob := browserOpen(t, chromium, "bob", deadline)
	bob.pickName(t, base)
	room := bob.createRoom(t, "pocket", false)
	// Long words, a long link and a wide code block must wrap or scroll
	// inside the message, never widen the page.
	bob.send(t, strings.Repeat("W", 200))
	bob.send(t, "https://example.com/"+strings.Repeat("long/", 40))
	bob.send(t, "```\n"+strings.Repeat("wide_code_line ", 20)+"\n```")

	for _, ph := range []browserPhone{browserPhone390, browserPhone320} {
		t.Run(ph.name, func(t *testing.T) {
			p := browserOpen(t, chromium, "alice-"+ph.name, deadline)
			p.emulatePhone(t, ph)
			p.do(t, "open the page", chromedp.Navigate(base), chromedp.WaitVisible(chromedp.ID("name-input")))
			p.checkNoOverflow(t, "sign-in")
			p.checkTouchTargets(t, "#name-submit")
			p.pickName(t, base)

			// The drawer is closed, and the menu button says so.
			drawerOpen := `(() => {
				const s = document.getElementById("sidebar"), r = s?.getBoundingClientRect();
				return !!r && s.getClientRects().length > 0 && getComputedStyle(s).visibility !== "hidden" && r.left >= -1 && r.right <= innerWidth + 1 && r.width > 0;
			})()`
			p.poll(t, "the drawer closed", `!`+drawerOpen+` && document.getElementById("menu-button").getAttribute("aria-expanded") === "false"`)
			p.checkTouchTargets(t, "#menu-button", "#settings-button")
			p.checkNoOverflow(t, "no room open")

			// It opens by the menu button; the room is in it; a tap opens
			// the room and closes the drawer.
			p.tap(t, "#menu-button")
			p.poll(t, "the drawer open", drawerOpen+` && document.getElementById("menu-button").getAttribute("aria-expanded") === "true"`)
			p.checkNoOverflow(t, "drawer")
			sel := fmt.Sprintf(`a.room[data-room-id="%s"]`, room)
			p.checkTouchTargets(t, sel, "#room-create")
			p.tap(t, sel)
			p.poll(t, "the room open, the drawer closed", fmt.Sprintf(`!!document.getElementById("room-view") && !document.getElementById("room-view").hidden && document.querySelector("a.room.active")?.dataset.roomId === %q && !%s`, room, drawerOpen))
			p.poll(t, "the history", `document.querySelectorAll("#messages .message").length >= 3`)
			p.checkNoOverflow(t, "room")

			// Join and send by touch.
			p.tap(t, "#join")
			p.poll(t, "joined", `!!document.getElementById("leave") && document.getElementById("composer") && !document.getElementById("composer").disabled`)
			p.checkTouchTargets(t, "#send", "#composer")
			body := "sent from a " + ph.name + " phone"
			p.tap(t, "#composer")
			p.do(t, "type", chromedp.SendKeys(chromedp.ID("composer"), body))
			p.tap(t, "#send")
			p.waitBody(t, body)
			bob.waitBody(t, body)
			p.checkNoOverflow(t, "room after sending")

			// No hover on a phone: a long press opens a message's actions,
			// as a sheet at the bottom of the screen.
			msg := fmt.Sprintf(`#messages .message[data-id="%s"]`, browserEval[string](t, p, browserChatMsg(body)+`.dataset.id`))
			actions := fmt.Sprintf(`(a => !!a && a.getClientRects().length > 0 && getComputedStyle(a).visibility !== "hidden" && getComputedStyle(a).opacity !== "0")(document.querySelector(%s))`, browserJS(msg+" .actions"))
			if browserEval[bool](t, p, actions) {
				t.Errorf("%s: a message shows its actions before anyone touched it", p.name)
			}
			p.longPress(t, msg+" .body", 700*time.Millisecond)
			p.poll(t, "the message's actions", `!!document.querySelector('.actions-menu.sheet[role="menu"] [data-action="reply"]')`)
			p.checkTouchTargets(t, `.actions-menu [data-action="reply"]`, `.actions-menu [data-action="react"]`)
			p.tap(t, ".actions-backdrop")
			p.poll(t, "the sheet closed", `document.querySelector(".actions-menu") === null`)

			// The on-screen keyboard takes the lower part of the screen
			// (the page asks to be resized for it): the composer stays
			// in sight above it.
			p.emulatePhone(t, browserPhone{ph.name + " with a keyboard", ph.width, ph.height - 290, ph.scale})
			p.poll(t, "the composer above the keyboard", `(c => {
				const r = c.getBoundingClientRect();
				return r.top >= 0 && r.bottom <= innerHeight && r.height > 0;
			})(document.getElementById("composer"))`)
			p.checkNoOverflow(t, "room with a keyboard")
			p.checkClean(t)
		})
	}
	bob.checkClean(t)
}

// TestBrowserKeyboard uses the client with the keyboard alone: the skip
// link is the first Tab stop and shows when focused, the composer is
// within 3 Tab presses of the top, Enter sends, the arrow keys move
// through the messages, and the focus can always be seen.
func TestBrowserKeyboard(t *testing.T) {
	chromium := browserFindChromium(t)
	deadline := time.Now().Add(time.Minute)
	_, p := browserGuest(t, chromium, "kim", deadline)
	p.createRoom(t, "keys", false)
	for _, b := range []string{"one", "two", "three"} {
		p.send(t, b)
		p.waitBody(t, b)
	}

	// From the top of a freshly loaded page.
	top := func() {
		t.Helper()
		p.do(t, "reload", chromedp.Reload())
		p.waitStatus(t, "connected")
		p.poll(t, "the history", `document.querySelectorAll("#messages .message:not(.pending)").length >= 3`)
		p.poll(t, "nothing focused", `document.activeElement === document.body || document.activeElement === null`)
	}
	ring := func(what string) browserFocused {
		t.Helper()
		f := p.focused(t)
		if !f.Visible || !f.Ring {
			t.Errorf("%s: the focus on %s cannot be seen (on screen %v, outline or shadow %v)", what, f, f.Visible, f.Ring)
		}
		return f
	}

	top()
	p.key(t, kb.Tab)
	if f := ring("the first Tab stop"); f.Tag != "a" || !strings.Contains(f.Class, "skip-link") {
		t.Errorf("the first Tab stop is %s; want a.skip-link", f)
	}
	// The skip link leads to the composer.
	p.key(t, kb.Enter)
	p.poll(t, "the composer focused by the skip link", `document.activeElement?.id === "composer"`)

	top()
	presses := 0
	for presses < 10 && p.focused(t).ID != "composer" {
		p.key(t, kb.Tab)
		presses++
		ring(fmt.Sprintf("Tab %d", presses))
	}
	if presses > 3 {
		t.Errorf("the composer is %d Tab presses from the top; want at most 3", presses)
	}

	// Type and send with Enter; Shift+Enter is a new line.
	p.key(t, "four")
	p.key(t, kb.Enter, chromedp.KeyModifiers(chromedp.ModifierShift))
	p.key(t, "lines")
	p.key(t, kb.Enter)
	p.waitBody(t, "four\nlines")
	p.poll(t, "the composer empty and focused", `document.activeElement?.id === "composer" && document.activeElement.value === ""`)

	// On into the messages (one Tab stop for the list), and through them
	// with the arrow keys.
	presses = 0
	for presses < 10 && !browserEval[bool](t, p, `!!document.activeElement?.closest("#messages .message")`) {
		p.key(t, kb.Tab)
		presses++
		ring(fmt.Sprintf("Tab %d after the composer", presses))
	}
	focusedBody := `document.activeElement?.closest(".message")?.querySelector(".body")?.textContent`
	before := browserEval[string](t, p, focusedBody)
	p.key(t, kb.ArrowUp)
	ring("a message, after ArrowUp")
	after := browserEval[string](t, p, focusedBody)
	p.key(t, kb.ArrowDown)
	back := browserEval[string](t, p, focusedBody)
	if before == "" || after == before || back != before {
		t.Errorf("arrow keys in the messages: focus on %q, ArrowUp to %q, ArrowDown back to %q; want a move up and back", before, after, back)
	}

	// Tab through the whole page: every stop shows its focus.
	for i := 1; i <= 25; i++ {
		p.key(t, kb.Tab)
		if f := p.focused(t); f.Tag != "body" {
			ring(fmt.Sprintf("Tab stop %d (%s)", i, f))
		}
	}
	p.checkClean(t)
}

// TestBrowserJapanese: a browser in Japanese gets the client in Japanese;
// an English one switches in the settings (the page's language and its
// words change, and stay after a reload); then it
// types Japanese with an input method: Enter while the composition is
// open chooses the words and sends nothing; Enter after it sends.
func TestBrowserJapanese(t *testing.T) {
	chromium := browserFindChromium(t)
	deadline := time.Now().Add(time.Minute)
	base, p := browserGuest(t, chromium, "haru", deadline)
	// A browser in Japanese gets the client in Japanese from the start.
	yuki := browserOpenWith(t, chromium, "yuki", deadline, chromedp.Flag("lang", "ja"), chromedp.Flag("accept-lang", "ja"))
	yuki.do(t, "open the page", chromedp.Navigate(base), chromedp.WaitVisible(chromedp.ID("name-form")))
	yuki.poll(t, "Japanese", `document.documentElement.lang === "ja" && /[\u3040-\u30ff\u4e00-\u9fff]/.test(document.getElementById("login")?.textContent)`)

	p.createRoom(t, "nihongo", false)
	p.poll(t, "English", `document.documentElement.lang === "en"`)
	labels := `[document.getElementById("send")?.textContent + document.getElementById("send").getAttribute("aria-label"),
		document.getElementById("composer").getAttribute("aria-label"), document.getElementById("settings-button")?.textContent +
		document.getElementById("settings-button").getAttribute("aria-label")].join("|")`
	english := browserEval[string](t, p, labels)

	browserChatClick(t, p, "settings", `document.getElementById("settings-button")`)
	p.do(t, "choose 日本語", chromedp.WaitVisible(chromedp.ID("language")), browserFill("language", "ja"))
	japanese := `document.documentElement.lang === "ja" && /[\u3040-\u30ff\u4e00-\u9fff]/.test(document.getElementById("settings")?.textContent)`
	p.poll(t, "Japanese", japanese)
	p.key(t, kb.Escape)
	p.poll(t, "the settings closed", browserHidden("settings"))
	if got := browserEval[string](t, p, labels); got == english {
		t.Errorf("the send button, the composer and the settings button keep their English names in Japanese: %q", got)
	}
	p.do(t, "reload", chromedp.Reload())
	p.waitStatus(t, "connected")
	p.poll(t, "Japanese after a reload", `document.documentElement.lang === "ja"`)
	if got := browserEval[string](t, p, labels); got == english {
		t.Errorf("after a reload: the labels are English again: %q", got)
	}

	// An input method: "にほんご" composing, Enter (the IME's) chooses
	// "日本語", which must not send.
	p.do(t, "focus the composer", chromedp.Focus(chromedp.ID("composer")))
	p.compose(t, "にほんご")
	p.composeEnter(t)
	p.commit(t, "日本語")
	p.poll(t, "the composer holds the chosen words", `document.getElementById("composer").value === "日本語"`)
	if n := browserEval[int](t, p, `document.querySelectorAll("#messages .message").length`); n != 0 {
		t.Errorf("%d messages sent by Enter during the composition; want none", n)
	}
	p.key(t, kb.Enter)
	p.waitBody(t, "日本語")
	p.poll(t, "the composer empty", `document.getElementById("composer").value === ""`)
	p.checkClean(t)
}
