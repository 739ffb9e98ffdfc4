package bot

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/slack-go/slack"

	"github.com/tessbot/tessbot/scheduler"
	"github.com/tessbot/tessbot/threadstore"
)

// Limits of the Slack writes of a recovered reply, which go around the scheduler because
// they edit a message that an earlier process posted.
const (
	recoveryAttempts   = 5           // tries of one write
	recoveryBackoff    = time.Second // wait after the first failure, doubled after each
	maxRecoveryBackoff = time.Minute // cap of a wait, Retry-After included
)

// errSlackRejected marks a Slack write that cannot succeed as it is, such as a post in a
// channel the bot has left. Trying it again at the next start would fail the same way.
var errSlackRejected = errors.New("rejected by slack")

// rewriteReply shows parts in the reply of p: the first in place of the message
// p.MessageTS, without the Stop button it may show, and the others as new messages in
// the thread. When Slack rejects the edit, for example because the message was deleted,
// every part goes out as a new message, as the scheduler does with a reply.
//
// NOTE: parts after the first that the stopped process had already posted are not
// recorded, so a recovered answer longer than one message repeats them.
func (b *bot) rewriteReply(p threadstore.Pending, parts []string, log *slog.Logger) error {
	ctx, cancel := context.WithTimeout(b.writeCtx, finalWaitTimeout)
	defer cancel()

	err := b.writeSlack(ctx, b.updates, func(ctx context.Context) error {
		_, _, _, err := b.api.UpdateMessageContext(ctx, p.Channel, p.MessageTS,
			slack.MsgOptionText(parts[0], false),
			slack.MsgOptionBlocks())
		return err
	})
	switch {
	case errors.Is(err, errSlackRejected):
		log.Warn("edit of the interrupted reply rejected; posting it as a new message", "err", err)
	case err != nil:
		return fmt.Errorf("update message: %w", err)
	default:
		parts = parts[1:]
	}

	for _, part := range parts {
		err := b.writeSlack(ctx, b.posts, func(ctx context.Context) error {
			_, _, err := b.api.PostMessageContext(ctx, p.Channel,
				slack.MsgOptionText(part, false),
				slack.MsgOptionTS(p.ThreadTS))
			return err
		})
		if err != nil {
			return fmt.Errorf("post message: %w", err)
		}
	}
	return nil
}

// writeSlack calls write once limiter allows it, and again after a rate limit or a
// transient failure, up to recoveryAttempts times. A rejected write returns at once with
// an error that wraps errSlackRejected.
func (b *bot) writeSlack(ctx context.Context, limiter scheduler.Limiter, write func(context.Context) error) error {
	backoff := recoveryBackoff
	for attempt := 1; ; attempt++ {
		if err := limiter.Wait(ctx); err != nil {
			return err
		}
		err := write(ctx)
		switch {
		case err == nil:
			return nil
		case isSlackRejection(err):
			return fmt.Errorf("%w: %w", errSlackRejected, err)
		case attempt == recoveryAttempts:
			return err
		}

		wait := backoff
		if limited, ok := errors.AsType[*slack.RateLimitedError](err); ok {
			wait = max(wait, limited.RetryAfter)
		}
		if err := sleepContext(ctx, min(wait, maxRecoveryBackoff)); err != nil {
			return err
		}
		backoff *= 2
	}
}

// isSlackRejection reports whether Slack rejected a write for a reason that a retry does
// not change: an "ok": false error other than a rate limit or a server fault, or an HTTP
// status in 4xx other than 429.
func isSlackRejection(err error) bool {
	if resp, ok := errors.AsType[slack.SlackErrorResponse](err); ok {
		switch resp.Err {
		case "rate_limited", "ratelimited",
			"internal_error", "fatal_error", "service_unavailable", "request_timeout":
			return false
		}
		return true
	}
	if status, ok := errors.AsType[slack.StatusCodeError](err); ok {
		return status.Code >= 400 && status.Code < 500 && status.Code != http.StatusTooManyRequests
	}
	return false
}
