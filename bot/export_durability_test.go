package bot

import "time"

// WithStoreRetry returns cfg with background retries of failed store writes that wait
// first, doubled up to maxWait, for at most attempts tries.
func WithStoreRetry(cfg Config, first, maxWait time.Duration, attempts int) Config {
	cfg.storeRetry = &retryPolicy{first: first, max: maxWait, attempts: attempts}
	return cfg
}
