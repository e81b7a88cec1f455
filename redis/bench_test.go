package redis_test

import (
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hanashi-chat/hanashi"
	"github.com/hanashi-chat/hanashi/internal/testpeer"
	"github.com/hanashi-chat/hanashi/redis"
)

// arrivalClock records when the first and the last of n messages arrived.
type arrivalClock struct {
	mu          sync.Mutex
	n, got      int
	first, last time.Time
	done        chan struct{}
}

func (c *arrivalClock) Deliver(msgs []hanashi.Message) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.got == 0 {
		c.first = time.Now()
	}
	c.got += len(msgs)
	if c.got >= c.n && c.last.IsZero() {
		c.last = time.Now()
		close(c.done)
	}
}
func (c *arrivalClock) DeliverSignal(hanashi.Signal) {}
func (c *arrivalClock) Missed()                      {}

// BenchmarkBigBatchBesideAnotherRoom publishes the hub's largest batch of
// big messages (512 of 16 KB) to one room, then one small message to
// another, and measures on another node when the big room's first and
// last messages arrive and when the other room's does.
func BenchmarkBigBatchBesideAnotherRoom(b *testing.B) {
	url := testpeer.RedisURL(b)
	prefix := testpeer.Prefix()
	pub := openReady(b, redis.Config{URL: url, Prefix: prefix})
	sub := openReady(b, redis.Config{URL: url, Prefix: prefix})
	body := strings.Repeat("x", 16<<10)
	var firstBig, lastBig, other time.Duration
	for i := 0; b.Loop(); i++ {
		bigRoom, otherRoom := hanashi.RoomID(2*i+1), hanashi.RoomID(2*i+2)
		big := &arrivalClock{n: 512, done: make(chan struct{})}
		small := &arrivalClock{n: 1, done: make(chan struct{})}
		subscribe(b, sub, bigRoom, big)
		subscribe(b, sub, otherRoom, small)
		batch := msgs(bigRoom, 1, 512)
		for j := range batch {
			batch[j].Body = body
		}
		batch = append(batch, msgs(otherRoom, 1, 1)...)
		start := time.Now()
		publish(b, pub, batch)
		<-big.done
		<-small.done
		firstBig += big.first.Sub(start)
		lastBig += big.last.Sub(start)
		other += small.last.Sub(start)
		sub.Unsubscribe(b.Context(), bigRoom, big)
		sub.Unsubscribe(b.Context(), otherRoom, small)
	}
	n := float64(b.N)
	b.ReportMetric(float64(firstBig.Milliseconds())/n, "ms-first-big")
	b.ReportMetric(float64(lastBig.Milliseconds())/n, "ms-last-big")
	b.ReportMetric(float64(other.Milliseconds())/n, "ms-other-room")
}
