package web

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"

	"github.com/hanashi-chat/hanashi"
	"github.com/hanashi-chat/hanashi/auth"
)

// TestLogHandlerUser: a record logged with a signed-in request's context
// carries the user's id, a record that names a user itself keeps its own,
// and the user's e-mail address never appears.
func TestLogHandlerUser(t *testing.T) {
	var out bytes.Buffer
	log := slog.New(LogHandler(slog.NewJSONHandler(&out, nil)))
	request := context.WithValue(context.Background(), requestIDKey{}, "r1")
	signedIn := auth.WithUser(request, hanashi.User{ID: "u-alice", Email: "alice@example.com"})
	for _, tt := range []struct {
		name      string
		ctx       context.Context
		args      []any
		wantUsers []string // the values of every "user" key
		wantID    string
	}{
		{"signed in", signedIn, nil, []string{"u-alice"}, "r1"},
		{"names a user itself", signedIn, []any{"user", "u-bob"}, []string{"u-bob"}, "r1"},
		{"request not signed in", request, nil, nil, "r1"},
		{"a WebSocket", withLogUser(request, "u-carol"), nil, []string{"u-carol"}, "r1"},
		{"no request", context.Background(), nil, nil, ""},
	} {
		out.Reset()
		log.InfoContext(tt.ctx, "something", tt.args...)
		line := out.String()
		var users []string
		dec := json.NewDecoder(strings.NewReader(line))
		// Count every "user" key, duplicates included.
		var raw map[string]json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			t.Fatal(err)
		}
		if n := strings.Count(line, `"user":`); n > 1 {
			t.Errorf("%s: %d user keys: %s", tt.name, n, line)
		}
		if u, ok := raw["user"]; ok {
			var s string
			json.Unmarshal(u, &s)
			users = append(users, s)
		}
		if strings.Join(users, ",") != strings.Join(tt.wantUsers, ",") {
			t.Errorf("%s: users %v, want %v: %s", tt.name, users, tt.wantUsers, line)
		}
		var id string
		json.Unmarshal(raw["request_id"], &id)
		if id != tt.wantID {
			t.Errorf("%s: request_id %q, want %q", tt.name, id, tt.wantID)
		}
		if strings.Contains(line, "alice@example.com") {
			t.Errorf("%s: the e-mail address is in the log: %s", tt.name, line)
		}
	}
}
