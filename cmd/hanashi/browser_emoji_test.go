package main

// The emoji picker and reactions in real Chromium, between Alice and Bob:
// search, skin tones, the longest emoji, the recently used, who reacted
// (by keyboard focus), keyboard-only use, axe with the picker open, and
// the picker as a sheet on a 320 px phone.

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// emojiKiss is the longest emoji: a kiss with two skin tones, 35 bytes.
const emojiKiss = "🧑🏻\u200d❤️\u200d💋\u200d🧑🏼"

func TestBrowserEmoji(t *testing.T) {
	if len(emojiKiss) != 35 {
		t.Fatalf("the kiss is %d bytes, want 35", len(emojiKiss))
	}
	chromium := browserFindChromium(t)
	deadline := time.Now().Add(2 * time.Minute)
	base, alice, bob := browserGuests(t, chromium, deadline)
	room := alice.createRoom(t, "emoji", false)
	bob.join(t, room)
	bob.send(t, "react to me")
	alice.waitBody(t, "react to me")
	both := []*browserPerson{alice, bob}
	msg := browserChatMsg("react to me")
	chip := func(emoji string) string {
		return fmt.Sprintf(`%s?.querySelector('.reaction[data-emoji=%s]')`, msg, browserJS(emoji))
	}
	picker := msg + `?.querySelector(".picker")`
	open := msg + `?.querySelector('[data-action="add-reaction"]')`

	t.Run("search and pick", func(t *testing.T) {
		// The first open loads the data; the second has it: both timed.
		for i, what := range []string{"first", "second"} {
			ms := emojiOpenTime(t, alice, msg+`?.querySelector('[data-action="react"]')`)
			t.Logf("emoji picker, %s open: %.1f ms to the emoji on screen, %.1f ms to every group, longest task %.1f ms", what, ms[0], ms[1], ms[2])
			if i == 1 && ms[0] > 500 {
				t.Errorf("opening the picker took %.0f ms with the data loaded", ms[0])
			}
			alice.poll(t, "the focus in the search box", `document.activeElement?.classList.contains("picker-search")`)
			if i == 0 {
				alice.key(t, kb.Escape)
				alice.poll(t, "the picker closed", `!`+picker)
			}
		}
		alice.key(t, "tada")
		alice.poll(t, "🎉 first for tada", picker+`?.querySelector("[role=option]")?.dataset.emoji === "🎉"`)
		browserChatClick(t, alice, "🎉", picker+`?.querySelector("[role=option]")`)
		alice.poll(t, "the picker closed", `!`+picker)
		for _, p := range both {
			p.poll(t, "🎉 1", chip("🎉")+`?.dataset.count === "1"`)
		}
	})

	t.Run("skin tone and the longest emoji", func(t *testing.T) {
		browserChatClick(t, alice, "+", open)
		alice.poll(t, "the picker", picker+` && document.activeElement?.classList.contains("picker-search")`)
		browserChatClick(t, alice, "the skin tone", picker+`.querySelector(".picker-tone-button")`)
		browserChatClick(t, alice, "medium", picker+`.querySelector('.picker-tone[data-tone="3"]')`)
		alice.poll(t, "the tone remembered, the emoji toned", `localStorage.getItem("hanashi.emoji.tone") === "3" && !!`+picker+`.querySelector('[data-section="1"] [data-emoji="👋🏽"]')`)
		emojiSearch(t, alice, picker, "wave")
		alice.poll(t, "👋🏽 first for wave", picker+`.querySelector("[role=option]")?.dataset.emoji === "👋🏽"`)
		browserChatClick(t, alice, "👋🏽", picker+`.querySelector("[role=option]")`)

		// The kiss is in no grid (two tones): pasted from a keyboard into
		// the search box, it is found as itself.
		browserChatClick(t, alice, "+", open)
		alice.poll(t, "the picker", picker)
		emojiSearch(t, alice, picker, emojiKiss)
		alice.poll(t, "the kiss found", picker+`.querySelector("[role=option]")?.dataset.emoji === `+browserJS(emojiKiss))
		browserChatClick(t, alice, "the kiss", picker+`.querySelector("[role=option]")`)
		for _, p := range both {
			p.poll(t, "👋🏽 1 and the kiss 1", chip("👋🏽")+`?.dataset.count === "1" && `+chip(emojiKiss)+`?.dataset.count === "1"`)
		}
		// Bob adds his kiss by clicking it: the same 35 bytes.
		browserChatClick(t, bob, "the kiss", chip(emojiKiss))
		for _, p := range both {
			p.poll(t, "the kiss 2", chip(emojiKiss)+`?.dataset.count === "2"`)
		}
	})

	t.Run("recently used", func(t *testing.T) {
		browserChatClick(t, alice, "+", open)
		got := browserEval[[]string](t, alice, `[...`+picker+`.querySelectorAll('[data-section="recent"] [role=option]')].map(o => o.dataset.emoji)`)
		want := []string{emojiKiss, "👋🏽", "🎉"}
		if strings.Join(got, " ") != strings.Join(want, " ") {
			t.Errorf("recently used = %q, want %q", got, want)
		}
		// Alice's reactions are marked as hers.
		if !browserEval[bool](t, alice, picker+`.querySelector('[data-section="recent"] [data-emoji="🎉"]').getAttribute("aria-selected") === "true"`) {
			t.Errorf("alice's 🎉 is not shown as chosen in the picker")
		}
	})

	t.Run("axe with the picker open", func(t *testing.T) {
		script := browserAxeScript(t)
		alice.poll(t, "the picker open, every group", picker+`?.querySelectorAll('[role=option]').length > 1500`)
		// The skin tones open, a search (axe takes ~10 s over every emoji).
		browserChatClick(t, alice, "the skin tone", picker+`.querySelector(".picker-tone-button")`)
		emojiSearch(t, alice, picker, "cat")
		alice.poll(t, "cats", picker+`.querySelector('[data-section="results"] [role=option]')`)
		alice.checkAxe(t, script, "the emoji picker")
		alice.key(t, kb.Escape) // the skin tones close first
		alice.poll(t, "the skin tones closed", picker+`.querySelector(".picker-tones").hidden && document.activeElement?.classList.contains("picker-tone-button")`)
		alice.key(t, kb.Escape)
		alice.poll(t, "the picker closed", `!`+picker)
	})

	t.Run("who reacted, by keyboard", func(t *testing.T) {
		bob.do(t, "focus the message", chromedp.Evaluate[chromedp.Void](msg+`.focus()`))
		bob.key(t, kb.Enter) // into the message's controls: the actions first, then ArrowRight on
		for range 12 {
			if browserEval[bool](t, bob, `document.activeElement?.dataset.emoji === "🎉"`) {
				break
			}
			bob.key(t, kb.ArrowRight)
		}
		bob.poll(t, "🎉 focused", `document.activeElement?.dataset.emoji === "🎉"`)
		tip := `document.getElementById(document.activeElement.getAttribute("aria-describedby"))`
		bob.poll(t, "the tooltip", fmt.Sprintf(`(t => !!t && t.getClientRects().length > 0 && t.getAttribute("role") === "tooltip" && /alice/.test(t.textContent) && /party popper/.test(t.textContent))(%s)`, tip))
		bob.key(t, kb.ArrowRight)
		bob.key(t, kb.ArrowRight)
		bob.poll(t, "the kiss focused, named", fmt.Sprintf(`document.activeElement?.dataset.emoji === %s && (t => t.getClientRects().length > 0 && /alice/.test(t.textContent) && /you/i.test(t.textContent))(%s)`, browserJS(emojiKiss), tip))
		// Escape takes the tooltip away, not the focus.
		bob.key(t, kb.Escape)
		bob.poll(t, "the tooltip gone, the focus kept", fmt.Sprintf(`document.activeElement?.dataset.emoji === %s && %s.hidden`, browserJS(emojiKiss), tip))
		bob.checkAxe(t, browserAxeScript(t), "a reaction's tooltip")

		// On hover too, without the title's own tooltip beside it.
		x, y := alice.center(t, `#messages .reaction[data-emoji="👋🏽"]`)
		browserRun(t, alice, "hover 👋🏽", chromedp.MouseEvent(input.DispatchMouseEventTypeMouseMoved, x, y))
		alice.poll(t, "the tooltip on hover", fmt.Sprintf(`(b => { const t = document.getElementById(b.getAttribute("aria-describedby")); return !t.hidden && /You/.test(t.textContent) && /waving hand/.test(t.textContent) && !b.title; })(%s)`, chip("👋🏽")))
		browserRun(t, alice, "move away", chromedp.MouseEvent(input.DispatchMouseEventTypeMouseMoved, 1, 1))
		alice.poll(t, "the tooltip gone, the title back", fmt.Sprintf(`(b => document.getElementById(b.getAttribute("aria-describedby")).hidden && b.title.includes("alice"))(%s)`, chip("👋🏽")))
	})

	t.Run("keyboard only", func(t *testing.T) {
		alice.do(t, "focus the message", chromedp.Evaluate[chromedp.Void](msg+`.focus()`))
		alice.key(t, kb.Enter)
		for range 12 {
			if browserEval[bool](t, alice, `document.activeElement?.dataset.action === "add-reaction"`) {
				break
			}
			alice.key(t, kb.ArrowRight)
		}
		alice.poll(t, "+ focused", `document.activeElement?.dataset.action === "add-reaction"`)
		// Escape closes it, and the focus is back on +.
		alice.key(t, kb.Enter)
		alice.poll(t, "the search box focused", `document.activeElement?.classList.contains("picker-search")`)
		alice.key(t, kb.Escape)
		alice.poll(t, "closed, + focused", `!`+picker+` && document.activeElement?.dataset.action === "add-reaction"`)
		// Open again: Tab goes round the picker, arrows move in the grid, Enter picks.
		alice.key(t, kb.Enter)
		alice.poll(t, "the search box focused", `document.activeElement?.classList.contains("picker-search")`)
		alice.key(t, "heart")
		alice.poll(t, "hearts found", picker+`?.querySelector("[role=option]")?.dataset.emoji === "❤️"`)
		alice.key(t, kb.ArrowDown)
		alice.poll(t, "❤️ focused", `document.activeElement?.dataset.emoji === "❤️" && document.activeElement.getAttribute("role") === "option"`)
		if f := alice.focused(t); !f.Visible || !f.Ring {
			t.Errorf("alice: the focused emoji %s: visible %v, ring %v", f, f.Visible, f.Ring)
		}
		alice.key(t, kb.ArrowRight)
		alice.poll(t, "the next one focused", `document.activeElement?.dataset.emoji !== "❤️" && document.activeElement.getAttribute("role") === "option"`)
		alice.key(t, kb.ArrowLeft)
		alice.poll(t, "❤️ again", `document.activeElement?.dataset.emoji === "❤️"`)
		alice.key(t, kb.ArrowUp)
		alice.poll(t, "up to the search box", `document.activeElement?.classList.contains("picker-search")`)
		alice.key(t, kb.Tab)
		alice.poll(t, "Tab: the skin tone", `document.activeElement?.classList.contains("picker-tone-button")`)
		alice.key(t, kb.Tab)
		alice.poll(t, "Tab: the grid, at ❤️", `document.activeElement?.dataset.emoji === "❤️"`)
		alice.key(t, kb.Tab)
		alice.poll(t, "Tab goes round to the search box", `document.activeElement?.classList.contains("picker-search")`)
		alice.key(t, kb.ArrowDown)
		alice.key(t, kb.Enter)
		alice.poll(t, "picked, + focused again", `!`+picker+` && document.activeElement?.dataset.action === "add-reaction"`)
		for _, p := range both {
			p.poll(t, "❤️ 1", chip("❤️")+`?.dataset.count === "1"`)
		}
	})

	t.Run("phone", func(t *testing.T) {
		bob.emulatePhone(t, browserPhone320)
		bob.do(t, "reload", chromedp.Navigate(base), chromedp.WaitVisible(chromedp.ID("app")))
		bob.waitStatus(t, "connected")
		browserChatOpenRoom(t, bob, room)
		bob.waitBody(t, "react to me")
		bob.checkTouchTargets(t, `[data-action="add-reaction"]`, `.reaction[data-emoji="🎉"]`)
		// A long press on a reaction tells who reacted, and reacts not.
		bob.longPress(t, `#messages .reaction[data-emoji="🎉"]`, 700*time.Millisecond)
		bob.poll(t, "the tooltip after a long press", fmt.Sprintf(`(b => { const t = document.getElementById(b.getAttribute("aria-describedby")); return !t.hidden && /alice/.test(t.textContent); })(%s)`, chip("🎉")))
		if got := browserEval[string](t, bob, chip("🎉")+`.dataset.count`); got != "1" {
			t.Errorf("bob: after a long press 🎉 counts %s, want 1 (a long press is no tap)", got)
		}
		bob.checkNoOverflow(t, "a reaction's tooltip")
		bob.tap(t, `#messages [data-action="add-reaction"]`)
		bob.poll(t, "the picker as a sheet at the foot of the screen", `(p => {
			if (!p) return false;
			const r = p.getBoundingClientRect();
			return Math.abs(r.bottom - innerHeight) <= 1 && r.left <= 0.5 && Math.abs(r.width - innerWidth) <= 1 && r.top > 0;
		})(document.querySelector("#messages .picker"))`)
		bob.checkNoOverflow(t, "the emoji picker")
		bob.checkTouchTargets(t, "#messages .picker .pick", "#messages .picker .picker-tone-button", "#messages .picker .picker-cat")
		// A tap above the sheet closes it.
		browserRun(t, bob, "tap above the sheet", chromedp.TapXY(160, 40))
		bob.poll(t, "the sheet closed", `!document.querySelector("#messages .picker")`)
		bob.tap(t, `#messages [data-action="add-reaction"]`)
		bob.poll(t, "the sheet again", `!!document.querySelector("#messages .picker")`)
		// A tap on a category, then on an emoji, reacts.
		bob.tap(t, `#messages .picker .picker-cat[data-section="4"]`)
		food := browserEval[string](t, bob, `document.querySelector('#messages .picker [data-section="4"] [role=option]').dataset.emoji`)
		bob.tap(t, `#messages .picker [data-section="4"] [role=option]`)
		bob.poll(t, "the sheet closed", `!document.querySelector("#messages .picker")`)
		for _, p := range both {
			p.poll(t, food+" 1", chip(food)+`?.dataset.count === "1"`)
		}
		bob.checkNoOverflow(t, "reactions")
	})
	alice.checkClean(t)
	bob.checkClean(t)
}

// emojiOpenTime clicks the opener and measures, in the page, the time
// until the picker shows emoji (after a frame), until every group is
// rendered, and the longest task meanwhile (0 when none took 50 ms).
func emojiOpenTime(t *testing.T, p *browserPerson, opener string) [3]float64 {
	t.Helper()
	browserChatAwait(t, p, "open the picker", fmt.Sprintf(`(async () => {
		const b = %s;
		let longest = 0;
		const tasks = new PerformanceObserver(l => { for (const e of l.getEntries()) longest = Math.max(longest, e.duration); });
		tasks.observe({type: "longtask"});
		const t0 = performance.now();
		b.click();
		const frame = () => new Promise(r => requestAnimationFrame(() => r()));
		const until = async f => { while (!f()) await frame(); return performance.now() - t0; };
		const shown = await until(() => document.querySelectorAll(".picker [role=option]").length > 100);
		const all = await until(() => document.querySelectorAll(".picker [role=option]").length > 1500);
		await frame();
		tasks.disconnect();
		window.emojiOpenMs = [shown, all, longest];
		return true;
	})()`, opener))
	return browserEval[[3]float64](t, p, `window.emojiOpenMs`)
}

// emojiSearch types text into the picker's search box, as pasting does.
func emojiSearch(t *testing.T, p *browserPerson, picker, text string) {
	t.Helper()
	p.do(t, "search "+text, chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`(s => {
		s.focus();
		s.value = %s;
		s.dispatchEvent(new Event("input", {bubbles: true}));
	})(%s.querySelector(".picker-search"))`, browserJS(text), picker)))
}
