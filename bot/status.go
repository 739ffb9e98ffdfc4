package bot

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/slack-go/slack"
)

// statusText is the assistant thread status shown while the agent works before its first
// token. Slack shows it after the app's name, as in "Tess is thinking…".
const statusText = "is thinking…"

// statusTimeout bounds one assistant.threads.setStatus call.
const statusTimeout = 5 * time.Second

// statusSetter is the part of *slack.Client that sets an assistant thread status.
type statusSetter interface {
	SetAssistantThreadsStatusContext(ctx context.Context, params slack.AssistantThreadsSetStatusParameters) error
}

// threadStatus shows statusText under a thread until the first token, where Slack accepts
// assistant.threads.setStatus. Slack rejects it in some conversations, for example
// without the scope or outside AI app threads. Those errors are logged at debug level
// only, because the placeholder message already shows that the bot is working.
type threadStatus struct {
	api      statusSetter
	channel  string
	threadTS string
	log      *slog.Logger

	// shown and cleared are used only by the turn's goroutine.
	shown, cleared bool
	set            chan bool // receives whether the status was set, once
	wg             sync.WaitGroup
}

func newThreadStatus(api statusSetter, channel, threadTS string, log *slog.Logger) *threadStatus {
	return &threadStatus{api: api, channel: channel, threadTS: threadTS, log: log, set: make(chan bool, 1)}
}

// show sets the status in the background, so that the Tess call does not wait for it.
// Only the first call does anything.
func (s *threadStatus) show(ctx context.Context) {
	if s == nil || s.shown {
		return
	}
	s.shown = true
	s.wg.Go(func() {
		s.set <- s.call(ctx, statusText)
	})
}

// clear removes the status in the background once show has finished, when show set it.
// Only the first call after show does anything.
func (s *threadStatus) clear(ctx context.Context) {
	if s == nil || !s.shown || s.cleared {
		return
	}
	s.cleared = true
	s.wg.Go(func() {
		if <-s.set {
			s.call(ctx, "")
		}
	})
}

// wait blocks until the calls started by show and clear have returned.
func (s *threadStatus) wait() {
	if s == nil {
		return
	}
	s.wg.Wait()
}

func (s *threadStatus) call(ctx context.Context, status string) bool {
	ctx, cancel := context.WithTimeout(ctx, statusTimeout)
	defer cancel()
	err := s.api.SetAssistantThreadsStatusContext(ctx, slack.AssistantThreadsSetStatusParameters{
		ChannelID: s.channel,
		ThreadTS:  s.threadTS,
		Status:    status,
	})
	if err != nil {
		s.log.Debug("assistant thread status not set", "status", status, "err", err)
		return false
	}
	return true
}
