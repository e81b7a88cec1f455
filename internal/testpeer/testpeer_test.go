package testpeer_test

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/hanashi-chat/hanashi/internal/testpeer"
	"github.com/jackc/pgx/v5"
)

func TestPostgresRestart(t *testing.T) {
	pg := testpeer.StartPostgres(t)
	db := testpeer.CreateDB(t, pg.URL())
	query := func() error {
		ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
		defer cancel()
		c, err := pgx.Connect(ctx, db)
		if err != nil {
			return err
		}
		defer c.Close(ctx)
		var n int
		return c.QueryRow(ctx, "SELECT 1").Scan(&n)
	}
	if err := query(); err != nil {
		t.Fatal(err)
	}
	pg.Stop("immediate")
	if err := query(); err == nil {
		t.Fatal("query succeeded with the server stopped")
	}
	pg.Start()
	if err := query(); err != nil {
		t.Fatalf("after restart: %v", err)
	}
}

func TestRedisRestart(t *testing.T) {
	r := testpeer.StartRedis(t)
	ping := func() string {
		c, err := net.Dial("tcp", r.URL()[len("redis://"):len(r.URL())-2])
		if err != nil {
			return err.Error()
		}
		defer c.Close()
		c.Write([]byte("PING\r\n"))
		b := make([]byte, 7)
		n, _ := c.Read(b)
		return string(b[:n])
	}
	if got := ping(); got != "+PONG\r\n" {
		t.Fatalf("ping = %q", got)
	}
	r.Restart()
	if got := ping(); got != "+PONG\r\n" {
		t.Fatalf("after restart: ping = %q", got)
	}
}
