package main

import (
	"math"
	"math/bits"
	"slices"
	"time"
)

// histogram counts durations in log-linear buckets, as HdrHistogram does:
// values below 64 ns are exact, and every power of two above is split into
// 32 buckets, so a reported quantile is within 1/32 (3%) of the true one.
// It is a fixed 9 KiB whatever the number of samples, so every connection
// keeps its own and nothing is shared on the hot path. The zero value is
// empty and ready; a histogram is not safe for concurrent use.
type histogram struct {
	counts [histBuckets]uint64
	n      uint64
	max    int64
}

const (
	subBits     = 5
	subBuckets  = 1 << subBits
	histMaxExp  = 40 // values are capped at 2^40 ns, 18 minutes
	histBuckets = (histMaxExp-subBits)*subBuckets + 2*subBuckets
)

// bucketOf returns the bucket of v >= 0.
func bucketOf(v int64) int {
	if v < 2*subBuckets {
		return int(v)
	}
	shift := bits.Len64(uint64(v)) - subBits - 1
	return shift*subBuckets + int(v>>shift)
}

// bucketMid returns the middle of the values that fall in bucket i.
func bucketMid(i int) int64 {
	if i < 2*subBuckets {
		return int64(i)
	}
	shift := i/subBuckets - 1
	low := int64(i-shift*subBuckets) << shift
	return low + (int64(1)<<shift)/2
}

func (h *histogram) record(d int64) {
	d = min(max(d, 0), 1<<histMaxExp-1)
	h.counts[bucketOf(d)]++
	h.n++
	h.max = max(h.max, d)
}

func (h *histogram) merge(o *histogram) {
	if o == nil {
		return
	}
	for i, c := range o.counts {
		h.counts[i] += c
	}
	h.n += o.n
	h.max = max(h.max, o.max)
}

// quantile returns the q-quantile (0 < q <= 1); the maximum is exact.
func (h *histogram) quantile(q float64) time.Duration {
	if h.n == 0 {
		return 0
	}
	if q >= 1 {
		return time.Duration(h.max)
	}
	rank := uint64(math.Ceil(q * float64(h.n)))
	var seen uint64
	for i, c := range h.counts {
		seen += c
		if seen >= rank {
			return time.Duration(min(bucketMid(i), h.max))
		}
	}
	return time.Duration(h.max)
}

// seqRange is an inclusive range of sequence numbers.
type seqRange struct{ from, to int64 }

// maxGapRanges bounds the gaps a subscriber remembers; past it the lost
// count of that subscriber becomes an estimate (and gaps are reported
// anyway, so the run fails).
const maxGapRanges = 1000

// ackRecord is one acked send: its room (index into load.rooms) and seq.
type ackRecord struct {
	room int32
	seq  int64
}

// tally is what the subscribers' seq checks add up to.
type tally struct {
	expected    int64 // acked messages x subscribers subscribed before them
	received    int64 // of those, how many arrived
	unacked     int64 // deliveries of messages whose ack never came back
	duplicates  int64
	gaps        int64 // jumps in seq
	gapMessages int64 // seqs skipped by those jumps
	estimated   bool  // some subscriber had too many gaps to count exactly
}

// countTally compares what every subscriber received with the acks. A
// subscriber whose stream started at seq start should have every acked seq
// above start; having received in order, it holds (start, last] minus its
// gaps.
func countTally(subs []*subscriber, acks [][]int64) tally {
	for _, a := range acks {
		slices.Sort(a)
	}
	// countIn returns how many of a's seqs are in (from, to].
	countIn := func(a []int64, from, to int64) int64 {
		if to <= from {
			return 0
		}
		i, _ := slices.BinarySearch(a, from+1)
		j := len(a)
		if to < math.MaxInt64 {
			j, _ = slices.BinarySearch(a, to+1)
		}
		return int64(j - i)
	}
	var t tally
	for _, s := range subs {
		t.duplicates += s.duplicates
		t.gaps += s.gaps
		t.gapMessages += s.gapMessages
		if s.start < 0 {
			continue // never subscribed: counted as a failed connection
		}
		a := acks[s.room]
		want := countIn(a, s.start, math.MaxInt64)
		got := countIn(a, s.start, s.lastSeq)
		for _, g := range s.gapRanges {
			got -= countIn(a, g.from-1, g.to)
		}
		if s.gapOverflow {
			t.estimated = true
		}
		got = max(got, 0)
		t.expected += want
		t.received += got
		t.unacked += max(s.delivered-got, 0)
	}
	return t
}
