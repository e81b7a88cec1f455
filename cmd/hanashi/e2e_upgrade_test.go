package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// upgradeFrom is the commit whose build plays the previous release in
// TestE2ERollingUpgrade, unless HANASHI_TEST_UPGRADE_FROM names another
// (there are no release tags yet; move it forward with each release).
const upgradeFrom = "e3391b4"

// TestE2ERollingUpgrade runs a node built from an earlier commit of this
// repository beside a node of the current code, on one PostgreSQL and one
// Redis, as during a rolling update: the old node starts first, on an
// empty database, and the new one migrates it; then messages sent on
// either node reach a subscriber on the other, in order and once, and a
// client that leaves one node resumes from its cursor on the other. It
// skips, loudly, where the repository's history or Go's toolchain is not
// at hand.
func TestE2ERollingUpgrade(t *testing.T) {
	c := newCluster(t, "")
	from := os.Getenv("HANASHI_TEST_UPGRADE_FROM")
	if from == "" {
		from = upgradeFrom
	}
	oldBin := buildRevision(t, from)

	old := e2eStartWith(t, t.TempDir(), e2eOptions{binary: oldBin},
		"-database", c.dbURL, "-redis", c.redisURL, "-redis-prefix", c.prefix, "-node", "old")
	old.waitReady(t, http.StatusOK)
	cur := c.start(t, "new")

	alice := old.guest(t, "alice") // signed in on the old node
	bob := cur.guest(t, "bob")     // and on the new one
	room := old.room(t, alice, "upgrade", false)
	if r := cur.do(t, "POST", fmt.Sprintf("/api/v1/rooms/%d/members", room.ID), bob.auth(), nil); r.Status != http.StatusOK {
		t.Fatalf("bob joins on the new node: status %d, %s", r.Status, r.Body)
	}

	// Each reads the room on its own node and sends on a connection of
	// its own.
	aliceSub, bobSub := old.ws(t, alice), cur.ws(t, bob)
	for _, s := range []*e2eConn{aliceSub, bobSub} {
		if err := s.subscribeAfter(room.ID, 0); err != nil {
			t.Fatal(err)
		}
		s.expect(t, "subscribed")
	}
	aliceSend, bobSend := old.ws(t, alice), cur.ws(t, bob)
	var acks []e2eFrame // every message of the room, in seq order
	send := func(conn *e2eConn, who string, n int) []e2eFrame {
		t.Helper()
		var sent []e2eFrame
		for i := range n {
			a := conn.sendAck(t, room.ID, fmt.Sprintf("%s-%d-%d", who, len(acks), i), fmt.Sprintf("%s says %d", who, i))
			if want := int64(len(acks) + 1); a.Seq != want {
				t.Fatalf("%s's send %d acked with seq %d, want %d", who, i, a.Seq, want)
			}
			acks = append(acks, a)
			sent = append(sent, a)
		}
		return sent
	}
	// receive reads the messages of want and returns how long after its
	// ack each arrived.
	receive := func(sub *e2eConn, who string, want []e2eFrame) (took []time.Duration) {
		t.Helper()
		for _, a := range want {
			f := sub.next(t)
			if f.Type != "message" || f.Seq != a.Seq || f.ID != a.ID || f.ClientID != a.ClientID {
				t.Fatalf("%s got %s, want the message of ack %s", who, f, a)
			}
			took = append(took, f.received.Sub(a.received))
		}
		return took
	}
	// relay sends n messages one by one, each read on the other node
	// before the next is sent, and then by the sender's own subscriber.
	// They must cross through Redis: the store's sweep, which would
	// deliver them too, takes at least its 500 ms interval.
	relay := func(conn *e2eConn, who string, other *e2eConn, otherWho string, own *e2eConn, n int) {
		t.Helper()
		var sent []e2eFrame
		var took []time.Duration
		for range n {
			a := send(conn, who, 1)
			sent = append(sent, a...)
			took = append(took, receive(other, otherWho, a)...)
		}
		receive(own, who, sent)
		slices.Sort(took)
		median := took[len(took)/2]
		t.Logf("%s to %s: from ack to delivery on the other node, median %v, at most %v", who, otherWho, median, took[len(took)-1])
		if median > 300*time.Millisecond {
			t.Errorf("%s to %s: messages took a median %v from ack to the other node, as if the broker did not carry them between the versions", who, otherWho, median)
		}
	}

	relay(aliceSend, "alice on the old node", bobSub, "bob on the new node", aliceSub, 20)
	relay(bobSend, "bob on the new node", aliceSub, "alice on the old node", bobSub, 20)

	// A reader leaves its node; what the other sends meanwhile it gets on
	// the other node, resuming from its cursor.
	resume := func(who string, g e2eGuest, sub **e2eConn, to *e2eServer, sender string, sendConn, senderSub *e2eConn) {
		t.Helper()
		cursor := acks[len(acks)-1].Seq
		(*sub).c.Close()
		sent := send(sendConn, sender, 10)
		receive(senderSub, sender, sent)
		*sub = to.ws(t, g)
		if err := (*sub).subscribeAfter(room.ID, cursor); err != nil {
			t.Fatal(err)
		}
		receive(*sub, who+" resuming on the other node", sent)
		if f := (*sub).next(t); f.Type != "subscribed" || f.Seq != acks[len(acks)-1].Seq {
			t.Fatalf("%s resuming on the other node: got %s, want subscribed at seq %d", who, f, acks[len(acks)-1].Seq)
		}
	}
	resume("alice", alice, &aliceSub, cur, "bob", bobSend, bobSub) // old to new
	resume("bob", bob, &bobSub, old, "alice", aliceSend, aliceSub) // new to old

	// The old node leaves, as the rollout replaces it, cleanly (checked
	// by interrupt); the new one serves on.
	old.interrupt(t)
	sent := send(bobSend, "bob", 1)
	receive(aliceSub, "alice on the new node", sent)
}

// buildRevision returns a hanashi binary built from the commit rev of this
// repository, cached by its hash under the user's cache directory
// (hanashi-test-tools, where scripts/test keeps its tools): the first run
// takes a build, later ones none. It skips the test where there is no git,
// no history (a shallow clone) or no Go toolchain.
func buildRevision(t *testing.T, rev string) string {
	t.Helper()
	git, err := exec.LookPath("git")
	if err != nil {
		t.Skipf("skipped: no git to build the earlier version %s with: %v", rev, err)
	}
	top, err := exec.Command(git, "rev-parse", "--show-toplevel").Output()
	if err != nil {
		t.Skipf("skipped: not in a git checkout, so no earlier version to build: %v", err)
	}
	repo := strings.TrimSpace(string(top))
	out, err := exec.Command(git, "-C", repo, "rev-parse", "--verify", "--quiet", rev+"^{commit}").Output()
	if err != nil {
		shallow, _ := exec.Command(git, "-C", repo, "rev-parse", "--is-shallow-repository").Output()
		t.Skipf("skipped: commit %s is not in this repository's history (shallow clone: %s); fetch the history (git fetch --unshallow) or name another commit in HANASHI_TEST_UPGRADE_FROM", rev, strings.TrimSpace(string(shallow)))
	}
	hash := strings.TrimSpace(string(out))
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skipf("skipped: no go toolchain to build %s with: %v", hash, err)
	}
	cache, err := os.UserCacheDir()
	if err != nil {
		t.Skipf("skipped: no cache directory for the build of %s: %v", hash, err)
	}
	dir := filepath.Join(cache, "hanashi-test-tools")
	bin := filepath.Join(dir, "hanashi-"+hash)
	if _, err := os.Stat(bin); err == nil {
		return bin
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	// The sources of rev, from git's objects: no worktree, nothing that
	// changes the checkout.
	src := t.TempDir()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Minute)
	defer cancel()
	archive := filepath.Join(t.TempDir(), "src.tar")
	for _, cmd := range []*exec.Cmd{
		exec.CommandContext(ctx, git, "-C", repo, "archive", "--output", archive, hash),
		exec.CommandContext(ctx, "tar", "-xf", archive, "-C", src),
	} {
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("%q: %v\n%s", cmd.Args, err, out)
		}
	}
	start := time.Now()
	tmp := fmt.Sprintf("%s.tmp.%d", bin, os.Getpid())
	build := exec.CommandContext(ctx, goBin, "build", "-trimpath", "-o", tmp, "./cmd/hanashi")
	build.Dir = src
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		os.Remove(tmp)
		t.Fatalf("building hanashi at %s: %v\n%s", hash, err, out)
	}
	// Renamed into place, so an interrupted build leaves nothing that
	// looks finished.
	if err := os.Rename(tmp, bin); err != nil {
		t.Fatal(err)
	}
	t.Logf("built hanashi at %s in %v: %s", hash, time.Since(start).Round(time.Second), bin)
	return bin
}
