// Command hanashi is the Hanashi chat server. With no configuration it
// serves http://127.0.0.1:8080 from a SQLite database in ./hanashi-data.
//
// The command is a few files: config.go reads the configuration (flags
// and HANASHI_* variables), wire.go builds a node from it (store, broker,
// hub, web server), and run.go serves that node and drains it on SIGTERM;
// tls.go, signin.go and profile.go are the pieces of wiring that need more
// than a line. Besides serving it has commands (see commands in config.go):
// migrate (wire.go), backup and restore (backup.go).
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	if err := run(signalContext(), os.Args, os.Getenv, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "hanashi:", err)
		os.Exit(1)
	}
}

// signalContext ends at the first SIGTERM or SIGINT, which starts the
// drain, with the signal as its cause (stopSignal); a second signal kills
// the process, for whoever cannot wait.
func signalContext() context.Context {
	ctx, stop := context.WithCancelCause(context.Background())
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	go func() {
		sig := <-sigs
		signal.Stop(sigs)
		stop(stopSignal{sig})
	}()
	return ctx
}

// stopSignal is the cause of the end of run's context when a signal
// ended it.
type stopSignal struct{ os.Signal }

func (s stopSignal) Error() string { return s.Signal.String() + " received" }
