package bot

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/slack-go/slack"
)

// Bounds of the thread context read when the bot is first mentioned inside a thread.
const (
	// maxContextWait is the longest Retry-After waited for once; a longer one skips the
	// context, so that the reply does not stall.
	maxContextWait = 30 * time.Second
	// maxContextRunes bounds the context text sent to Tess, and maxContextMessageRunes
	// each message in it.
	maxContextRunes        = 12000
	maxContextMessageRunes = 2000
)

// Results of a thread context read, as the metrics count them.
const (
	contextOK          = "ok"
	contextRateLimited = "rate_limited"
	contextFailed      = "failed"
)

// repliesReader is the part of *slack.Client that reads a thread.
type repliesReader interface {
	GetConversationRepliesContext(ctx context.Context, params *slack.GetConversationRepliesParameters) ([]slack.Message, bool, string, error)
}

// threadContext is the earlier messages of a thread, oldest first.
type threadContext struct {
	messages []slack.Message
	hasMore  bool // the thread has messages after the page that was read
}

// readThreadContext reads the messages of thread threadTS in channel that come before
// beforeTS: one page of at most limit messages, the oldest, because some apps may call
// conversations.replies only about once a minute. On a 429 it waits Retry-After once,
// when that is at most maxContextWait, and tries again. It returns the messages, which
// are empty when the read failed, and the result for the metrics.
func readThreadContext(ctx context.Context, api repliesReader, channel, threadTS, beforeTS string,
	limit int, log *slog.Logger) (threadContext, string) {
	params := &slack.GetConversationRepliesParameters{
		ChannelID: channel,
		Timestamp: threadTS,
		Latest:    beforeTS,
		Limit:     limit,
	}
	msgs, hasMore, _, err := api.GetConversationRepliesContext(ctx, params)

	var limited *slack.RateLimitedError
	if errors.As(err, &limited) && limited.RetryAfter <= maxContextWait {
		log.Info("thread read rate limited, waiting once", "retry_after", limited.RetryAfter)
		if waitErr := sleepContext(ctx, limited.RetryAfter); waitErr != nil {
			return threadContext{}, contextFailed
		}
		msgs, hasMore, _, err = api.GetConversationRepliesContext(ctx, params)
	}

	switch {
	case errors.As(err, &limited):
		log.Warn("thread read rate limited; replying without the thread's earlier messages",
			"retry_after", limited.RetryAfter)
		return threadContext{}, contextRateLimited
	case err != nil:
		log.Warn("thread read failed; replying without the thread's earlier messages", "err", err)
		return threadContext{}, contextFailed
	}

	var earlier []slack.Message
	for _, m := range msgs {
		if m.Timestamp != beforeTS && compareTS(m.Timestamp, beforeTS) < 0 {
			earlier = append(earlier, m)
		}
	}
	return threadContext{messages: earlier, hasMore: hasMore}, contextOK
}

// prompt returns text preceded by the thread's earlier messages, or text alone when there
// are none. Messages of botUserID are labelled as the assistant's. The context keeps the
// oldest messages that fit in maxContextRunes.
func (c threadContext) prompt(text, botUserID string) string {
	var lines []string
	used, omitted := 0, c.hasMore
	for _, m := range c.messages {
		line := contextLine(m, botUserID)
		if line == "" {
			continue
		}
		n := utf8.RuneCountInString(line)
		if used+n > maxContextRunes {
			omitted = true
			break
		}
		used += n
		lines = append(lines, line)
	}
	if len(lines) == 0 {
		return text
	}

	var b strings.Builder
	b.WriteString("Earlier messages in this Slack thread, oldest first, for context:\n\n")
	b.WriteString(strings.Join(lines, "\n"))
	if omitted {
		b.WriteString("\n(Later messages of the thread are not included.)")
	}
	b.WriteString("\n\nThe message to answer:\n\n")
	b.WriteString(text)
	return b.String()
}

// contextLine formats one message as "[author] text", with the names of its files.
func contextLine(m slack.Message, botUserID string) string {
	text := strings.TrimSpace(m.Text)
	for _, f := range m.Files {
		if f.Name != "" {
			text = strings.TrimSpace(text + " [file: " + f.Name + "]")
		}
	}
	if text == "" {
		return ""
	}
	if utf8.RuneCountInString(text) > maxContextMessageRunes {
		text = string([]rune(text)[:maxContextMessageRunes]) + "…"
	}

	author := "<@" + m.User + ">"
	switch {
	case m.User != "" && m.User == botUserID:
		author = "assistant"
	case m.User == "" && m.Username != "":
		author = "bot " + m.Username
	case m.User == "":
		author = "bot"
	}
	return fmt.Sprintf("[%s] %s", author, text)
}

// compareTS orders Slack timestamps ("1700000000.000100") by time. Both parts are
// decimal, so a longer seconds part is later, and equal lengths compare as text.
func compareTS(a, b string) int {
	secA, fracA, _ := strings.Cut(a, ".")
	secB, fracB, _ := strings.Cut(b, ".")
	if len(secA) != len(secB) {
		return len(secA) - len(secB)
	}
	if c := strings.Compare(secA, secB); c != 0 {
		return c
	}
	return strings.Compare(fracA, fracB)
}

// sleepContext waits for d, or returns ctx's error when ctx is done first.
func sleepContext(ctx context.Context, d time.Duration) error {
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
