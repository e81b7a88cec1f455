package hub

import "sync/atomic"

// A room's log holds the message frames it handed out lately, each once,
// for its subscriptions to read at their writers' pace. Fan-out does not
// touch every subscriber for every message: the room appends the frame and
// wakes only the subscriptions that had read everything and wait (the
// armed ones, see room.armed); a busy one's writer comes back on its own
// (see TakeMore). A writer pacing its connection takes, in one go, all
// that the log gathered since; at 200 messages a second and a 30 ms
// flush period, a subscriber is touched once per 6 messages instead of
// for each.
//
// The log is a chain of chunks that only the room writes, under its
// mutex, and that readers read without it: an entry does not change once
// the chunk's count has published it, while a cursor is below it. The
// room holds only the last chunk; older ones live as long as a
// subscription's cursor points into them, so the garbage collector frees
// what every subscriber has read. In the last chunk, the room lets go of
// the frames itself once every subscription has read them (letGo): a room
// with little traffic, a direct conversation say, keeps none. A
// subscription's lag is bounded all the same: the room checks it from
// time to time (room.sweep) and fails the client that falls too far
// behind, as its own queue would.

// chunkLen is how many frames a chunk holds.
const chunkLen = 16

type logEntry struct {
	frame []byte
	seq   int64
}

type logChunk struct {
	entries [chunkLen]logEntry
	n       atomic.Int32 // entries published; those below n never change
	next    atomic.Pointer[logChunk]
}

// cursor is a position in a room's log: the next entry to read.
type cursor struct {
	chunk *logChunk
	i     int32
}

// appendLog publishes a frame at the end of the room's log. r.mu must be
// held.
func (r *room) appendLog(seq int64, frame []byte) {
	t := r.tail
	if n := t.n.Load(); n < chunkLen {
		t.entries[n] = logEntry{frame: frame, seq: seq}
		t.n.Store(n + 1)
	} else {
		nt := &logChunk{}
		nt.entries[0] = logEntry{frame: frame, seq: seq}
		nt.n.Store(1)
		t.next.Store(nt)
		r.tail, r.freed = nt, 0
	}
	r.logBytes += int64(len(frame))
}

// letGo drops the last chunk's frames once every subscription that reads
// the log has read them all, that is, when all of them are armed: a
// subscription is armed only when caught up, and the next frame disarms
// it. No cursor is below those entries, so nothing reads them again.
// r.mu must be held.
func (r *room) letGo() {
	if len(r.armed) != len(r.subs)-len(r.buffering) {
		return
	}
	n := r.tail.n.Load()
	for i := r.freed; i < n; i++ {
		r.tail.entries[i].frame = nil
	}
	r.freed = n
}

// logEnd is the cursor just past the last frame. r.mu must be held.
func (r *room) logEnd() cursor {
	return cursor{chunk: r.tail, i: r.tail.n.Load()}
}

// read appends to batch the frames after the subscription's cursor,
// leaving out those at or below its skip, and moves the cursor past them.
// It returns the batch, how many frames it added, and their bytes. c.mu
// must be held.
func (s *sub) read(batch [][]byte) (_ [][]byte, frames, bytes int) {
	for {
		ch := s.at.chunk
		n := ch.n.Load()
		for ; s.at.i < n; s.at.i++ {
			e := &ch.entries[s.at.i]
			s.pos += int64(len(e.frame))
			if e.seq > s.skip {
				batch = append(batch, e.frame)
				frames++
				bytes += len(e.frame)
			}
		}
		if n < chunkLen {
			return batch, frames, bytes
		}
		next := ch.next.Load()
		if next == nil {
			return batch, frames, bytes
		}
		s.at = cursor{chunk: next}
	}
}

// caughtUp reports whether the subscription has read the whole log. c.mu
// must be held.
func (s *sub) caughtUp() bool {
	ch := s.at.chunk
	n := ch.n.Load()
	return s.at.i == n && (n < chunkLen || ch.next.Load() == nil)
}
