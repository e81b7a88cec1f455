// Package websocket implements the part of RFC 6455 (WebSocket) that
// Hanashi needs: the server handshake, a reader for client frames, pure
// functions that encode server frames, and a small client for tests and the
// load generator.
//
// It exists instead of a library because the server's fan-out depends on two
// things the usual packages do not allow. First, a message frame is encoded
// once with [AppendFrame] and the same bytes are queued to every subscriber,
// whose writer then flushes many queued frames in one write (or writev) on
// [Conn.NetConn]; libraries insist on owning the write path and encode per
// connection. Second, per-connection memory stays small: a [Conn] keeps a
// 512-byte read buffer and no write buffer, which matters with tens of
// thousands of idle sockets.
//
// What is deliberately missing: extensions (permessage-deflate is never
// negotiated), subprotocols, and Origin checks (the HTTP handler checks
// Origin before calling [Upgrade]).
//
// Reading and writing are split the way the server uses them: one goroutine
// calls [Conn.ReadMessage], which answers nothing by itself and reports
// pings, pongs and closes to the caller; writes are either the caller's own
// writes of [AppendFrame] and [AppendClose] bytes, or [Conn.WriteMessage] and
// [Conn.WriteClose] for simple cases and for clients, which mask their frames.
package websocket
