package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"net/http"
	"slices"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
)

// quietPaths are polled by load balancers and Prometheus every few
// seconds: their access lines are logged at DEBUG, and they get no span.
var quietPaths = []string{"/healthz", "/readyz", "/metrics"}

type requestIDKey struct{}

// requestID returns the id observeHTTP gave the request ctx belongs to, or "".
func requestID(ctx context.Context) string {
	s, _ := ctx.Value(requestIDKey{}).(string)
	return s
}

// validRequestID reports whether a client's X-Request-Id can be kept as
// it is: short, and of characters that cannot forge a log line or a header.
func validRequestID(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for _, c := range []byte(s) {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '.' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

func newRequestID() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// observeHTTP wraps the API handler: it gives each request an id (the
// client's valid X-Request-Id, or a new one), echoed in the X-Request-Id
// response header and carried in the context to every line logged with
// it; records synclayer_http_request_duration_seconds by the matched
// route pattern; starts the request's server span when telemetry is on;
// and writes one access line. The line holds the route pattern, never the
// path or query (which can hold emails and keys), nor any header or body.
// It runs inside behindProxies, so the remote address is the client's.
func (m *Main) observeHTTP(h http.Handler) http.Handler {
	access := m.Config.Log.Access == nil || *m.Config.Log.Access
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		id := r.Header.Get("X-Request-Id")
		if !validRequestID(id) {
			id = newRequestID()
		}
		w.Header().Set("X-Request-Id", id)
		ctx := context.WithValue(r.Context(), requestIDKey{}, id)
		quiet := slices.Contains(quietPaths, r.URL.Path)
		var span trace.Span
		if m.tel != nil && !quiet {
			ctx = propagator.Extract(ctx, propagation.HeaderCarrier(r.Header))
			ctx, span = m.tel.tracer.Start(ctx, r.Method, trace.WithSpanKind(trace.SpanKindServer),
				trace.WithAttributes(attribute.String("http.request.method", r.Method)))
			defer span.End()
		}
		r = r.WithContext(ctx)
		rec := &responseRecorder{ResponseWriter: w}
		h.ServeHTTP(rec, r)

		// The mux set r.Pattern on this very request. A CONNECT's is a
		// raw path, so it is counted as unmatched.
		route := r.Pattern
		if route == "" || r.Method == http.MethodConnect {
			route = "unmatched"
		}
		status := rec.status
		if status == 0 {
			status = http.StatusOK
		}
		d := time.Since(start)
		m.metrics.HTTPRequest(route, r.Method, status, d)
		if span != nil {
			span.SetName(m.spanName(r, route))
			span.SetAttributes(attribute.String("http.route", route), attribute.Int("http.response.status_code", status))
			if status >= 500 {
				span.SetStatus(codes.Error, http.StatusText(status))
			}
		}
		level := slog.LevelInfo
		if quiet {
			level = slog.LevelDebug
		}
		if access {
			m.Logger.LogAttrs(ctx, level, "http request", slog.String("method", r.Method), slog.String("route", route),
				slog.Int("status", status), slog.Int64("duration_ms", d.Milliseconds()), slog.Int64("bytes", rec.bytes),
				slog.String("remote", peerAddr(r.RemoteAddr).String()))
		}
	})
}

// spanName is "webhook <source>" for a webhook to a configured source
// ("webhook unknown" for any other, so a scanner cannot make up span
// names), and the route pattern for the rest.
func (m *Main) spanName(r *http.Request, route string) string {
	if route != "POST /webhooks/{source}" {
		return route
	}
	src := r.PathValue("source")
	if m.Config.sources()[src] == nil {
		src = "unknown"
	}
	return "webhook " + src
}

// responseRecorder keeps the status and the size of a response as it is
// written.
type responseRecorder struct {
	http.ResponseWriter
	status int
	bytes  int64
}

func (r *responseRecorder) WriteHeader(status int) {
	if r.status == 0 && status >= 200 {
		r.status = status
	}
	r.ResponseWriter.WriteHeader(status)
}

func (r *responseRecorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	n, err := r.ResponseWriter.Write(b)
	r.bytes += int64(n)
	return n, err
}

// Unwrap lets http.ResponseController reach the connection's writer
// (flushes, deadlines).
func (r *responseRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

func (r *responseRecorder) Flush() {
	if f, ok := r.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}
