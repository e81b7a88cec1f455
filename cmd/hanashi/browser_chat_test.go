package main

// The team chat in real Chromium: Alice and Bob, each in a browser of their
// own, both signed in (people find each other by name only among signed-in
// users), use every feature of docs/protocol.md "Team chat" through the web
// client: direct messages, threads, edits and deletions, reactions,
// mentions with unread counts, typing, presence, nested rooms and
// formatting. One server and the two browsers serve every subtest. The XSS
// corpus is a test of its own.

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/hanashi-chat/hanashi/internal/testutil"
)

// browserChatTimeout bounds the whole team chat test.
const browserChatTimeout = 4 * time.Minute

func TestBrowserTeamChat(t *testing.T) {
	chromium := browserFindChromium(t)
	deadline := time.Now().Add(browserChatTimeout)
	addr := freeAddr(t)
	srv := browserStartServer(t, addr, t.TempDir(), deadline)
	base := browserBase(addr)

	alice := browserOpen(t, chromium, "alice", deadline)
	bob := browserOpen(t, chromium, "bob", deadline)
	var wg sync.WaitGroup
	for _, p := range []*browserPerson{alice, bob} {
		wg.Go(func() { browserChatSignIn(t, p, srv, base, p.name+"@hanashi.test") })
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	both := []*browserPerson{alice, bob}

	t.Run("direct messages", func(t *testing.T) {
		// Alice finds Bob by the start of his name and opens their room.
		alice.do(t, "search for bob", chromedp.SendKeys(chromedp.ID("dm-search"), "BO"))
		browserChatClick(t, alice, "bob in the results", `[...document.querySelectorAll("#dm-results .person")].find(b => b.textContent === "bob")`)
		alice.poll(t, "the direct room open", `!!document.querySelector("#directs a.room.active") && document.getElementById("room-title")?.textContent.includes("bob")`)
		dm := browserEval[string](t, alice, `document.querySelector(".room.active").dataset.roomId`)
		alice.send(t, "psst, bob")
		alice.waitBody(t, "psst, bob")

		// Bob has it in his list at once (the per-user stream), unread.
		bob.poll(t, "the direct room, 1 unread", fmt.Sprintf(
			`document.querySelector('#directs .room[data-room-id="%s"] .unread')?.textContent === "1"`, dm))
		browserChatOpenRoom(t, bob, dm)
		bob.waitBody(t, "psst, bob")
		bob.poll(t, "the room named after alice", `document.getElementById("room-title")?.textContent.includes("alice")`)
		bob.send(t, "hi alice")
		alice.waitBody(t, "hi alice")

		// The same people always get the same room.
		alice.do(t, "search again", chromedp.Evaluate[chromedp.Void](`document.getElementById("dm-search").value = ""`), chromedp.SendKeys(chromedp.ID("dm-search"), "bob"))
		browserChatClick(t, alice, "bob in the results", `[...document.querySelectorAll("#dm-results .person")].find(b => b.textContent === "bob")`)
		if got := browserEval[string](t, alice, `document.querySelector(".room.active").dataset.roomId`); got != dm {
			t.Errorf("alice: opening a direct room with bob again opened room %s; want the same room %s", got, dm)
		}

		// Private by construction: a third person cannot see it at all.
		eve := browserChatGuest(t, base, "eve")
		for _, path := range []string{"rooms/" + dm, "rooms/" + dm + "/history", "rooms/" + dm + "/members"} {
			if code := eve.get(t, path); code != http.StatusNotFound {
				t.Errorf("eve: GET %s: %d; want 404", path, code)
			}
		}
		if code := eve.get(t, "rooms"); code != http.StatusOK || strings.Contains(eve.last, `"kind":"direct"`) {
			t.Errorf("eve: GET rooms: %d %s; want 200 without the direct room", code, eve.last)
		}
		// Guests are never found by name.
		alice.do(t, "search for eve", chromedp.Evaluate[chromedp.Void](`document.getElementById("dm-search").value = ""`), chromedp.SendKeys(chromedp.ID("dm-search"), "eve"))
		alice.poll(t, "nobody found", `document.getElementById("dm-results")?.textContent.includes("Nobody")`)
	})

	team := browserChatRoom(t, alice, bob, "team")

	t.Run("threads", func(t *testing.T) {
		browserChatOpenRoom(t, alice, team)
		browserChatOpenRoom(t, bob, team)
		alice.send(t, "root question")
		bob.waitBody(t, "root question")
		root := browserChatMsg("root question")

		// Bob replies in a thread.
		browserChatClick(t, bob, "reply", root+`?.querySelector('[data-action="reply"]')`)
		bob.poll(t, "the thread panel with the root", `!`+browserHidden("thread")+` && document.querySelector("#thread-root .body")?.textContent === "root question"`)
		bob.do(t, "reply", browserFill("thread-composer", "first answer"), chromedp.Click(chromedp.ID("thread-send")))
		bob.poll(t, "his reply in the thread", browserChatReply("first answer"))
		// Replying follows the thread.
		bob.poll(t, "following", `document.getElementById("thread-follow")?.textContent === "Unfollow"`)

		// Alice's room shows the count and the time of the last reply; the
		// thread has the reply.
		alice.poll(t, "1 reply on the root", root+`?.querySelector(".reply-summary")?.textContent.startsWith("1 reply · last ")`)
		if n := browserEval[int](t, alice, `document.querySelectorAll("#messages .message").length`); n != 1 {
			t.Errorf("alice: %d messages in the room; want 1 (replies stay in the thread)", n)
		}
		browserChatClick(t, alice, "the reply count", root+`?.querySelector(".reply-summary")`)
		alice.poll(t, "the reply in the thread", browserChatReply("first answer"))

		// The thread pages its replies: 55 more, and the panel shows the
		// newest 50 until asked for the rest.
		browserChatAwait(t, bob, "55 replies posted", fmt.Sprintf(`(async () => {
			const root = %s.dataset.id, room = %s;
			for (let i = 1; i <= 55; i++) {
				const r = await fetch("api/v1/rooms/" + room + "/messages", {method: "POST", headers: {"Content-Type": "application/json"},
					body: JSON.stringify({client_id: "bulk-reply-" + i, body: "reply " + i, thread: root})});
				if (!r.ok) return false;
			}
			return true;
		})()`, root, team))
		alice.poll(t, "56 replies on the root", root+`?.querySelector(".reply-summary")?.textContent.startsWith("56 replies")`)
		browserChatClick(t, alice, "close", `document.getElementById("thread-close")`)
		browserChatClick(t, alice, "the reply count", root+`?.querySelector(".reply-summary")`)
		alice.poll(t, "the newest 50 replies", `document.querySelectorAll("#thread-messages .message").length === 50 && !`+browserHidden("thread-older"))
		browserChatClick(t, alice, "older replies", `document.getElementById("thread-older")`)
		alice.poll(t, "all 56 replies", `document.querySelectorAll("#thread-messages .message").length === 56 && `+browserHidden("thread-older"))
		alice.poll(t, "the first reply first", `document.querySelector("#thread-messages .message .body")?.textContent === "first answer"`)

		// Following: Bob, with the thread closed, is told of a new reply.
		browserChatClick(t, bob, "close", `document.getElementById("thread-close")`)
		alice.do(t, "reply", browserFill("thread-composer", "did that help, bob?"), chromedp.Click(chromedp.ID("thread-send")))
		bob.poll(t, "1 new reply on the root", root+`?.querySelector(".thread-new")?.textContent === "1 new"`)
		// Opening the thread reads it; he unfollows.
		browserChatClick(t, bob, "the reply count", root+`?.querySelector(".reply-summary")`)
		bob.poll(t, "the new reply", browserChatReply("did that help, bob?"))
		bob.poll(t, "nothing new any more", `!`+root+`?.querySelector(".thread-new")`)
		browserChatClick(t, bob, "unfollow", `document.getElementById("thread-follow")`)
		bob.poll(t, "not following", `document.getElementById("thread-follow")?.textContent === "Follow"`)
		browserChatClick(t, bob, "close", `document.getElementById("thread-close")`)
		alice.do(t, "reply", browserFill("thread-composer", "never mind"), chromedp.Click(chromedp.ID("thread-send")))
		bob.poll(t, "58 replies", root+`?.querySelector(".reply-summary")?.textContent.startsWith("58 replies")`)
		if browserEval[bool](t, bob, `!!`+root+`?.querySelector(".thread-new")`) {
			t.Error("bob: a new reply is announced in a thread he unfollowed")
		}
		// After a reload the history still has the count.
		bob.do(t, "reload", chromedp.Reload(), chromedp.WaitVisible(chromedp.ID("app")))
		browserChatOpenRoom(t, bob, team)
		bob.poll(t, "58 replies after a reload", root+`?.querySelector(".reply-summary")?.textContent.startsWith("58 replies")`)
		browserChatClick(t, alice, "close", `document.getElementById("thread-close")`)
	})

	t.Run("edit and delete", func(t *testing.T) {
		browserChatOpenRoom(t, alice, team)
		browserChatOpenRoom(t, bob, team)
		alice.send(t, "teh typo")
		bob.waitBody(t, "teh typo")
		typo := browserChatMsg("teh typo")
		// Only the author may edit; Bob may not delete in Alice's room.
		browserChatClick(t, bob, "more actions", typo+`?.querySelector('[data-action="more"]')`)
		bob.poll(t, "the actions menu", `!!document.querySelector('[role="menu"] [data-action="copy-link"]')`)
		if browserEval[bool](t, bob, `document.querySelector('[role="menu"] :is([data-action="edit"], [data-action="delete"])') !== null`) {
			t.Error("bob: alice's message offers him edit or delete")
		}
		bob.key(t, kb.Escape)
		bob.poll(t, "the menu closed", `document.querySelector('[role="menu"]') === null`)
		browserChatMenu(t, alice, typo, "edit")
		alice.poll(t, "the editor", `(() => {
			const input = document.querySelector("#messages .edit-input");
			if (!input) return false;
			input.value = "the typo, fixed";
			input.closest("form").querySelector(".edit-save").click();
			return true;
		})()`)
		for _, p := range both {
			p.waitBody(t, "the typo, fixed")
			p.poll(t, "(edited)", browserChatMsg("the typo, fixed")+`.querySelector(".edited")?.textContent === "(edited)"`)
		}

		// Bob deletes his own message: a tombstone for both.
		bob.send(t, "oops, wrong room")
		bob.waitBody(t, "oops, wrong room") // acked: it has its id
		alice.waitBody(t, "oops, wrong room")
		oops := browserEval[string](t, bob, browserChatMsg("oops, wrong room")+`.dataset.id`)
		browserChatDelete(t, bob, browserChatMsg("oops, wrong room"))
		// Alice, the room's creator, moderates: she deletes Bob's message.
		bob.send(t, "something rude")
		bob.waitBody(t, "something rude")
		alice.waitBody(t, "something rude")
		rude := browserEval[string](t, bob, browserChatMsg("something rude")+`.dataset.id`)
		browserChatDelete(t, alice, browserChatMsg("something rude"))
		for _, p := range both {
			for _, id := range []string{oops, rude} {
				p.poll(t, "a tombstone", fmt.Sprintf(`(() => {
					const m = document.querySelector('#messages .message[data-id="%s"]');
					return !!m && m.classList.contains("deleted") && m.querySelector(".tombstone") !== null
						&& !m.textContent.includes("oops") && !m.textContent.includes("rude");
				})()`, id))
			}
		}
		// And so it stays after a reload, from the history.
		bob.do(t, "reload", chromedp.Reload(), chromedp.WaitVisible(chromedp.ID("app")))
		browserChatOpenRoom(t, bob, team)
		bob.poll(t, "the edit and the tombstones after a reload", fmt.Sprintf(`(() => {
			const tomb = id => document.querySelector('#messages .message[data-id="' + id + '"]')?.classList.contains("deleted");
			return tomb(%q) && tomb(%q) && %s?.querySelector(".edited") != null;
		})()`, oops, rude, browserChatMsg("the typo, fixed")))
	})

	t.Run("reactions", func(t *testing.T) {
		browserChatOpenRoom(t, alice, team)
		browserChatOpenRoom(t, bob, team)
		alice.send(t, "react to this")
		bob.waitBody(t, "react to this")
		msg := browserChatMsg("react to this")
		chip := msg + `?.querySelector('.reaction[data-emoji="👍"]')`
		// Bob picks 👍.
		browserChatClick(t, bob, "react", msg+`?.querySelector('[data-action="react"]')`)
		browserChatClick(t, bob, "👍", msg+`?.querySelector('.picker .pick[data-emoji="👍"]')`)
		for _, p := range both {
			p.poll(t, "👍 1 by bob", chip+`?.dataset.count === "1" && `+chip+`.title.includes("bob")`)
		}
		// Alice clicks the chip: hers too.
		browserChatClick(t, alice, "the 👍 chip", chip)
		for _, p := range both {
			p.poll(t, "👍 2 by alice and bob", chip+`?.dataset.count === "2" && `+chip+`.title.includes("alice") && `+chip+`.title.includes("bob")`)
		}
		alice.poll(t, "hers marked", chip+`.classList.contains("mine")`)
		// Bob takes his back.
		browserChatClick(t, bob, "the 👍 chip", chip)
		for _, p := range both {
			p.poll(t, "👍 1 by alice", chip+`?.dataset.count === "1" && !`+chip+`.title.includes("bob")`)
		}
		bob.poll(t, "his no longer marked", `!`+chip+`.classList.contains("mine")`)
	})

	t.Run("mentions and unread", func(t *testing.T) {
		// Bob looks at another room while Alice writes in the team room.
		elsewhere := browserChatRoom(t, bob, alice, "elsewhere")
		browserChatOpenRoom(t, bob, elsewhere)
		browserChatOpenRoom(t, alice, team)
		alice.send(t, "hey @bob, look at this")
		alice.send(t, "and this too")
		badges := func(p *browserPerson, unread, mentions string) {
			t.Helper()
			p.poll(t, fmt.Sprintf("team: %s unread, %s mentions", unread, mentions), fmt.Sprintf(`(() => {
				const r = document.querySelector('#rooms .room[data-room-id="%s"]');
				return !!r && (r.querySelector(".unread")?.textContent ?? "") === %q && (r.querySelector(".mentions")?.textContent ?? "") === %q;
			})()`, team, unread, mentions))
		}
		badges(bob, "2", "@1")
		// The counts come from the server: the same after a reload, and in
		// a second tab (another device would be the same).
		bob.do(t, "reload", chromedp.Reload(), chromedp.WaitVisible(chromedp.ID("app")))
		bob.waitStatus(t, "connected")
		badges(bob, "2", "@1")
		tab := browserChatTab(t, bob, "bob's second tab", deadline)
		tab.do(t, "open the page", chromedp.Navigate(base), chromedp.WaitVisible(chromedp.ID("app")))
		tab.waitStatus(t, "connected")
		badges(tab, "2", "@1")
		alice.send(t, "@room standup in 5")
		badges(bob, "3", "@2")
		badges(tab, "3", "@2")

		// Bob reads the room in his first tab: the marker moves, and the
		// second tab follows live.
		if _, err := chromedp.Call(bob.ctx, page.BringToFront, cdp.Empty{}); err != nil {
			t.Fatalf("bob: back to the first tab: %v", err)
		}
		browserChatOpenRoom(t, bob, team)
		bob.waitBody(t, "@room standup in 5")
		bob.poll(t, "his mention stands out", browserChatMsg("hey @bob, look at this")+`?.classList.contains("mentions-me") && `+
			browserChatMsg("hey @bob, look at this")+`.querySelector(".mention.me")?.textContent === "@bob"`)
		bob.poll(t, "@room stands out", browserChatMsg("@room standup in 5")+`?.classList.contains("mentions-me")`)
		badges(bob, "", "")
		badges(tab, "", "")
		tab.do(t, "reload", chromedp.Reload(), chromedp.WaitVisible(chromedp.ID("app")))
		tab.waitStatus(t, "connected")
		tab.poll(t, "the room list", fmt.Sprintf(`!!document.querySelector('#rooms .room[data-room-id="%s"]')`, team))
		badges(tab, "", "")
		tab.checkClean(t)
	})

	t.Run("typing", func(t *testing.T) {
		browserChatOpenRoom(t, alice, team)
		browserChatOpenRoom(t, bob, team)
		alice.do(t, "type", chromedp.SendKeys(chromedp.ID("composer"), "I am typing"))
		bob.poll(t, "alice is typing", `document.getElementById("typing")?.textContent === "alice is typing…"`)
		if got := browserEval[string](t, alice, `document.getElementById("typing")?.textContent`); got != "" {
			t.Errorf("alice: the typing line says %q while only she types; want nothing", got)
		}
		alice.do(t, "send", chromedp.Click(chromedp.ID("send")))
		bob.waitBody(t, "I am typing")
		bob.poll(t, "the typing line cleared by her message", `document.getElementById("typing")?.textContent === ""`)
	})

	t.Run("presence", func(t *testing.T) {
		browserChatOpenRoom(t, alice, team)
		browserChatOpenRoom(t, bob, team)
		dot := func(state string) string {
			return fmt.Sprintf(`[...document.querySelectorAll("#members .member")].some(m => m.querySelector(".member-name").textContent === "alice" && m.dataset.presence === %q)`, state)
		}
		bob.poll(t, "alice online", dot("online"))
		alice.poll(t, "bob online", strings.ReplaceAll(dot("online"), `"alice"`, `"bob"`))
		bob.poll(t, "bob sees himself online", strings.ReplaceAll(dot("online"), `"alice"`, `"bob"`))
		// A while without input: away.
		browserEval[any](t, alice, `window.hanashiDebug.idle()`)
		bob.poll(t, "alice away", dot("away"))
		// Back at the keyboard.
		alice.do(t, "click", chromedp.Click(chromedp.ID("composer")))
		bob.poll(t, "alice online again", dot("online"))
		// Gone: her last connection closes. She comes back whatever
		// happens, for the subtests that follow.
		alice.do(t, "leave the page", chromedp.Navigate("about:blank"))
		defer func() {
			alice.do(t, "come back", chromedp.Navigate(base), chromedp.WaitVisible(chromedp.ID("app")))
			alice.waitStatus(t, "connected")
			bob.poll(t, "alice online once more", dot("online"))
		}()
		bob.poll(t, "alice offline", dot("offline"))
	})

	t.Run("nested rooms", func(t *testing.T) {
		browserChatOpenRoom(t, alice, team)
		browserChatOpenRoom(t, bob, team)
		alice.do(t, "create a room inside",
			chromedp.Click(chromedp.ID("new-child")),
			chromedp.WaitVisible(chromedp.ID("child-name")),
			chromedp.SendKeys(chromedp.ID("child-name"), "team-design"),
			chromedp.Click(chromedp.ID("child-create")),
		)
		link := `[...document.querySelectorAll("#messages .child-link")].find(b => b.textContent === "#team-design")`
		for _, p := range both {
			p.poll(t, "the link post", link+` !== undefined`)
		}
		// It opens the child room, listed under its parent.
		browserChatClick(t, bob, "the link", link)
		bob.poll(t, "in the child room", `document.getElementById("room-title")?.textContent === "team-design" && !`+browserHidden("join"))
		bob.poll(t, "listed under team", fmt.Sprintf(`(() => {
			const child = document.querySelector(".room.active");
			const parent = child?.closest("li")?.previousElementSibling?.querySelector(".room");
			return child.classList.contains("child") && parent?.dataset.roomId === %q;
		})()`, team))
		bob.do(t, "join", chromedp.Click(chromedp.ID("join")), chromedp.WaitVisible(chromedp.ID("leave")))
		bob.send(t, "hello from inside")
		// A private room inside leaves a link without its name, which
		// opens nothing for anyone else.
		browserChatOpenRoom(t, bob, team)
		alice.do(t, "create a private room inside",
			chromedp.Click(chromedp.ID("new-child")),
			chromedp.WaitVisible(chromedp.ID("child-name")),
			chromedp.SendKeys(chromedp.ID("child-name"), "team-secret"),
			chromedp.Click(chromedp.ID("child-private")),
			chromedp.Click(chromedp.ID("child-create")),
		)
		private := `[...document.querySelectorAll("#messages .child-link")].find(b => b.textContent === "a private room")`
		bob.poll(t, "a nameless link", private+` !== undefined`)
		if browserEval[bool](t, bob, `document.getElementById("messages")?.textContent.includes("team-secret")`) {
			t.Error("bob: the private room's name shows in its parent")
		}
		browserChatClick(t, bob, "the private link", private)
		bob.poll(t, "refused", `document.getElementById("room-error-live")?.textContent.includes("private")`)
	})

	t.Run("formatting", func(t *testing.T) {
		browserChatOpenRoom(t, alice, team)
		browserChatOpenRoom(t, bob, team)
		body := "**bold** *soft* `x < y` [the site](https://example.com/a?b=1) and https://example.org/path.\n" +
			"- one\n- two\n1. first\n> quoted *text*\n```\n<b>fenced</b>\n```\n[bad](javascript:alert(1))"
		alice.send(t, body)
		for _, p := range both {
			got := ""
			p.poll(t, "the formatted message", `[...document.querySelectorAll("#messages .message .body")].some(b => b.querySelector("pre"))`)
			got = browserEval[string](t, p, `(() => {
				const b = [...document.querySelectorAll("#messages .message .body")].find(b => b.querySelector("pre"));
				const a = [...b.querySelectorAll("a")].map(a => a.textContent + "=" + a.getAttribute("href") + "|" + a.rel + "|" + a.target).join(" ");
				return [b.querySelector("strong")?.textContent, b.querySelector("em")?.textContent, b.querySelector("code")?.textContent,
					a, [...b.querySelectorAll(":scope ul li")].map(l => l.textContent).join(","), b.querySelector(":scope ol li")?.textContent,
					b.querySelector("blockquote")?.textContent, b.querySelector(":scope blockquote em")?.textContent,
					b.querySelector(":scope pre code")?.textContent, b.querySelectorAll("b, script").length,
					b.textContent.includes("[bad](javascript:alert(1))")].join(" ; ");
			})()`)
			want := "bold ; soft ; x < y ; the site=https://example.com/a?b=1|noopener nofollow ugc|_blank https://example.org/path=https://example.org/path|noopener nofollow ugc|_blank ; one,two ; first ; quoted text ; text ; <b>fenced</b> ; 0 ; true"
			if got != want {
				t.Errorf("%s: the message renders as\n\t%s\nwant\n\t%s", p.name, got, want)
			}
		}
	})

	for _, p := range both {
		p.checkClean(t)
	}
}

// TestBrowserXSSCorpus posts hostile bodies through the API and renders
// them in two browsers: no script may run (a sentinel the payloads try to
// set stays unset, nothing is fetched from the loopback address they
// name, no dialog opens, no CSP violation is even attempted), every body
// shows as text, and the only elements in a body are those of the
// Markdown subset, with links to http, https and mailto only.
func TestBrowserXSSCorpus(t *testing.T) {
	chromium := browserFindChromium(t)
	deadline := time.Now().Add(2 * time.Minute)
	addr := freeAddr(t)
	browserStartServer(t, addr, t.TempDir(), deadline)
	base := browserBase(addr)

	var mu sync.Mutex
	var hits []string
	sentinel := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		hits = append(hits, r.Method+" "+r.URL.String())
		mu.Unlock()
	}))
	t.Cleanup(sentinel.Close)
	S := sentinel.URL + "/hit"

	type payload struct {
		body  string
		shows []string // text the body must show; nil: the body exactly as typed
	}
	run := `window.__xss=1;document.title='pwned';fetch('` + S + `')`
	corpus := []payload{
		{body: `<script>` + run + `</script>`},
		{body: `<img src=x onerror="` + run + `">`},
		{body: `<img src="` + S + `">`},
		{body: `<svg onload="` + run + `"><circle r=10></svg>`},
		{body: `<svg><script>` + run + `</script></svg>`},
		{body: `<iframe src="javascript:parent.__xss=1"></iframe>`},
		{body: `<iframe srcdoc="<script>parent.__xss=1</script>"></iframe>`},
		{body: `<a href="javascript:` + run + `">click</a>`},
		{body: `<body onload=window.__xss=1>`},
		{body: `<details open ontoggle="` + run + `">`},
		{body: `<input autofocus onfocus="` + run + `">`},
		{body: `<video><source onerror="` + run + `"></video>`},
		{body: `<math><mtext><table><mglyph><style><img src=x onerror="` + run + `">`},
		{body: `<object data="javascript:window.__xss=1"></object><embed src="javascript:window.__xss=1">`},
		{body: `<style>body{background:url('` + S + `')}</style><link rel=stylesheet href="` + S + `">`},
		{body: `<meta http-equiv="refresh" content="0;url=javascript:window.__xss=1"><base href="javascript:/">`},
		{body: `<scr<script>ipt>` + run + `</scr</script>ipt>`},
		{body: `"><img src=x onerror=alert(1)>`},
		{body: `'-alert(1)-'</textarea><img src=x onerror=confirm(1)>`},
		{body: `[click me](javascript:` + run + `)`},
		{body: `[click](JaVaScRiPt:window.__xss=1)`},
		{body: `[click](javascript&#58;window.__xss=1)`},
		{body: `[click](&#106;avascript:window.__xss=1)`},
		{body: "[click](java\tscript:window.__xss=1)"},
		{body: "[click](java\nscript:window.__xss=1)"},
		{body: `[click]( javascript:window.__xss=1)`},
		{body: `[click](data:text/html;base64,PHNjcmlwdD53aW5kb3cuX194c3M9MTwvc2NyaXB0Pg==)`},
		{body: `[click](vbscript:msgbox(1))`},
		{body: `[click](VBScript:window.__xss=1)`},
		{body: `![img](javascript:window.__xss=1)`},
		{body: `[titled](https://example.com/ "onmouseover=window.__xss=1")`},
		{body: `[<img src=x onerror="` + run + `">](https://example.com/)`, shows: []string{`<img src=x onerror="` + run + `">`}},
		{body: `[**<script>` + run + `</script>**](https://example.com/)`, shows: []string{`<script>` + run + `</script>`}},
		{body: `https://example.com/"><script>` + run + `</script>`},
		{body: `https://example.com/<svg/onload=window.__xss=1>`},
		{body: `**unclosed bold <b onclick=window.__xss=1>x`},
		{body: "`unclosed code <script>" + run + "</script>"},
		{body: "```\n<script>" + run + "</script>\n```", shows: []string{"<script>" + run + "</script>"}},
		{body: "```\nunclosed fence <img src=x onerror=window.__xss=1>"},
		{body: `*nested **deeper *deepest **<svg onload=window.__xss=1>** * ** *`, shows: []string{`<svg onload=window.__xss=1>`}},
		{body: `> > > > > > > <img src=x onerror=window.__xss=1>`, shows: []string{`<img src=x onerror=window.__xss=1>`}},
		{body: "- <img src=x onerror=window.__xss=1>\n1. <svg onload=window.__xss=1>", shows: []string{`<img src=x onerror=window.__xss=1>`, `<svg onload=window.__xss=1>`}},
		{body: "\u202egnp.exe <img src=x onerror=window.__xss=1> \u202dback"},
		{body: "java\u200dscript:window.__xss=1 [x](java\u200dscript:window.__xss=1) [y](https://exa\u200bmple.com/)"},
		{body: "[https://example.com](https://ex\u0430mple.com/) p\u0430ypal.com", shows: []string{"https://example.com", "p\u0430ypal.com"}},
		{body: strings.Repeat("A", 12000) + "<script>" + run + "</script>"},
		{body: strings.Repeat("*a ", 2000) + strings.Repeat("[", 1000) + strings.Repeat("`", 500) + "<img src=x onerror=window.__xss=1>"},
		{body: "bell\x07 esc\x1b[31m red\x08 back\x7f del\x1f <img src=x onerror=window.__xss=1>"},
		{body: `&lt;script&gt;window.__xss=1&lt;/script&gt; &#x3C;img src=x onerror=window.__xss=1&#x3E;`},
		{body: `\u003cscript\u003ewindow.__xss=1\u003c/script\u003e`},
		{body: "{{constructor.constructor('window.__xss=1')()}} ${window.__xss=1} <%= 1 %>"},
		{body: `<a href="` + S + `" target=_blank>sentinel link</a>`},
		{body: `@room <img src=x onerror=window.__xss=1> @alice`},
		{body: `<!--<img src="--><img src=x onerror=window.__xss=1//">`},
	}
	if len(corpus) < 40 {
		t.Fatalf("the corpus has %d bodies; want at least 40", len(corpus))
	}

	alice := browserOpen(t, chromium, "alice", deadline)
	bob := browserOpen(t, chromium, "bob", deadline)
	both := []*browserPerson{alice, bob}
	for _, p := range both {
		p.pickName(t, base)
	}
	room := browserChatRoom(t, alice, bob, "hostile")
	for _, p := range both {
		browserChatOpenRoom(t, p, room)
	}

	// Posted through the API, as any client could.
	bodies := make([]string, len(corpus))
	for i, c := range corpus {
		bodies[i] = c.body
	}
	browserChatAwait(t, alice, "the corpus posted", fmt.Sprintf(`(async () => {
		const bodies = %s;
		for (let i = 0; i < bodies.length; i++) {
			const r = await fetch("api/v1/rooms/%s/messages", {method: "POST", headers: {"Content-Type": "application/json"},
				body: JSON.stringify({client_id: "xss-" + i, body: bodies[i]})});
			if (!r.ok) throw new Error("payload " + i + ": " + r.status + " " + await r.text());
		}
		return true;
	})()`, browserJSON(bodies), room))

	for _, p := range both {
		p.poll(t, "every body shown", fmt.Sprintf(`document.querySelectorAll("#messages .message:not(.pending) .body").length === %d`, len(corpus)))
		type shown struct {
			Text  string   `json:"text"`
			Wrong []string `json:"wrong"`
		}
		got := browserEval[[]shown](t, p, `[...document.querySelectorAll("#messages .message .body")].map(b => {
			const allowed = {A: ["href", "rel", "target", "title"], STRONG: [], EM: [], CODE: [], PRE: [], UL: [], OL: ["start"],
				LI: [], BLOCKQUOTE: [], SPAN: ["class"]};
			const wrong = [];
			for (const el of b.querySelectorAll("*")) {
				const attrs = allowed[el.tagName];
				if (!attrs) { wrong.push("element " + el.tagName); continue; }
				for (const a of el.attributes) if (!attrs.includes(a.name)) wrong.push(el.tagName + " attribute " + a.name);
				if (el.tagName === "A") {
					const u = new URL(el.href);
					if (!["http:", "https:", "mailto:"].includes(u.protocol)) wrong.push("link to " + el.href);
					if (el.rel !== "noopener nofollow ugc" || el.target !== "_blank") wrong.push("link rel " + el.rel + " target " + el.target);
				}
			}
			return {text: b.textContent, wrong};
		})`)
		if len(got) != len(corpus) {
			t.Fatalf("%s: %d bodies shown; want %d", p.name, len(got), len(corpus))
		}
		for i, c := range corpus {
			for _, w := range got[i].Wrong {
				t.Errorf("%s: payload %d %.60q: %s", p.name, i, c.body, w)
			}
			if c.shows == nil && got[i].Text != c.body {
				t.Errorf("%s: payload %d %.60q shows as %.60q; want it exactly as typed", p.name, i, c.body, got[i].Text)
			}
			for _, s := range c.shows {
				if !strings.Contains(got[i].Text, s) {
					t.Errorf("%s: payload %d %.60q shows as %.80q; want it to show %q", p.name, i, c.body, got[i].Text, s)
				}
			}
		}
		// Hovering and scrolling through them all gives any handler its
		// chance; then the sentinels must be untouched.
		browserEval[bool](t, p, `(() => {
			for (const el of document.querySelectorAll("#messages .body *")) {
				el.dispatchEvent(new MouseEvent("mouseover", {bubbles: true}));
				el.scrollIntoView();
			}
			return true;
		})()`)
		state := browserEval[struct {
			XSS   bool   `json:"xss"`
			Title string `json:"title"`
		}](t, p, `({xss: window.__xss !== undefined || window.parent.__xss !== undefined, title: document.title})`)
		if state.XSS || state.Title != "Hanashi" {
			t.Errorf("%s: a payload ran: window.__xss set %v, title %q", p.name, state.XSS, state.Title)
		}
	}
	// The same after a reload, from the history.
	bob.do(t, "reload", chromedp.Reload(), chromedp.WaitVisible(chromedp.ID("app")))
	browserChatOpenRoom(t, bob, room)
	bob.poll(t, "the whole history, scrolling up", fmt.Sprintf(`(() => {
		document.getElementById("scroller").scrollTop = 0;
		return document.querySelectorAll("#messages .message .body").length === %d;
	})()`, len(corpus)))
	if got := browserEval[[]string](t, bob, `[...document.querySelectorAll("#messages .message .body")].map(b => b.textContent)`); len(got) == len(corpus) {
		for i, c := range corpus {
			if c.shows == nil && got[i] != c.body {
				t.Errorf("bob after a reload: payload %d %.60q shows as %.60q", i, c.body, got[i])
			}
		}
	}
	if browserEval[bool](t, bob, `window.__xss !== undefined || document.title !== "Hanashi"`) {
		t.Error("bob: a payload ran after a reload")
	}
	mu.Lock()
	if len(hits) > 0 {
		t.Errorf("the sentinel at %s was fetched: %v", S, hits)
	}
	mu.Unlock()
	for _, p := range both {
		p.checkClean(t)
	}
}

// ---- helpers ---------------------------------------------------------------

// browserChatSignIn signs p in with an e-mailed link, which a server
// without SMTP writes to its log.
func browserChatSignIn(t *testing.T, p *browserPerson, srv *browserServer, base, email string) {
	t.Helper()
	p.do(t, "ask for a sign-in link",
		chromedp.Navigate(base+"login"),
		chromedp.WaitVisible(chromedp.ID("email")),
		chromedp.SendKeys(chromedp.ID("email"), email),
		chromedp.Click(chromedp.ID("send-link")),
	)
	p.waitPage(t, "the page that says a link was sent", `document.getElementById("sent")`)
	pattern := regexp.MustCompile(`email=` + regexp.QuoteMeta(email) + `\b.*link="?(http://[^\s"]+/auth/email/verify\?[^\s"]+)`)
	var link string
	testutil.Eventually(t, browserWaitLimit, fmt.Sprintf("%s: a sign-in link for %s in the server log", p.name, email), func() bool {
		if m := pattern.FindStringSubmatch(srv.log.String()); m != nil {
			link = m[1]
		}
		return link != ""
	})
	p.do(t, "follow the link and press the button",
		chromedp.Navigate(link),
		chromedp.WaitVisible(chromedp.ID("redeem")),
		chromedp.Click(chromedp.ID("redeem")),
	)
	p.waitPage(t, "the app", `document.getElementById("app")`)
	p.do(t, "see the app", chromedp.WaitVisible(chromedp.ID("app")))
	p.poll(t, "signed in", fmt.Sprintf(`document.getElementById("me")?.textContent === %s`, browserJS(p.name)))
	p.waitStatus(t, "connected")
}

// browserChatRoom has owner create a public room and other join it; it
// returns the room's id.
func browserChatRoom(t *testing.T, owner, other *browserPerson, name string) string {
	t.Helper()
	id := owner.createRoom(t, name, false)
	other.join(t, id)
	return id
}

// browserChatOpenRoom clicks the room in the list and waits until its
// history is in.
func browserChatOpenRoom(t *testing.T, p *browserPerson, id string) {
	t.Helper()
	browserChatClick(t, p, "room "+id, fmt.Sprintf(`document.querySelector('.room[data-room-id="%s"]')`, id))
	p.poll(t, "room "+id+" open", fmt.Sprintf(`document.querySelector(".room.active")?.dataset.roomId === "%s" && !!document.getElementById("room-view") && !document.getElementById("room-view").hidden`, id))
}

// browserChatClick waits until the element the expression finds is shown,
// and clicks it.
func browserChatClick(t *testing.T, p *browserPerson, what, elementExpr string) {
	t.Helper()
	p.poll(t, what+" to click", fmt.Sprintf(`(() => {
		const el = %s;
		if (!el || el.getClientRects().length === 0 || el.disabled) return false;
		el.click();
		return true;
	})()`, elementExpr))
}

// browserChatAwait runs an async JavaScript function's promise to its end;
// it must come to true.
func browserChatAwait(t *testing.T, p *browserPerson, what, expr string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, browserWaitLimit)
	defer cancel()
	ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](expr, chromedp.EvalAwaitPromise))
	if err != nil || !ok {
		t.Fatalf("%s: %s: %v (result %v)", p.name, what, err, ok)
	}
}

// browserChatMenu opens a message's actions menu (its More button) and
// chooses the item of action (its data-action).
func browserChatMenu(t *testing.T, p *browserPerson, msgExpr, action string) {
	t.Helper()
	browserChatClick(t, p, "more actions", msgExpr+`?.querySelector('[data-action="more"]')`)
	browserChatClick(t, p, action, fmt.Sprintf(`document.querySelector('[role="menu"] [data-action="%s"]')`, action))
}

// browserChatDelete deletes a message from its actions menu: two clicks,
// the first arms the item.
func browserChatDelete(t *testing.T, p *browserPerson, msgExpr string) {
	t.Helper()
	browserChatMenu(t, p, msgExpr, "delete")
	const item = `document.querySelector('[role="menu"] [data-action="delete"]')`
	p.poll(t, "the armed delete item", item+`?.dataset.armed === "true"`)
	browserChatClick(t, p, "delete, confirmed", item)
}

// browserChatMsg is a JavaScript expression for the message in the room
// view whose body reads body.
func browserChatMsg(body string) string {
	return fmt.Sprintf(`[...document.querySelectorAll("#messages .message")].find(m => m.querySelector(".body")?.textContent === %s)`, browserJS(body))
}

// browserChatReply is a JavaScript condition: a confirmed reply with body
// is in the thread panel.
func browserChatReply(body string) string {
	return fmt.Sprintf(`[...document.querySelectorAll("#thread-messages .message:not(.pending)[data-seq] .body")].some(b => b.textContent === %s)`, browserJS(body))
}

// browserJSON encodes v as a JavaScript literal.
func browserJSON(v []string) string {
	var b strings.Builder
	b.WriteString("[")
	for i, s := range v {
		if i > 0 {
			b.WriteString(",")
		}
		b.WriteString(browserJS(s))
	}
	b.WriteString("]")
	return b.String()
}

// browserChatTab opens another tab in p's browser: the same person, the
// same cookies, a page of its own.
func browserChatTab(t *testing.T, p *browserPerson, name string, deadline time.Time) *browserPerson {
	t.Helper()
	ctx, cancel := chromedp.NewContext(p.ctx)
	tab := &browserPerson{name: name, ctx: ctx, deadline: deadline}
	started := make(chan error, 1)
	go func() { started <- chromedp.Do(ctx) }()
	select {
	case err := <-started:
		if err != nil {
			cancel()
			t.Fatalf("%s: opening a tab: %v", name, err)
		}
	case <-time.After(time.Until(deadline)):
		cancel()
		t.Fatalf("%s: the tab did not open before the deadline", name)
	}
	var wg sync.WaitGroup
	t.Cleanup(func() {
		cancel()
		wg.Wait()
	})
	console := chromedp.Console(ctx)
	dialogs := chromedp.Events(ctx, page.JavascriptDialogOpening)
	wg.Go(func() {
		for m, err := range console {
			if err != nil {
				return
			}
			tab.mu.Lock()
			tab.console = append(tab.console, m.String())
			if m.IsException() || strings.Contains(m.Text, "Content Security Policy") {
				tab.problems = append(tab.problems, m.Text)
			}
			tab.mu.Unlock()
		}
	})
	wg.Go(func() {
		for ev, err := range dialogs {
			if err != nil {
				return
			}
			tab.mu.Lock()
			tab.problems = append(tab.problems, fmt.Sprintf("a %s dialog opened: %q", ev.Type, ev.Message))
			tab.mu.Unlock()
			chromedp.Call(ctx, page.HandleJavaScriptDialog, page.HandleJavaScriptDialogParams{Accept: false})
		}
	})
	return tab
}

// browserChatAPI is a guest who uses the HTTP API directly.
type browserChatAPI struct {
	base, token string
	last        string // the last answer's body
}

func browserChatGuest(t *testing.T, base, name string) *browserChatAPI {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "POST", base+"api/v1/guests", strings.NewReader(fmt.Sprintf(`{"name":%q}`, name)))
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var v struct {
		Token string `json:"token"`
	}
	if err := json.NewDecoder(res.Body).Decode(&v); err != nil || v.Token == "" {
		t.Fatalf("creating guest %s: %d %v", name, res.StatusCode, err)
	}
	return &browserChatAPI{base: base, token: v.Token}
}

func (a *browserChatAPI) get(t *testing.T, path string) int {
	t.Helper()
	return a.call(t, "GET", path, "")
}

// call sends a request with a JSON body (none if "") to the API path and
// returns the status; the answer's body is in a.last.
func (a *browserChatAPI) call(t *testing.T, method, path, body string) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, _ := http.NewRequestWithContext(ctx, method, a.base+"api/v1/"+path, rd)
	req.Header.Set("Authorization", "Bearer "+a.token)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	a.last = string(b)
	return res.StatusCode
}
