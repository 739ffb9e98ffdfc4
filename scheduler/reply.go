package scheduler

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"
)

// Reply is one streaming answer in a thread: a placeholder message, edited as text
// arrives, and further messages when the answer needs more than one part.
type Reply struct {
	sched    *Scheduler
	channel  string
	threadTS string
	seq      uint64 // start order, the last tie-breaker of fairness

	// Written by Set and Finish under the scheduler's mu, read by Run in sync.
	want     []string
	finished bool
	version  uint64
	queued   bool

	posted chan struct{} // closed when the placeholder is posted or the reply failed
	done   chan struct{} // closed when the final text is visible or the reply failed
	ts     string        // placeholder ts, set before posted is closed
	err    error         // set before done is closed

	actions actionState // set by StartWithOptions

	tsMu       sync.Mutex
	timestamps []string // copy of the messages' ts for Timestamps, written by Run

	// The fields below are owned by the goroutine of Run.
	placeholder  string
	synced       uint64
	isActive     bool
	parts        []*part
	final        bool
	lastWrite    time.Time // end of the last write of any message of this reply
	postedClosed bool
	closed       bool
}

// part is one element of the parts passed to Set. Normally it is one Slack message; when
// Slack rejects its text with msg_too_long, it is cut into several messages of at most
// limit runes.
type part struct {
	text  string
	limit int // 0 while the text fits one message
	msgs  []*message
}

// message is one Slack message of a reply.
type message struct {
	ts        string // empty until posted
	sent      string // text Slack shows
	text      string // newest text to show; sent differs from it while a write is pending
	showsText bool   // Slack shows reply text, not only the placeholder
	inFlight  bool
	lastWrite time.Time
	attempts  int // consecutive transient failures
	retryAt   time.Time
	hasBlocks bool // Slack shows blocks with Actions on the message
}

// Start opens a reply in threadTS of channel and queues its placeholder with priority.
// An empty placeholder is replaced by "…".
func (s *Scheduler) Start(channel, threadTS, placeholder string) *Reply {
	return s.start(channel, threadTS, placeholder, ReplyOptions{})
}

func (s *Scheduler) start(channel, threadTS, placeholder string, opts ReplyOptions) *Reply {
	if strings.TrimSpace(placeholder) == "" {
		placeholder = "…"
	}
	r := &Reply{
		sched:       s,
		channel:     channel,
		threadTS:    threadTS,
		posted:      make(chan struct{}),
		done:        make(chan struct{}),
		placeholder: placeholder,
		parts:       []*part{{msgs: []*message{{text: placeholder}}}},
	}
	r.actions.block = opts.Actions

	s.mu.Lock()
	s.seq++
	r.seq = s.seq
	stopped := s.stopped
	if !stopped {
		r.queued = true
		s.changed = append(s.changed, r)
	}
	s.mu.Unlock()

	if stopped {
		r.err = ErrStopped
		close(r.posted)
		close(r.done)
		return r
	}
	s.notifyRun()
	return r
}

// PlaceholderTS waits until the placeholder is posted and returns its ts.
func (r *Reply) PlaceholderTS(ctx context.Context) (string, error) {
	select {
	case <-r.posted:
		if r.ts == "" {
			return "", fmt.Errorf("post placeholder: %w", r.err)
		}
		return r.ts, nil
	case <-ctx.Done():
		return "", ctx.Err()
	}
}

// Timestamps returns the ts of each Slack message of the reply posted so far, in order:
// one per part, or several for a part that Slack made the scheduler cut. A message not
// posted yet, or being posted again because Slack rejected its edit, has "".
func (r *Reply) Timestamps() []string {
	r.tsMu.Lock()
	defer r.tsMu.Unlock()
	return slices.Clone(r.timestamps)
}

// recordTimestamps copies the messages' ts for Timestamps. Only Run calls it.
func (r *Reply) recordTimestamps() {
	var all []string
	for _, p := range r.parts {
		for _, m := range p.msgs {
			all = append(all, m.ts)
		}
	}
	for len(all) > 0 && all[len(all)-1] == "" {
		all = all[:len(all)-1]
	}
	r.tsMu.Lock()
	r.timestamps = all
	r.tsMu.Unlock()
}

// Set replaces the text that the reply should show, one string per message. Only the
// newest set is kept; earlier sets that were not sent yet are dropped. Set never blocks
// on Slack and does nothing after Finish. The number of parts is expected to grow only: a
// message already posted for a part that disappears keeps its text.
func (r *Reply) Set(parts []string) {
	r.store(parts, false)
}

// Finish sets the final text, sent with priority, and closes the reply. When every part
// is empty, the reply shows Config.EmptyText so that the placeholder does not stay.
func (r *Reply) Finish(parts []string) {
	r.store(parts, true)
}

// Wait blocks until the final text is visible in Slack or ctx is done.
func (r *Reply) Wait(ctx context.Context) error {
	select {
	case <-r.done:
		return r.err
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (r *Reply) store(parts []string, final bool) {
	s := r.sched
	s.mu.Lock()
	if r.finished || s.stopped {
		s.mu.Unlock()
		return
	}
	r.want = slices.Clone(parts)
	r.finished = final
	r.version++
	if !r.queued {
		r.queued = true
		s.changed = append(s.changed, r)
	}
	s.mu.Unlock()
	s.notifyRun()
}
