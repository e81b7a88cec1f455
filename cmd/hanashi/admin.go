package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/hanashi-chat/hanashi"
	"github.com/hanashi-chat/hanashi/auth"
	"github.com/hanashi-chat/hanashi/postgres"
	"github.com/hanashi-chat/hanashi/sqlite"
)

// The admin commands, for an operator locked out of the web console: "hanashi
// user list|disable|enable" and "hanashi room list", run against the
// configured store (see "Admin commands" in docs/operations.md).
// Administrators are not in the store: they are the verified addresses of
// -admins, so there is no command that makes one.

// adminStore is what the admin commands need of a store: both have it.
type adminStore interface {
	hanashi.Store
	AllUsers(ctx context.Context) ([]hanashi.User, error)
	AllRooms(ctx context.Context) ([]hanashi.RoomListing, error)
}

var (
	_ adminStore = (*sqlite.DB)(nil)
	_ adminStore = (*postgres.DB)(nil)
)

// adminUsage is what each admin command takes after its name, for
// checkAdminArgs and its messages.
var adminUsage = map[string]map[string]string{
	"user": {"list": "user list", "disable": "user disable ID|EMAIL", "enable": "user enable ID|EMAIL", "admin": "user admin ID|EMAIL"},
	"room": {"list": "room list"},
}

// checkAdminArgs checks the arguments of the admin command cmd: a verb,
// and a user where the verb takes one.
func checkAdminArgs(cmd string, args []string) error {
	verbs := adminUsage[cmd]
	if len(args) == 0 {
		return fmt.Errorf("%s needs one of: %s", cmd, strings.Join(sortedValues(verbs), ", "))
	}
	usage, ok := verbs[args[0]]
	if !ok {
		return fmt.Errorf("%s %s: unknown; use one of: %s", cmd, args[0], strings.Join(sortedValues(verbs), ", "))
	}
	if want := strings.Count(usage, " "); len(args) != want {
		return fmt.Errorf("usage: hanashi %s", usage)
	}
	return nil
}

func sortedValues(m map[string]string) []string {
	var vs []string
	for _, v := range m {
		vs = append(vs, v)
	}
	slices.Sort(vs)
	return vs
}

// admin runs the admin command of cfg (checked by checkAdminArgs).
func admin(ctx context.Context, cfg config, log *slog.Logger, stdout io.Writer) error {
	db, err := openAdminStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer db.Close()
	switch verb := cfg.Args[0]; {
	case cfg.Command == "room":
		return listRooms(ctx, db, stdout)
	case verb == "list":
		return listUsers(ctx, db, cfg.Admins, stdout)
	case verb == "admin":
		u, err := findUser(ctx, db, cfg.Args[1])
		if err != nil {
			return err
		}
		return makeAdmin(u, cfg.Admins, stdout)
	default:
		u, err := findUser(ctx, db, cfg.Args[1])
		if err != nil {
			return err
		}
		disabled := verb == "disable"
		if err := db.SetDisabled(ctx, u.ID, disabled); err != nil {
			return err
		}
		log.Info("user disabled", "user", u.ID, "disabled", disabled, "by", "hanashi user "+verb)
		if disabled {
			fmt.Fprintf(stdout, "Disabled %s (%s): signed out everywhere, and cannot sign in or post\n", u.ID, u.Name)
		} else {
			fmt.Fprintf(stdout, "Enabled %s (%s)\n", u.ID, u.Name)
		}
		return nil
	}
}

// openAdminStore opens the configured store, which must exist: a command
// that reads it never makes an empty one.
func openAdminStore(ctx context.Context, cfg config) (adminStore, error) {
	if cfg.DatabaseURL != "" {
		db, err := postgres.Open(ctx, cfg.DatabaseURL)
		if err != nil {
			return nil, fmt.Errorf("opening the database: %w", err)
		}
		return db, nil
	}
	if _, err := os.Stat(cfg.sqlitePath()); err != nil {
		return nil, fmt.Errorf("no database: %w (name the server's data directory with -data or HANASHI_DATA)", err)
	}
	db, err := sqlite.Open(ctx, cfg.sqlitePath())
	if err != nil {
		return nil, fmt.Errorf("opening the database: %w", err)
	}
	return db, nil
}

// findUser returns the user whose id is ref, or, when ref is an e-mail
// address, the one whose verified address it is.
func findUser(ctx context.Context, db adminStore, ref string) (hanashi.User, error) {
	if !strings.Contains(ref, "@") {
		return db.User(ctx, hanashi.UserID(ref))
	}
	users, err := db.AllUsers(ctx)
	if err != nil {
		return hanashi.User{}, err
	}
	email := hanashi.NormalEmail(ref)
	var found []hanashi.User
	for _, u := range users {
		if u.Email == email {
			found = append(found, u)
		}
	}
	switch len(found) {
	case 0:
		return hanashi.User{}, hanashi.Errorf(hanashi.ENOTFOUND, "no user has the verified address %s", email)
	case 1:
		return found[0], nil
	}
	ids := make([]string, len(found))
	for i, u := range found {
		ids[i] = string(u.ID)
	}
	return hanashi.User{}, hanashi.Errorf(hanashi.ECONFLICT, "%d users have the address %s (%s): name one by id", len(found), email, strings.Join(ids, ", "))
}

// makeAdmin says how u becomes an administrator: administrators are the
// -admins addresses, which no command can change.
func makeAdmin(u hanashi.User, admins []string, stdout io.Writer) error {
	switch {
	case auth.IsAdmin(u, admins):
		fmt.Fprintf(stdout, "%s (%s) is an administrator: %s is in -admins (HANASHI_ADMINS)\n", u.ID, u.Name, u.Email)
		return nil
	case u.Guest || u.Email == "":
		return fmt.Errorf("%s (%s) has no verified e-mail address, and only one can make an administrator: administrators are the addresses in -admins (HANASHI_ADMINS)", u.ID, u.Name)
	}
	return fmt.Errorf("%s (%s) is not an administrator, and no command makes one: add %s to -admins (HANASHI_ADMINS) and restart the servers", u.ID, u.Name, u.Email)
}

// listUsers writes a table of every user.
func listUsers(ctx context.Context, db adminStore, admins []string, stdout io.Writer) error {
	users, err := db.AllUsers(ctx)
	if err != nil {
		return err
	}
	w := tabwriter.NewWriter(stdout, 0, 8, 2, ' ', 0)
	fmt.Fprintln(w, "ID\tNAME\tEMAIL\tKIND\tSTATE\tCREATED")
	for _, u := range users {
		kind := "user"
		switch {
		case auth.IsAdmin(u, admins):
			kind = "admin"
		case u.Guest:
			kind = "guest"
		}
		state := "active"
		if u.Disabled {
			state = "disabled"
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\n", u.ID, printable(u.Name), orDash(u.Email), kind, state, u.CreatedAt.Format(time.RFC3339))
	}
	return w.Flush()
}

// listRooms writes a table of every room.
func listRooms(ctx context.Context, db adminStore, stdout io.Writer) error {
	rooms, err := db.AllRooms(ctx)
	if err != nil {
		return err
	}
	w := tabwriter.NewWriter(stdout, 0, 8, 2, ' ', 0)
	fmt.Fprintln(w, "ID\tNAME\tVISIBILITY\tMEMBERS\tLAST SEQ")
	for _, r := range rooms {
		vis := "public"
		switch {
		case r.Kind == hanashi.RoomDirect:
			vis = "direct"
		case r.Private:
			vis = "private"
		}
		fmt.Fprintf(w, "%d\t%s\t%s\t%d\t%d\n", r.ID, printable(r.Name), vis, r.Members, r.LastSeq)
	}
	return w.Flush()
}

// printable keeps a name that people chose from breaking the table or the
// terminal: control characters and tabs become spaces.
func printable(s string) string {
	return strings.Map(func(r rune) rune {
		if r < ' ' || r == 0x7f || (r >= 0x80 && r < 0xa0) {
			return ' '
		}
		return r
	}, s)
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
