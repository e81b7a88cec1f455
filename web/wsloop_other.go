//go:build !linux

package web

import "net"

// eventConn is a connection's state in the event loop, which exists on
// Linux only (wsloop_linux.go): elsewhere every connection has a reader
// and a writer goroutine.
type eventConn struct{}

func (c *conn) prepareLoop(*net.TCPConn) bool { return false }

func (c *conn) startLoop([]byte) {}
