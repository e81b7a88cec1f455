package tracing

import (
	"context"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/hanashi-chat/hanashi"
)

// Store returns s with a span for every Post: the hub's commit of a batch
// of sends, the write that every message waits for. The other operations
// pass through. A nil *Tracing returns s itself.
//
// The wrapper hides any methods of s beyond hanashi.Store (such as a
// Ping for readiness checks): ask s itself for those.
func (t *Tracing) Store(s hanashi.Store) hanashi.Store {
	if t == nil {
		return s
	}
	return &store{Store: s, tracer: t.tracer}
}

type store struct {
	hanashi.Store
	tracer trace.Tracer
}

var _ hanashi.Store = (*store)(nil)

func (s *store) Post(ctx context.Context, posts []hanashi.Post) ([]hanashi.PostResult, error) {
	ctx, span := s.tracer.Start(ctx, "store.Post", trace.WithSpanKind(trace.SpanKindClient),
		trace.WithAttributes(attribute.Int("hanashi.posts", len(posts))))
	defer span.End()
	res, err := s.Store.Post(ctx, posts)
	if err != nil {
		span.RecordError(err)
		span.SetStatus(codes.Error, "commit failed")
	}
	return res, err
}

// Broker returns b with a span for every Publish of messages. Signals
// (PublishSignals: typing, presence) pass through untraced: every idle
// node sends presence now and then, and those spans would drown the ones
// of messages. A nil *Tracing returns b itself.
func (t *Tracing) Broker(b hanashi.Broker) hanashi.Broker {
	if t == nil {
		return b
	}
	return &broker{Broker: b, tracer: t.tracer}
}

type broker struct {
	hanashi.Broker
	tracer trace.Tracer
}

var _ hanashi.Broker = (*broker)(nil)

func (b *broker) Publish(ctx context.Context, msgs []hanashi.Message) error {
	ctx, span := b.tracer.Start(ctx, "broker.Publish", trace.WithSpanKind(trace.SpanKindProducer),
		trace.WithAttributes(attribute.Int("hanashi.messages", len(msgs))))
	defer span.End()
	err := b.Broker.Publish(ctx, msgs)
	if err != nil {
		span.RecordError(err)
		span.SetStatus(codes.Error, "publish failed")
	}
	return err
}
