package tess

import (
	"context"
	"errors"
	"math/rand/v2"
	"net/http"
	"time"
)

// retry runs attempt until it succeeds, fails with an error that is not worth retrying, or
// has been retried Config.MaxRetries times. A 429 waits for the time Tess asked for, capped
// at Config.MaxRetryAfter; a 5xx or a connection error waits a jittered, doubling backoff.
// The caller's context is checked before each try.
func (c *Client) retry(ctx context.Context, op string, attempt func() error) error {
	for failures := 0; ; failures++ {
		if err := ctx.Err(); err != nil {
			return err
		}
		err := attempt()
		if err == nil {
			if failures > 0 {
				c.log.Info("tess call recovered", "op", op, "failures", failures)
			}
			return nil
		}
		if !isRetryable(err) || failures >= c.cfg.MaxRetries || ctx.Err() != nil {
			return err
		}
		wait := c.retryWait(err, failures)
		c.log.Warn("tess call failed, retrying",
			"op", op,
			"retry", failures+1,
			"wait", wait,
			"err", err)
		if err := sleep(ctx, wait); err != nil {
			return err
		}
	}
}

// retryWait returns how long to wait before retry number n+1 after err.
func (c *Client) retryWait(err error, n int) time.Duration {
	var apiErr *APIError
	if errors.As(err, &apiErr) && apiErr.StatusCode == http.StatusTooManyRequests && apiErr.RetryAfter > 0 {
		return min(apiErr.RetryAfter, c.cfg.MaxRetryAfter)
	}
	return c.backoff(n)
}

// backoff returns the wait before retry number n+1: RetryBackoff doubled n times, at most
// 16 times RetryBackoff, with full jitter over its upper half.
func (c *Client) backoff(n int) time.Duration {
	d := c.cfg.RetryBackoff << min(n, 4)
	return jitter(d, 0.5)
}

// jitter returns d less a random part of at most frac of d.
func jitter(d time.Duration, frac float64) time.Duration {
	if d <= 0 {
		return 0
	}
	return d - time.Duration(rand.Float64()*frac*float64(d))
}

// sleep waits for d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
