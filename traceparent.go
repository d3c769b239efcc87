package synclayer

import "context"

// The tracing library lives in cmd/synclayer; the packages between the
// webhook and the destination call carry only these two strings in the
// context, so they import nothing for it and pay nothing when tracing is off.

type traceParentKey struct{}
type httpRouteKey struct{}

// WithTraceParent returns ctx carrying a W3C traceparent
// ("00-<trace id>-<span id>-<flags>"). The store records it with the jobs
// it enqueues under ctx, so a delivery that runs later in a worker
// continues the trace of the webhook that caused it.
func WithTraceParent(ctx context.Context, traceparent string) context.Context {
	return context.WithValue(ctx, traceParentKey{}, traceparent)
}

// TraceParent returns the traceparent WithTraceParent put in ctx, or "".
func TraceParent(ctx context.Context) string {
	s, _ := ctx.Value(traceParentKey{}).(string)
	return s
}

// WithHTTPRoute returns ctx naming the path template of the request a
// destination client is about to send ("/contacts/{identifier}"), so a
// tracing transport can name the call without the emails and IDs its
// path holds.
func WithHTTPRoute(ctx context.Context, route string) context.Context {
	return context.WithValue(ctx, httpRouteKey{}, route)
}

// HTTPRoute returns the template WithHTTPRoute put in ctx, or "".
func HTTPRoute(ctx context.Context) string {
	s, _ := ctx.Value(httpRouteKey{}).(string)
	return s
}
