package main

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"synclayer"
	"synclayer/api"
	"synclayer/ingest"
	"synclayer/queue"
)

// TelemetryConfig is telemetry: OpenTelemetry traces, exported over
// OTLP/HTTP. Off unless an endpoint is set here or in the standard
// OTEL_EXPORTER_OTLP_ENDPOINT (or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT)
// variable; the file's endpoint wins over the variables. Every field is
// omitted from a stored config version when unset, so upgrading records no
// new version.
type TelemetryConfig struct {
	// OTLPEndpoint is the collector's base URL, e.g.
	// http://otel-collector:4318; /v1/traces is appended unless the path
	// already ends with it (env).
	OTLPEndpoint string `yaml:"otlp_endpoint,omitempty"`
	// ServiceName is service.name on every span; default synclayer.
	ServiceName string `yaml:"service_name,omitempty"`
	// SampleRatio is the share of new traces kept, 0 to 1; default 1. A
	// request that arrives with a traceparent follows its sampled flag.
	SampleRatio *float64 `yaml:"sample_ratio,omitempty"`
}

func (c *Config) finishTelemetry(e *configErrors) {
	t := c.Telemetry
	if t.OTLPEndpoint != "" {
		if u, err := url.Parse(t.OTLPEndpoint); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			e.add("telemetry.otlp_endpoint", "must be the collector's http:// or https:// base URL, such as http://otel-collector:4318, not %q", t.OTLPEndpoint)
		}
	}
	if r := t.SampleRatio; r != nil && (*r < 0 || *r > 1) {
		e.add("telemetry.sample_ratio", "must be between 0 (no trace) and 1 (every trace), not %v", *r)
	}
}

// tracesURL is the OTLP/HTTP traces URL for a collector's base URL.
func tracesURL(base string) string {
	u, err := url.Parse(base)
	if err != nil || strings.HasSuffix(u.Path, "/v1/traces") {
		return base
	}
	u.Path = strings.TrimRight(u.Path, "/") + "/v1/traces"
	return u.String()
}

// telemetry is one Main's tracing. Off, it holds nothing: no exporter, no
// goroutine, and every hook below is left unset, so a request or a
// delivery pays nothing for it.
type telemetry struct {
	tracer trace.Tracer
	tp     *sdktrace.TracerProvider
}

// propagator reads and writes W3C traceparent headers. It is this
// package's own, not otel's global, so that several servers (the tests
// run many) never share tracing state.
var propagator = propagation.TraceContext{}

// newTelemetry starts tracing when an endpoint is configured; a nil
// telemetry, and no error, when none is.
func newTelemetry(cfg TelemetryConfig, service, version, instance string, log *slog.Logger) (*telemetry, error) {
	fromEnv := os.Getenv("OTEL_EXPORTER_OTLP_ENDPOINT") != "" || os.Getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") != ""
	if strings.EqualFold(os.Getenv("OTEL_SDK_DISABLED"), "true") || cfg.OTLPEndpoint == "" && !fromEnv {
		return nil, nil
	}
	var opts []otlptracehttp.Option
	if cfg.OTLPEndpoint != "" {
		opts = append(opts, otlptracehttp.WithEndpointURL(tracesURL(cfg.OTLPEndpoint)))
	}
	// New only checks the options: a collector that is down costs dropped
	// spans, logged below, never the server's start.
	exp, err := otlptracehttp.New(context.Background(), opts...)
	if err != nil {
		return nil, fmt.Errorf("telemetry.otlp_endpoint: %w", err)
	}
	ratio := 1.0
	if cfg.SampleRatio != nil {
		ratio = *cfg.SampleRatio
	}
	tp := sdktrace.NewTracerProvider(
		sdktrace.WithBatcher(exp),
		sdktrace.WithSampler(sdktrace.ParentBased(sdktrace.TraceIDRatioBased(ratio))),
		sdktrace.WithResource(resource.NewSchemaless(
			attribute.String("service.name", service),
			attribute.String("service.version", version),
			attribute.String("service.instance.id", instance),
		)),
	)
	// otel reports export failures through its one global handler; without
	// this they would go to the standard logger, outside the server's log.
	otel.SetErrorHandler(otel.ErrorHandlerFunc(func(err error) {
		log.Warn("telemetry: exporting traces failed; spans are dropped until the collector answers", "err", err)
	}))
	endpoint := cmp.Or(cfg.OTLPEndpoint, os.Getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"), os.Getenv("OTEL_EXPORTER_OTLP_ENDPOINT"))
	log.Info("telemetry: exporting traces over OTLP/HTTP", "endpoint", endpoint, "service_name", service, "sample_ratio", ratio)
	return &telemetry{tracer: tp.Tracer("synclayer"), tp: tp}, nil
}

// flush exports the spans ended so far.
func (t *telemetry) flush(ctx context.Context) error {
	if t == nil {
		return nil
	}
	return t.tp.ForceFlush(ctx)
}

// shutdown exports what is left and stops the exporter.
func (t *telemetry) shutdown() {
	if t == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = t.tp.Shutdown(ctx)
}

// traceParent is sc as a W3C traceparent header value.
func traceParent(sc trace.SpanContext) string {
	carrier := propagation.MapCarrier{}
	propagator.Inject(trace.ContextWithSpanContext(context.Background(), sc), carrier)
	return carrier.Get("traceparent")
}

// parseTraceParent reads a traceparent the store kept; false when it is
// not one.
func parseTraceParent(s string) (trace.SpanContext, bool) {
	ctx := propagator.Extract(context.Background(), propagation.MapCarrier{"traceparent": s})
	sc := trace.SpanContextFromContext(ctx)
	return sc, sc.IsValid()
}

// tracedIngester puts each ingest in an "ingest" span and hands the span
// on to the store as the jobs' traceparent.
type tracedIngester struct {
	api.Ingester
	t *telemetry
}

func (m *Main) tracedIngester(in api.Ingester) api.Ingester {
	if m.tel == nil {
		return in
	}
	return tracedIngester{Ingester: in, t: m.tel}
}

func (ti tracedIngester) Ingest(ctx context.Context, events []*synclayer.Event) ([]ingest.Result, error) {
	attrs := []attribute.KeyValue{attribute.Int("synclayer.events", len(events))}
	if len(events) > 0 {
		attrs = append(attrs, attribute.String("synclayer.source", events[0].Source))
	}
	ctx, span := ti.t.tracer.Start(ctx, "ingest", trace.WithAttributes(attrs...))
	defer span.End()
	if sc := span.SpanContext(); sc.IsValid() {
		ctx = synclayer.WithTraceParent(ctx, traceParent(sc))
	}
	res, err := ti.Ingester.Ingest(ctx, events)
	if err != nil {
		span.RecordError(err)
		span.SetStatus(codes.Error, synclayer.ErrorMessage(err))
	}
	return res, err
}

// deliverySpan is the queue's Span hook: a "deliver <queue>" span per
// attempt. It is a child of the first request whose change the job
// carries, and links to the others a coalesced job merged
// (docs/decisions/0015-delivery-spans-child-and-links.md); a job queued
// without a trace starts one.
func (t *telemetry) deliverySpan(ctx context.Context, job *synclayer.Job) (context.Context, func(queue.Outcome, error)) {
	opts := []trace.SpanStartOption{
		trace.WithSpanKind(trace.SpanKindConsumer),
		trace.WithAttributes(
			attribute.String("synclayer.queue", job.Queue),
			attribute.String("synclayer.destination", job.Destination),
			attribute.Int64("synclayer.job.id", job.ID),
			attribute.String("synclayer.record", job.RecordKey),
			attribute.Int("synclayer.attempt", job.Attempts),
		),
	}
	parent := false
	for _, tp := range job.TraceParents {
		sc, ok := parseTraceParent(tp)
		switch {
		case !ok:
		case !parent:
			ctx, parent = trace.ContextWithRemoteSpanContext(ctx, sc), true
		default:
			opts = append(opts, trace.WithLinks(trace.Link{SpanContext: sc}))
		}
	}
	ctx, span := t.tracer.Start(ctx, "deliver "+job.Queue, opts...)
	return ctx, func(o queue.Outcome, err error) {
		span.SetAttributes(attribute.String("synclayer.outcome", string(o)))
		if err != nil {
			span.RecordError(err)
			span.SetStatus(codes.Error, err.Error())
		}
		span.End()
	}
}

// transport is a destination's HTTP transport: a client span per call,
// named by the path template the client put in the context
// (synclayer.WithHTTPRoute), never the path itself, which holds emails and
// IDs, nor the query; and the traceparent header on the request.
func (t *telemetry) transport(destination string) http.RoundTripper {
	if t == nil {
		return nil
	}
	return &tracingTransport{base: http.DefaultTransport, t: t, destination: destination}
}

type tracingTransport struct {
	base        http.RoundTripper
	t           *telemetry
	destination string
}

func (tt *tracingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	route := synclayer.HTTPRoute(r.Context())
	name := r.Method
	if route != "" {
		name += " " + route
	}
	ctx, span := tt.t.tracer.Start(r.Context(), name, trace.WithSpanKind(trace.SpanKindClient), trace.WithAttributes(
		attribute.String("http.request.method", r.Method),
		attribute.String("url.template", route),
		attribute.String("server.address", r.URL.Hostname()),
		attribute.String("synclayer.destination", tt.destination),
	))
	defer span.End()
	r = r.Clone(ctx) // a RoundTripper must not change the caller's request
	propagator.Inject(ctx, propagation.HeaderCarrier(r.Header))
	resp, err := tt.base.RoundTrip(r)
	if err != nil {
		span.RecordError(err)
		span.SetStatus(codes.Error, "request failed")
		return nil, err
	}
	span.SetAttributes(attribute.Int("http.response.status_code", resp.StatusCode))
	if resp.StatusCode >= 400 {
		span.SetStatus(codes.Error, resp.Status)
	}
	return resp, nil
}

// contextHandler adds, to a line logged with a context, the request id
// (access.go) and the active span's trace id, so one request's or one
// delivery's lines can be found together, and next to its trace.
type contextHandler struct{ slog.Handler }

func (h contextHandler) Handle(ctx context.Context, r slog.Record) error {
	if id := requestID(ctx); id != "" {
		r.AddAttrs(slog.String("request_id", id))
	}
	if sc := trace.SpanContextFromContext(ctx); sc.IsValid() {
		r.AddAttrs(slog.String("trace_id", sc.TraceID().String()))
	}
	return h.Handler.Handle(ctx, r)
}

func (h contextHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return contextHandler{h.Handler.WithAttrs(attrs)}
}

func (h contextHandler) WithGroup(name string) slog.Handler {
	return contextHandler{h.Handler.WithGroup(name)}
}
