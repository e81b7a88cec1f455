package main

// TestBrowserPeople: people and rooms between two signed-in people in real
// Chromium, each in a time zone of their own. Alice opens Bob's profile
// card from his message (his name, presence and local time, which his
// browser stored), by mouse and by keyboard, and messages him from it; she
// sets the room's topic in the room info, and Bob sees it in his room's
// head at once; the room info lists the members with their presence; Bob
// leaves from it; compact density packs the messages tighter. axe-core
// scans the card, the room info and the settings, and on a 320 px phone
// the card is a bottom sheet that fits.

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// The people's zones: far apart, and Tokyo keeps no summer time, so the
// test knows its offset without a zone database.
const (
	peopleAliceZone = "America/New_York"
	peopleBobZone   = "Asia/Tokyo"
)

var peopleTokyo = time.FixedZone("JST", 9*60*60)

func TestBrowserPeople(t *testing.T) {
	chromium := browserFindChromium(t)
	axe := browserAxeScript(t)
	deadline := time.Now().Add(browserTestTimeout)
	srv, base := browserServe(t, deadline)
	alice := browserOpen(t, chromium, "alice", deadline)
	bob := browserOpen(t, chromium, "bob", deadline)
	zones := map[*browserPerson]string{alice: peopleAliceZone, bob: peopleBobZone}
	browserEach(t, []*browserPerson{alice, bob}, func(p *browserPerson) {
		browserCall(t, p, "live in "+zones[p], emulation.SetTimezoneOverride, emulation.SetTimezoneOverrideParams{TimezoneID: zones[p]})
		browserChatSignIn(t, p, srv, base, p.name+"@people.example")
	})
	// Each client stored its browser's zone in the profile.
	for p, zone := range zones {
		browserChatAwait(t, p, "the time zone stored", fmt.Sprintf(`(async () => {
			for (let i = 0; i < 200; i++) {
				const me = await (await fetch("api/v1/me")).json();
				if (me.user.time_zone === %s) return true;
				await new Promise(r => setTimeout(r, 50));
			}
			return false;
		})()`, browserJS(zone)))
	}

	room := browserChatRoom(t, alice, bob, "people")
	bob.send(t, "hello from Tokyo")
	alice.waitBody(t, "hello from Tokyo")
	bobsMsg := browserChatMsg("hello from Tokyo")

	t.Run("profile card", func(t *testing.T) {
		browserChatClick(t, alice, "Bob's name", bobsMsg+`?.querySelector("button.author")`)
		peopleCardOf(t, alice, "bob")
		// His local time, in his zone, not hers: the minute may turn meanwhile.
		now := time.Now()
		var want []string
		for _, at := range []time.Time{now, now.Add(time.Minute)} {
			want = append(want, at.In(peopleTokyo).Format("03:04 PM")+" local time")
		}
		alice.poll(t, "his local time", `document.getElementById("profile-card-time")?.textContent.includes("local time")`)
		got := browserEval[string](t, alice, `document.getElementById("profile-card-time").textContent`)
		if !strings.HasPrefix(got, want[0]) && !strings.HasPrefix(got, want[1]) {
			t.Errorf("Bob's local time reads %q, want %q (Tokyo)", got, want[0])
		}
		if zone := browserEval[string](t, alice, `document.getElementById("profile-card-time").dataset.zone`); zone != peopleBobZone {
			t.Errorf("the card's zone is %q, want %q", zone, peopleBobZone)
		}
		if state := browserEval[string](t, alice, `document.querySelector("#profile-card .profile-card-presence").dataset.state`); state != "online" {
			t.Errorf("Bob shows as %q, want online", state)
		}
		alice.checkAxe(t, axe, "the profile card")
		alice.key(t, kb.Escape)
		alice.poll(t, "the card closed", `!document.getElementById("profile-card").open`)
		alice.poll(t, "the focus back on Bob's name", bobsMsg+` === document.activeElement.closest(".message") && document.activeElement.matches("button.author")`)

		// By keyboard: Enter on his name opens the card, Escape gives the
		// keyboard back to the name.
		alice.key(t, kb.Enter)
		peopleCardOf(t, alice, "bob")
		if f := alice.focused(t); !strings.Contains(f.String(), "profile-card") {
			t.Errorf("with the card open the focus is on %s, want in the card", f)
		}
		alice.key(t, kb.Escape)
		alice.poll(t, "the card closed by keyboard", `!document.getElementById("profile-card").open && document.activeElement.matches("button.author")`)

		// Her own card has no Message button; her picture opens it too.
		alice.send(t, "hello from New York")
		alice.waitBody(t, "hello from New York")
		browserChatClick(t, alice, "her own name", browserChatMsg("hello from New York")+`?.querySelector("button.author")`)
		peopleCardOf(t, alice, "alice")
		alice.poll(t, "her card read", `document.getElementById("profile-card-time")?.textContent.includes("local time")`)
		if browserEval[bool](t, alice, `!!document.getElementById("profile-card-message")`) {
			t.Error("Alice's own card offers to message herself")
		}
		alice.key(t, kb.Escape)
		alice.poll(t, "her card closed", `!document.getElementById("profile-card").open`)

		// "Message" opens the direct conversation with him, for both.
		browserChatClick(t, alice, "Bob's picture", bobsMsg+`?.querySelector("button.avatar-button")`)
		peopleCardOf(t, alice, "bob")
		browserChatClick(t, alice, "Message", `document.getElementById("profile-card-message")`)
		alice.poll(t, "the direct room with Bob", `document.getElementById("room-kind")?.textContent === "direct" && document.getElementById("room-title")?.textContent === "bob" && !document.getElementById("profile-card").open`)
		alice.send(t, "just us")
		bob.poll(t, "the direct room in his list", `[...document.querySelectorAll("#sidebar .room")].some(r => r.textContent.includes("alice"))`)
		browserChatOpenRoom(t, alice, room)
	})

	t.Run("room info", func(t *testing.T) {
		browserChatClick(t, alice, "room info", `document.getElementById("room-info-button")`)
		alice.poll(t, "the room info open", `document.getElementById("room-info")?.open`)
		alice.poll(t, "both members, online", `(() => {
			const ms = [...document.querySelectorAll("#room-info-members .member")];
			return ms.length === 2 && ms.every(m => m.dataset.presence === "online") &&
				ms.map(m => m.querySelector(".member-name").textContent).sort().join() === "alice,bob";
		})()`)
		alice.checkAxe(t, axe, "the room info")

		// A member in the list opens the card over the room info; Escape
		// closes the card only.
		browserChatClick(t, alice, "Bob in the room info", `[...document.querySelectorAll("#room-info-members .member")].find(m => m.textContent.includes("bob"))?.querySelector("button")`)
		peopleCardOf(t, alice, "bob")
		alice.key(t, kb.Escape)
		alice.poll(t, "the card closed, the room info open", `!document.getElementById("profile-card").open && document.getElementById("room-info").open && document.activeElement.closest("#room-info-members")`)

		// Alice sets the topic; Bob's head shows it at once.
		const topic = "Planning the launch 🚀 — notes in the wiki"
		browserChatClick(t, alice, "edit the topic", `document.getElementById("topic-edit")`)
		alice.poll(t, "the topic field focused", `document.activeElement?.id === "topic-input"`)
		alice.do(t, "write the topic", browserFill("topic-input", "  "+topic+"\n"))
		alice.key(t, kb.Enter)
		alice.poll(t, "the topic saved", fmt.Sprintf(`document.getElementById("room-info-topic")?.textContent === %s && document.activeElement?.id === "topic-edit"`, browserJS(topic)))
		alice.poll(t, "the topic in her head", fmt.Sprintf(`document.getElementById("room-topic")?.textContent === %s`, browserJS(topic)))
		bob.poll(t, "the topic in his head, live", fmt.Sprintf(`document.getElementById("room-topic")?.textContent === %s`, browserJS(topic)))
		alice.key(t, kb.Escape)
		alice.poll(t, "the room info closed, the focus back", `!document.getElementById("room-info").open && document.activeElement?.id === "room-info-button"`)

		// A topic changed while Bob is elsewhere reads nothing for him: the
		// room keeps its unread messages, and shows the new topic when he
		// comes back.
		browserChatClick(t, bob, "the direct room", `[...document.querySelectorAll("#sidebar .room")].find(r => r.textContent.includes("alice"))`)
		bob.poll(t, "in the direct room", `document.getElementById("room-kind")?.textContent === "direct"`)
		alice.send(t, "before the new topic")
		alice.waitBody(t, "before the new topic")
		peopleUnread := fmt.Sprintf(`document.querySelector('#sidebar .room[data-room-id="%s"] .unread')?.textContent`, room)
		bob.poll(t, "one unread", peopleUnread+` === "1"`)
		browserChatAwait(t, alice, "the topic changed again", fmt.Sprintf(`fetch("api/v1/rooms/%s", {method: "PATCH", headers: {"Content-Type": "application/json"},
			body: JSON.stringify({topic: "Launch on Monday"})}).then(r => r.ok)`, room))
		alice.poll(t, "the new topic in her head", `document.getElementById("room-topic")?.textContent === "Launch on Monday"`)
		alice.send(t, "after the new topic")
		alice.waitBody(t, "after the new topic")
		bob.poll(t, "two unread", peopleUnread+` === "2"`)
		browserChatOpenRoom(t, bob, room)
		bob.poll(t, "the new topic in his head", `document.getElementById("room-topic")?.textContent === "Launch on Monday"`)
		bob.poll(t, "the new messages line before both", `(() => {
			const line = document.querySelector("#messages .new-divider");
			let next = line?.nextElementSibling;
			while (next && !next.matches(".message")) next = next.nextElementSibling;
			return next?.querySelector(".body")?.textContent === "before the new topic";
		})()`)
	})

	t.Run("leave from the room info", func(t *testing.T) {
		browserChatClick(t, bob, "room info", `document.getElementById("room-info-button")`)
		bob.poll(t, "his room info", `document.getElementById("room-info")?.open && !!document.getElementById("room-info-leave")`)
		browserChatClick(t, bob, "leave", `document.getElementById("room-info-leave")`)
		bob.poll(t, "out of the room", fmt.Sprintf(`!document.querySelector('.room.active[data-room-id="%s"]')`, room))
		alice.poll(t, "Bob gone from her members", `(() => {
			const ms = [...document.querySelectorAll("#members .member")];
			return ms.length === 1 && ms[0].textContent.includes("alice");
		})()`)
		// He can still see the public room, as no member: join is offered.
		browserChatOpenRoom(t, bob, room)
		bob.poll(t, "join offered", `!document.getElementById("join").hidden && document.getElementById("room-topic")?.textContent === "Launch on Monday"`)

		// Alice adds him back from her room info.
		browserChatClick(t, alice, "room info", `document.getElementById("room-info-button")`)
		alice.poll(t, "the room info open", `document.getElementById("room-info")?.open`)
		alice.do(t, "look for Bob", browserFill("add-people-input", "bo"))
		browserChatClick(t, alice, "add Bob", `document.querySelector("#add-people-results .add-person")`)
		alice.poll(t, "Bob a member again", `document.querySelectorAll("#room-info-members .member").length === 2 && /bob/.test(document.querySelector("#room-info .status-line").textContent)`)
		bob.poll(t, "a member again", `document.getElementById("join").hidden && !document.getElementById("leave").hidden`)
		alice.key(t, kb.Escape)
		alice.poll(t, "the room info closed", `!document.getElementById("room-info").open`)
	})

	t.Run("settings and density", func(t *testing.T) {
		browserChatClick(t, alice, "settings", `document.getElementById("settings-button")`)
		alice.poll(t, "the settings open", `document.getElementById("settings")?.open`)
		if zone := browserEval[string](t, alice, `document.getElementById("time-zone")?.textContent`); zone != peopleAliceZone {
			t.Errorf("settings show the time zone %q, want %q", zone, peopleAliceZone)
		}
		alice.poll(t, "the notifications placeholder", `!!document.getElementById("notifications-placeholder")?.textContent`)
		alice.checkAxe(t, axe, "the settings")
		height := `(() => { const ms = [...document.querySelectorAll("#messages .message")]; return ms.reduce((h, m) => h + m.getBoundingClientRect().height, 0) / ms.length; })()`
		before := browserEval[float64](t, alice, height)
		alice.do(t, "choose compact", browserFill("density", "compact"))
		alice.poll(t, "compact", `document.documentElement.dataset.density === "compact" && localStorage.getItem("hanashi.density") === "compact"`)
		after := browserEval[float64](t, alice, height)
		if after > before*0.85 {
			t.Errorf("a message is %.1f px high compact, %.1f px comfortable: want it clearly denser", after, before)
		}
		t.Logf("mean message height: comfortable %.1f px, compact %.1f px", before, after)
		alice.key(t, kb.Escape)
		alice.poll(t, "the settings closed", browserHidden("settings"))
	})

	t.Run("dark, in Japanese", func(t *testing.T) {
		alice.colorScheme(t, "dark")
		alice.do(t, "Japanese", browserFill("language", "ja"))
		alice.poll(t, "the page in Japanese", `document.documentElement.lang === "ja"`)
		browserChatClick(t, alice, "Bob's name", bobsMsg+`?.querySelector("button.author")`)
		peopleCardOf(t, alice, "bob")
		alice.poll(t, "his local time in Japanese", `document.getElementById("profile-card-time")?.textContent.startsWith("現地時刻")`)
		alice.checkAxe(t, axe, "the profile card, dark, in Japanese")
		alice.key(t, kb.Escape)
		alice.poll(t, "the card closed", `!document.getElementById("profile-card").open`)
		browserChatClick(t, alice, "room info", `document.getElementById("room-info-button")`)
		alice.poll(t, "the room info in Japanese", `document.getElementById("room-info")?.open && document.getElementById("room-info-topic-heading").textContent === "トピック"`)
		alice.checkAxe(t, axe, "the room info, dark, in Japanese")
		alice.key(t, kb.Escape)
		alice.poll(t, "the room info closed", `!document.getElementById("room-info").open`)
		alice.do(t, "English", browserFill("language", "en"))
		alice.colorScheme(t, "light")
	})

	t.Run("phone", func(t *testing.T) {
		alice.emulatePhone(t, browserPhone320)
		alice.do(t, "reload on the phone", chromedp.Reload())
		alice.waitPage(t, "the app", `document.getElementById("room-view")`)
		alice.waitStatus(t, "connected")
		alice.waitBody(t, "hello from Tokyo")
		browserChatClick(t, alice, "Bob's name", bobsMsg+`?.querySelector("button.author")`)
		peopleCardOf(t, alice, "bob")
		alice.poll(t, "a bottom sheet that fits", `(() => {
			const r = document.getElementById("profile-card").getBoundingClientRect();
			return document.getElementById("profile-card").classList.contains("sheet") &&
				r.left === 0 && Math.abs(r.right - innerWidth) < 1 && Math.abs(r.bottom - innerHeight) < 1;
		})()`)
		alice.checkNoOverflow(t, "the profile card on a phone")
		alice.checkTouchTargets(t, "#profile-card-close")
		alice.key(t, kb.Escape)
		alice.poll(t, "the sheet closed", `!document.getElementById("profile-card").open`)
		browserChatClick(t, alice, "room info", `document.getElementById("room-info-button")`)
		alice.poll(t, "the room info open", `document.getElementById("room-info")?.open`)
		alice.checkNoOverflow(t, "the room info on a phone")
		alice.checkAxe(t, axe, "the room info on a phone")
		alice.key(t, kb.Escape)
		alice.poll(t, "the room info closed", `!document.getElementById("room-info").open`)

		// The topic shares the name's row: with the on-screen keyboard up,
		// the composer is still in sight.
		alice.emulatePhone(t, browserPhone{"320x278, a keyboard up", 320, 568 - 290, 2})
		alice.poll(t, "the topic and the composer in sight", `(() => {
			const c = document.getElementById("composer").getBoundingClientRect();
			const topic = document.getElementById("room-topic").getBoundingClientRect();
			const name = document.getElementById("room-title").getBoundingClientRect();
			return c.top >= 0 && c.bottom <= innerHeight && c.height > 0 && topic.width > 40 && Math.abs(topic.top - name.top) < 12;
		})()`)
		alice.checkNoOverflow(t, "the room with a topic on a phone")
	})

	for _, p := range []*browserPerson{alice, bob} {
		p.checkClean(t)
	}
}

// peopleCardOf waits until p's profile card is open and shows name.
func peopleCardOf(t *testing.T, p *browserPerson, name string) {
	t.Helper()
	p.poll(t, name+"'s card", fmt.Sprintf(`document.getElementById("profile-card")?.open && document.getElementById("profile-card-name")?.textContent === %s`, browserJS(name)))
}
