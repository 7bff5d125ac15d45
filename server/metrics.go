package server

import (
	"strconv"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/adaptor"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/sesame-auth/sesame/mail"
)

// metrics are the server's Prometheus series, in a registry of its own
// (no global state).
type metrics struct {
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
	oidc     *prometheus.CounterVec
	handler  fiber.Handler
}

// newMetrics registers the HTTP series, the Go and process collectors,
// and extra: the sign-in counter package signin keeps and the mail
// outbox's counters.
func newMetrics(extra ...prometheus.Collector) *metrics {
	reg := prometheus.NewRegistry()
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sesame_http_requests_total", Help: "HTTP requests by route, method and status.",
		}, []string{"route", "method", "status"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "sesame_http_request_duration_seconds", Help: "HTTP request latency by route and method.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
		}, []string{"route", "method"}),
		oidc: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sesame_oidc_events_total", Help: "OpenID Connect provider events (authorize, consent, code, refresh, back-channel logout) by result.",
		}, []string{"event", "result"}),
	}
	reg.MustRegister(m.requests, m.latency, m.oidc,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	reg.MustRegister(extra...)
	m.handler = adaptor.HTTPHandler(promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	return m
}

// mailCounters are the mail outbox's counters for this instance, read
// from the queue at each scrape.
func mailCounters(stats func() mail.QueueStats) []prometheus.Collector {
	if stats == nil {
		return nil
	}
	counter := func(name, help string, v func(mail.QueueStats) uint64) prometheus.Collector {
		return prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name, Help: help},
			func() float64 { return float64(v(stats())) })
	}
	return []prometheus.Collector{
		counter("sesame_mail_queued_total", "Messages stored in the mail outbox by this instance.",
			func(s mail.QueueStats) uint64 { return s.Queued }),
		counter("sesame_mail_sent_total", "Messages this instance handed to the relay.",
			func(s mail.QueueStats) uint64 { return s.Sent }),
		counter("sesame_mail_retried_total", "Failed sends this instance will try again.",
			func(s mail.QueueStats) uint64 { return s.Retried }),
		counter("sesame_mail_expired_total", "Messages given up unsent because they were no longer of use.",
			func(s mail.QueueStats) uint64 { return s.Expired }),
		counter("sesame_mail_failed_total", "Messages given up because they could not be rendered (a bug).",
			func(s mail.QueueStats) uint64 { return s.Failed }),
	}
}

func (m *metrics) observe(method, route string, status int, d time.Duration) {
	m.requests.WithLabelValues(route, method, strconv.Itoa(status)).Inc()
	m.latency.WithLabelValues(route, method).Observe(d.Seconds())
}

// OIDCEvent counts one OpenID Connect provider event; it is the
// provider's oidc.Observer.
func (s *Server) OIDCEvent(event, result string) {
	s.metrics.oidc.WithLabelValues(event, result).Inc()
}
