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

// rewriteReply shows parts in the reply of p. It edits in place the messages that p
// records as posted, without the Stop button the first may show, and posts the parts
// beyond them as new messages in the thread. A record without p.PartTS, written by an
// older version, records only p.MessageTS. When Slack rejects an edit, for example because
// the message was deleted, that part and every later one go out as new messages, so that
// the parts stay in order.
func (b *bot) rewriteReply(p threadstore.Pending, parts []string, log *slog.Logger) error {
	ctx, cancel := context.WithTimeout(b.writeCtx, finalWaitTimeout)
	defer cancel()

	posted := p.PartTS
	if len(posted) == 0 {
		posted = []string{p.MessageTS}
	}
	for i, part := range parts {
		if i < len(posted) && posted[i] != "" {
			err := b.editPart(ctx, p.Channel, posted[i], part)
			switch {
			case errors.Is(err, errSlackRejected):
				log.Warn("edit of the interrupted reply rejected; posting the rest as new messages",
					"part_ts", posted[i],
					"err", err)
				posted = nil
			case err != nil:
				return fmt.Errorf("update message %s: %w", posted[i], err)
			default:
				continue
			}
		}
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

// editPart replaces the text of the message ts with part and removes its blocks.
func (b *bot) editPart(ctx context.Context, channel, ts, part string) error {
	return b.writeSlack(ctx, b.updates, func(ctx context.Context) error {
		_, _, _, err := b.api.UpdateMessageContext(ctx, channel, ts,
			slack.MsgOptionText(part, false),
			slack.MsgOptionBlocks())
		return err
	})
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
