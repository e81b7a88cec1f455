package main

// The keyboard shortcuts in real Chromium, by the keyboard alone: Alt+Shift+↓
// to the next room with unread messages, Escape marks the room read (for
// the server too), Alt+↑/↓ between rooms in the sidebar's order, Ctrl+K's
// quick switcher (a fuzzy query, a person found by the server), the "?"
// sheet; then the switcher on a 320 px phone, by touch.

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

func TestBrowserKeys(t *testing.T) {
	chromium := browserFindChromium(t)
	axe := browserAxeScript(t)
	deadline := time.Now().Add(2 * time.Minute)
	addr := freeAddr(t)
	srv := browserStartServer(t, addr, t.TempDir(), deadline)
	base := browserBase(addr)

	// Signed in, not guests: people find each other by name only among
	// signed-in users, and only they start direct conversations.
	alice := browserOpen(t, chromium, "alice", deadline)
	bob := browserOpen(t, chromium, "bob", deadline)
	browserEach(t, []*browserPerson{alice, bob}, func(p *browserPerson) {
		browserChatSignIn(t, p, srv, base, p.name+"@hanashi.test")
	})

	// The sidebar: general, lounge, random. Bob writes in general and
	// random while Alice is in lounge.
	general := bob.createRoom(t, "general", false)
	random := bob.createRoom(t, "random", false)
	lounge := alice.createRoom(t, "lounge", false)
	alice.join(t, general)
	alice.join(t, random)
	browserChatOpenRoom(t, alice, lounge)
	// Enough in random to scroll: Alice reads from the top later.
	const burst = 30
	bob.poll(t, "a burst of sends", fmt.Sprintf(`(() => {
		const c = document.getElementById("composer"), f = document.getElementById("composer-form");
		for (let i = 1; i <= %d; i++) { c.value = "random " + i + "\nsecond line\nthird line"; f.requestSubmit(); }
		return true;
	})()`, burst))
	bob.poll(t, "the burst sent", fmt.Sprintf(`document.querySelectorAll("#messages .message:not(.pending)").length === %d`, burst))
	browserChatOpenRoom(t, bob, general)
	bob.send(t, "hello general")
	bob.waitBody(t, "hello general")

	badge := func(room string) string {
		return fmt.Sprintf(`(document.querySelector('#sidebar .room[data-room-id="%s"] .unread')?.textContent ?? "")`, room)
	}
	alice.poll(t, "the unread counts", badge(general)+` === "1" && `+badge(random)+fmt.Sprintf(` === "%d"`, burst))
	active := `document.querySelector("#sidebar a.room.active")?.dataset.roomId`
	inRoom := func(p *browserPerson, id, what string) {
		t.Helper()
		p.poll(t, what, fmt.Sprintf(`%s === %q && !!document.getElementById("room-view")`, active, id))
	}
	alt := chromedp.KeyModifiers(chromedp.ModifierAlt)
	altShift := chromedp.KeyModifiers(chromedp.ModifierAlt, chromedp.ModifierShift)
	ctrl := chromedp.KeyModifiers(chromedp.ModifierCtrl)

	t.Run("unread rooms and Escape", func(t *testing.T) {
		alice.do(t, "start in the composer", chromedp.Focus(chromedp.ID("composer")))
		// From lounge, the next room with unread messages is random.
		alice.key(t, kb.ArrowDown, altShift)
		inRoom(alice, random, "random, the next unread room")
		alice.poll(t, "the new line above bob's messages", `!!document.querySelector("#messages .new-divider")`)
		if id := alice.focused(t).ID; id != "composer" {
			t.Errorf("after Alt+Shift+Down the focus is on %q; want it kept in the composer", id)
		}
		// Escape in the composer: the room is read, the new line goes.
		alice.key(t, kb.Escape)
		alice.poll(t, "no new line after Escape", `!document.querySelector("#messages .new-divider")`)

		// Reading from the top, Alice is not at the newest message: what
		// Bob writes now stays unread until she marks it read.
		alice.do(t, "focus the newest message", chromedp.Evaluate[chromedp.Void](`[...document.querySelectorAll("#messages .message")].pop().focus()`))
		alice.key(t, kb.Home)
		alice.poll(t, "the first message focused, scrolled away from the bottom", `(() => {
			const s = document.getElementById("scroller");
			return document.activeElement === document.querySelector("#messages .message") && s.scrollHeight - s.scrollTop - s.clientHeight > 200;
		})()`)
		browserChatOpenRoom(t, bob, random)
		bob.send(t, "are you there?")
		bob.send(t, "hello?")
		bob.waitBody(t, "hello?")
		alice.poll(t, "2 unread in random while reading above", badge(random)+` === "2"`)
		alice.key(t, kb.Escape)
		alice.poll(t, "random read after Escape", badge(random)+` === ""`)
		if f := alice.focused(t); !strings.Contains(f.Class, "message") {
			t.Errorf("Escape on a message moved the focus to %s; want it kept", f)
		}
		// The server has the read marker: after a reload nothing of random is unread.
		alice.do(t, "reload", chromedp.Reload())
		alice.waitStatus(t, "connected")
		alice.poll(t, "the sidebar after the reload", fmt.Sprintf(`!!document.querySelector('#sidebar .room[data-room-id="%s"]')`, random))
		unread := browserRun(t, alice, "ask the server what is unread", chromedp.Evaluate[int](fmt.Sprintf(
			`fetch("api/v1/unread").then(r => r.json()).then(d => d.rooms.find(r => r.room === %s)?.unread ?? -1)`, random), chromedp.EvalAwaitPromise))
		if unread != 0 {
			t.Errorf("after Escape and a reload the server counts %d unread in random; want 0", unread)
		}
		if got := browserEval[string](t, alice, badge(random)); got != "" {
			t.Errorf("after a reload random shows %q unread; want none", got)
		}
		// General still has Bob's message: Alt+Shift+Down goes there, around the end.
		browserChatOpenRoom(t, alice, random)
		alice.do(t, "focus the composer", chromedp.Focus(chromedp.ID("composer")))
		alice.key(t, kb.ArrowDown, altShift)
		inRoom(alice, general, "general, the one unread room left")
		// No other room is unread: it stays, and says so.
		alice.key(t, kb.ArrowDown, altShift)
		alice.poll(t, "told that nothing else is unread", `document.getElementById("announcer")?.textContent.includes("No other room")`)
		inRoom(alice, general, "still general")
	})

	t.Run("previous and next room", func(t *testing.T) {
		order := browserEval[[]string](t, alice, `[...document.querySelectorAll("#sidebar a.room")].map(a => a.dataset.roomId)`)
		if strings.Join(order, ",") != strings.Join([]string{general, lounge, random}, ",") {
			t.Fatalf("the sidebar lists %v; want general, lounge, random (%s, %s, %s)", order, general, lounge, random)
		}
		alice.key(t, kb.ArrowDown, alt)
		inRoom(alice, lounge, "lounge after Alt+Down")
		alice.key(t, kb.ArrowDown, alt)
		inRoom(alice, random, "random after Alt+Down")
		alice.key(t, kb.ArrowUp, alt)
		inRoom(alice, lounge, "lounge after Alt+Up")
		alice.key(t, kb.ArrowUp, alt)
		inRoom(alice, general, "general after Alt+Up")
		// The top of the list: it stays.
		alice.key(t, kb.ArrowUp, alt)
		inRoom(alice, general, "still general at the top")
		if id := alice.focused(t).ID; id != "composer" {
			t.Errorf("after Alt+Up/Down the focus is on %q; want the composer", id)
		}
	})

	switcherShown := `(d => !!d && d.open && document.activeElement?.id === "switcher-input")(document.getElementById("switcher"))`
	t.Run("quick switcher", func(t *testing.T) {
		alice.do(t, "focus the composer", chromedp.Focus(chromedp.ID("composer")))
		alice.key(t, "k", ctrl)
		alice.poll(t, "the switcher open, its input focused", switcherShown)
		// Empty: the rooms, the one on screen left out.
		if n := browserEval[int](t, alice, fmt.Sprintf(`document.querySelectorAll('#switcher-list [role="option"][data-room-id="%s"]').length`, general)); n != 0 {
			t.Errorf("the switcher lists the room on screen with no query")
		}
		alice.key(t, "rndm")
		alice.poll(t, "random first for rndm", fmt.Sprintf(`(() => {
			const o = document.querySelector('#switcher-list [role="option"]'), i = document.getElementById("switcher-input");
			return o?.dataset.roomId === %q && o.getAttribute("aria-selected") === "true" && i.getAttribute("aria-activedescendant") === o.id;
		})()`, random))
		alice.checkAxe(t, axe, "the quick switcher")
		// Escape closes it and gives the focus back.
		alice.key(t, kb.Escape)
		alice.poll(t, "closed, the focus back in the composer", `!document.getElementById("switcher")?.open && document.activeElement?.id === "composer"`)
		inRoom(alice, general, "still general after Escape")

		// A fuzzy query, Enter.
		alice.do(t, "go to random", chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`location.hash = "#/rooms/%s"`, random)))
		inRoom(alice, random, "random")
		alice.do(t, "focus the composer", chromedp.Focus(chromedp.ID("composer")))
		alice.key(t, "k", ctrl)
		alice.poll(t, "the switcher open", switcherShown)
		alice.key(t, "gnrl")
		alice.poll(t, "general first for gnrl", fmt.Sprintf(`document.querySelector('#switcher-list [role="option"][aria-selected="true"]')?.dataset.roomId === %q`, general))
		alice.key(t, kb.Enter)
		inRoom(alice, general, "general, chosen by Enter")
		alice.poll(t, "the switcher closed, the composer focused", `!document.getElementById("switcher")?.open && document.activeElement?.id === "composer"`)

		// A person the server finds: choosing Bob opens the direct room.
		alice.key(t, "k", ctrl)
		alice.poll(t, "the switcher open", switcherShown)
		alice.key(t, "@bo")
		alice.poll(t, "bob found", `document.querySelector('#switcher-list [role="option"][aria-selected="true"]')?.dataset.userId !== undefined`)
		alice.key(t, kb.Enter)
		alice.poll(t, "the direct room with bob", `!!document.querySelector("#directs a.room.active") && document.getElementById("room-title")?.textContent.includes("bob")`)
		alice.poll(t, "the switcher closed", `!document.getElementById("switcher")?.open`)
		// Bob has it too, and finds it by Alice's name.
		bob.do(t, "focus the composer", chromedp.Focus(chromedp.ID("composer")))
		bob.key(t, "k", ctrl)
		bob.poll(t, "the switcher open", switcherShown)
		bob.key(t, "ali")
		bob.poll(t, "the direct room with alice", `(o => !!o && !!o.dataset.roomId && o.textContent.includes("alice"))(document.querySelector('#switcher-list [role="option"][aria-selected="true"]'))`)
		bob.key(t, kb.Escape)
		bob.poll(t, "closed", `!document.getElementById("switcher")?.open`)
	})

	t.Run("the shortcuts sheet", func(t *testing.T) {
		browserChatOpenRoom(t, alice, general)
		alice.do(t, "focus the composer", chromedp.Focus(chromedp.ID("composer")))
		// In a text field "?" is a question mark.
		alice.key(t, "?")
		alice.poll(t, "? typed", `document.getElementById("composer").value === "?"`)
		if browserEval[bool](t, alice, `document.getElementById("shortcuts")?.open`) {
			t.Error("? in the composer opened the shortcuts sheet")
		}
		alice.do(t, "clear the composer", browserFill("composer", ""))
		// From a message, "?" opens the sheet.
		for i := 0; i < 10 && !browserEval[bool](t, alice, `!!document.activeElement?.matches("#messages .message")`); i++ {
			alice.key(t, kb.Tab)
		}
		from := browserEval[string](t, alice, `document.activeElement?.dataset.seq ?? ""`)
		if from == "" {
			t.Fatalf("Tab from the composer never reached a message (at %s)", alice.focused(t))
		}
		alice.key(t, "?")
		alice.poll(t, "the sheet open", `document.getElementById("shortcuts")?.open && document.activeElement?.id === "shortcuts-close"`)
		got := browserEval[struct {
			Groups int    `json:"groups"`
			Text   string `json:"text"`
		}](t, alice, `({groups: document.querySelectorAll("#shortcuts section h3").length, text: document.getElementById("shortcuts").textContent})`)
		if got.Groups < 3 {
			t.Errorf("the sheet has %d groups; want navigation, messages, composer", got.Groups)
		}
		for _, want := range []string{"Ctrl", "K", "Alt", "Shift", "Esc", "Enter", "Home", "End", "Jump to a room or person", "Mark the room read", "New line"} {
			if !strings.Contains(got.Text, want) {
				t.Errorf("the sheet does not mention %q", want)
			}
		}
		if n := browserEval[int](t, alice, `document.querySelectorAll("#shortcuts kbd kbd").length`); n < 15 {
			t.Errorf("the sheet shows %d keys as <kbd>; want every key", n)
		}
		alice.checkAxe(t, axe, "the shortcuts sheet")
		alice.key(t, kb.Escape)
		alice.poll(t, "the sheet closed, the focus back on the message", fmt.Sprintf(`!document.getElementById("shortcuts")?.open && document.activeElement?.dataset.seq === %q`, from))
		// The top bar's button opens it too.
		alice.do(t, "click the shortcuts button", chromedp.Click(chromedp.ID("shortcuts-button")))
		alice.poll(t, "the sheet open by its button", `document.getElementById("shortcuts")?.open`)
		alice.key(t, kb.Escape)
		alice.poll(t, "the focus back on the button", `!document.getElementById("shortcuts")?.open && document.activeElement?.id === "shortcuts-button"`)
	})

	t.Run("phone", func(t *testing.T) {
		// (pointer: coarse) and the mobile viewport apply from a load on.
		// Bob's browser becomes a phone (no new browser to start).
		p := bob
		p.emulatePhone(t, browserPhone320)
		p.do(t, "reload", chromedp.Reload())
		p.waitStatus(t, "connected")
		p.poll(t, "the phone layout", `innerWidth === 320 && matchMedia("(pointer: coarse)").matches`)
		p.checkTouchTargets(t, "#switcher-button")
		p.checkNoOverflow(t, "the top bar with the switcher's button")
		p.tap(t, "#switcher-button")
		p.poll(t, "the switcher open", `document.getElementById("switcher")?.open`)
		p.poll(t, "lounge listed, a public room bob has not joined", fmt.Sprintf(`!!document.querySelector('#switcher-list [role="option"][data-room-id="%s"]')?.textContent.includes("not joined")`, lounge))
		box := browserEval[struct {
			Left  float64 `json:"left"`
			Right float64 `json:"right"`
			Top   float64 `json:"top"`
			Width float64 `json:"width"`
		}](t, p, `(r => ({left: r.left, right: r.right, top: r.top, width: innerWidth}))(document.getElementById("switcher").getBoundingClientRect())`)
		if box.Left > 1 || box.Right < box.Width-1 || box.Top > 1 {
			t.Errorf("on a 320 px phone the switcher is at %+v; want the screen's width, at the top", box)
		}
		p.checkNoOverflow(t, "the quick switcher")
		p.checkTouchTargets(t, `#switcher-list [role="option"]`, "#switcher-close")
		p.checkAxe(t, axe, "the quick switcher on a phone")
		// The shortcuts sheet is a tap away, and fits too.
		p.tap(t, "#switcher-shortcuts")
		p.poll(t, "the sheet open, the switcher closed", `document.getElementById("shortcuts")?.open && !document.getElementById("switcher")?.open`)
		p.checkNoOverflow(t, "the shortcuts sheet")
		p.checkTouchTargets(t, "#shortcuts-close")
		p.tap(t, "#shortcuts-close")
		p.poll(t, "the sheet closed", `!document.getElementById("shortcuts")?.open`)
		p.tap(t, "#switcher-button")
		p.poll(t, "the switcher open again", `document.getElementById("switcher")?.open`)
		p.tap(t, fmt.Sprintf(`#switcher-list [role="option"][data-room-id="%s"]`, lounge))
		p.poll(t, "lounge open, the switcher closed", fmt.Sprintf(`%s === %q && !document.getElementById("switcher")?.open`, active, lounge))
		p.poll(t, "the room's join button", `!!document.getElementById("join") && !document.getElementById("join").hidden`)
	})

	for _, p := range []*browserPerson{alice, bob} {
		p.checkClean(t)
	}
}
