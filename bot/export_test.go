package bot

import (
	"github.com/tessbot/tessbot/scheduler"
	"github.com/tessbot/tessbot/tess"
)

// WithTuning returns cfg with tessTuning and schedulerTuning applied to the settings of
// the Tess client and of the scheduler at start.
func WithTuning(cfg Config, tessTuning func(*tess.Config), schedulerTuning func(*scheduler.Config)) Config {
	cfg.tessTuning = tessTuning
	cfg.schedulerTuning = schedulerTuning
	return cfg
}
