package scheduler

import (
	"context"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/slack-go/slack"
)

// write is one Slack call and, once it returned, its outcome.
type write struct {
	r           *Reply
	m           *message
	method      method
	channel     string
	threadTS    string
	ts          string // message edited, or message created by a post
	text        string
	placeholder bool // the text is the placeholder, not reply text
	err         error

	// blocks, when not nil, are sent with the text (see ReplyOptions). clearBlocks sends
	// an empty block list instead, which removes the blocks the message shows.
	blocks      []slack.Block
	clearBlocks bool
}

// send starts the write of c in a goroutine of the pool. The goroutine returns the write
// on s.results, which Run drains, so that only Run changes the scheduler's state.
func (s *Scheduler) send(ctx context.Context, c candidate, m method) {
	w := write{
		r:           c.r,
		m:           c.m,
		method:      m,
		channel:     c.r.channel,
		threadTS:    c.r.threadTS,
		ts:          c.m.ts,
		text:        c.m.text,
		placeholder: c.r.isPlaceholder(c.m),
	}
	c.r.blocksOf(&w, c.m)
	c.m.inFlight = true
	s.inFlight++
	s.calls.Add(1)
	go func() {
		defer s.calls.Done()
		s.results <- s.call(ctx, w)
	}()
}

// call performs w. It is not cancelled with ctx, so that a write in flight at shutdown
// completes, but it is limited to CallTimeout.
func (s *Scheduler) call(ctx context.Context, w write) write {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.cfg.CallTimeout)
	defer cancel()

	// The producer has escaped the mrkdwn text, so slack-go must not escape it again.
	text := slack.MsgOptionText(w.text, false)
	opts := append([]slack.MsgOption{text}, w.blockOptions()...)
	if w.method == methodUpdate {
		_, _, _, w.err = s.api.UpdateMessageContext(ctx, w.channel, w.ts, opts...)
		return w
	}
	if w.threadTS != "" {
		opts = append(opts, slack.MsgOptionTS(w.threadTS))
	}
	_, w.ts, w.err = s.api.PostMessageContext(ctx, w.channel, opts...)
	return w
}

// handleResult records the outcome of a write.
func (s *Scheduler) handleResult(w write) {
	if s.afterResult != nil {
		defer s.afterResult()
	}
	s.inFlight--
	m, r := w.m, w.r
	m.inFlight = false
	if r.closed {
		return
	}
	now := time.Now()
	if w.err != nil {
		s.handleError(w, now)
		s.checkDone(r)
		return
	}

	if m.attempts > 0 {
		s.log.Info("slack write recovered",
			"channel", r.channel,
			"thread_ts", r.threadTS,
			"method", w.method.String(),
			"failures", m.attempts)
	}
	if w.method == methodPost {
		m.ts = w.ts
		r.recordTimestamps()
	}
	m.sent = w.text
	if w.method == methodPost || w.blocks != nil || w.clearBlocks {
		m.hasBlocks = w.blocks != nil
	}
	if w.method == methodUpdate {
		r.actions.edits.Add(1)
	}
	m.showsText = m.showsText || !w.placeholder
	m.lastWrite = now
	m.attempts = 0
	m.retryAt = time.Time{}
	r.lastWrite = now
	if w.method == methodPost && !r.postedClosed {
		r.ts = w.ts
		r.postedClosed = true
		close(r.posted)
	}
	s.checkDone(r)
}

// handleError keeps the text of a failed write pending and decides how it goes out again.
func (s *Scheduler) handleError(w write, now time.Time) {
	r, m := w.r, w.m
	if s.handleBlocksError(w) {
		return
	}
	kind, retryAfter := classify(w.err)
	switch kind {
	case errRateLimited:
		s.pause(w.method, retryAfter, now, w.err)
	case errTooLong:
		s.cutPart(r, m, w)
	case errTransient:
		m.attempts++
		if m.attempts < s.cfg.MaxAttempts {
			m.retryAt = now.Add(s.backoff(m.attempts))
			s.log.Warn("slack write failed, retrying",
				"channel", r.channel,
				"thread_ts", r.threadTS,
				"method", w.method.String(),
				"attempt", m.attempts,
				"err", w.err)
			return
		}
		s.giveUp(w)
	default:
		s.giveUp(w)
	}
}

// giveUp handles a write that cannot succeed as it is: an edit is posted as a new message
// in the thread instead, and a failed post fails the reply. An edit that only clears the
// blocks of a message whose text Slack already shows is dropped, so that the text does
// not appear twice.
func (s *Scheduler) giveUp(w write) {
	r, m := w.r, w.m
	if w.method == methodPost {
		s.fail(r, fmt.Errorf("post message in channel %s: %w", r.channel, w.err))
		return
	}
	if w.clearBlocks && w.text == m.sent {
		s.log.Warn("message cannot be edited, its actions stay",
			"channel", r.channel,
			"thread_ts", r.threadTS,
			"ts", m.ts,
			"err", w.err)
		m.hasBlocks = false
		m.attempts = 0
		m.retryAt = time.Time{}
		return
	}
	s.log.Warn("message cannot be edited, posting its text as a new message",
		"channel", r.channel,
		"thread_ts", r.threadTS,
		"ts", m.ts,
		"err", w.err)
	m.ts = ""
	m.sent = ""
	m.hasBlocks = false // the message to post has none yet
	m.attempts = 0
	m.retryAt = time.Time{}
}

// pause stops every call of method until retryAfter from now has passed.
func (s *Scheduler) pause(m method, retryAfter time.Duration, now time.Time, err error) {
	if retryAfter <= 0 {
		retryAfter = s.cfg.RateLimitPause
	}
	until := now.Add(retryAfter)
	if !until.After(s.pausedUntil[m]) {
		return
	}
	s.pausedUntil[m] = until
	s.log.Warn("slack rate limited, pausing method",
		"method", m.String(),
		"retry_after", retryAfter,
		"err", err)
}

// backoff returns the wait after the given number of consecutive transient failures. The
// wait d is RetryBackoff doubled per failure up to maxRetryBackoff, and the result is in [d/2, d].
func (s *Scheduler) backoff(attempts int) time.Duration {
	d := s.cfg.RetryBackoff
	for range attempts - 1 {
		d *= 2
		if d >= maxRetryBackoff {
			d = maxRetryBackoff
			break
		}
	}
	return d/2 + rand.N(d/2+1)
}

// checkDone closes r when its final text is visible in every message.
func (s *Scheduler) checkDone(r *Reply) {
	if !r.final || r.closed {
		return
	}
	for _, p := range r.parts {
		for _, m := range p.msgs {
			if m.text != "" && (m.inFlight || r.needsWrite(m)) {
				return
			}
		}
	}
	r.closed = true
	s.removeActive(r)
	close(r.done)
}

// fail closes r with err. Writes of r still in flight are ignored when they return.
func (s *Scheduler) fail(r *Reply, err error) {
	s.log.Error("reply failed",
		"channel", r.channel,
		"thread_ts", r.threadTS,
		"err", err)
	r.closed = true
	r.err = err
	s.removeActive(r)
	if !r.postedClosed {
		r.postedClosed = true
		close(r.posted)
	}
	close(r.done)
}

func (s *Scheduler) removeActive(r *Reply) {
	if !r.isActive {
		return
	}
	r.isActive = false
	for i, a := range s.active {
		if a == r {
			last := len(s.active) - 1
			s.active[i] = s.active[last]
			s.active[last] = nil
			s.active = s.active[:last]
			break
		}
	}
	ch := s.channel(r.channel)
	ch.replies--
	if ch.replies == 0 {
		s.sweepChannels(time.Now())
	}
}

// sweepChannels deletes the budgets of channels without active replies whose limiter is
// full again, so that deleting one allows no extra post.
func (s *Scheduler) sweepChannels(now time.Time) {
	for id, ch := range s.channels {
		if ch.replies == 0 && ch.posts.TokensAt(now) >= 1 {
			delete(s.channels, id)
		}
	}
}

// needsWrite reports whether Slack does not show m as it should be yet: m is not posted,
// shows older text, or shows Actions after the final text.
func (r *Reply) needsWrite(m *message) bool {
	return m.ts == "" || m.sent != m.text || r.final && m.hasBlocks
}

// isPlaceholder reports whether writing m now would send the placeholder.
func (r *Reply) isPlaceholder(m *message) bool {
	first := r.parts[0]
	return first.text == "" && len(first.msgs) > 0 && first.msgs[0] == m
}
