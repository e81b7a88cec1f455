// Package tracing sends OpenTelemetry traces over OTLP/HTTP, when
// OTEL_EXPORTER_OTLP_ENDPOINT (or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) says
// where to: a span for every HTTP request, named by its route, for every
// commit of a batch of sends to the store, and for every publish of
// messages to the broker. It is the one package that imports OpenTelemetry.
//
// Everything is set up from the standard OTEL_* variables (endpoint,
// headers, timeout, compression, OTEL_SERVICE_NAME,
// OTEL_RESOURCE_ATTRIBUTES, OTEL_TRACES_SAMPLER, OTEL_BSP_*). Without an
// endpoint, or with OTEL_SDK_DISABLED=true, Start returns a nil *Tracing,
// whose methods hand back what they are given: no exporter, no goroutine,
// no cost.
package tracing

import (
	"context"
	"fmt"
	"net/http"
	"strings"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// Tracing holds the tracer provider; a nil *Tracing traces nothing. It is
// safe for concurrent use.
type Tracing struct {
	provider   *sdktrace.TracerProvider
	tracer     trace.Tracer
	propagator propagation.TextMapPropagator
}

// Enabled reports whether getenv's OTEL_* variables ask for traces.
func Enabled(getenv func(string) string) bool {
	if strings.EqualFold(strings.TrimSpace(getenv("OTEL_SDK_DISABLED")), "true") {
		return false
	}
	return getenv("OTEL_EXPORTER_OTLP_ENDPOINT") != "" || getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") != ""
}

// Start sets tracing up when Enabled(getenv), and returns nil otherwise.
// node becomes the service.instance.id of every span, so that traces say
// which node served them as logs do. The exporter itself reads its
// settings from the process's environment, as every OpenTelemetry SDK
// does. Shutdown sends what is still buffered.
func Start(ctx context.Context, getenv func(string) string, node string) (*Tracing, error) {
	if !Enabled(getenv) {
		return nil, nil
	}
	exp, err := otlptracehttp.New(ctx)
	if err != nil {
		return nil, fmt.Errorf("OpenTelemetry exporter: %w", err)
	}
	// Later sources win: the variables override the defaults.
	res, err := resource.New(ctx,
		resource.WithAttributes(
			attribute.String("service.name", "hanashi"),
			attribute.String("service.instance.id", node),
		),
		resource.WithTelemetrySDK(),
		resource.WithFromEnv(),
	)
	if err != nil {
		return nil, fmt.Errorf("OpenTelemetry resource (OTEL_RESOURCE_ATTRIBUTES): %w", err)
	}
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp), sdktrace.WithResource(res))
	return &Tracing{
		provider:   tp,
		tracer:     tp.Tracer("github.com/hanashi-chat/hanashi"),
		propagator: propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{}),
	}, nil
}

// Shutdown exports the spans still buffered and stops, within ctx.
func (t *Tracing) Shutdown(ctx context.Context) error {
	if t == nil {
		return nil
	}
	return t.provider.Shutdown(ctx)
}

// Middleware traces each request with a server span named by its route
// ("GET /api/v1/rooms/{id}"), continuing a trace the caller propagated
// (traceparent). It must wrap the http.ServeMux itself, which sets
// r.Pattern on the request it is given. The span carries the method, the
// route and the status, never the URL: query strings hold sign-in tokens,
// and paths hold ids that would make every span name unique.
func (t *Tracing) Middleware(next http.Handler) http.Handler {
	if t == nil {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := t.propagator.Extract(r.Context(), propagation.HeaderCarrier(r.Header))
		ctx, span := t.tracer.Start(ctx, r.Method, trace.WithSpanKind(trace.SpanKindServer),
			trace.WithAttributes(attribute.String("http.request.method", r.Method)))
		r = r.WithContext(ctx)
		sw := &statusWriter{ResponseWriter: w}
		defer func() {
			// Deferred, so that a handler's panic ends its span too, as
			// an error, before it goes on to whoever recovers it.
			v := recover()
			if route := route(r.Pattern); route != "" {
				span.SetName(r.Method + " " + route)
				span.SetAttributes(attribute.String("http.route", route))
			}
			if sw.status != 0 {
				span.SetAttributes(attribute.Int("http.response.status_code", sw.status))
			}
			switch {
			case v != nil:
				span.SetStatus(codes.Error, "panic")
			case sw.status >= 500:
				span.SetStatus(codes.Error, http.StatusText(sw.status))
			}
			span.End()
			if v != nil {
				panic(v)
			}
		}()
		next.ServeHTTP(sw, r)
	})
}

// route is a ServeMux pattern without its method and host: the path
// template.
func route(pattern string) string {
	if _, p, ok := strings.Cut(pattern, " "); ok {
		pattern = strings.TrimSpace(p)
	}
	if i := strings.IndexByte(pattern, '/'); i > 0 {
		pattern = pattern[i:] // a host
	}
	return pattern
}

// statusWriter notes the status a handler answers with. Unwrap lets
// http.ResponseController reach the connection beneath, for the
// WebSocket upgrade's Hijack and for Flush.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 && code >= 200 { // 1xx are interim answers
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
