package main

// The browser tests' kit beyond browser_test.go: phones (device
// emulation), the axe-core accessibility scan, the no-overflow check,
// cutting the network, IME composition, keys and taps, colour scheme and
// screenshots. Each helper fails the test with what it found.

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// browserRun runs the steps in p's tab within browserWaitLimit.
func browserRun[T any](t *testing.T, p *browserPerson, what string, step chromedp.Action[T]) T {
	t.Helper()
	ctx, cancel := context.WithDeadline(p.ctx, p.waitDeadline())
	defer cancel()
	v, err := chromedp.Run(ctx, step)
	if err != nil {
		t.Fatalf("%s: %s: %v", p.name, what, err)
	}
	return v
}

// browserCall sends one DevTools protocol command to p's tab.
func browserCall[P, R any](t *testing.T, p *browserPerson, what string, cmd cdp.Command[P, R], params P) R {
	t.Helper()
	ctx, cancel := context.WithDeadline(p.ctx, p.waitDeadline())
	defer cancel()
	r, err := chromedp.Call(ctx, cmd, params)
	if err != nil {
		t.Fatalf("%s: %s: %v", p.name, what, err)
	}
	return r
}

// ---- phones --------------------------------------------------------------

// browserPhone is a phone's screen: CSS pixels and device pixel ratio.
type browserPhone struct {
	name          string
	width, height int64
	scale         float64
}

var (
	browserPhone390 = browserPhone{"390x844", 390, 844, 3} // an iPhone 12 to 15
	browserPhone320 = browserPhone{"320x568", 320, 568, 2} // an iPhone SE (1st), the narrowest still in use
)

// emulatePhone makes p's tab a phone held upright: its viewport, pixel
// ratio, mobile layout (meta viewport honoured) and touch events.
func (p *browserPerson) emulatePhone(t *testing.T, ph browserPhone) {
	t.Helper()
	browserCall(t, p, "emulate a "+ph.name+" phone", emulation.SetDeviceMetricsOverride, emulation.SetDeviceMetricsOverrideParams{
		Width: ph.width, Height: ph.height, ScreenWidth: ph.width, ScreenHeight: ph.height,
		DeviceScaleFactor: ph.scale, Mobile: true,
		ScreenOrientation: &emulation.ScreenOrientation{Type: emulation.ScreenOrientationTypePortraitPrimary},
	})
	browserCall(t, p, "touch", emulation.SetTouchEmulationEnabled, emulation.SetTouchEmulationEnabledParams{Enabled: true, MaxTouchPoints: 5})
	p.width = int(ph.width)
}

// emulateDesktop gives p's tab a desktop viewport of the size given.
func (p *browserPerson) emulateDesktop(t *testing.T, width, height int64) {
	t.Helper()
	browserRun(t, p, fmt.Sprintf("emulate a %dx%d desktop", width, height), chromedp.EmulateViewport(width, height))
	p.poll(t, "the desktop viewport", fmt.Sprintf(`innerWidth === %d`, width))
	p.width = int(width)
}

// colorScheme makes the page see prefers-color-scheme as scheme ("light"
// or "dark"); the client's theme "system" follows it.
func (p *browserPerson) colorScheme(t *testing.T, scheme string) {
	t.Helper()
	browserCall(t, p, "prefer "+scheme, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
		Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: scheme}},
	})
	p.poll(t, "prefers-color-scheme: "+scheme, fmt.Sprintf(`matchMedia("(prefers-color-scheme: %s)").matches`, scheme))
}

// checkNoOverflow fails when the page is wider than its screen, or when
// any shown element reaches beyond the screen's right edge (an element
// clipped by a scrolling or clipping ancestor counts only as far as it is
// shown). The screen is the emulated one; on a phone, a page wider than
// the screen also widens the layout viewport (innerWidth) to fit.
func (p *browserPerson) checkNoOverflow(t *testing.T, screen string) {
	t.Helper()
	width := p.width
	if width == 0 {
		width = browserEval[int](t, p, `innerWidth`)
	}
	got := browserEval[struct {
		ScrollWidth int      `json:"scrollWidth"`
		Width       int      `json:"width"`
		Beyond      []string `json:"beyond"`
	}](t, p, fmt.Sprintf(`((w) => {
		const beyond = [];
		const name = el => el.tagName.toLowerCase() + (el.id ? "#" + el.id : "") +
			(typeof el.className === "string" && el.className.trim() ? "." + el.className.trim().split(/\s+/).join(".") : "");
		for (const el of document.body.querySelectorAll("*")) {
			const r = el.getBoundingClientRect();
			if (r.width === 0 && r.height === 0) continue;
			const s = getComputedStyle(el);
			if (s.visibility === "hidden" || s.display === "contents") continue;
			let right = r.right, left = r.left;
			for (let a = el.parentElement; a && a !== document.body; a = a.parentElement) {
				if (getComputedStyle(a).overflowX !== "visible") {
					const c = a.getBoundingClientRect();
					right = Math.min(right, c.right);
					left = Math.max(left, c.left);
				}
			}
			if (right > w + 1 && right > left) beyond.push(name(el) + " reaches x=" + Math.round(right));
		}
		return {scrollWidth: Math.max(document.documentElement.scrollWidth, innerWidth), width: w, beyond: beyond.slice(0, 20)};
	})(%d)`, width))
	if got.ScrollWidth > got.Width {
		t.Errorf("%s, %s: the page is %d px wide in a %d px viewport", p.name, screen, got.ScrollWidth, got.Width)
	}
	for _, b := range got.Beyond {
		t.Errorf("%s, %s: beyond the %d px viewport: %s", p.name, screen, got.Width, b)
	}
}

// checkTouchTargets fails for each selector whose (first shown) element is
// missing or smaller than 44x44 CSS pixels (WCAG 2.5.5, and what phones'
// guidelines ask).
func (p *browserPerson) checkTouchTargets(t *testing.T, selectors ...string) {
	t.Helper()
	for _, sel := range selectors {
		got := browserEval[struct {
			Found  bool    `json:"found"`
			Width  float64 `json:"width"`
			Height float64 `json:"height"`
		}](t, p, fmt.Sprintf(`(() => {
			const el = [...document.querySelectorAll(%s)].find(e => e.getClientRects().length > 0);
			if (!el) return {found: false, width: 0, height: 0};
			const r = el.getBoundingClientRect();
			return {found: true, width: r.width, height: r.height};
		})()`, browserJS(sel)))
		switch {
		case !got.Found:
			t.Errorf("%s: no %s shown", p.name, sel)
		case got.Width < 44 || got.Height < 44:
			t.Errorf("%s: %s is %.0fx%.0f px; a touch target wants at least 44x44", p.name, sel, got.Width, got.Height)
		}
	}
}

// center scrolls the first shown element that matches sel into view and
// returns its centre in the viewport.
func (p *browserPerson) center(t *testing.T, sel string) (x, y float64) {
	t.Helper()
	p.poll(t, sel+" shown", fmt.Sprintf(`(() => {
		const el = [...document.querySelectorAll(%s)].find(e => e.getClientRects().length > 0);
		if (!el) return false;
		const r = el.getBoundingClientRect();
		return r.width > 0 && r.right > 0 && r.left < innerWidth;
	})()`, browserJS(sel)))
	pt := browserEval[struct {
		X float64 `json:"x"`
		Y float64 `json:"y"`
	}](t, p, fmt.Sprintf(`(() => {
		const el = [...document.querySelectorAll(%s)].find(e => e.getClientRects().length > 0);
		el.scrollIntoView({block: "nearest"});
		const r = el.getBoundingClientRect();
		return {x: r.left + r.width / 2, y: r.top + r.height / 2};
	})()`, browserJS(sel)))
	return pt.X, pt.Y
}

// tap taps the centre of the first shown element that matches sel, as a
// finger would (touch events, then the click the browser makes of them).
func (p *browserPerson) tap(t *testing.T, sel string) {
	t.Helper()
	x, y := p.center(t, sel)
	browserRun(t, p, "tap "+sel, chromedp.TapXY(x, y))
}

// longPress holds a finger on the centre of the element for d.
func (p *browserPerson) longPress(t *testing.T, sel string, d time.Duration) {
	t.Helper()
	x, y := p.center(t, sel)
	browserCall(t, p, "touch "+sel, input.DispatchTouchEvent, input.DispatchTouchEventParams{
		Type: input.DispatchTouchEventTypeTouchStart, TouchPoints: []*input.TouchPoint{{X: x, Y: y}},
	})
	time.Sleep(d) // the finger stays: this is the gesture, not a wait for the page
	browserCall(t, p, "lift the finger", input.DispatchTouchEvent, input.DispatchTouchEventParams{
		Type: input.DispatchTouchEventTypeTouchEnd, TouchPoints: []*input.TouchPoint{},
	})
}

// ---- keyboard ------------------------------------------------------------

// key presses keys (see chromedp/kb: kb.Tab, kb.Enter, kb.ArrowDown ...)
// wherever the focus is, as a keyboard does: a keydown that carries the
// key's text (typed only if no handler prevents the keydown's default),
// then a keyup. chromedp.KeyEvent sends the text as a char event of its
// own, which types even when the keydown was prevented: an Enter that
// sends a message would leave a new line behind in the composer.
func (p *browserPerson) key(t *testing.T, keys string, opts ...chromedp.KeyOption) {
	t.Helper()
	browserRun(t, p, fmt.Sprintf("press %q", keys), chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		for _, r := range keys {
			var down, up *input.DispatchKeyEventParams
			var text string
			for _, k := range kb.Encode(r) {
				switch k.Type {
				case input.DispatchKeyEventTypeKeyDown:
					down = k
				case input.DispatchKeyEventTypeKeyUp:
					up = k
				case input.DispatchKeyEventTypeChar:
					text = k.Text
				}
			}
			for _, o := range opts {
				o(down)
				o(up)
			}
			if down.Modifiers&^int64(chromedp.ModifierShift) == 0 {
				down.Text, down.UnmodifiedText = text, text
			}
			for _, k := range []*input.DispatchKeyEventParams{down, up} {
				if _, err := cdp.Call(ctx, tg, input.DispatchKeyEvent, *k); err != nil {
					return err
				}
			}
		}
		return nil
	}))
}

// browserFocused describes the focused element and whether its focus can
// be seen.
type browserFocused struct {
	Tag     string `json:"tag"`
	ID      string `json:"id"`
	Class   string `json:"class"`
	Visible bool   `json:"visible"` // on screen, not covered by nothing
	Ring    bool   `json:"ring"`    // an outline or a box-shadow marks it
}

func (f browserFocused) String() string {
	s := f.Tag
	if f.ID != "" {
		s += "#" + f.ID
	}
	if f.Class != "" {
		s += "." + strings.ReplaceAll(strings.TrimSpace(f.Class), " ", ".")
	}
	return s
}

// focused reports the element that has the focus.
func (p *browserPerson) focused(t *testing.T) browserFocused {
	t.Helper()
	return browserEval[browserFocused](t, p, `(() => {
		const el = document.activeElement;
		if (!el || el === document.body) return {tag: "body", id: "", class: "", visible: false, ring: false};
		const r = el.getBoundingClientRect(), s = getComputedStyle(el);
		const visible = r.width > 1 && r.height > 1 && r.bottom > 0 && r.right > 0 &&
			r.top < innerHeight && r.left < innerWidth && s.visibility !== "hidden" && s.opacity !== "0";
		const ring = (s.outlineStyle !== "none" && parseFloat(s.outlineWidth) > 0) || s.boxShadow !== "none";
		return {tag: el.tagName.toLowerCase(), id: el.id, class: typeof el.className === "string" ? el.className : "", visible, ring};
	})()`)
}

// ---- IME composition -----------------------------------------------------

// compose sets the IME's composition (the underlined, not yet committed
// text) in the focused field, as typing with a Japanese input method does.
func (p *browserPerson) compose(t *testing.T, text string) {
	t.Helper()
	n := int64(len([]rune(text)))
	browserCall(t, p, "compose "+text, input.ImeSetComposition, input.ImeSetCompositionParams{
		Text: text, SelectionStart: n, SelectionEnd: n,
	})
}

// composeEnter presses Enter while the IME composes, as Chromium passes
// it on: a keydown whose keyCode is 229 (the IME's) and whose
// isComposing is true, then a keyup; the IME takes the key, so it types
// nothing (no char event).
func (p *browserPerson) composeEnter(t *testing.T) {
	t.Helper()
	for _, typ := range []input.DispatchKeyEventType{input.DispatchKeyEventTypeRawKeyDown, input.DispatchKeyEventTypeKeyUp} {
		browserCall(t, p, "Enter while composing", input.DispatchKeyEvent, input.DispatchKeyEventParams{
			Type: typ, Key: "Enter", Code: "Enter", WindowsVirtualKeyCode: 229, NativeVirtualKeyCode: 229,
		})
	}
}

// commit ends the composition with text, as choosing a candidate does.
func (p *browserPerson) commit(t *testing.T, text string) {
	t.Helper()
	browserCall(t, p, "commit "+text, input.InsertText, input.InsertTextParams{Text: text})
}

// ---- the network ---------------------------------------------------------

// offline cuts p's tab off the network (true) or restores it (false):
// every new request and WebSocket fails while cut, and navigator.onLine
// and the online/offline events follow.
//
// Chromium 148 takes "offline" beside the rules of
// Network.emulateNetworkConditionsByRule, not in a rule as cdproto's
// types have it, so the command goes out as written here.
func (p *browserPerson) offline(t *testing.T, cut bool) {
	t.Helper()
	what := "cut the network"
	if !cut {
		what = "restore the network"
	}
	browserCall(t, p, what+": enable", network.Enable, network.EnableParams{})
	rules := []map[string]any{}
	if cut {
		rules = append(rules, map[string]any{"urlPattern": "", "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1})
	}
	browserRun(t, p, what, chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		return tg.Call(ctx, "Network.emulateNetworkConditionsByRule", map[string]any{"offline": cut, "matchedNetworkConditions": rules}, nil)
	}))
	browserCall(t, p, what+": navigator.onLine", network.OverrideNetworkState, network.OverrideNetworkStateParams{
		Offline: cut, DownloadThroughput: -1, UploadThroughput: -1,
	})
	p.poll(t, fmt.Sprintf("navigator.onLine %v", !cut), fmt.Sprintf(`navigator.onLine === %v`, !cut))
}

// ---- axe-core ------------------------------------------------------------

// browserAxeScript is axe-core's axe.min.js, from HANASHI_AXE (which
// scripts/test sets to ui/node_modules/axe-core/axe.min.js after npm ci);
// the test skips loudly without it.
func browserAxeScript(t *testing.T) string {
	t.Helper()
	path := os.Getenv("HANASHI_AXE")
	if path == "" {
		if _, err := os.Stat("../../ui/node_modules/axe-core/axe.min.js"); err == nil {
			path = "../../ui/node_modules/axe-core/axe.min.js"
		}
	}
	b, err := os.ReadFile(path)
	if path == "" || err != nil {
		t.Skip(strings.Repeat("!", 72) + "\n" +
			fmt.Sprintf("SKIPPING THE ACCESSIBILITY SCAN: no axe-core (HANASHI_AXE=%q: %v).\n", path, err) +
			"Run ./scripts/test, or `cd ui && npm ci` and set HANASHI_AXE=$PWD/node_modules/axe-core/axe.min.js.\n" +
			strings.Repeat("!", 72))
	}
	return string(b)
}

// browserAxeTags are the rule sets the scan runs: WCAG 2.0, 2.1 and 2.2,
// levels A and AA.
const browserAxeTags = `["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]`

// checkAxe runs axe-core on the page as it is and fails listing every
// violation: its rule, impact and the elements.
func (p *browserPerson) checkAxe(t *testing.T, script, screen string) {
	t.Helper()
	browserEval[bool](t, p, `typeof axe === "object" || (() => { `+script+`
		; return true; })()`)
	type violation struct {
		ID      string     `json:"id"`
		Impact  string     `json:"impact"`
		Help    string     `json:"help"`
		Targets [][]string `json:"targets"`
		Summary string     `json:"summary"`
	}
	ctx, cancel := context.WithDeadline(p.ctx, p.waitDeadline())
	defer cancel()
	got, err := chromedp.Run(ctx, chromedp.Evaluate[[]violation](`axe.run(document, {runOnly: `+browserAxeTags+`, resultTypes: ["violations"]})
		.then(r => r.violations.map(v => ({id: v.id, impact: v.impact ?? "", help: v.help,
			targets: v.nodes.map(n => n.target.map(String)), summary: v.nodes[0]?.failureSummary ?? ""})))`,
		chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("%s, %s: running axe: %v", p.name, screen, err)
	}
	for _, v := range got {
		var targets []string
		for _, tg := range v.Targets {
			targets = append(targets, strings.Join(tg, " "))
		}
		t.Errorf("%s, %s: axe: %s (%s): %s\n\t%s\n\tfirst: %s", p.name, screen, v.ID, v.Impact, v.Help,
			strings.Join(targets, "\n\t"), strings.ReplaceAll(v.Summary, "\n", "\n\t"))
	}
}

// ---- screenshots ---------------------------------------------------------

// screenshot writes what p's viewport shows to path as a PNG.
func (p *browserPerson) screenshot(t *testing.T, path string) {
	t.Helper()
	img := browserRun(t, p, "screenshot", chromedp.CaptureScreenshot())
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, img, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("%s: screenshot %s (%d KB)", p.name, path, len(img)/1024)
}

// ---- common steps ----------------------------------------------------------

// browserServe starts a server on a free loopback port and returns it with
// its base URL, under the server's canonical name (localhost).
func browserServe(t *testing.T, deadline time.Time) (*browserServer, string) {
	t.Helper()
	addr := freeAddr(t)
	srv := browserStartServer(t, addr, t.TempDir(), deadline)
	return srv, browserBase(addr)
}

// browserBase is the page's address for a server listening on addr
// (127.0.0.1:PORT): http://localhost:PORT/, the canonical address a
// server on loopback redirects its other names to.
func browserBase(addr string) string {
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		panic(err)
	}
	return "http://localhost:" + port + "/"
}

// pickName opens the client at base and signs in as a guest named p.name.
func (p *browserPerson) pickName(t *testing.T, base string) {
	t.Helper()
	p.do(t, "open the page and pick a name",
		chromedp.Navigate(base),
		chromedp.WaitVisible(chromedp.ID("name-input")),
		chromedp.SendKeys(chromedp.ID("name-input"), p.name),
		chromedp.Click(chromedp.ID("name-submit")),
	)
	p.poll(t, "signed in", fmt.Sprintf(`document.getElementById("me")?.textContent === %s`, browserJS(p.name)))
	p.waitStatus(t, "connected")
}

// createRoom creates a room from the sidebar's form and waits until it is
// open; it returns the room's id.
func (p *browserPerson) createRoom(t *testing.T, name string, private bool) string {
	t.Helper()
	p.do(t, "create room "+name,
		browserFill("room-name", name),
		chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`(c => { if (c.checked !== %v) c.click(); })(document.getElementById("room-private"))`, private)),
		chromedp.Click(chromedp.ID("room-create")),
	)
	p.poll(t, "in room "+name, fmt.Sprintf(`document.getElementById("room-title")?.textContent.includes(%s) && document.querySelector("a.room.active")`, browserJS(name)))
	return browserEval[string](t, p, `document.querySelector("a.room.active").dataset.roomId`)
}

// browserFill sets the value of the field with the id, as pasting into it
// would: the value, then the input and change events a framework that
// keeps the field's state listens to.
func browserFill(id, value string) chromedp.Action[chromedp.Void] {
	return chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`(() => {
		const el = document.getElementById(%s);
		if (!el) throw new Error("no #" + %[1]s);
		el.focus();
		el.value = %s;
		el.dispatchEvent(new Event("input", {bubbles: true}));
		el.dispatchEvent(new Event("change", {bubbles: true}));
	})()`, browserJS(id), browserJS(value)))
}

// browserGuest starts a server and a browser signed in as a guest named
// name; it returns the server's base URL and the browser.
func browserGuest(t *testing.T, chromium, name string, deadline time.Time) (base string, p *browserPerson) {
	t.Helper()
	_, base = browserServe(t, deadline)
	p = browserOpen(t, chromium, name, deadline)
	p.pickName(t, base)
	return base, p
}

// browserGuests starts a server and two browsers, alice and bob, signed in
// as guests; it returns the server's base URL and the two.
func browserGuests(t *testing.T, chromium string, deadline time.Time) (base string, alice, bob *browserPerson) {
	t.Helper()
	_, base = browserServe(t, deadline)
	alice = browserOpen(t, chromium, "alice", deadline)
	bob = browserOpen(t, chromium, "bob", deadline)
	browserEach(t, []*browserPerson{alice, bob}, func(p *browserPerson) { p.pickName(t, base) })
	return base, alice, bob
}

// join opens the room from the sidebar and joins it.
func (p *browserPerson) join(t *testing.T, room string) {
	t.Helper()
	browserChatOpenRoom(t, p, room)
	p.do(t, "join room "+room, chromedp.Click(chromedp.ID("join")), chromedp.WaitVisible(chromedp.ID("leave")))
}

// browserScrollUp is JavaScript that scrolls the room's messages to the
// top, where the client loads older pages.
const browserScrollUp = `(() => {
	for (let el = document.getElementById("messages"); el; el = el.parentElement) {
		if (el.scrollHeight > el.clientHeight && /(auto|scroll)/.test(getComputedStyle(el).overflowY)) { el.scrollTop = 0; return; }
	}
})();`

// browserHidden is a JavaScript condition: the element with the id is
// missing or not shown.
func browserHidden(id string) string {
	return fmt.Sprintf(`(el => !el || el.getClientRects().length === 0)(document.getElementById(%s))`, browserJS(id))
}

// browserEach runs f for each person at once and stops the test if any
// failed.
func browserEach(t *testing.T, people []*browserPerson, f func(p *browserPerson)) {
	t.Helper()
	var wg sync.WaitGroup
	for _, p := range people {
		wg.Go(func() { f(p) })
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
}
