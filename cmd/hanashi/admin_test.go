package main

import (
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/hanashi-chat/hanashi"
	"github.com/hanashi-chat/hanashi/internal/testpeer"
)

// TestE2EAdminCommands runs "hanashi user" and "hanashi room" against the
// SQLite database of a running server (see e2eAdminCommands).
func TestE2EAdminCommands(t *testing.T) {
	e2eAdminCommands(t, e2eBackupDB{data: t.TempDir()})
}

// TestE2EAdminCommandsPostgres is TestE2EAdminCommands on PostgreSQL.
func TestE2EAdminCommandsPostgres(t *testing.T) {
	e2eAdminCommands(t, e2eBackupDB{data: t.TempDir(), url: testpeer.PostgresDB(t)})
}

// e2eAdminCommands runs a server on db, and the admin commands beside it:
// user list and room list show what the server stored; user disable,
// by id or by e-mail address, signs the user out at once (the WebSocket
// is closed with 4001, the token no longer authenticates) and enable lets
// them in again; user admin says how an administrator is made.
func e2eAdminCommands(t *testing.T, db e2eBackupDB) {
	s := e2eStart(t, db.data, db.flags()...)
	alice, bob := s.guest(t, "alice"), s.guest(t, "bob")
	general := s.room(t, alice, "general", false)
	secret := s.room(t, bob, "secret plans", true)
	s.do(t, "POST", "/api/v1/rooms/"+id64(general.ID)+"/members", bob.auth(), nil).expectStatus(t, "bob joins general", http.StatusOK)
	conn := s.ws(t, alice)
	conn.sendAck(t, general.ID, "one", "hello")
	conn.sendAck(t, general.ID, "two", "again")

	// An account with a verified address, as a sign-in makes one.
	store, err := openAdminStore(t.Context(), config{DataDir: db.data, DatabaseURL: db.url})
	if err != nil {
		t.Fatal(err)
	}
	dana, err := store.CreateUser(t.Context(), hanashi.User{Name: "Dana", Email: "dana@example.com"})
	store.Close()
	if err != nil {
		t.Fatal(err)
	}

	cmd := func(args ...string) (string, error) {
		t.Helper()
		return e2eCommand(t, db, args...)
	}
	mustCmd := func(args ...string) string {
		t.Helper()
		out, err := cmd(args...)
		if err != nil {
			t.Fatalf("hanashi %s: %v", strings.Join(args, " "), err)
		}
		return out
	}
	// row finds the line of the table out that starts with id.
	row := func(out, id string) []string {
		t.Helper()
		for _, line := range strings.Split(out, "\n") {
			if f := strings.Fields(line); len(f) > 0 && f[0] == id {
				return f
			}
		}
		t.Fatalf("no row for %s in\n%s", id, out)
		return nil
	}
	checkRow := func(what string, got []string, want ...string) {
		t.Helper()
		if strings.Join(got, " ") != strings.Join(want, " ") {
			t.Errorf("%s: row %q, want %q", what, got, want)
		}
	}

	out := mustCmd("room", "list")
	t.Logf("hanashi room list:\n%s", out)
	checkRow("room list", row(out, id64(general.ID)), id64(general.ID), "general", "public", "2", "2")
	checkRow("room list", row(out, id64(secret.ID)), id64(secret.ID), "secret", "plans", "private", "1", "0")

	users := func() string {
		t.Helper()
		return mustCmd("user", "list", "-admins", "dana@example.com")
	}
	out = users()
	t.Logf("hanashi user list:\n%s", out)
	rfc3339 := regexp.MustCompile(`^\d{4}-\d\d-\d\dT`)
	for _, u := range []struct {
		id, name, email, kind string
	}{{alice.User.ID, "alice", "-", "guest"}, {bob.User.ID, "bob", "-", "guest"}, {string(dana.ID), "Dana", "dana@example.com", "admin"}} {
		r := row(out, u.id)
		checkRow("user list", r[:5], u.id, u.name, u.email, u.kind, "active")
		if len(r) != 6 || !rfc3339.MatchString(r[5]) {
			t.Errorf("user list: row %q, want a creation time last", r)
		}
	}

	// Disabling signs out at once, on the server beside the command.
	if out := mustCmd("user", "disable", alice.User.ID); !strings.Contains(out, "Disabled "+alice.User.ID) {
		t.Errorf("user disable: %q", out)
	}
	conn.expectClose(t, 4001)
	s.do(t, "GET", "/api/v1/me", alice.auth(), nil).expectStatus(t, "a disabled user's token", http.StatusUnauthorized)
	s.do(t, "GET", "/api/v1/me", bob.auth(), nil).expectStatus(t, "another user's token", http.StatusOK)
	checkRow("user list after disable", row(users(), alice.User.ID)[:5], alice.User.ID, "alice", "-", "guest", "disabled")
	mustCmd("user", "enable", alice.User.ID)
	checkRow("user list after enable", row(users(), alice.User.ID)[:5], alice.User.ID, "alice", "-", "guest", "active")
	// The sessions stay ended, as with the API.
	s.do(t, "GET", "/api/v1/me", alice.auth(), nil).expectStatus(t, "the token of a user disabled and enabled again", http.StatusUnauthorized)

	// By e-mail address, in any case.
	mustCmd("user", "disable", "DANA@example.com")
	checkRow("user list after disable by address", row(users(), string(dana.ID))[:5], string(dana.ID), "Dana", "dana@example.com", "admin", "disabled")
	mustCmd("user", "enable", "dana@example.com")

	for _, c := range []struct {
		args []string
		want string // in the error; "" for none
	}{
		{[]string{"user", "admin", "dana@example.com", "-admins", "dana@example.com"}, ""},
		{[]string{"user", "admin", "dana@example.com"}, "add dana@example.com to -admins"},
		{[]string{"user", "admin", bob.User.ID}, "no verified e-mail address"},
		{[]string{"user", "disable", "nobody@example.com"}, "no user has the verified address nobody@example.com"},
		{[]string{"user", "disable", "no-such-id"}, "not found"},
		{[]string{"user", "disable"}, "usage: hanashi user disable ID|EMAIL"},
		{[]string{"user", "archive", "x"}, "user archive: unknown"},
		{[]string{"room", "archive", id64(general.ID)}, "room archive: unknown"},
	} {
		_, err := cmd(c.args...)
		if (c.want == "") != (err == nil) || err != nil && !strings.Contains(err.Error(), c.want) {
			t.Errorf("hanashi %s: %v, want an error with %q", strings.Join(c.args, " "), err, c.want)
		}
	}
}

func id64(id int64) string { return strconv.FormatInt(id, 10) }

// expectStatus checks the status of r.
func (r *e2eResp) expectStatus(t *testing.T, what string, status int) {
	t.Helper()
	if r.Status != status {
		t.Errorf("%s: status %d, want %d; body %s", what, r.Status, status, r.Body)
	}
}
