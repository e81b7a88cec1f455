// Package websocket implements the part of RFC 6455 (WebSocket) that
// Hanashi needs: the server handshake, a frame decoder, pure functions that
// encode server frames, and a small client for tests and the load
// generator.
//
// It exists instead of a library because the server's fan-out depends on
// three things the usual packages do not allow. First, a message frame is
// encoded once with [AppendFrame] and the same bytes are queued to every
// subscriber, whose writer then flushes many queued frames in one write on
// [Conn.NetConn]; libraries insist on owning the write path and encode per
// connection. Second, the server reads its sockets itself, from an event
// loop, and decodes what arrived with a [Decoder], which keeps nothing
// between frames but a fragmented message; libraries want a goroutine per
// connection blocked in a read. Third, per-connection memory stays small:
// [Upgrade] keeps none of net/http's buffers, and a [Conn] has no write
// buffer and a 512-byte read buffer only once it reads, which matters with
// tens of thousands of idle sockets.
//
// What is deliberately missing: extensions (permessage-deflate is never
// negotiated), subprotocols, and Origin checks (the HTTP handler checks
// Origin before calling [Upgrade]).
//
// Reading and writing are split the way the server uses them. Either one
// goroutine calls [Conn.ReadMessage] (or [Conn.NextMessage]), which answers
// nothing by itself and reports pings, pongs and closes to the caller, or
// the caller reads the socket itself and hands the bytes to a [Decoder],
// starting with [Conn.Buffered]. Both apply the same rules: there is one
// parser. Writes are either the caller's own writes of [AppendFrame] and
// [AppendClose] bytes, or [Conn.WriteMessage] and [Conn.WriteClose] for
// simple cases and for clients, which mask their frames.
package websocket
