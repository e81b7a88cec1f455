package main

import (
	"context"
	"fmt"
	"net/url"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// TestBrowserActions drives a message's actions menu between two people:
// by mouse (copy link onto the clipboard, edit, delete after asking), by
// keyboard only (mark unread: the room turns unread in the sidebar, in
// Alice's second tab too, and the "new" line stands before the message
// when she comes back), and on a 320 px phone (a long press opens the menu
// as a sheet; Reply in thread opens the thread).
func TestBrowserActions(t *testing.T) {
	chromium := browserFindChromium(t)
	axe := browserAxeScript(t)
	deadline := time.Now().Add(2 * time.Minute)
	base, alice, bob := browserGuests(t, chromium, deadline)
	room := browserChatRoom(t, alice, bob, "actions")
	elsewhere := alice.createRoom(t, "elsewhere", false)
	browserChatOpenRoom(t, alice, room)
	browserChatOpenRoom(t, bob, room)
	menu := `document.querySelector('[role="menu"]')`
	item := func(action string) string {
		return fmt.Sprintf(`document.querySelector('[role="menu"] [data-action="%s"]')`, action)
	}

	t.Run("mouse", func(t *testing.T) {
		bob.send(t, "copy my link")
		alice.send(t, "my own, with a tpyo")
		alice.waitBody(t, "copy my link")
		alice.waitBody(t, "my own, with a tpyo")
		theirs := browserChatMsg("copy my link")
		mine := browserChatMsg("my own, with a tpyo")

		// The menu on Bob's message: no edit for Alice, delete as the
		// room's moderator.
		browserChatClick(t, alice, "more actions", theirs+`?.querySelector('[data-action="more"]')`)
		alice.poll(t, "the menu open", menu+` !== null && `+theirs+`.querySelector('[data-action="more"]').getAttribute("aria-expanded") === "true"`)
		got := browserEval[[]string](t, alice, `[...document.querySelectorAll('[role="menu"] [role="menuitem"]')].map(e => e.dataset.action)`)
		if fmt.Sprint(got) != "[reply react copy-link delete mark-unread]" {
			t.Errorf("alice's menu on bob's message = %v, want reply, react, copy-link, delete, mark-unread", got)
		}
		alice.checkAxe(t, axe, "the actions menu")
		alice.colorScheme(t, "dark")
		alice.checkAxe(t, axe, "the actions menu, dark")
		alice.colorScheme(t, "light")

		// Copy link: the permalink on the clipboard, announced, focus
		// back on the button.
		origin := base
		if u, err := url.Parse(base); err == nil {
			origin = u.Scheme + "://" + u.Host
		}
		for _, name := range []string{"clipboard-read", "clipboard-write"} {
			browserCall(t, alice, "grant "+name, browser.SetPermission, browser.SetPermissionParams{
				Permission: &browser.PermissionDescriptor{Name: name}, Setting: browser.PermissionSettingGranted, Origin: origin,
			})
		}
		id := browserEval[string](t, alice, theirs+`.dataset.id`)
		browserChatClick(t, alice, "copy link", item("copy-link"))
		alice.poll(t, "announced", `document.getElementById("announcer").textContent === "Link copied"`)
		alice.poll(t, "focus back on More", `document.activeElement?.dataset.action === "more" && `+menu+` === null`)
		want := browserEval[string](t, alice, fmt.Sprintf(`location.origin + location.pathname + "#/rooms/%s/messages/%s"`, room, id))
		ctx, cancel := context.WithTimeout(alice.ctx, browserWaitLimit)
		copied, err := chromedp.Run(ctx, chromedp.Evaluate[string](`navigator.clipboard.readText()`, chromedp.EvalAwaitPromise))
		cancel()
		if err != nil || copied != want {
			t.Errorf("the clipboard holds %q (%v), want the permalink %q", copied, err, want)
		}

		// Edit her own message.
		browserChatMenu(t, alice, mine, "edit")
		alice.poll(t, "the editor", `(() => {
			const input = document.querySelector("#messages .edit-input");
			if (!input) return false;
			input.value = "my own, with the typo fixed";
			input.closest("form").querySelector(".edit-save").click();
			return true;
		})()`)
		for _, p := range []*browserPerson{alice, bob} {
			p.waitBody(t, "my own, with the typo fixed")
			// The edit time is in the marker's name, for everybody.
			p.poll(t, "(edited) with its time", browserChatMsg("my own, with the typo fixed")+`?.querySelector("button.edited")?.getAttribute("aria-label")?.match(/^\(edited\) .*\d/) != null && `+browserChatMsg("my own, with the typo fixed")+`.querySelector("button.edited").dataset.time.startsWith("edited ")`)
		}

		// Delete Bob's message: the first choice only asks.
		browserChatMenu(t, alice, theirs, "delete")
		alice.poll(t, "delete armed", item("delete")+`?.dataset.armed === "true" && `+item("delete")+`.textContent.includes("again")`)
		if browserEval[bool](t, bob, `document.querySelector('#messages .message[data-id="`+id+`"]').classList.contains("deleted")`) {
			t.Fatal("one click deleted the message")
		}
		browserChatClick(t, alice, "delete, confirmed", item("delete"))
		for _, p := range []*browserPerson{alice, bob} {
			p.poll(t, "a tombstone", `document.querySelector('#messages .message[data-id="`+id+`"]')?.classList.contains("deleted")`)
		}
	})

	t.Run("keyboard", func(t *testing.T) {
		for _, body := range []string{"first new", "second new", "third new"} {
			bob.send(t, body)
		}
		alice.waitBody(t, "third new")
		// Alice on a second device, in another room.
		tab2 := actionsSecondDevice(t, chromium, alice, base, base+"#/rooms/"+elsewhere)
		tab2.poll(t, "the other room open", `document.querySelector(".room.active")?.dataset.roomId === "`+elsewhere+`"`)
		roomLink := fmt.Sprintf(`document.querySelector('a.room[data-room-id="%s"]')`, room)
		for _, p := range []*browserPerson{alice, tab2} {
			p.poll(t, "the room read", `!`+roomLink+`.classList.contains("has-unread")`)
		}

		// The list's message in the Tab order, then End: the newest.
		alice.poll(t, "a message focused", `(m => !!m && (m.focus(), document.activeElement === m))(document.querySelector('#messages .message[tabindex="0"]'))`)
		alice.key(t, kb.End)
		alice.poll(t, "the newest message focused", `document.activeElement === `+browserChatMsg("third new"))
		alice.key(t, kb.ArrowUp)
		second := browserChatMsg("second new")
		alice.poll(t, "the message before it", `document.activeElement === `+second)
		alice.key(t, ".")
		alice.poll(t, "the menu, its first item focused", menu+` !== null && document.activeElement === `+item("reply"))
		for range 6 {
			if browserEval[bool](t, alice, `document.activeElement?.dataset.action === "mark-unread"`) {
				break
			}
			alice.key(t, kb.ArrowDown)
		}
		if f := alice.focused(t); !f.Ring {
			t.Errorf("the focused menu item %s shows no focus", f)
		}
		alice.key(t, kb.Enter)
		alice.poll(t, "the menu closed, focus back on the message", menu+` === null && document.activeElement === `+second)
		alice.poll(t, "announced", `document.getElementById("announcer").textContent.startsWith("Marked unread")`)

		// Unread in the sidebar of both tabs: two messages by Bob; the
		// "new" line moves before the message, and the room stays unread
		// while it is open.
		unread := roomLink + `.classList.contains("has-unread") && ` + roomLink + `.querySelector(".unread")?.textContent === "2"`
		for _, p := range []*browserPerson{alice, tab2} {
			p.poll(t, "the room unread, 2", unread)
		}
		newLine := `document.querySelector("#messages .new-divider")?.nextElementSibling === ` + second
		alice.poll(t, `the "new" line before the message`, newLine)
		browserChatAwait(t, alice, "the server's marker", fmt.Sprintf(`fetch("api/v1/unread").then(r => r.json()).then(u => u.rooms.find(r => r.room === %s)?.unread === 2)`, room))
		// What reads the open room otherwise (the window's focus, a new
		// message at the bottom) leaves it unread.
		browserEval[bool](t, alice, `(dispatchEvent(new Event("focus")), true)`)
		bob.send(t, "fourth new")
		alice.waitBody(t, "fourth new")
		unread3 := roomLink + `.classList.contains("has-unread") && ` + roomLink + `.querySelector(".unread")?.textContent === "3"`
		for _, p := range []*browserPerson{alice, tab2} {
			p.poll(t, "the room unread, 3", unread3)
		}
		browserChatAwait(t, alice, "the server's marker, still", fmt.Sprintf(`fetch("api/v1/unread").then(r => r.json()).then(u => u.rooms.find(r => r.room === %s)?.unread === 3)`, room))

		// Away and back: the "new" line before the message; now it is read.
		browserChatOpenRoom(t, alice, elsewhere)
		browserChatOpenRoom(t, alice, room)
		alice.poll(t, `the "new" line before the message, coming back`, newLine)
		for _, p := range []*browserPerson{alice, tab2} {
			p.poll(t, "the room read again", `!`+roomLink+`.classList.contains("has-unread")`)
		}
		tab2.checkClean(t)
	})

	t.Run("phone", func(t *testing.T) {
		bob.send(t, "reply to me from a phone")
		alice.waitBody(t, "reply to me from a phone")
		alice.emulatePhone(t, browserPhone320)
		msg := fmt.Sprintf(`#messages .message[data-id="%s"]`, browserEval[string](t, alice, browserChatMsg("reply to me from a phone")+`.dataset.id`))
		// The layout changes for the phone: wait until the message holds
		// still, or the finger lands on what moved there.
		alice.poll(t, "the phone layout settled", fmt.Sprintf(`innerWidth === 320 && (m => {
			const r = m.getBoundingClientRect(), at = r.top + "," + r.left + "," + r.height;
			const still = window.actionsLastRect === at;
			window.actionsLastRect = at;
			return still && r.bottom <= innerHeight;
		})(document.querySelector(%s))`, browserJS(msg)))
		alice.longPress(t, msg+" .body", 700*time.Millisecond)
		alice.poll(t, "the sheet", `(m => !!m && m.classList.contains("sheet") && m.getBoundingClientRect().bottom >= innerHeight - 1 && m.getBoundingClientRect().width >= innerWidth - 1)(`+menu+`)`)
		if browserEval[bool](t, alice, `!!document.querySelector("#messages .edit-form")`) {
			t.Error("lifting the finger chose an item of the sheet")
		}
		alice.checkTouchTargets(t, `.actions-menu [data-action="reply"]`, `.actions-menu [data-action="react"]`,
			`.actions-menu [data-action="copy-link"]`, `.actions-menu [data-action="delete"]`, `.actions-menu [data-action="mark-unread"]`)
		alice.checkNoOverflow(t, "the actions sheet")
		alice.checkAxe(t, axe, "the actions sheet")
		alice.tap(t, `.actions-menu [data-action="reply"]`)
		alice.poll(t, "the thread open", `!`+browserHidden("thread")+` && document.querySelector("#thread-root .body")?.textContent === "reply to me from a phone" && `+menu+` === null`)
		alice.checkNoOverflow(t, "the thread")
	})
	alice.checkClean(t)
	bob.checkClean(t)
}

// actionsSecondDevice opens another browser signed in with p's session
// (its cookies copied), at address, and waits until it is connected: the
// same person on a second device.
func actionsSecondDevice(t *testing.T, chromium string, p *browserPerson, base, address string) *browserPerson {
	t.Helper()
	cookies := browserCall(t, p, "read the cookies", network.GetCookies, network.GetCookiesParams{URLs: []string{base}})
	q := browserOpen(t, chromium, p.name+"-2", p.deadline)
	for _, c := range cookies.Cookies {
		browserCall(t, q, "set cookie "+c.Name, network.SetCookie, network.SetCookieParams{
			Name: c.Name, Value: c.Value, URL: base, Path: c.Path, Secure: &c.Secure, HTTPOnly: &c.HTTPOnly, SameSite: c.SameSite,
		})
	}
	q.do(t, "open "+address, chromedp.Navigate(address), chromedp.WaitVisible(chromedp.ID("app")))
	q.waitStatus(t, "connected")
	return q
}
