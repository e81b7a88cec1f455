package sqlite

import (
	"database/sql"
	"fmt"
	"io/fs"
	"path/filepath"
	"strings"
	"testing"
)

// TestPragmas checks that every connection, reading or writing, runs with
// the settings durability and correctness depend on.
func TestPragmas(t *testing.T) {
	ctx := t.Context()
	db, err := Open(ctx, filepath.Join(t.TempDir(), "hanashi.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()

	want := map[string]string{
		"journal_mode": "wal",
		"synchronous":  "2", // FULL
		"foreign_keys": "1",
		"busy_timeout": "10000",
	}
	for _, pool := range []struct {
		name  string
		db    *sql.DB
		conns int // held at once, so the pool has to open that many
	}{{"write", db.write, 1}, {"read", db.read, 3}} {
		var conns []*sql.Conn
		for range pool.conns {
			c, err := pool.db.Conn(ctx)
			if err != nil {
				t.Fatalf("%s pool: %v", pool.name, err)
			}
			defer c.Close()
			conns = append(conns, c)
		}
		// Each connection must have been set up by the DSN, not by a
		// one-off Exec on whichever connection the pool handed out.
		for i, c := range conns {
			for pragma, v := range want {
				var got string
				if err := c.QueryRowContext(ctx, "PRAGMA "+pragma).Scan(&got); err != nil {
					t.Fatalf("%s conn %d: PRAGMA %s: %v", pool.name, i, pragma, err)
				}
				if !strings.EqualFold(got, v) {
					t.Errorf("%s conn %d: PRAGMA %s = %s, want %s", pool.name, i, pragma, got, v)
				}
			}
		}
	}

	if _, err := db.read.ExecContext(ctx, `DELETE FROM users`); err == nil {
		t.Errorf("a write on the read pool succeeded; want it refused by query_only")
	}
	if got, want := db.read.Stats().MaxOpenConnections, 4; got < want {
		t.Errorf("read pool allows %d connections, want at least %d", got, want)
	}
	if got := db.write.Stats().MaxOpenConnections; got != 1 {
		t.Errorf("write pool allows %d connections, want 1", got)
	}
}

// TestMigrate checks that the schema version follows the migrations, that
// reopening applies nothing twice, and that a database from a newer build is
// refused rather than used (the schema version bumped by hand), with an
// error that tells the operator what to do.
func TestMigrateRefusesNewerSchemaVersion(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "hanashi.db")
	names, err := fs.Glob(migrations, "migrations/*.sql")
	if err != nil || len(names) == 0 {
		t.Fatalf("no embedded migrations: %v", err)
	}

	for range 2 {
		db, err := Open(ctx, path)
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		var version int
		if err := db.read.QueryRowContext(ctx, `PRAGMA user_version`).Scan(&version); err != nil {
			t.Fatal(err)
		}
		if version != len(names) {
			t.Errorf("user_version = %d, want %d", version, len(names))
		}
		if err := db.Close(); err != nil {
			t.Fatal(err)
		}
	}

	db, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.write.ExecContext(ctx, `PRAGMA user_version = 999`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	want := fmt.Sprintf("database schema version 999 is newer than this hanashi understands (%d): upgrade hanashi", len(names))
	if db, err := Open(ctx, path); err == nil {
		db.Close()
		t.Errorf("Open of a database with a newer schema succeeded, want an error")
	} else if !strings.Contains(err.Error(), want) {
		t.Errorf("Open of a database with a newer schema: %v, want an error that says %q", err, want)
	}
}
