package metrics

import (
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
)

func TestEventReceivedByType(t *testing.T) {
	m := New()
	m.EventReceived("app_mention")
	m.EventReceived("app_mention")
	m.EventReceived("message")
	m.EventReceived("interactive")
	m.EventReceived("reaction_added")
	m.EventReceived("")

	for eventType, want := range map[string]float64{
		"app_mention": 2,
		"message":     1,
		"interactive": 1,
		"other":       2,
	} {
		if got := testutil.ToFloat64(m.eventsReceived.WithLabelValues(eventType)); got != want {
			t.Errorf("events_received_total{type=%q} = %v, want %v", eventType, got, want)
		}
	}
	if n := testutil.CollectAndCount(m.eventsReceived); n != 4 {
		t.Errorf("events_received_total has %d series, want 4", n)
	}
}

func TestEventDeduplicated(t *testing.T) {
	m := New()
	m.EventDeduplicated()
	m.EventDeduplicated()
	if got := testutil.ToFloat64(m.eventsDuplicate); got != 2 {
		t.Errorf("events_deduplicated_total = %v, want 2", got)
	}
}

func TestReplyLifecycle(t *testing.T) {
	m := New()
	for range 4 {
		m.ReplyStarted()
	}
	if got := testutil.ToFloat64(m.repliesInFlight); got != 4 {
		t.Fatalf("replies_in_flight after 4 starts = %v, want 4", got)
	}

	m.ReplyFinished(Completed, time.Second)
	m.ReplyFinished(Failed, 2*time.Second)
	m.ReplyFinished(Stopped, 3*time.Second)

	checks := []struct {
		name string
		got  float64
		want float64
	}{
		{"replies_started_total", testutil.ToFloat64(m.repliesStarted), 4},
		{"replies_completed_total", testutil.ToFloat64(m.repliesCompleted), 1},
		{"replies_failed_total", testutil.ToFloat64(m.repliesFailed), 1},
		{"replies_stopped_total", testutil.ToFloat64(m.repliesStopped), 1},
		{"replies_in_flight", testutil.ToFloat64(m.repliesInFlight), 1},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}

	want := `
# HELP tessbot_reply_duration_seconds Time from the start of a reply until its final text was sent, whatever its outcome.
# TYPE tessbot_reply_duration_seconds histogram
tessbot_reply_duration_seconds_bucket{le="0.5"} 0
tessbot_reply_duration_seconds_bucket{le="1"} 1
tessbot_reply_duration_seconds_bucket{le="2"} 2
tessbot_reply_duration_seconds_bucket{le="4"} 3
tessbot_reply_duration_seconds_bucket{le="8"} 3
tessbot_reply_duration_seconds_bucket{le="15"} 3
tessbot_reply_duration_seconds_bucket{le="30"} 3
tessbot_reply_duration_seconds_bucket{le="60"} 3
tessbot_reply_duration_seconds_bucket{le="120"} 3
tessbot_reply_duration_seconds_bucket{le="300"} 3
tessbot_reply_duration_seconds_bucket{le="600"} 3
tessbot_reply_duration_seconds_bucket{le="+Inf"} 3
tessbot_reply_duration_seconds_sum 6
tessbot_reply_duration_seconds_count 3
`
	if err := testutil.CollectAndCompare(m.replyDuration, strings.NewReader(want)); err != nil {
		t.Error(err)
	}
}

func TestFirstDeltaHistogram(t *testing.T) {
	m := New()
	m.ObserveFirstDelta(300 * time.Millisecond)
	m.ObserveFirstDelta(3 * time.Second)

	want := `
# HELP tessbot_tess_first_delta_seconds Time from sending a Tess execution until its first text arrived.
# TYPE tessbot_tess_first_delta_seconds histogram
tessbot_tess_first_delta_seconds_bucket{le="0.25"} 0
tessbot_tess_first_delta_seconds_bucket{le="0.5"} 1
tessbot_tess_first_delta_seconds_bucket{le="1"} 1
tessbot_tess_first_delta_seconds_bucket{le="2"} 1
tessbot_tess_first_delta_seconds_bucket{le="4"} 2
tessbot_tess_first_delta_seconds_bucket{le="8"} 2
tessbot_tess_first_delta_seconds_bucket{le="15"} 2
tessbot_tess_first_delta_seconds_bucket{le="30"} 2
tessbot_tess_first_delta_seconds_bucket{le="60"} 2
tessbot_tess_first_delta_seconds_bucket{le="120"} 2
tessbot_tess_first_delta_seconds_bucket{le="+Inf"} 2
tessbot_tess_first_delta_seconds_sum 3.3
tessbot_tess_first_delta_seconds_count 2
`
	if err := testutil.CollectAndCompare(m.firstDelta, strings.NewReader(want)); err != nil {
		t.Error(err)
	}
}

func TestAddCreditsIgnoresNegative(t *testing.T) {
	m := New()
	m.AddCredits(1.5)
	m.AddCredits(-3)
	m.AddCredits(0)
	if got := testutil.ToFloat64(m.tessCredits); got != 1.5 {
		t.Errorf("tess_credits_total = %v, want 1.5", got)
	}
}

func TestStoreErrorByOperation(t *testing.T) {
	m := New()
	m.StoreError("thread")
	m.StoreError("thread")
	m.StoreError("mark_seen")
	if got := testutil.ToFloat64(m.storeErrors.WithLabelValues("thread")); got != 2 {
		t.Errorf(`store_errors_total{op="thread"} = %v, want 2`, got)
	}
	if got := testutil.ToFloat64(m.storeErrors.WithLabelValues("mark_seen")); got != 1 {
		t.Errorf(`store_errors_total{op="mark_seen"} = %v, want 1`, got)
	}
}

func TestAccessAndContextCounters(t *testing.T) {
	m := New()
	m.AccessRejected()
	m.ThreadContextRead("ok")
	m.ThreadContextRead("rate_limited")
	m.ThreadContextRead("rate_limited")
	if got := testutil.ToFloat64(m.accessRejections); got != 1 {
		t.Errorf("access_rejected_total = %v, want 1", got)
	}
	if got := testutil.ToFloat64(m.threadContextRead.WithLabelValues("rate_limited")); got != 2 {
		t.Errorf(`thread_context_reads_total{result="rate_limited"} = %v, want 2`, got)
	}
}

func TestNilMetricsDoNothing(t *testing.T) {
	var m *Metrics
	m.EventReceived("message")
	m.EventDeduplicated()
	m.ReplyStarted()
	m.ReplyFinished(Completed, time.Second)
	m.ObserveFirstDelta(time.Second)
	m.AddCredits(1)
	m.SlackCall("chat.update", true)
	m.StoreError("thread")
	m.AccessRejected()
	m.ThreadContextRead("ok")
	if m.Registry() != nil {
		t.Error("Registry of nil Metrics is not nil")
	}
	if m.SlackTransport(nil) == nil {
		t.Error("SlackTransport of nil Metrics returned nil")
	}
}

func TestRegistryPassesLint(t *testing.T) {
	m := New()
	m.EventReceived("message")
	m.SlackCall("chat.update", true)
	m.StoreError("thread")
	m.ThreadContextRead("ok")

	problems, err := testutil.GatherAndLint(m.Registry())
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		if strings.HasPrefix(p.Metric, namespace+"_") {
			t.Errorf("lint %s: %s", p.Metric, p.Text)
		}
	}
}

func TestRegistriesAreSeparate(t *testing.T) {
	a, b := New(), New()
	a.EventDeduplicated()
	if got := testutil.ToFloat64(b.eventsDuplicate); got != 0 {
		t.Errorf("second registry sees %v deduplicated events, want 0", got)
	}
}
