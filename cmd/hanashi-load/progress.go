package main

import (
	"fmt"
	"sync"
	"time"
)

// progress prints a line a second on stderr while a run goes on, so that
// whoever watches sees a stall as it happens rather than in the report.
type progress struct {
	l        *load
	mu       sync.Mutex
	phase    string
	since    time.Time
	quit     chan struct{}
	done     chan struct{}
	stopOnce sync.Once
}

func (l *load) startProgress() *progress {
	p := &progress{l: l, phase: "setup", since: time.Now(), quit: make(chan struct{}), done: make(chan struct{})}
	go p.loop()
	return p
}

func (p *progress) setPhase(phase string) {
	p.mu.Lock()
	p.phase, p.since = phase, time.Now()
	p.mu.Unlock()
}

// stop ends the progress lines; it may be called more than once.
func (p *progress) stop() {
	p.stopOnce.Do(func() { close(p.quit) })
	<-p.done
}

func (p *progress) loop() {
	defer close(p.done)
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	var lastAcked, lastDelivered int64
	for {
		select {
		case <-tick.C:
		case <-p.quit:
			return
		}
		p.mu.Lock()
		phase, since := p.phase, p.since
		p.mu.Unlock()
		var sent, acked, delivered int64
		for _, pub := range p.l.pubs {
			sent += pub.sent.Load()
			acked += pub.acked.Load()
		}
		for _, s := range p.l.subs {
			delivered += s.count.Load()
		}
		fmt.Fprintf(p.l.stderr, "%-10s %3.0fs  conns %d open, %d failed, %d dropped  sent %d  acked %d (%d/s)  deliveries %d (%d/s)\n",
			phase, time.Since(since).Seconds(),
			p.l.opened.Load()-p.l.dropped.Load(), p.l.failed.Load(), p.l.dropped.Load(),
			sent, acked, acked-lastAcked, delivered, delivered-lastDelivered)
		lastAcked, lastDelivered = acked, delivered
	}
}
