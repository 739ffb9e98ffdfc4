package scheduler

import (
	"errors"
	"fmt"
	"net/http"
	"time"
	"unicode/utf8"

	"github.com/slack-go/slack"
)

// errorKind is the class of a failed Slack call, which decides how the scheduler handles it.
type errorKind int

const (
	errTransient   errorKind = iota // retry the same write after a backoff
	errRateLimited                  // pause the method for every reply
	errTooLong                      // cut the text into more messages
	errRejected                     // the write cannot succeed as it is
)

// minPieceRunes is the shortest piece that cutPart makes. Slack accepts about 4,000
// characters, so a rejection at this size is not about length.
const minPieceRunes = 100

// classify returns the kind of err and, for a rate limit, the Retry-After that Slack sent
// (zero when it sent none).
func classify(err error) (errorKind, time.Duration) {
	if limited, ok := errors.AsType[*slack.RateLimitedError](err); ok {
		return errRateLimited, limited.RetryAfter
	}
	if resp, ok := errors.AsType[slack.SlackErrorResponse](err); ok {
		return classifySlackError(resp.Err), 0
	}
	if status, ok := errors.AsType[slack.StatusCodeError](err); ok {
		switch {
		case status.Code == http.StatusTooManyRequests:
			return errRateLimited, 0
		case status.Code >= 500:
			return errTransient, 0
		default:
			return errRejected, 0
		}
	}
	// Network errors, timeouts and bodies that do not parse may succeed on a retry.
	return errTransient, 0
}

// classifySlackError classifies the "error" field of a response with "ok": false.
func classifySlackError(code string) errorKind {
	switch code {
	case "rate_limited", "ratelimited":
		return errRateLimited
	case "msg_too_long":
		return errTooLong
	case "internal_error", "fatal_error", "service_unavailable", "request_timeout":
		return errTransient
	default:
		// Among others message_not_found, cant_update_message and edit_window_closed,
		// after which the text goes out as a new message.
		return errRejected
	}
}

// cutPart handles msg_too_long for the write w of m: the part containing m is cut into
// messages of half the rejected length. The piece that keeps the ts of m is edited in
// place and the rest are posted as new messages in the thread.
func (s *Scheduler) cutPart(r *Reply, m *message, w write) {
	p := r.partOf(m)
	limit := utf8.RuneCountInString(w.text) / 2
	if p != nil && p.limit > 0 && p.limit <= limit {
		// Another write of this part, sent before the last cut, failed the same way.
		return
	}
	if p == nil || limit < minPieceRunes {
		s.fail(r, fmt.Errorf("%s rejected %d runes as too long: %w",
			w.method, utf8.RuneCountInString(w.text), w.err))
		return
	}
	s.log.Warn("text too long for one message, cutting it",
		"channel", r.channel,
		"thread_ts", r.threadTS,
		"runes", utf8.RuneCountInString(w.text),
		"limit", limit,
		"err", w.err)
	p.limit = limit
	p.layout()
}

func (r *Reply) partOf(m *message) *part {
	for _, p := range r.parts {
		for _, pm := range p.msgs {
			if pm == m {
				return p
			}
		}
	}
	return nil
}
