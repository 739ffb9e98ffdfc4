// Package metrics exposes the bot's Prometheus metrics and its health check over HTTP. The
// collectors live in a private registry, so that tests and several bots in one process do
// not share counters. Every method of a nil *Metrics does nothing, so that code paths
// without metrics need no checks.
package metrics

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// namespace prefixes every metric name.
const namespace = "tessbot"

// Outcome is the way a reply ended.
type Outcome int

const (
	// Completed is a reply that showed the agent's whole text.
	Completed Outcome = iota
	// Failed is a reply that ended with an error note, partial text or not.
	Failed
	// Stopped is a reply that the person who asked stopped with the Stop button.
	Stopped
)

// eventTypes lists the event types that EventReceived counts by name. Any other type is
// counted as "other", so that a label value cannot come from outside the code.
var eventTypes = map[string]bool{
	"app_mention": true,
	"message":     true,
	"interactive": true,
}

// Metrics holds the bot's collectors and the registry that serves them.
type Metrics struct {
	registry *prometheus.Registry

	eventsReceived    *prometheus.CounterVec
	eventsDuplicate   prometheus.Counter
	repliesStarted    prometheus.Counter
	repliesCompleted  prometheus.Counter
	repliesFailed     prometheus.Counter
	repliesStopped    prometheus.Counter
	repliesInFlight   prometheus.Gauge
	replyDuration     prometheus.Histogram
	firstDelta        prometheus.Histogram
	tessCredits       prometheus.Counter
	slackCalls        *prometheus.CounterVec
	slackRateLimited  *prometheus.CounterVec
	storeErrors       *prometheus.CounterVec
	accessRejections  prometheus.Counter
	threadContextRead *prometheus.CounterVec
}

// New returns Metrics registered in a new private registry, together with the Go runtime
// and process collectors.
func New() *Metrics {
	m := &Metrics{
		registry: prometheus.NewRegistry(),
		eventsReceived: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace,
			Name:      "events_received_total",
			Help:      "Slack events received over Socket Mode, by type (app_mention, message, interactive, other).",
		}, []string{"type"}),
		eventsDuplicate: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: namespace,
			Name:      "events_deduplicated_total",
			Help:      "Slack events dropped as a second delivery of a message already handled.",
		}),
		repliesStarted: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: namespace,
			Name:      "replies_started_total",
			Help:      "Replies started: a placeholder was queued for a message the bot answers.",
		}),
		repliesCompleted: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: namespace,
			Name:      "replies_completed_total",
			Help:      "Replies that showed the agent's whole answer.",
		}),
		repliesFailed: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: namespace,
			Name:      "replies_failed_total",
			Help:      "Replies that ended with an error note.",
		}),
		repliesStopped: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: namespace,
			Name:      "replies_stopped_total",
			Help:      "Replies stopped by the person who asked.",
		}),
		repliesInFlight: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: namespace,
			Name:      "replies_in_flight",
			Help:      "Replies started and not yet finished.",
		}),
		replyDuration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: namespace,
			Name:      "reply_duration_seconds",
			Help:      "Time from the start of a reply until its final text was sent, whatever its outcome.",
			Buckets:   []float64{0.5, 1, 2, 4, 8, 15, 30, 60, 120, 300, 600},
		}),
		firstDelta: prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: namespace,
			Name:      "tess_first_delta_seconds",
			Help:      "Time from sending a Tess execution until its first text arrived.",
			Buckets:   []float64{0.25, 0.5, 1, 2, 4, 8, 15, 30, 60, 120},
		}),
		tessCredits: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: namespace,
			Name:      "tess_credits_total",
			Help:      "Tess credits reported by finished executions.",
		}),
		slackCalls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace,
			Name:      "slack_calls_total",
			Help:      "Slack Web API calls made, by method; file downloads count as \"download\".",
		}, []string{"method"}),
		slackRateLimited: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace,
			Name:      "slack_rate_limited_total",
			Help:      "Slack Web API calls answered with HTTP 429, by method.",
		}, []string{"method"}),
		storeErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace,
			Name:      "store_errors_total",
			Help:      "Failed thread store calls, by operation.",
		}, []string{"op"}),
		accessRejections: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: namespace,
			Name:      "access_rejected_total",
			Help:      "Messages not answered because ALLOWED_CHANNELS or ALLOWED_USERS excludes them.",
		}),
		threadContextRead: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace,
			Name:      "thread_context_reads_total",
			Help:      "Reads of earlier thread messages for context, by result (ok, rate_limited, failed).",
		}, []string{"result"}),
	}
	m.registry.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		m.eventsReceived, m.eventsDuplicate,
		m.repliesStarted, m.repliesCompleted, m.repliesFailed, m.repliesStopped,
		m.repliesInFlight, m.replyDuration,
		m.firstDelta, m.tessCredits,
		m.slackCalls, m.slackRateLimited,
		m.storeErrors, m.accessRejections, m.threadContextRead,
	)
	return m
}

// Registry returns the registry that holds every collector of m.
func (m *Metrics) Registry() *prometheus.Registry {
	if m == nil {
		return nil
	}
	return m.registry
}

// EventReceived counts one Slack event of the given type.
func (m *Metrics) EventReceived(eventType string) {
	if m == nil {
		return
	}
	if !eventTypes[eventType] {
		eventType = "other"
	}
	m.eventsReceived.WithLabelValues(eventType).Inc()
}

// EventDeduplicated counts one event dropped as a duplicate.
func (m *Metrics) EventDeduplicated() {
	if m == nil {
		return
	}
	m.eventsDuplicate.Inc()
}

// ReplyStarted counts a reply and adds it to the replies in flight. Every call must be
// matched by one ReplyFinished.
func (m *Metrics) ReplyStarted() {
	if m == nil {
		return
	}
	m.repliesStarted.Inc()
	m.repliesInFlight.Inc()
}

// ReplyFinished counts a reply that ended with outcome after total, and removes it from
// the replies in flight.
func (m *Metrics) ReplyFinished(outcome Outcome, total time.Duration) {
	if m == nil {
		return
	}
	m.repliesInFlight.Dec()
	m.replyDuration.Observe(total.Seconds())
	switch outcome {
	case Completed:
		m.repliesCompleted.Inc()
	case Stopped:
		m.repliesStopped.Inc()
	default:
		m.repliesFailed.Inc()
	}
}

// ObserveFirstDelta records the time from sending a Tess execution to its first text.
func (m *Metrics) ObserveFirstDelta(d time.Duration) {
	if m == nil {
		return
	}
	m.firstDelta.Observe(d.Seconds())
}

// AddCredits adds the Tess credits of one finished execution. Negative values are ignored,
// since a counter cannot go down.
func (m *Metrics) AddCredits(credits float64) {
	if m == nil || !(credits > 0) {
		return
	}
	m.tessCredits.Add(credits)
}

// SlackCall counts one Slack Web API call of method, and a 429 when rateLimited.
func (m *Metrics) SlackCall(method string, rateLimited bool) {
	if m == nil {
		return
	}
	m.slackCalls.WithLabelValues(method).Inc()
	if rateLimited {
		m.slackRateLimited.WithLabelValues(method).Inc()
	}
}

// StoreError counts one failed store call of operation op, such as "thread" or "mark_seen".
// op must come from the code, never from an event.
func (m *Metrics) StoreError(op string) {
	if m == nil {
		return
	}
	m.storeErrors.WithLabelValues(op).Inc()
}

// AccessRejected counts one message refused by the access lists.
func (m *Metrics) AccessRejected() {
	if m == nil {
		return
	}
	m.accessRejections.Inc()
}

// ThreadContextRead counts one read of earlier thread messages, with result "ok",
// "rate_limited" or "failed".
func (m *Metrics) ThreadContextRead(result string) {
	if m == nil {
		return
	}
	m.threadContextRead.WithLabelValues(result).Inc()
}
