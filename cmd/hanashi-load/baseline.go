package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"time"
)

// baselineTime is how long each baseline measurement lasts.
const baselineTime = 2 * time.Second

// runBaseline measures what this machine does without Hanashi: plain TCP
// on loopback, one connection, messages of size bytes written as fast as
// possible, first with one write() per message (what a server does that
// writes each delivery on its own), then with one write() per 16 messages
// (a server that coalesces its queue, as Hanashi's writer does). The
// ratio of Hanashi's deliveries/s to these says how much of the kernel's
// ceiling the server reaches. Both ends run in this process, so they share
// whatever CPUs the load generator was given.
func runBaseline(ctx context.Context, size int, d time.Duration) (baselineStats, error) {
	b := baselineStats{MsgBytes: size}
	var err error
	if b.PerWrite, err = tcpRate(ctx, size, 1, d); err != nil {
		return b, err
	}
	if b.Per16, err = tcpRate(ctx, size, 16, d); err != nil {
		return b, err
	}
	return b, nil
}

// tcpRate returns the messages per second a reader receives from a writer
// that writes batch messages of size bytes per write() for d.
func tcpRate(ctx context.Context, size, batch int, d time.Duration) (float64, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()

	wrote := make(chan error, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			wrote <- err
			return
		}
		defer c.Close()
		buf := bytes.Repeat([]byte{'x'}, size*batch)
		stop := time.Now().Add(d)
		c.SetWriteDeadline(stop.Add(5 * time.Second))
		for time.Now().Before(stop) && ctx.Err() == nil {
			if _, err := c.Write(buf); err != nil {
				wrote <- err
				return
			}
		}
		wrote <- nil
	}()

	c, err := net.DialTimeout("tcp", ln.Addr().String(), 5*time.Second)
	if err != nil {
		return 0, err
	}
	defer c.Close()
	c.SetReadDeadline(time.Now().Add(d + 10*time.Second))
	buf := make([]byte, 256<<10)
	var n int64
	start := time.Now()
	for {
		k, err := c.Read(buf)
		n += int64(k)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return 0, err
		}
	}
	elapsed := time.Since(start)
	if err := <-wrote; err != nil {
		return 0, err
	}
	return float64(n/int64(size)) / elapsed.Seconds(), nil
}
