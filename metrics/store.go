package metrics

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/hanashi-chat/hanashi"
)

// Store returns s with the latency of its busiest operations recorded in
// hanashi_store_seconds{op}: the hub's commits and reads (Post, Messages,
// LastSeq, and LastSeqs for the sweep), what every page view and API call
// does (History, MarkRead, MarkUnread, Unread, Room, SessionUser) and the
// revocation poll every node runs several times a second. The other operations pass through unmeasured.
//
// The wrapper hides any methods of s beyond hanashi.Store (such as a
// Ping for readiness checks): ask s itself for those.
func (m *Metrics) Store(s hanashi.Store) hanashi.Store {
	// Each op's series is made now, so that it is scraped (as zero) from
	// the start and a call costs no label lookup.
	op := func(name string) prometheus.Observer { return m.store.WithLabelValues(name) }
	return &store{
		Store:           s,
		post:            op("Post"),
		messages:        op("Messages"),
		history:         op("History"),
		lastSeq:         op("LastSeq"),
		lastSeqs:        op("LastSeqs"),
		markRead:        op("MarkRead"),
		markUnread:      op("MarkUnread"),
		unread:          op("Unread"),
		room:            op("Room"),
		sessionUser:     op("SessionUser"),
		revokedSessions: op("RevokedSessions"),
	}
}

// store measures the operations it overrides; the embedded Store serves
// the rest.
type store struct {
	hanashi.Store
	post, messages, history, lastSeq, lastSeqs, markRead, markUnread, unread, room, sessionUser, revokedSessions prometheus.Observer
}

var _ hanashi.Store = (*store)(nil)

// since records the time from start, failures included: a slow failure
// is as much a problem as a slow success.
func since(o prometheus.Observer, start time.Time) {
	o.Observe(time.Since(start).Seconds())
}

func (s *store) Post(ctx context.Context, posts []hanashi.Post) ([]hanashi.PostResult, error) {
	defer since(s.post, time.Now())
	return s.Store.Post(ctx, posts)
}

func (s *store) Messages(ctx context.Context, room hanashi.RoomID, p hanashi.Page) ([]hanashi.Message, error) {
	defer since(s.messages, time.Now())
	return s.Store.Messages(ctx, room, p)
}

func (s *store) History(ctx context.Context, room hanashi.RoomID, viewer hanashi.UserID, p hanashi.Page) ([]hanashi.Message, error) {
	defer since(s.history, time.Now())
	return s.Store.History(ctx, room, viewer, p)
}

func (s *store) LastSeq(ctx context.Context, room hanashi.RoomID) (int64, error) {
	defer since(s.lastSeq, time.Now())
	return s.Store.LastSeq(ctx, room)
}

func (s *store) LastSeqs(ctx context.Context, rooms []hanashi.RoomID) ([]int64, error) {
	defer since(s.lastSeqs, time.Now())
	return s.Store.LastSeqs(ctx, rooms)
}

func (s *store) MarkRead(ctx context.Context, user hanashi.UserID, room hanashi.RoomID, seq int64) (int64, error) {
	defer since(s.markRead, time.Now())
	return s.Store.MarkRead(ctx, user, room, seq)
}

func (s *store) MarkUnread(ctx context.Context, user hanashi.UserID, room hanashi.RoomID, seq int64) (int64, error) {
	defer since(s.markUnread, time.Now())
	return s.Store.MarkUnread(ctx, user, room, seq)
}

func (s *store) Unread(ctx context.Context, user hanashi.UserID) ([]hanashi.UnreadCount, error) {
	defer since(s.unread, time.Now())
	return s.Store.Unread(ctx, user)
}

func (s *store) Room(ctx context.Context, id hanashi.RoomID, viewer hanashi.UserID) (hanashi.Room, error) {
	defer since(s.room, time.Now())
	return s.Store.Room(ctx, id, viewer)
}

func (s *store) SessionUser(ctx context.Context, tokenHash []byte) (hanashi.User, error) {
	defer since(s.sessionUser, time.Now())
	return s.Store.SessionUser(ctx, tokenHash)
}

func (s *store) RevokedSessions(ctx context.Context, after int64) ([][]byte, int64, error) {
	defer since(s.revokedSessions, time.Now())
	return s.Store.RevokedSessions(ctx, after)
}

// Broker returns b with the time of every Publish of committed messages
// recorded in hanashi_broker_publish_seconds; signals (PublishSignals)
// pass through unmeasured. Like Store, it hides b's other methods.
func (m *Metrics) Broker(b hanashi.Broker) hanashi.Broker {
	return &broker{Broker: b, publish: m.publish}
}

type broker struct {
	hanashi.Broker
	publish prometheus.Observer
}

var _ hanashi.Broker = (*broker)(nil)

func (b *broker) Publish(ctx context.Context, msgs []hanashi.Message) error {
	defer since(b.publish, time.Now())
	return b.Broker.Publish(ctx, msgs)
}
