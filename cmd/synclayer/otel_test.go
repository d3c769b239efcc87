package main

import (
	"context"
	"strings"
	"testing"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"synclayer"
	"synclayer/queue"
)

// TestTrace_CoalescedDeliveryLinks checks the delivery span of a job that
// carries several requests' changes: a child of the first, linked to the
// others; and of a job queued without a trace: a root of its own.
func TestTrace_CoalescedDeliveryLinks(t *testing.T) {
	t.Parallel()
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	tel := &telemetry{tracer: tp.Tracer("test"), tp: tp}
	first := "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
	second := "00-1bf7651916cd43dd8448eb211c80319c-c7ad6b7169203331-01"
	job := &synclayer.Job{ID: 1, Queue: "customer-sync", Destination: "brevo", RecordKey: "ct_1", Attempts: 1,
		TraceParents: []string{first, second, "not-a-traceparent"}}
	_, end := tel.deliverySpan(context.Background(), job)
	end(queue.OutcomeDelivered, nil)
	_, end = tel.deliverySpan(context.Background(), &synclayer.Job{ID: 2, Queue: "customer-sync"})
	end(queue.OutcomeDelivered, nil)

	spans := rec.Ended()
	if len(spans) != 2 {
		t.Fatalf("spans: %d, want 2", len(spans))
	}
	s := spans[0]
	if s.Name() != "deliver customer-sync" || s.Parent().TraceID().String() != "0af7651916cd43dd8448eb211c80319c" || s.Parent().SpanID().String() != "b7ad6b7169203331" {
		t.Errorf("coalesced delivery %q has parent %v, want the first request's span", s.Name(), s.Parent())
	}
	if l := s.Links(); len(l) != 1 || l[0].SpanContext.TraceID().String() != "1bf7651916cd43dd8448eb211c80319c" {
		t.Errorf("coalesced delivery links: %v, want the second request's span only", l)
	}
	if spans[1].Parent().IsValid() || len(spans[1].Links()) != 0 {
		t.Errorf("a job without a trace got parent %v and links %v", spans[1].Parent(), spans[1].Links())
	}
}

func TestTrace_ConfigValidation(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ yaml, want string }{
		{"telemetry:\n  otlp_endpoint: otel-collector:4318\n", "telemetry.otlp_endpoint"},
		{"telemetry:\n  sample_ratio: 1.5\n", "telemetry.sample_ratio"},
	} {
		_, err := ParseConfig([]byte(c.yaml), "")
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: %v, want an error naming %s", c.yaml, err, c.want)
		}
	}
	cfg, err := ParseConfig([]byte("telemetry:\n  otlp_endpoint: http://otel-collector:4318\n  sample_ratio: 0.25\n"), "")
	if err != nil || cfg.Telemetry.OTLPEndpoint != "http://otel-collector:4318" || *cfg.Telemetry.SampleRatio != 0.25 {
		t.Fatalf("valid telemetry block: %+v, %v", cfg.Telemetry, err)
	}
	if got := tracesURL("http://otel-collector:4318"); got != "http://otel-collector:4318/v1/traces" {
		t.Errorf("traces URL: %s", got)
	}
	if got := tracesURL("https://c.example/otlp/v1/traces"); got != "https://c.example/otlp/v1/traces" {
		t.Errorf("a full traces URL was changed: %s", got)
	}
	// No telemetry block leaves no trace in the stored config version.
	plain, _ := ParseConfig([]byte("log:\n  level: info\n"), "")
	if doc, err := plain.versionYAML(); err != nil || strings.Contains(doc, "telemetry") {
		t.Errorf("the stored version names telemetry: %v\n%s", err, doc)
	}
}
