package metrics

import (
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// HTTPBuckets run from 5 ms, a health check, to 10 s, past which the
// server's own write timeout cuts a request off anyway.
var HTTPBuckets = prometheus.DefBuckets

func newHTTPDuration() *prometheus.HistogramVec {
	return prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "synclayer_http_request_duration_seconds",
		Help:    "HTTP requests served, by the route pattern that matched (\"unmatched\" for none), method and status code.",
		Buckets: HTTPBuckets,
	}, []string{"route", "method", "code"})
}

// knownMethods bound the method label: a client can send any token as a
// method, and each would otherwise make series of its own.
var knownMethods = map[string]bool{"GET": true, "HEAD": true, "POST": true, "PUT": true, "PATCH": true, "DELETE": true, "OPTIONS": true}

// HTTPRequest records one request's duration. route must be the matched
// ServeMux pattern ("GET /api/v1/contacts/{id}"), never the raw path, or
// every contact ID would become a series; an unknown method is "other".
func (m *Metrics) HTTPRequest(route, method string, code int, d time.Duration) {
	if !knownMethods[method] {
		method = "other"
	}
	m.httpDuration.WithLabelValues(route, method, strconv.Itoa(code)).Observe(d.Seconds())
}
