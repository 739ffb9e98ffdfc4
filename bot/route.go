package bot

import (
	"context"
	"errors"
	"log/slog"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/tessbot/tessbot/threadstore"
)

// storeTimeout bounds one store call made while routing, so that a hung store cannot
// stall the events behind it.
const storeTimeout = 5 * time.Second

// action is the router's decision about a message.
type action int

const (
	ignore          action = iota
	answer                 // answer in the message's thread
	answerIfEngaged        // answer only when the bot already answers in the thread
)

// classify decides, from the event alone, whether the bot answers m. The reason is for
// the debug log.
func classify(m message, botUserID string) (action, string) {
	switch {
	case m.Channel == "" || m.TS == "":
		return ignore, "no channel or ts"
	case m.BotID != "":
		return ignore, "sent by a bot"
	case m.User == "":
		return ignore, "no user"
	case m.User == botUserID:
		return ignore, "sent by this bot"
	case m.Type == "app_mention":
		return answer, "mention"
	case m.Type != "message":
		return ignore, "event type " + m.Type
	case m.Subtype != "" && m.Subtype != "file_share" && m.Subtype != "thread_broadcast":
		return ignore, "subtype " + m.Subtype
	case m.ChannelType == "im":
		return answer, "direct message"
	case mentions(m.Text, botUserID):
		// Slack also sends this message as app_mention, which answers it.
		return ignore, "mention in a channel"
	case m.ThreadTS == "" || m.ThreadTS == m.TS:
		return ignore, "top-level message without a mention"
	}
	return answerIfEngaged, "thread reply"
}

// mentionPatterns caches the compiled pattern of each bot user id; a process has one.
var mentionPatterns sync.Map

// mentionPattern matches a mention of userID as Slack writes it: <@U123> or <@U123|name>.
func mentionPattern(userID string) *regexp.Regexp {
	if re, ok := mentionPatterns.Load(userID); ok {
		return re.(*regexp.Regexp)
	}
	re := regexp.MustCompile(`<@` + regexp.QuoteMeta(userID) + `(?:\|[^>]*)?>`)
	mentionPatterns.Store(userID, re)
	return re
}

func mentions(text, userID string) bool {
	return userID != "" && mentionPattern(userID).MatchString(text)
}

// stripMention removes every mention of userID from text and trims the spaces around it.
func stripMention(text, userID string) string {
	if userID != "" {
		text = mentionPattern(userID).ReplaceAllString(text, "")
	}
	return strings.TrimSpace(text)
}

// dispatch routes the messages of incoming, in arrival order, until incoming is closed.
func (b *bot) dispatch(incoming <-chan message) {
	for m := range incoming {
		b.routeCatchingPanic(m)
	}
}

// route queues m on its thread when the bot answers it and no earlier delivery of the
// same message (another event type, a retry, or a replay after a restart) was queued.
func (b *bot) route(m message) {
	log := b.log.With("channel", m.Channel, "ts", m.TS, "event", m.Type, "retry_attempt", m.RetryAttempt)
	act, reason := classify(m, b.botUserID)
	if act == ignore {
		log.Debug("event ignored", "reason", reason)
		return
	}

	key := threadstore.ThreadKey{Channel: m.Channel, ThreadTS: m.threadTS()}
	if act == answerIfEngaged && !b.engaged(key, log) {
		log.Debug("event ignored", "reason", "thread without an answer from the bot")
		return
	}

	ctx, cancel := context.WithTimeout(b.turnCtx, storeTimeout)
	defer cancel()
	if !b.seen.first(ctx, seenID(m)) {
		b.metrics.EventDeduplicated()
		log.Info("duplicate event ignored")
		return
	}
	if b.rejected(m, act, log) {
		return
	}
	log.Debug("message queued", "reason", reason, "thread_ts", key.ThreadTS)
	b.threads.push(key, m)
}

// seenID is the de-duplication key of a message: app_mention and message events of one
// message, and every redelivery, share channel and ts.
func seenID(m message) string {
	return "msg:" + m.Channel + ":" + m.TS
}

// engaged reports whether the bot answers in the thread: a turn is queued or running
// there, or the store has its conversation, or a write of it waits for a retry.
func (b *bot) engaged(key threadstore.ThreadKey, log *slog.Logger) bool {
	if b.threads.has(key) {
		return true
	}
	if _, ok := b.retries.waitingThread(key); ok {
		return true
	}
	ctx, cancel := context.WithTimeout(b.turnCtx, storeTimeout)
	defer cancel()
	_, err := b.store.Thread(ctx, key)
	switch {
	case err == nil:
		return true
	case errors.Is(err, threadstore.ErrNotFound):
		return false
	}
	b.metrics.StoreError("thread")
	log.Error("read thread failed; thread reply not answered", "thread_ts", key.ThreadTS, "err", err)
	return false
}
