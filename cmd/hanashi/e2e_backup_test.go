package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/hanashi-chat/hanashi/internal/testpeer"
	"github.com/hanashi-chat/hanashi/internal/testutil"
)

// TestE2EBackupRestore takes a backup with "hanashi backup" of a server's
// SQLite database while a client sends over the WebSocket, restores it
// with "hanashi restore" into a new data directory and starts a server on
// it (see e2eBackupRestore).
func TestE2EBackupRestore(t *testing.T) {
	e2eBackupRestore(t, e2eBackupDB{data: t.TempDir()}, e2eBackupDB{data: filepath.Join(t.TempDir(), "restored")})
}

// TestE2EBackupRestorePostgres is TestE2EBackupRestore on PostgreSQL:
// pg_dump and pg_restore, from a database into a new one.
func TestE2EBackupRestorePostgres(t *testing.T) {
	from, to := testpeer.PostgresDB(t), testpeer.PostgresDB(t)
	bin := os.Getenv(testpeer.EnvPGBin)
	if _, err := exec.LookPath(filepath.Join(bin, "pg_dump")); err != nil {
		t.Skipf("skipped: no pg_dump in %s (%q) or on PATH: %v", testpeer.EnvPGBin, bin, err)
	}
	e2eBackupRestore(t,
		e2eBackupDB{data: t.TempDir(), url: from, pgBin: bin},
		e2eBackupDB{data: t.TempDir(), url: to, pgBin: bin})
}

// e2eBackupDB is where a server keeps its data: a data directory with
// SQLite, or with url a PostgreSQL database.
type e2eBackupDB struct {
	data, url, pgBin string
}

// flags are the flags that point hanashi at db, but for -data.
func (db e2eBackupDB) flags() []string {
	if db.url == "" {
		return nil
	}
	return []string{"-database", db.url, "-pg-bin", db.pgBin}
}

// e2eCommand runs a hanashi command (backup, restore) in this process, as
// main would, with no HANASHI_* variables.
func e2eCommand(t *testing.T, db e2eBackupDB, args ...string) (string, error) {
	t.Helper()
	var stdout, stderr syncBuffer
	args = append(append([]string{"hanashi"}, args...), append([]string{"-data", db.data}, db.flags()...)...)
	err := run(t.Context(), args, func(string) string { return "" }, &stdout, &stderr)
	if err != nil {
		t.Logf("%q: %v\n%s", args, err, stderr.String())
	}
	return stdout.String(), err
}

// e2eBackupRestore runs a server on from while a client sends messages
// over the WebSocket one after another (a few in flight), runs "hanashi
// backup" in the middle of the stream, restores the backup into to, which
// is empty, and starts a server on it. There every message acknowledged
// before the backup began must be, with its seq; a resend of one of them
// must be acknowledged as that message, not stored again; and a new
// message must get a seq after every seq in the backup, so that no seq a
// client saw before the backup names another message.
func e2eBackupRestore(t *testing.T, from, to e2eBackupDB) {
	a := e2eStart(t, from.data, from.flags()...)
	g := a.guest(t, "writer")
	room := a.room(t, g, "backed-up", false)
	acks := e2eStartAcks(a.ws(t, g), room.ID, 8)
	sending, stop := context.WithCancel(t.Context())
	defer stop()
	var (
		wg      sync.WaitGroup
		sendErr error
	)
	wg.Go(func() {
		for i := 0; sending.Err() == nil && sendErr == nil; i++ {
			sendErr = acks.send(fmt.Sprint("m-", i), fmt.Sprint("message ", i))
		}
	})
	acked := func() int {
		_, acks := acks.snapshot()
		return len(acks)
	}
	testutil.Eventually(t, e2eTimeout, "50 messages acknowledged before the backup", func() bool { return acked() >= 50 })

	_, before := acks.snapshot()
	file := filepath.Join(t.TempDir(), "hanashi.backup")
	out, err := e2eCommand(t, from, "backup", "-o", file)
	if err != nil {
		t.Fatalf("hanashi backup: %v", err)
	}
	during := acked() - len(before)
	// The stream goes on after the backup: those messages are not in it.
	n := acked()
	testutil.Eventually(t, e2eTimeout, "20 messages acknowledged after the backup", func() bool { return acked() >= n+20 })
	stop()
	wg.Wait()
	if sendErr != nil {
		t.Fatalf("sending: %v", sendErr)
	}
	acks.wait(t, "writer")
	t.Logf("%s%d messages acknowledged before the backup began, %d while it ran", out, len(before), during)

	if _, err := e2eCommand(t, to, "restore", "-i", file); err != nil {
		t.Fatalf("hanashi restore: %v", err)
	}
	if _, err := e2eCommand(t, to, "restore", "-i", file); err == nil || !strings.Contains(err.Error(), "not empty") {
		t.Errorf("a second restore into the same place: %v, want an error that says it is not empty", err)
	}

	b := e2eStart(t, to.data, to.flags()...)
	// The guest's session is in the backup too.
	history := b.history(t, g, room.ID)
	bySeq := make(map[int64]e2eMessage, len(history))
	var last int64
	for _, m := range history {
		bySeq[m.Seq] = m
		last = max(last, m.Seq)
	}
	for clientID, ack := range before {
		if m, ok := bySeq[ack.Seq]; !ok || m.ID != ack.ID || m.ClientID != clientID {
			t.Errorf("after the restore, seq %d is %+v (found %v); want %q, acknowledged before the backup as %s", ack.Seq, m, ok, clientID, ack)
		}
	}
	if last < int64(len(before)) {
		t.Fatalf("restored history ends at seq %d, before the %d messages acknowledged before the backup", last, len(before))
	}

	conn := b.ws(t, g)
	first := before["m-0"]
	if f := conn.sendAck(t, room.ID, "m-0", "message 0"); f.Seq != first.Seq || f.ID != first.ID {
		t.Errorf("resend of m-0 after the restore: %s; want the ack of the message in the backup, %s", f, first)
	}
	if f := conn.sendAck(t, room.ID, "after-restore", "hello again"); f.Seq != last+1 {
		t.Errorf("first new message after the restore: %s; want seq %d, after every seq in the backup", f, last+1)
	}
}
