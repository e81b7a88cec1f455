package websocket_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/hanashi-chat/hanashi/websocket"
)

// A server upgrades after its own Origin check, reads with ReadMessage and
// writes encoded frames itself. Here every write goes straight to the
// socket; Hanashi's server instead queues the bytes and flushes many frames
// per write, sharing one AppendFrame encoding among all subscribers.
func Example() {
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// The Origin check belongs here, before Upgrade.
		c, err := websocket.Upgrade(w, r)
		if err != nil {
			return // Upgrade has already answered 4xx
		}
		defer c.Close()
		write := func(frame []byte) { _, _ = c.NetConn().Write(frame) }
		c.OnPing = func(p []byte) { write(websocket.AppendFrame(nil, websocket.OpPong, p)) }
		for {
			_ = c.NetConn().SetReadDeadline(time.Now().Add(time.Minute))
			op, msg, err := c.ReadMessage()
			var ce *websocket.CloseError
			if errors.As(err, &ce) {
				if ce.Received {
					write(websocket.AppendClose(nil, ce.Code, "")) // echo the peer's code
				} else {
					write(websocket.AppendClose(nil, ce.Code, ce.Reason))
				}
				return
			}
			if err != nil {
				return // the TCP connection is gone
			}
			write(websocket.AppendFrame(nil, op, []byte(strings.ToUpper(string(msg)))))
		}
	})
	srv := httptest.NewServer(handler)
	defer srv.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(srv.URL, "http"), nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer c.Close()
	_ = c.NetConn().SetDeadline(time.Now().Add(5 * time.Second))
	_ = c.WriteMessage(websocket.OpText, []byte("hello"))
	_, msg, _ := c.ReadMessage()
	fmt.Println(string(msg))

	_ = c.WriteClose(websocket.CloseNormal, "")
	_, _, err = c.ReadMessage()
	fmt.Println(err)
	// Output:
	// HELLO
	// websocket: peer closed with 1000
}
