package main

// The browser test drives the embedded web client in real Chromium: two
// people in two browsers (separate cookie jars) chat through a server started
// with run(), the server restarts under them, and both pages must come back
// and show every message exactly once, in order.
//
// Every top-level name here starts with "browser": the other test files of
// this package belong to someone else.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/hanashi-chat/hanashi/internal/testutil"
)

// browserTestTimeout bounds the whole test, browsers and restarts included.
const browserTestTimeout = 2 * time.Minute

// browserXSS must show up as literal text: if the client ever used innerHTML
// it would become an <img> whose onerror opens a dialog, and a <b> element.
const browserXSS = `<img src=x onerror=alert(1)><b>bold</b>`

func TestBrowserChat(t *testing.T) {
	chromium := browserFindChromium(t)
	deadline := time.Now().Add(browserTestTimeout)

	addr := freeAddr(t)
	dataDir := t.TempDir()
	srv := browserStartServer(t, addr, dataDir, deadline)
	base := browserBase(addr)

	alice := browserOpen(t, chromium, "alice", deadline)
	bob := browserOpen(t, chromium, "bob", deadline)

	// Both pick a name; the page then connects its one WebSocket.
	for _, p := range []*browserPerson{alice, bob} {
		p.pickName(t, base)
	}

	// Alice creates a public room and lands in it; Bob's sidebar has it
	// at once (the per-user stream), and he joins.
	roomID := alice.createRoom(t, "lobby", false)
	bob.join(t, roomID)

	// They chat both ways in real time.
	var want []string
	say := func(from *browserPerson, body string) {
		t.Helper()
		from.send(t, body)
		want = append(want, body)
		for _, p := range []*browserPerson{alice, bob} {
			p.waitBody(t, body)
		}
	}
	say(alice, "hello bob")
	// A screen reader hears it from the polite live region.
	bob.poll(t, "the message announced", `(a => a?.getAttribute("aria-live") === "polite" && a.textContent.includes("alice") && a.textContent.includes("hello bob"))(document.getElementById("announcer"))`)
	say(bob, "hi alice")
	say(alice, "how are you?")
	say(bob, browserXSS)
	say(alice, "multi\nline ✓ 日本語")

	// User data is text, never markup.
	for _, p := range []*browserPerson{alice, bob} {
		got := browserEval[struct {
			Text     string `json:"text"`
			Elements int    `json:"elements"`
		}](t, p, fmt.Sprintf(`(() => {
			const b = [...document.querySelectorAll("#messages .message .body")]
				.find(b => b.textContent === %s);
			return b ? {text: b.textContent, elements: b.querySelectorAll("*").length} : {text: "", elements: -1};
		})()`, browserJS(browserXSS)))
		if got.Text != browserXSS || got.Elements != 0 {
			t.Errorf("%s: the body %q shows as text %q with %d elements inside; want it as literal text, no elements", p.name, browserXSS, got.Text, got.Elements)
		}
	}

	// A reload brings back the history from the server.
	alice.do(t, "reload", chromedp.Reload())
	alice.waitStatus(t, "connected")
	browserChatOpenRoom(t, alice, roomID)
	alice.waitMessages(t, want)

	// The server restarts under both pages: same address, same data.
	srv.stop(t)
	alice.waitStatus(t, "offline")
	bob.waitStatus(t, "offline")

	// A message written while offline stays pending and goes out, once, after
	// the reconnect (resent with the same client_id).
	bob.send(t, "written while the server was down")
	want = append(want, "written while the server was down")
	if n := browserEval[int](t, bob, `document.querySelectorAll("#messages .message.pending").length`); n != 1 {
		t.Errorf("bob: %d pending messages while offline; want 1", n)
	}

	srv = browserStartServer(t, addr, dataDir, deadline)
	alice.waitStatus(t, "connected")
	bob.waitStatus(t, "connected")
	for _, p := range []*browserPerson{alice, bob} {
		p.waitBody(t, "written while the server was down")
	}

	say(alice, "back again")
	say(bob, "welcome back")
	say(alice, "last one")

	for _, p := range []*browserPerson{alice, bob} {
		p.waitMessages(t, want)
		dbg := browserEval[struct {
			Gaps       int   `json:"gaps"`
			Duplicates int   `json:"duplicates"`
			Reconnects int   `json:"reconnects"`
			CloseCodes []int `json:"closeCodes"`
		}](t, p, `window.hanashiDebug`)
		if dbg.Gaps != 0 || dbg.Duplicates != 0 {
			t.Errorf("%s: the server's stream had %d gaps and %d duplicates; want none", p.name, dbg.Gaps, dbg.Duplicates)
		}
		if dbg.Reconnects == 0 {
			t.Errorf("%s: the page never reconnected", p.name)
		}
		// A shutdown closes the sockets with 1001, "going away, resume".
		if !slices.Contains(dbg.CloseCodes, 1001) {
			t.Errorf("%s: the WebSocket was closed with codes %v during the restart; want 1001", p.name, dbg.CloseCodes)
		}
	}

	// Scrolling back: alice posts more than a page, bob reloads (he gets the
	// newest page) and scrolls to the top until the history is complete.
	const bulk = 60
	alice.poll(t, "a burst of sends", fmt.Sprintf(`(() => {
		const c = document.getElementById("composer"), f = document.getElementById("composer-form");
		for (let i = 1; i <= %d; i++) { c.value = "bulk " + i; f.requestSubmit(); }
		return true;
	})()`, bulk))
	for i := 1; i <= bulk; i++ {
		want = append(want, fmt.Sprintf("bulk %d", i))
	}
	alice.waitMessages(t, want)
	bob.do(t, "reload", chromedp.Reload())
	browserChatOpenRoom(t, bob, roomID)
	bob.poll(t, "the newest page", `document.querySelectorAll("#messages .message").length > 0`)
	if n := browserEval[int](t, bob, `document.querySelectorAll("#messages .message").length`); n >= len(want) {
		t.Errorf("bob: %d messages right after the reload; want only the newest page", n)
	}
	bob.poll(t, "older pages while scrolling up", fmt.Sprintf(`(() => {
		%s
		return document.querySelectorAll("#messages .message").length === %d;
	})()`, browserScrollUp, len(want)))
	bob.waitMessages(t, want)
	bob.poll(t, "no more to load", browserHidden("load-older"))

	// Alice comes by 127.0.0.1, the server's other name: she lands on the
	// canonical address, still signed in (one origin, one session).
	alice.do(t, "open the page by 127.0.0.1", chromedp.Navigate("http://"+addr+"/"))
	alice.waitPage(t, "the canonical address, signed in", fmt.Sprintf(`location.origin + "/" === %s && document.getElementById("me")?.textContent === "alice"`, browserJS(base)))

	for _, p := range []*browserPerson{alice, bob} {
		p.checkClean(t)
	}
	srv.stop(t)
}

// ---- the server ----------------------------------------------------------

type browserServer struct {
	cancel context.CancelFunc
	done   chan error
	log    *syncBuffer
}

// browserStartServer runs the real entry point on addr and waits until
// /healthz answers 200.
func browserStartServer(t *testing.T, addr, dataDir string, deadline time.Time) *browserServer {
	t.Helper()
	return browserStartServerWith(t, addr, dataDir, deadline, nil)
}

// browserStartServerWith is browserStartServer with HANASHI_* variables
// (and nothing else) from env, and more flags.
func browserStartServerWith(t *testing.T, addr, dataDir string, deadline time.Time, env map[string]string, flags ...string) *browserServer {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	s := &browserServer{cancel: cancel, done: make(chan error, 1), log: new(syncBuffer)}
	// No load balancer waits on this server's readiness: stop at once.
	args := append([]string{"hanashi", "-addr", addr, "-data", dataDir, "-drain-grace", "0s"}, flags...)
	getenv := func(k string) string { return env[k] } // only what the test says, whatever the environment
	go func() { s.done <- run(ctx, args, getenv, s.log, s.log) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-s.done:
		case <-time.After(30 * time.Second):
		}
		if t.Failed() {
			t.Logf("server log (%s):\n%s", addr, s.log.String())
		}
	})

	client := &http.Client{Timeout: time.Second}
	testutil.EventuallyNil(t, time.Until(deadline), "the server on "+addr+" to be healthy before the deadline", func() error {
		select {
		case err := <-s.done:
			s.done <- err // for stop and the cleanup
			t.Fatalf("the server stopped before it was healthy: %v\n%s", err, s.log.String())
		default:
		}
		res, err := client.Get("http://" + addr + "/healthz")
		if err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return nil
			}
		}
		return fmt.Errorf("last error: %v\n%s", err, s.log.String())
	})
	return s
}

// stop cancels the server's context and waits for run to return.
func (s *browserServer) stop(t *testing.T) {
	t.Helper()
	s.cancel()
	select {
	case err := <-s.done:
		s.done <- err
		if err != nil && !errors.Is(err, context.Canceled) {
			t.Errorf("run returned %v after its context was cancelled; want nil", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("run did not return within 30s of its context being cancelled\n%s", s.log.String())
	}
}

// ---- the browsers --------------------------------------------------------

// browserFindChromium returns the Chromium to drive, or skips the test.
func browserFindChromium(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("HANASHI_CHROMIUM"); p != "" {
		return p
	}
	if _, err := os.Stat("/usr/bin/chromium"); err == nil {
		return "/usr/bin/chromium"
	}
	if p, err := exec.LookPath("chromium"); err == nil {
		return p
	}
	t.Skip(strings.Repeat("!", 72) + "\n" +
		"SKIPPING THE BROWSER TEST: no Chromium found (HANASHI_CHROMIUM, /usr/bin/chromium, PATH).\n" +
		"Run ./scripts/test, which installs Debian's chromium and runs every test.\n" +
		strings.Repeat("!", 72))
	return ""
}

// browserPerson is one person in one browser of their own (own profile, own
// cookies).
type browserPerson struct {
	name     string
	ctx      context.Context // the tab; it has no deadline, actions get one
	deadline time.Time
	width    int // the emulated screen's width in CSS pixels, 0 without emulation

	mu       sync.Mutex
	console  []string // what the page wrote to the console
	problems []string // uncaught exceptions and dialogs: always a bug
}

func browserOpen(t *testing.T, chromium, name string, deadline time.Time) *browserPerson {
	t.Helper()
	return browserOpenWith(t, chromium, name, deadline)
}

// browserOpenWith is browserOpen with more options for Chromium (a later
// flag of the same name wins).
func browserOpenWith(t *testing.T, chromium, name string, deadline time.Time, more ...chromedp.ExecAllocatorOption) *browserPerson {
	t.Helper()
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromium),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("disable-background-timer-throttling", true),
		chromedp.Flag("disable-renderer-backgrounding", true),
		// Tests reach loopback only: other host names (a Gravatar
		// avatar, say) fail at once, without a DNS query.
		chromedp.Flag("host-resolver-rules", "MAP * ~NOTFOUND, EXCLUDE 127.0.0.1, EXCLUDE localhost"),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1100, 800),
		// The client takes its language from the browser's (headless
		// Chromium tells it by accept-lang): the tests that read its
		// words read English, whatever the machine's locale.
		chromedp.Flag("lang", "en-US"),
		chromedp.Flag("accept-lang", "en-US"),
	}
	opts = append(opts, more...)
	// Start the browser with a context without deadline (a deadline on the
	// first Run would end the browser with it, see chromedp.Run), and bound
	// the wait here instead. Chromium's zygote sometimes dies at start on a
	// busy machine ("write: Broken pipe"): a second start follows at once.
	var wg sync.WaitGroup // the readers of the tab's events, below
	t.Cleanup(wg.Wait)    // after the browser's end (cleanups run last first)
	var ctx context.Context
	for attempt := 1; ; attempt++ {
		allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
		tabCtx, cancelTab := chromedp.NewContext(allocCtx)
		started := make(chan error, 1)
		go func() { started <- chromedp.Do(tabCtx) }()
		var err error
		select {
		case err = <-started:
		case <-time.After(time.Until(deadline)):
			err = errors.New("it did not start before the deadline")
		}
		if err == nil {
			ctx = tabCtx
			t.Cleanup(func() {
				cancelTab()
				cancelAlloc()
			})
			break
		}
		cancelTab()
		cancelAlloc()
		if attempt == 2 || time.Now().After(deadline) {
			t.Fatalf("%s: starting %s: %v", name, chromium, err)
		}
		t.Logf("%s: starting %s: %v; once more", name, chromium, err)
	}
	p := &browserPerson{name: name, ctx: ctx, deadline: deadline}

	console := chromedp.Console(ctx)
	dialogs := chromedp.Events(ctx, page.JavascriptDialogOpening)
	wg.Add(2)
	go func() {
		defer wg.Done()
		for m, err := range console {
			if err != nil {
				return
			}
			p.mu.Lock()
			p.console = append(p.console, m.String())
			switch {
			case m.IsException():
				p.problems = append(p.problems, "uncaught: "+m.Text)
			case strings.Contains(m.Text, "Content Security Policy"):
				// The client must work under the server's CSP as it is.
				p.problems = append(p.problems, "CSP violation: "+m.Text)
			}
			p.mu.Unlock()
		}
	}()
	go func() {
		defer wg.Done()
		for ev, err := range dialogs {
			if err != nil {
				return
			}
			p.mu.Lock()
			p.problems = append(p.problems, fmt.Sprintf("a %s dialog opened: %q", ev.Type, ev.Message))
			p.mu.Unlock()
			// A dialog blocks the page: close it so the test can report.
			chromedp.Call(ctx, page.HandleJavaScriptDialog, page.HandleJavaScriptDialogParams{Accept: false})
		}
	}()

	// On failure, a screenshot of the page as it was.
	t.Cleanup(func() {
		if !t.Failed() {
			return
		}
		sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		img, err := chromedp.Run(sctx, chromedp.FullScreenshot(100))
		if err != nil {
			t.Logf("%s: no screenshot: %v", name, err)
			return
		}
		// Not t.TempDir: that is gone by the time anyone reads the log.
		dir := os.Getenv("HANASHI_TEST_ARTIFACTS")
		if dir == "" {
			dir, err = os.MkdirTemp("", "hanashi-browser-")
		} else {
			err = os.MkdirAll(dir, 0o755)
		}
		if err != nil {
			t.Logf("%s: no screenshot: %v", name, err)
			return
		}
		path := filepath.Join(dir, strings.ReplaceAll(t.Name(), "/", "-")+"-"+name+".png")
		if err := os.WriteFile(path, img, 0o644); err != nil {
			t.Logf("%s: saving the screenshot: %v", name, err)
			return
		}
		t.Logf("%s: screenshot of the page at failure: %s", name, path)
		p.mu.Lock()
		t.Logf("%s: console:\n\t%s", name, strings.Join(p.console, "\n\t"))
		p.mu.Unlock()
	})
	return p
}

// do runs the steps in p's tab before the test's deadline.
func (p *browserPerson) do(t *testing.T, what string, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	ctx, cancel := context.WithDeadline(p.ctx, p.deadline)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		t.Fatalf("%s: %s: %v", p.name, what, err)
	}
}

// browserWaitLimit bounds one wait, so a failure is reported in seconds,
// not at the end of the test's deadline. It is far above what any step takes.
const browserWaitLimit = 30 * time.Second

// waitDeadline is when a wait that starts now gives up: after
// browserWaitLimit, or at the test's deadline if that comes first.
func (p *browserPerson) waitDeadline() time.Time {
	deadline := time.Now().Add(browserWaitLimit)
	if p.deadline.Before(deadline) {
		deadline = p.deadline
	}
	return deadline
}

// poll waits until the JavaScript expression is truthy.
func (p *browserPerson) poll(t *testing.T, what, expr string) {
	t.Helper()
	deadline := p.waitDeadline()
	ctx, cancel := context.WithDeadline(p.ctx, deadline)
	defer cancel()
	_, err := chromedp.Run(ctx, chromedp.Poll[chromedp.Void](expr,
		chromedp.WithPollingTimeout(time.Until(deadline)),
		chromedp.WithPollingInterval(25*time.Millisecond)))
	if err != nil {
		t.Fatalf("%s: waiting for %s: %v", p.name, what, err)
	}
}

// waitPage waits until the JavaScript expression is truthy in whatever
// page the tab shows, and that page has loaded: after a click that
// navigates, a step can meet the page that is going away (its script
// context or its nodes gone, which the browser reports as an error), so
// each look is a fresh evaluation, and an error only means look again.
func (p *browserPerson) waitPage(t *testing.T, what, expr string) {
	t.Helper()
	deadline := p.waitDeadline()
	testutil.EventuallyNil(t, time.Until(deadline), p.name+": "+what, func() error {
		ctx, cancel := context.WithDeadline(p.ctx, deadline)
		defer cancel()
		ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.readyState === "complete" && !!(`+expr+`)`))
		if err == nil && !ok {
			err = errors.New("not loaded, or the expression is false")
		}
		return err
	})
}

func browserEval[T any](t *testing.T, p *browserPerson, expr string) T {
	t.Helper()
	ctx, cancel := context.WithDeadline(p.ctx, p.deadline)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		t.Fatalf("%s: evaluating %s: %v", p.name, expr, err)
	}
	return v
}

// waitStatus waits until #status says the page is "connected", or, for
// "offline", that it is not (offline, or connecting again).
func (p *browserPerson) waitStatus(t *testing.T, want string) {
	t.Helper()
	cond := `=== "connected"`
	if want != "connected" {
		cond = `!== "connected"`
	}
	p.poll(t, "status "+want, `document.getElementById("status")?.dataset.state `+cond)
}

// send writes body in the composer and sends it.
func (p *browserPerson) send(t *testing.T, body string) {
	t.Helper()
	p.do(t, "send "+body,
		chromedp.WaitEnabled(chromedp.ID("composer")),
		browserFill("composer", body),
		chromedp.Click(chromedp.ID("send")),
	)
}

// waitBody waits until a confirmed (acked or received) message with body is
// on the page.
func (p *browserPerson) waitBody(t *testing.T, body string) {
	t.Helper()
	p.poll(t, fmt.Sprintf("message %q", body), fmt.Sprintf(
		`[...document.querySelectorAll("#messages .message:not(.pending)[data-seq] .body")].some(b => b.textContent === %s)`,
		browserJS(body)))
}

// waitMessages waits until the page shows exactly want, in order, with seqs
// 1..len(want), and nothing pending.
func (p *browserPerson) waitMessages(t *testing.T, want []string) {
	t.Helper()
	const list = `[...document.querySelectorAll("#messages .message")].map(m => ({
		seq: m.dataset.seq ?? "", pending: m.classList.contains("pending"),
		body: m.querySelector(".body")?.textContent ?? null,
		author: m.querySelector(".author")?.textContent ?? null}))`
	type item struct {
		Seq     string  `json:"seq"`
		Pending bool    `json:"pending"`
		Body    *string `json:"body"`
		Author  *string `json:"author"`
	}
	check := func(got []item) error {
		if len(got) != len(want) {
			return fmt.Errorf("%d messages, want %d", len(got), len(want))
		}
		for i, m := range got {
			switch {
			case m.Pending:
				return fmt.Errorf("message %d is still pending", i+1)
			case m.Seq != fmt.Sprint(i+1):
				return fmt.Errorf("message %d has data-seq %q, want %d", i+1, m.Seq, i+1)
			case m.Body == nil || *m.Body != want[i]:
				return fmt.Errorf("message %d has body %v, want %q", i+1, m.Body, want[i])
			case m.Author == nil || *m.Author == "":
				return fmt.Errorf("message %d has no author", i+1)
			}
		}
		return nil
	}
	// Wait for the count first (messages may still be arriving), then check
	// the whole list.
	p.poll(t, fmt.Sprintf("%d messages, none pending", len(want)), fmt.Sprintf(
		`document.querySelectorAll("#messages .message:not(.pending)").length === %d && !document.querySelector("#messages .pending")`,
		len(want)))
	got := browserEval[[]item](t, p, list)
	if err := check(got); err != nil {
		var lines []string
		for _, m := range got {
			b, _ := json.Marshal(m)
			lines = append(lines, string(b))
		}
		t.Fatalf("%s: %v; the page shows:\n\t%s", p.name, err, strings.Join(lines, "\n\t"))
	}
}

// checkClean reports uncaught exceptions and dialogs the page produced.
func (p *browserPerson) checkClean(t *testing.T) {
	t.Helper()
	p.mu.Lock()
	problems := slices.Clone(p.problems)
	p.mu.Unlock()
	for _, pr := range problems {
		t.Errorf("%s: %s", p.name, pr)
	}
}

// browserJS quotes s as a JavaScript string literal.
func browserJS(s string) string {
	b, err := json.Marshal(s)
	if err != nil {
		panic(err)
	}
	return string(b)
}
