package main

import (
	"bytes"
	"strconv"
)

// The receivers read hundreds of thousands of frames a second, so they do
// not unmarshal them: they look up the few fields they need by key. That is
// sound for JSON the server produced: a key followed by a colon cannot occur
// inside a string (its quotes would be escaped), and the message, ack and
// subscribed frames have no nested object with a "seq", "room", "body" or
// "client_id" key.

var (
	keyType     = []byte(`"type":"`)
	keySeq      = []byte(`"seq":`)
	keyRoom     = []byte(`"room":`)
	keyBody     = []byte(`"body":"`)
	keyClientID = []byte(`"client_id":"`)
	keyMessage  = []byte(`"message":"`)
)

// stringField returns the raw (still escaped) string value of key, which
// must include the opening quote of the value.
func stringField(p, key []byte) []byte {
	i := bytes.Index(p, key)
	if i < 0 {
		return nil
	}
	p = p[i+len(key):]
	for j := 0; j < len(p); j++ {
		switch p[j] {
		case '\\':
			j++
		case '"':
			return p[:j]
		}
	}
	return nil
}

// intField returns the integer value of key.
func intField(p, key []byte) (int64, bool) {
	i := bytes.Index(p, key)
	if i < 0 {
		return 0, false
	}
	return leadingInt(p[i+len(key):])
}

// leadingInt parses the decimal digits p starts with.
func leadingInt(p []byte) (int64, bool) {
	var n int64
	j := 0
	for ; j < len(p) && j < 19 && '0' <= p[j] && p[j] <= '9'; j++ {
		n = n*10 + int64(p[j]-'0')
	}
	return n, j > 0
}

// frameType returns the type of a server frame: encoding/json writes it
// first, so this is nearly free.
func frameType(p []byte) []byte { return stringField(p, keyType) }

// bodyTime returns the send time in unix nanoseconds at the start of a
// message's body (see appendSend).
func bodyTime(p []byte) (int64, bool) {
	i := bytes.Index(p, keyBody)
	if i < 0 {
		return 0, false
	}
	return leadingInt(p[i+len(keyBody):])
}

// minBody is the smallest body: the 19 digits of a unix time in
// nanoseconds (good until 2286). maxBody is the server's limit.
const (
	minBody = 19
	maxBody = 16384
)

// appendSend appends the send frame of publisher pub's n-th message to
// room: the body is the send time padded with 'x' to size bytes, and the
// client_id is zero-padded so that sorting client_ids sorts by send time.
func appendSend(b []byte, room int64, pub int, n uint64, sent int64, size int) []byte {
	b = append(b, `{"type":"send","room":`...)
	b = strconv.AppendInt(b, room, 10)
	b = append(b, `,"client_id":"`...)
	b = appendClientID(b, pub, n)
	b = append(b, `","body":"`...)
	start := len(b)
	b = strconv.AppendInt(b, sent, 10)
	for len(b)-start < size {
		b = append(b, 'x')
	}
	return append(b, `"}`...)
}

// appendClientID appends "p<pub>-<n>" with pub zero-padded to 5 digits and
// n to 12.
func appendClientID(b []byte, pub int, n uint64) []byte {
	b = append(b, 'p')
	b = appendPadded(b, uint64(pub), 5)
	b = append(b, '-')
	return appendPadded(b, n, 12)
}

func appendPadded(b []byte, v uint64, width int) []byte {
	var digits [20]byte
	d := strconv.AppendUint(digits[:0], v, 10)
	for i := len(d); i < width; i++ {
		b = append(b, '0')
	}
	return append(b, d...)
}

// parseClientID returns the counter of a client_id made by appendClientID.
func parseClientID(id []byte) (uint64, bool) {
	i := bytes.IndexByte(id, '-')
	if i < 0 {
		return 0, false
	}
	n, ok := leadingInt(id[i+1:])
	return uint64(n), ok && n >= 0
}
