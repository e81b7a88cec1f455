//go:build !linux

package netpoll

import (
	"errors"
	"net"
	"time"
)

// flushPeriod is the default Config.FlushPeriod (flush_linux.go).
const flushPeriod = 30 * time.Millisecond

// Loop is the event loop, which exists on Linux only (loop_linux.go):
// here it takes no connection, and each has a reader and a writer
// goroutine.
type Loop struct{}

// New returns a loop that takes no connection.
func New(Config) *Loop { return &Loop{} }

// Close does nothing.
func (*Loop) Close() error { return nil }

// Attach fails: there is no event loop here.
func (*Loop) Attach(*Conn, *net.TCPConn, Handler) error { return errors.ErrUnsupported }

// Conn is a connection's state in the loop: none here.
type Conn struct{}

// Start fails: there is no event loop here.
func (*Conn) Start(bool) error { return errors.ErrUnsupported }

// Wake does nothing.
func (*Conn) Wake() {}
