package bot

import (
	"net"

	"github.com/tessbot/tessbot/metrics"
)

// WithMetrics returns cfg with m in place of the metrics that Run creates, and with ln,
// when not nil, in place of the METRICS_ADDR listener.
func WithMetrics(cfg Config, m *metrics.Metrics, ln net.Listener) Config {
	cfg.metrics = m
	cfg.metricsListener = ln
	return cfg
}
