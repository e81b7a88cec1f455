package sqlite

import (
	"database/sql"
	"path/filepath"
	"testing"
	"time"

	"github.com/hanashi-chat/hanashi"
)

// TestUpgradeKeepsData builds a database with the first schema only, with
// data in it, and opens it: the later migrations must leave its users
// enabled and signed in and its rooms open to guests, as they were.
func TestUpgradeKeepsData(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "hanashi.db")
	raw, err := sql.Open("sqlite", dsn(path, true))
	if err != nil {
		t.Fatal(err)
	}
	script, err := migrations.ReadFile("migrations/001_init.sql")
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	for _, q := range []struct {
		sql  string
		args []any
	}{
		{string(script), nil},
		{`PRAGMA user_version = 1`, nil},
		{`INSERT INTO users (id, name, avatar_url, guest, created_at) VALUES ('u1', 'alice', 'https://a.example/a.png', 0, ?)`, []any{now.UnixNano()}},
		{`INSERT INTO sessions (token_hash, user_id, created_at, expires_at) VALUES (X'01', 'u1', ?, ?)`, []any{now.UnixNano(), now.Add(time.Hour).UnixNano()}},
		{`INSERT INTO rooms (name, private, created_by, created_at) VALUES ('lobby', 0, 'u1', ?)`, []any{now.UnixNano()}},
	} {
		if _, err := raw.ExecContext(ctx, q.sql, q.args...); err != nil {
			t.Fatalf("%s: %v", q.sql, err)
		}
	}
	raw.Close()

	db, err := Open(ctx, path)
	if err != nil {
		t.Fatalf("Open of a database at version 1: %v", err)
	}
	defer db.Close()
	u, err := db.SessionUser(ctx, []byte{1})
	if err != nil || u.ID != "u1" || u.Disabled || u.Email != "" || u.AvatarURL != "https://a.example/a.png" {
		t.Errorf("SessionUser after the upgrade = %+v, %v; want alice, enabled, her avatar kept", u, err)
	}
	rooms, err := db.Rooms(ctx, "u1")
	if err != nil || len(rooms) != 1 || !rooms[0].GuestsAllowed {
		t.Errorf("Rooms after the upgrade = %+v, %v; want the lobby, open to guests", rooms, err)
	}
	if _, err := db.ClaimGuest(ctx, u.ID, u.ID); hanashi.ErrorCode(err) != hanashi.EINVALID {
		t.Errorf("ClaimGuest on the upgraded database: %v, want %s", err, hanashi.EINVALID)
	}
}
