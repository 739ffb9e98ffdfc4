package tess

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"
)

// Wait polls execution id until it reaches a terminal status, calling onProgress when its
// text grows. It gives up after Config.PollDeadline with an error wrapping ErrTimeout. As
// with Execute, an error after the first poll comes with the Result known so far.
func (c *Client) Wait(ctx context.Context, id int64, onProgress func(Progress)) (*Result, error) {
	if id <= 0 {
		return nil, fmt.Errorf("tess: wait: invalid execution id %d", id)
	}
	st := &runState{id: id, onProgress: onProgress}
	return c.poll(ctx, st, 0)
}

// getExecution sends one GET /agent-responses/{id}.
func (c *Client) getExecution(ctx context.Context, id int64, ev *execution) error {
	return c.getJSON(ctx, "/agent-responses/"+strconv.FormatInt(id, 10), (*polledExecution)(ev))
}

// polledExecution decodes a polled execution with the lenient rules of decodeExecution.
type polledExecution execution

// UnmarshalJSON decodes b with decodeExecution.
func (p *polledExecution) UnmarshalJSON(b []byte) error {
	return decodeExecution(b, (*execution)(p))
}

// maxPollNotFound is how many 404s polling an execution takes before it gives up, because
// Tess may not serve an execution yet right after starting it.
const maxPollNotFound = 3

// poll polls st.id after a first wait until a terminal status, a lasting error or the
// poll deadline. Waits grow from Config.PollInterval by half each time up to
// Config.PollMaxInterval, and are at least what a 429 asked for. A 429, a 5xx, a
// connection error or one of the first maxPollNotFound 404s is logged once and polling
// goes on.
func (c *Client) poll(ctx context.Context, st *runState, wait time.Duration) (*Result, error) {
	pctx, cancel := context.WithTimeout(ctx, c.cfg.PollDeadline)
	defer cancel()
	interval := c.cfg.PollInterval
	failures, notFound := 0, 0
	for {
		if err := sleep(pctx, jitter(wait, 0.1)); err != nil {
			return st.result(), c.pollStopped(ctx, st)
		}
		wait, interval = interval, min(interval+interval/2, c.cfg.PollMaxInterval)

		var ev execution
		err := c.getExecution(pctx, st.id, &ev)
		if isNotFound(err) {
			notFound++
		}
		transient := isRetryable(err) || (isNotFound(err) && notFound <= maxPollNotFound)
		switch {
		case err == nil:
			if failures > 0 {
				c.log.Info("tess polling recovered", "execution_id", st.id, "failures", failures)
				failures = 0
			}
			st.applyPolled(&ev)
			if st.kind != statusRunning {
				return st.finish(c.redact)
			}
		case transient && pctx.Err() == nil:
			failures++
			if failures == 1 {
				c.log.Warn("tess poll failed, still polling", "execution_id", st.id, "err", err)
			}
			wait = max(wait, c.rateLimitWait(err))
		case errors.Is(err, context.DeadlineExceeded) || pctx.Err() != nil:
			return st.result(), c.pollStopped(ctx, st)
		default:
			return st.result(), fmt.Errorf("tess: poll execution %d: %w", st.id, err)
		}
	}
}

// pollStopped returns the error for polling that ended before a terminal status: ctx's
// own error, or ErrTimeout when the poll deadline passed first.
func (c *Client) pollStopped(ctx context.Context, st *runState) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	c.log.Warn("tess execution still running at the poll deadline",
		"execution_id", st.id,
		"status", st.status,
		"deadline", c.cfg.PollDeadline)
	return fmt.Errorf("tess: execution %d still %q after %s: %w",
		st.id, st.status, c.cfg.PollDeadline, ErrTimeout)
}

// isNotFound reports whether err is an HTTP 404 from the API.
func isNotFound(err error) bool {
	var apiErr *APIError
	return errors.As(err, &apiErr) && apiErr.StatusCode == http.StatusNotFound
}

// rateLimitWait returns the capped wait a 429 asked for, or 0 for other errors.
func (c *Client) rateLimitWait(err error) time.Duration {
	var apiErr *APIError
	if errors.As(err, &apiErr) && apiErr.StatusCode == http.StatusTooManyRequests {
		return min(apiErr.RetryAfter, c.cfg.MaxRetryAfter)
	}
	return 0
}
