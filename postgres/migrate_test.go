package postgres

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/hanashi-chat/hanashi"
	"github.com/hanashi-chat/hanashi/internal/testpeer"
	"github.com/jackc/pgx/v5"
)

// TestUpgradeKeepsData builds a database with the first schema only, with
// data in it, and opens it: the later migrations must leave its users
// enabled and signed in and its rooms open to guests, as they were.
func TestUpgradeKeepsData(t *testing.T) {
	if os.Getenv(testpeer.EnvPostgres) == "" {
		t.Skipf("skipped: %s is not set; ./scripts/test starts PostgreSQL and sets it", testpeer.EnvPostgres)
	}
	ctx := t.Context()
	url := testpeer.PostgresDB(t)
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	script, err := migrations.ReadFile("migrations/001_init.sql")
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	for _, q := range []struct {
		sql  string
		args []any
	}{
		{`CREATE TABLE schema_migrations (version integer NOT NULL PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())`, nil},
		{string(script), nil},
		{`INSERT INTO schema_migrations (version) VALUES (1)`, nil},
		{`INSERT INTO users (id, name, avatar_url, created_at) VALUES ('u1', 'alice', 'https://a.example/a.png', $1)`, []any{now}},
		{`INSERT INTO sessions (token_hash, user_id, created_at, expires_at) VALUES ('\x01', 'u1', $1, $2)`, []any{now, now.Add(time.Hour)}},
		{`INSERT INTO rooms (name, created_by, created_at) VALUES ('lobby', 'u1', $1)`, []any{now}},
	} {
		if _, err := conn.Exec(ctx, q.sql, q.args...); err != nil {
			t.Fatalf("%s: %v", q.sql, err)
		}
	}

	db, err := Open(ctx, url)
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
