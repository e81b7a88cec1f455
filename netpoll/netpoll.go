// Package netpoll is the epoll readiness loop and the paced write flushers
// that serve Hanashi's WebSockets on Linux with a fixed set of goroutines,
// however many connections there are. A Loop is a value owned by the
// server that serves through it (web.NewServer makes one, its Shutdown
// closes it); there is no state of the package's own.
//
// The loop moves bytes and knows nothing of the protocol: it reads a
// connection's input when epoll says there is some and hands it to the
// connection's Handler, and it writes what the Handler's Output returns,
// paced (see flusher). The Handler decodes, acts and queues.
//
// On other systems New returns a loop that takes no connection (Attach
// fails with errors.ErrUnsupported), and the server keeps a reader and a
// writer goroutine per connection.
package netpoll

import (
	"errors"
	"time"
)

// Config holds a loop's settings; it is the same for all its connections.
type Config struct {
	// PingInterval is how often Handler.Ping is called for a connection;
	// one silent for 2.5 intervals (its pong included) is hung up.
	// Default 25s.
	PingInterval time.Duration
	// WriteTimeout bounds the write of a batch the socket could not take
	// at once. Default 10s.
	WriteTimeout time.Duration
	// Linger is how long a connection whose writing side is closed waits
	// for its peer to close too, and bounds the write of its last frames:
	// closing a socket with unread input resets it, and the peer would lose
	// the last frames. Default 2s.
	Linger time.Duration
	// Flushers is how many flushers write the connections' queues.
	// Default GOMAXPROCS.
	Flushers int
	// FlushPeriod is how often a busy connection is written at most.
	// Default 30ms (see flushPeriod).
	FlushPeriod time.Duration
}

// Handler is a connection's side of the loop, implemented by the protocol
// (web's WebSocket connection). The loop calls it through this interface
// once per read, per write and per sweep, never per frame or byte.
type Handler interface {
	// Input handles data read from the connection and reports whether
	// reading is to go on: false once the connection is closing, and the
	// rest of its input is then read and dropped until the peer closes.
	// One call at a time per connection; data is valid during the call.
	// Input(nil) asks it to handle input it holds already (Conn.Start).
	Input(data []byte) bool
	// Output returns the frames to write next. busy says more will be
	// ready within a period without a Wake: the loop comes back a period
	// later. last says the connection is ending: once these frames (maybe
	// none) are written the writing side is closed, and Output is not
	// called again. Called by one flusher at a time; the loop does not
	// modify the frames.
	Output() (frames [][]byte, busy, last bool)
	// Ping is called every PingInterval: time to queue a ping.
	Ping()
	// Idle is called on the sweeps between pings: a moment to drop buffers
	// a burst left behind.
	Idle()
	// Hangup says that nothing more can be said: the connection failed,
	// the peer closed it or went silent. Output is to end (last) without
	// a close frame.
	Hangup()
	// Closed is the last call: the connection is deregistered and its
	// socket closed.
	Closed()
}

// ErrClosed is returned by Attach and Start once the loop is closed.
var ErrClosed = errors.New("netpoll: loop closed")

func (cfg Config) withDefaults() Config {
	if cfg.PingInterval <= 0 {
		cfg.PingInterval = 25 * time.Second
	}
	if cfg.WriteTimeout <= 0 {
		cfg.WriteTimeout = 10 * time.Second
	}
	if cfg.Linger <= 0 {
		cfg.Linger = 2 * time.Second
	}
	if cfg.FlushPeriod <= 0 {
		cfg.FlushPeriod = flushPeriod
	}
	return cfg
}
