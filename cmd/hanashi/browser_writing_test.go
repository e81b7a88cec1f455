package main

// Writing: the composer's autocomplete (@ people, # rooms, : emoji), Shift+
// Enter, Up arrow to edit, drafts across a reload, the formatting help and
// the emoji button, on a desktop and on a 320 px phone.

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// TestBrowserWriting has alice write to bob in a room: a mention of bob
// picked from the autocomplete with the keyboard (bob sees it highlighted),
// a room picked after "#" whose link opens it, an emoji after ":tada", a
// two-line message by Shift+Enter, a draft kept across a reload, the
// formatting help (axe-clean, closed by Escape with the focus back on its
// button), the emoji button, Up arrow to edit; then bob on a 320 px phone
// picks alice by touch.
func TestBrowserWriting(t *testing.T) {
	chromium := browserFindChromium(t)
	axe := browserAxeScript(t)
	deadline := time.Now().Add(2 * time.Minute)
	_, alice, bob := browserGuests(t, chromium, deadline)
	alice.emulateDesktop(t, 1280, 800)

	lobby := alice.createRoom(t, "lobby", false)
	room := browserChatRoom(t, alice, bob, "garden")
	browserChatOpenRoom(t, alice, room)
	browserChatOpenRoom(t, bob, room)
	// The members are loaded when a room opens: the autocomplete lists them.
	alice.poll(t, "the members", `document.querySelectorAll("#members .member").length === 2`)

	t.Run("mention", func(t *testing.T) {
		writingFocus(t, alice)
		alice.key(t, "hi @bo")
		writingOptions(t, alice, "composer", []string{"bob"})
		if got := browserEval[string](t, alice, `document.getElementById("composer").getAttribute("aria-activedescendant")`); got != "composer-complete-0" {
			t.Errorf("aria-activedescendant is %q; want the first option", got)
		}
		alice.checkAxe(t, axe, "the autocomplete open")
		alice.key(t, kb.Enter)
		writingValue(t, alice, "composer", "hi @bob ")
		alice.poll(t, "the list closed", `document.getElementById("composer").getAttribute("aria-expanded") === "false"`)
		alice.key(t, "look")
		alice.key(t, kb.Enter)
		alice.waitBody(t, "hi @bob look")
		bob.waitBody(t, "hi @bob look")
		bob.poll(t, "the mention highlighted for bob", browserChatMsg("hi @bob look")+`?.querySelector(".mention.me")?.textContent === "@bob"`)
	})

	t.Run("input method", func(t *testing.T) {
		// Nothing opens while a Japanese input method composes; its
		// full-width ＠ counts once committed, and becomes the server's @.
		writingFocus(t, alice)
		alice.compose(t, "＠bo")
		writingValue(t, alice, "composer", "＠bo")
		if browserEval[bool](t, alice, `document.getElementById("composer").getAttribute("aria-expanded") === "true"`) {
			t.Error("the list opened during the composition")
		}
		alice.composeEnter(t)
		alice.commit(t, "＠bo")
		writingOptions(t, alice, "composer", []string{"bob"})
		alice.key(t, kb.Enter)
		writingValue(t, alice, "composer", "@bob ")
		alice.do(t, "clear", browserFill("composer", ""))
	})

	t.Run("room", func(t *testing.T) {
		writingFocus(t, alice)
		alice.key(t, "see #lo")
		writingOptions(t, alice, "composer", []string{"lobby"})
		alice.key(t, kb.Tab)
		writingValue(t, alice, "composer", "see #lobby ")
		alice.key(t, kb.Enter)
		alice.waitBody(t, "see #lobby")
		link := browserChatMsg("see #lobby") + `?.querySelector('.body a[href="#/rooms/` + lobby + `"]')`
		alice.poll(t, "the room linked", link+`?.textContent === "#lobby"`)
		browserChatClick(t, alice, "the room link", link)
		alice.poll(t, "lobby open", fmt.Sprintf(`document.querySelector(".room.active")?.dataset.roomId === %q`, lobby))
		browserChatOpenRoom(t, alice, room)
	})

	t.Run("emoji", func(t *testing.T) {
		writingFocus(t, alice)
		alice.key(t, "party :tada")
		alice.poll(t, "🎉 offered first", `document.querySelector("#composer-complete [role=option]")?.textContent.includes("🎉")`)
		alice.key(t, kb.Enter)
		writingValue(t, alice, "composer", "party 🎉 ")
		// Escape closes the list; the same trigger stays closed.
		alice.key(t, ":sm")
		alice.poll(t, "emoji listed", `document.getElementById("composer").getAttribute("aria-expanded") === "true"`)
		alice.key(t, kb.Escape)
		alice.poll(t, "closed by Escape", `document.getElementById("composer").getAttribute("aria-expanded") === "false"`)
		alice.key(t, "i")
		if browserEval[bool](t, alice, `document.getElementById("composer").getAttribute("aria-expanded") === "true"`) {
			t.Error("the list Escape closed opened again for the same word")
		}
		alice.do(t, "clear", browserFill("composer", ""))
	})

	t.Run("shift enter and up arrow", func(t *testing.T) {
		writingFocus(t, alice)
		alice.key(t, "line one")
		alice.key(t, kb.Enter, chromedp.KeyModifiers(chromedp.ModifierShift))
		alice.key(t, "line two")
		writingValue(t, alice, "composer", "line one\nline two")
		alice.key(t, kb.Enter)
		alice.waitBody(t, "line one\nline two")
		bob.waitBody(t, "line one\nline two")
		// Up arrow in the empty composer edits that last message.
		writingFocus(t, alice)
		alice.key(t, kb.ArrowUp)
		alice.poll(t, "the editor of the last message", `(e => !!e && e === document.activeElement && e.value === "line one\nline two")(document.querySelector("#messages .edit-form textarea"))`)
		// The edit box completes too; Escape then cancels the edit.
		alice.key(t, " @bo")
		alice.poll(t, "bob offered in the edit box", `[...document.querySelectorAll("#messages .edit-form [role=option] .complete-name")].map(n => n.textContent).join() === "bob"`)
		alice.key(t, kb.Enter)
		alice.poll(t, "bob inserted, still editing", `document.querySelector("#messages .edit-form textarea")?.value === "line one\nline two @bob "`)
		alice.key(t, kb.Escape)
		alice.poll(t, "the editor closed", `!document.querySelector("#messages .edit-form")`)
	})

	t.Run("draft", func(t *testing.T) {
		writingFocus(t, alice)
		alice.key(t, "half a thought")
		alice.do(t, "reload", chromedp.Reload(), chromedp.WaitVisible(chromedp.ID("app")))
		alice.poll(t, "the room again", fmt.Sprintf(`document.querySelector(".room.active")?.dataset.roomId === %q`, room))
		writingValue(t, alice, "composer", "half a thought")
		// Another room has a draft of its own; sending removes it.
		browserChatOpenRoom(t, alice, lobby)
		writingValue(t, alice, "composer", "")
		browserChatOpenRoom(t, alice, room)
		writingValue(t, alice, "composer", "half a thought")
		writingFocus(t, alice)
		alice.key(t, kb.Enter)
		alice.waitBody(t, "half a thought")
		alice.poll(t, "the draft removed from storage", `!Object.keys(localStorage).some(k => k.startsWith("hanashi.draft."))`)
	})

	t.Run("thread", func(t *testing.T) {
		root := browserEval[string](t, alice, browserChatMsg("hi @bob look")+`.dataset.id`)
		alice.do(t, "open the thread", chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`location.hash = "#/rooms/%s/threads/" + %s`, room, browserJS(root))))
		writingFocusOn(t, alice, "thread-composer")
		alice.key(t, "re @bo")
		writingOptions(t, alice, "thread-composer", []string{"bob"})
		alice.key(t, kb.Enter)
		writingValue(t, alice, "thread-composer", "re @bob ")
		alice.key(t, "ok")
		alice.key(t, kb.Enter)
		alice.poll(t, "the reply", browserChatReply("re @bob ok"))
		// Up arrow in the empty thread composer edits that reply.
		alice.key(t, kb.ArrowUp)
		alice.poll(t, "the reply's editor", `(e => !!e && e === document.activeElement && e.value === "re @bob ok")(document.querySelector("#thread-messages .edit-form textarea"))`)
		alice.key(t, kb.Escape)
		alice.poll(t, "the editor closed, the thread open", `!document.querySelector("#thread .edit-form") && !document.getElementById("thread").hidden`)
		// The thread's draft is its own, and survives a reload.
		writingFocusOn(t, alice, "thread-composer")
		alice.key(t, "thread draft")
		alice.do(t, "reload", chromedp.Reload(), chromedp.WaitVisible(chromedp.ID("app")))
		writingValue(t, alice, "thread-composer", "thread draft")
		writingValue(t, alice, "composer", "")
		alice.do(t, "clear the draft", browserFill("thread-composer", ""))
		alice.poll(t, "no draft kept", `!Object.keys(localStorage).some(k => k.startsWith("hanashi.draft."))`)
		alice.do(t, "close the thread", chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`location.hash = "#/rooms/%s"`, room)))
		alice.poll(t, "the thread closed", browserHidden("thread"))
	})

	t.Run("format help", func(t *testing.T) {
		browserChatClick(t, alice, "the help button", `document.getElementById("composer-help")`)
		alice.poll(t, "the help open", `(d => !!d && d.getClientRects().length > 0 && d.getAttribute("role") === "dialog" && d.contains(document.activeElement))(document.getElementById("composer-format-help"))`)
		// Its examples are rendered by the message renderer.
		alice.poll(t, "rendered examples", `(d => !!d.querySelector("strong") && !!d.querySelector("em") && !!d.querySelector("pre code") && !!d.querySelector("blockquote") && !!d.querySelector(".mention"))(document.getElementById("composer-format-help"))`)
		alice.checkAxe(t, axe, "the formatting help")
		alice.key(t, kb.Escape)
		alice.poll(t, "the help closed", `!document.getElementById("composer-format-help")`)
		if f := alice.focused(t); f.ID != "composer-help" {
			t.Errorf("after Escape the focus is on %s; want #composer-help", f)
		}
		if browserEval[bool](t, alice, `!!document.getElementById("thread") && !document.getElementById("thread").hidden`) {
			t.Error("a thread opened")
		}
		// The close button closes it too.
		alice.key(t, kb.Enter)
		alice.poll(t, "the help open by keyboard", `!!document.getElementById("composer-format-help")`)
		browserChatClick(t, alice, "close", `document.querySelector("#composer-format-help .format-help-close")`)
		alice.poll(t, "closed", `!document.getElementById("composer-format-help") && document.activeElement?.id === "composer-help"`)
	})

	t.Run("emoji button", func(t *testing.T) {
		alice.do(t, "text and the caret in the middle", browserFill("composer", "ab"), chromedp.Evaluate[chromedp.Void](`document.getElementById("composer").setSelectionRange(1, 1)`))
		browserChatClick(t, alice, "the emoji button", `document.getElementById("composer-emoji")`)
		pick := `document.querySelector(".composer-picker [data-emoji]")`
		alice.poll(t, "the picker", pick)
		emoji := browserEval[string](t, alice, pick+`.dataset.emoji`)
		browserChatClick(t, alice, "an emoji", pick)
		writingValue(t, alice, "composer", "a"+emoji+"b")
		alice.poll(t, "the picker closed, the keyboard in the composer", `!document.querySelector(".composer-picker") && document.activeElement?.id === "composer"`)
		alice.do(t, "clear", browserFill("composer", ""))
	})

	t.Run("phone", func(t *testing.T) {
		bob.emulatePhone(t, browserPhone320)
		bob.poll(t, "the phone's layout and the composer", `(c => innerWidth === 320 && !!c && !c.disabled && c.getBoundingClientRect().bottom <= innerHeight)(document.getElementById("composer"))`)
		bob.tap(t, "#composer")
		writingFocus(t, bob) // (the tap may come while the page settles on its new size)
		bob.key(t, "thanks @al")
		writingOptions(t, bob, "composer", []string{"alice"})
		bob.checkNoOverflow(t, "the autocomplete")
		bob.checkTouchTargets(t, "#composer-complete [role=option]", "#composer-emoji", "#composer-help", "#send")
		inside := browserEval[bool](t, bob, `(() => {
			const r = document.getElementById("composer-complete").getBoundingClientRect();
			const c = document.getElementById("composer").getBoundingClientRect();
			return r.left >= 0 && r.right <= innerWidth && r.top >= 0 && r.bottom <= c.top;
		})()`)
		if !inside {
			t.Error("the autocomplete is not on screen above the composer")
		}
		bob.checkAxe(t, axe, "the autocomplete on a phone")
		bob.tap(t, "#composer-complete [role=option]")
		writingValue(t, bob, "composer", "thanks @alice ")
		if f := bob.focused(t); f.ID != "composer" {
			t.Errorf("after the tap the focus is on %s; want the composer", f)
		}
		bob.tap(t, "#send")
		alice.poll(t, "alice mentioned", browserChatMsg("thanks @alice")+`?.querySelector(".mention.me")?.textContent === "@alice"`)
		bob.tap(t, "#composer-help")
		bob.poll(t, "the help", `!!document.getElementById("composer-format-help")`)
		bob.checkNoOverflow(t, "the formatting help")
		bob.tap(t, "#composer-format-help .format-help-close")
		bob.poll(t, "closed", `!document.getElementById("composer-format-help")`)
	})

	for _, p := range []*browserPerson{alice, bob} {
		p.checkClean(t)
	}
}

// writingFocus puts the keyboard in the room's composer.
func writingFocus(t *testing.T, p *browserPerson) {
	t.Helper()
	writingFocusOn(t, p, "composer")
}

// writingFocusOn puts the keyboard in the composer with the id, once it is there.
func writingFocusOn(t *testing.T, p *browserPerson, id string) {
	t.Helper()
	p.poll(t, id+" focused", fmt.Sprintf(`(c => !!c && !c.disabled && (c.focus(), document.activeElement === c))(document.getElementById(%s))`, browserJS(id)))
}

// writingOptions waits until the autocomplete of the composer with the id
// is open and lists exactly names (each option's name).
func writingOptions(t *testing.T, p *browserPerson, id string, names []string) {
	t.Helper()
	p.poll(t, "the options "+strings.Join(names, ", "), fmt.Sprintf(`(() => {
		const c = document.getElementById(%[1]s), l = document.getElementById(%[1]s + "-complete");
		if (!c || !l || l.hidden || c.getAttribute("aria-expanded") !== "true" || c.getAttribute("aria-controls") !== l.id) return false;
		const got = [...l.querySelectorAll("[role=option] .complete-name")].map(n => n.textContent);
		return JSON.stringify(got) === JSON.stringify(%[2]s);
	})()`, browserJS(id), browserJSON(names)))
}

// writingValue waits until the textarea with the id holds value.
func writingValue(t *testing.T, p *browserPerson, id, value string) {
	t.Helper()
	p.poll(t, fmt.Sprintf("the composer holding %q", value), fmt.Sprintf(`document.getElementById(%s)?.value === %s`, browserJS(id), browserJS(value)))
}
