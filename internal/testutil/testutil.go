// Package testutil holds helpers shared by the module's tests, so that
// every test waits the same way: by polling a condition with a deadline,
// never by sleeping for a guessed time.
//
// It imports package testing, so only tests and the packages that exist
// for tests (the conformance suites, internal/testpeer) may import it;
// TestNotLinkedIntoCommands fails if a command links it.
package testutil

import (
	"testing"
	"time"
)

// First and last pause between two polls: a condition that holds almost at
// once is seen almost at once, and one that takes seconds (a process
// starting, a network peer) is not asked hundreds of times a second.
const (
	firstPause = time.Millisecond
	lastPause  = 20 * time.Millisecond
)

// Eventually calls cond until it returns true, pausing between calls for
// a short time that grows, and fails t naming what if cond has not
// returned true within timeout. cond is called from the calling goroutine,
// which must be the test's: it may itself fail t.
func Eventually(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	EventuallyNil(t, timeout, what, func() error {
		if cond() {
			return nil
		}
		return notYet{}
	})
}

// notYet is Eventually's "not yet": its condition has nothing more to say.
type notYet struct{}

func (notYet) Error() string { return "not yet" }

// EventuallyNil is Eventually for a condition that says why it does not
// hold yet: it calls f until f returns nil, and on timeout fails t with
// what and f's last error.
func EventuallyNil(t testing.TB, timeout time.Duration, what string, f func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	pause := firstPause
	for {
		err := f()
		if err == nil {
			return
		}
		left := time.Until(deadline)
		if left <= 0 {
			if _, ok := err.(notYet); ok {
				t.Fatalf("timed out after %v waiting for %s", timeout, what)
			} else {
				t.Fatalf("timed out after %v waiting for %s: %v", timeout, what, err)
			}
			return // for a testing.TB whose Fatalf returns
		}
		// The last call is at the deadline, so a condition that comes
		// true just in time still counts.
		time.Sleep(min(pause, left))
		pause = min(2*pause, lastPause)
	}
}
