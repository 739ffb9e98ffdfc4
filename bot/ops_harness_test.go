package bot_test

import (
	"context"
	"log/slog"
	"net"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"

	"github.com/tessbot/tessbot/bot"
	"github.com/tessbot/tessbot/internal/fakeslack"
	"github.com/tessbot/tessbot/metrics"
)

// startWithMetrics runs the bot with metrics that the test reads and with /metrics and
// /healthz on a listener of the test, waits for its Socket Mode connection, and returns
// the metrics and the base URL of the listener.
func (h *harness) startWithMetrics() (*metrics.Metrics, string) {
	h.t.Helper()
	m := metrics.New()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		h.t.Fatal(err)
	}
	cfg, err := h.config()
	if err != nil {
		h.t.Fatalf("config: %v", err)
	}
	cfg = bot.WithMetrics(cfg, m, ln)

	connected := h.slack.ConnectionCount() + 1
	ctx, cancel := context.WithCancel(context.Background())
	h.cancel = cancel
	h.done = make(chan error, 1)
	logger := slog.New(slog.NewTextHandler(h.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	go func() { h.done <- bot.Run(ctx, cfg, logger) }()
	h.slack.WaitConnections(h.t, connected, waitTimeout)
	return m, "http://" + ln.Addr().String()
}

// metricValue returns the value of the counter or gauge name whose labels include
// labels, summed over the matching series, or the sample count of a histogram.
func metricValue(t *testing.T, m *metrics.Metrics, name string, labels map[string]string) float64 {
	t.Helper()
	families, err := m.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	total := 0.0
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
		for _, metric := range f.GetMetric() {
			if hasLabels(metric, labels) {
				total += sampleValue(metric)
			}
		}
	}
	return total
}

func hasLabels(metric *dto.Metric, labels map[string]string) bool {
	found := 0
	for _, pair := range metric.GetLabel() {
		if want, ok := labels[pair.GetName()]; ok && want == pair.GetValue() {
			found++
		}
	}
	return found == len(labels)
}

func sampleValue(metric *dto.Metric) float64 {
	switch {
	case metric.Counter != nil:
		return metric.GetCounter().GetValue()
	case metric.Gauge != nil:
		return metric.GetGauge().GetValue()
	case metric.Histogram != nil:
		return float64(metric.GetHistogram().GetSampleCount())
	}
	return 0
}

// waitMetric waits until the metric reaches want, because the bot counts a reply as
// finished only after its final text is confirmed.
func waitMetric(t *testing.T, m *metrics.Metrics, name string, labels map[string]string, want float64) {
	t.Helper()
	deadline := time.After(waitTimeout)
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for {
		got := metricValue(t, m, name, labels)
		if got == want {
			return
		}
		select {
		case <-tick.C:
		case <-deadline:
			t.Fatalf("%s%v = %v, want %v", name, labels, got, want)
		}
	}
}

// waitEphemeral waits for an ephemeral message to user in channel and returns it.
func (h *harness) waitEphemeral(channel, user string) fakeslack.Ephemeral {
	h.t.Helper()
	var got fakeslack.Ephemeral
	h.slack.WaitFor(h.t, func(s *fakeslack.Server) bool {
		for _, e := range s.Ephemerals(channel) {
			if e.User == user {
				got = e
				return true
			}
		}
		return false
	}, waitTimeout)
	return got
}
