package postgres

import "testing"

// TestLibpqURL checks that pg_dump and pg_restore get the database URL
// without its password (which goes in PGPASSWORD, out of the process
// list) and without the settings libpq would refuse.
func TestLibpqURL(t *testing.T) {
	for _, c := range []struct{ in, conninfo, password string }{
		{"postgres://u:s3cret@db:5432/chat?sslmode=require&pool_max_conns=20&statement_cache_capacity=10", "postgres://u@db:5432/chat?sslmode=require", "s3cret"},
		{"postgresql://db/chat", "postgresql://db/chat", ""},
		{"host=db dbname=chat", "host=db dbname=chat", ""},
	} {
		conninfo, password, err := libpqURL(c.in)
		if err != nil || conninfo != c.conninfo || password != c.password {
			t.Errorf("libpqURL(%q) = %q, %q, %v; want %q, %q", c.in, conninfo, password, err, c.conninfo, c.password)
		}
	}
}
