package bot_test

import (
	"context"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/tessbot/tessbot/bot"
	"github.com/tessbot/tessbot/internal/fakeslack"
	"github.com/tessbot/tessbot/internal/faketess"
	"github.com/tessbot/tessbot/internal/syncbuf"
	"github.com/tessbot/tessbot/mrkdwn"
	"github.com/tessbot/tessbot/scheduler"
	"github.com/tessbot/tessbot/tess"
)

// Ids used by the end-to-end tests.
const (
	channelID   = "C0CHAN"
	dmChannelID = "D0DM"
	humanID     = "U0HUMAN"
	agentID     = "7"
	placeholder = "_Thinking…_"
	waitTimeout = 20 * time.Second
)

// harness runs the bot through bot.Run against a fake Slack and a fake Tess.
type harness struct {
	t       testing.TB
	slack   *fakeslack.Server
	tess    *faketess.Server
	dataDir string
	env     map[string]string // overrides of the test defaults, applied at start
	logs    *syncbuf.Buffer

	cancel context.CancelFunc
	done   chan error
}

func newHarness(t testing.TB, slackOpts ...fakeslack.Option) *harness {
	t.Helper()
	h := &harness{
		t:       t,
		slack:   fakeslack.New(t, slackOpts...),
		tess:    faketess.New(t),
		dataDir: t.TempDir(),
		env:     map[string]string{},
		logs:    &syncbuf.Buffer{},
	}
	t.Cleanup(func() {
		h.stopIfRunning()
		h.checkLogsHaveNoSecret()
		if t.Failed() {
			t.Logf("bot log:\n%s", h.logs.String())
		}
	})
	return h
}

// config loads the bot's configuration from the environment, as main does.
func (h *harness) config() (bot.Config, error) {
	h.t.Helper()
	for _, v := range bot.Variables() {
		h.t.Setenv(v.Name, "")
		os.Unsetenv(v.Name)
	}
	env := map[string]string{
		"SLACK_BOT_TOKEN":          h.slack.BotToken(),
		"SLACK_APP_TOKEN":          h.slack.AppToken(),
		"TESS_API_KEY":             h.tess.APIKey,
		"TESS_AGENT_ID":            agentID,
		"SLACK_API_URL":            h.slack.APIURL(),
		"TESS_API_URL":             h.tess.URL,
		"DATA_DIR":                 h.dataDir,
		"LOG_LEVEL":                "debug",
		"EDIT_INTERVAL":            "20ms",
		"SLACK_UPDATES_PER_MINUTE": "6000",
		"SHUTDOWN_GRACE":           "15s",
		"TESS_REQUESTS_PER_SECOND": "1000",
		"TESS_POLL_DEADLINE":       "15s",
		// Tests of thread context set it again; the others compare echoed prompts.
		"THREAD_CONTEXT_MESSAGES": "0",
	}
	for k, v := range h.env {
		env[k] = v
	}
	for k, v := range env {
		h.t.Setenv(k, v)
	}
	cfg, err := bot.LoadConfig()
	if err != nil {
		return cfg, err
	}
	fastTess := func(c *tess.Config) {
		c.PollInterval = 10 * time.Millisecond
		c.PollMaxInterval = 50 * time.Millisecond
		c.RetryBackoff = 10 * time.Millisecond
	}
	fastPosts := func(c *scheduler.Config) { c.PostsPerSecond = 100 }
	return bot.WithTuning(cfg, fastTess, fastPosts), nil
}

// start runs the bot and waits until its Socket Mode connection is up.
func (h *harness) start() {
	h.t.Helper()
	if err := h.startRun(); err != nil {
		h.t.Fatalf("start: %v", err)
	}
	connected := h.slack.ConnectionCount() + 1
	select {
	case err := <-h.done:
		h.t.Fatalf("bot.Run returned at start: %v", err)
	default:
	}
	h.slack.WaitConnections(h.t, connected, waitTimeout)
}

// startRun starts bot.Run in a goroutine without waiting for the connection.
func (h *harness) startRun() error {
	cfg, err := h.config()
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(context.Background())
	h.cancel = cancel
	h.done = make(chan error, 1)
	logger := slog.New(slog.NewTextHandler(h.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	go func() { h.done <- bot.Run(ctx, cfg, logger) }()
	return nil
}

// runOnce runs the bot until it returns on its own, for start-up failures.
func (h *harness) runOnce() error {
	h.t.Helper()
	if err := h.startRun(); err != nil {
		return err
	}
	select {
	case err := <-h.done:
		h.cancel, h.done = nil, nil
		return err
	case <-time.After(waitTimeout):
		h.t.Fatal("bot.Run did not return")
		return nil
	}
}

// stop cancels the bot's context and waits for Run to return.
func (h *harness) stop() error {
	h.t.Helper()
	h.cancel()
	return h.wait()
}

// wait waits for Run, already cancelled, to return.
func (h *harness) wait() error {
	h.t.Helper()
	select {
	case err := <-h.done:
		h.cancel, h.done = nil, nil
		return err
	case <-time.After(waitTimeout):
		h.t.Fatal("bot.Run did not return after cancel")
		return nil
	}
}

func (h *harness) stopIfRunning() {
	if h.cancel != nil {
		if err := h.stop(); err != nil {
			h.t.Errorf("bot.Run: %v", err)
		}
	}
}

func (h *harness) checkLogsHaveNoSecret() {
	logs := h.logs.String()
	for _, secret := range []string{h.slack.BotToken(), h.slack.AppToken(), h.tess.APIKey} {
		if strings.Contains(logs, secret) {
			h.t.Errorf("bot log contains the secret %q", secret)
		}
	}
}

// send delivers env over Socket Mode and waits for the bot's ack.
func (h *harness) send(env fakeslack.Envelope) {
	h.t.Helper()
	h.slack.WaitAck(h.t, h.slack.Send(env), waitTimeout)
}

// mention sends a top-level mention, or one inside threadTS, and returns its ts.
func (h *harness) mention(text, threadTS string) string {
	h.t.Helper()
	ts := h.slack.NewTS()
	h.send(h.slack.Mention(channelID, humanID, "<@"+h.slack.BotUserID()+"> "+text, ts, threadTS))
	return ts
}

// botReplies returns the bot's messages in the thread threadTS of channel.
func (h *harness) botReplies(channel, threadTS string) []fakeslack.Message {
	var out []fakeslack.Message
	for _, m := range h.slack.Thread(channel, threadTS) {
		if m.User == h.slack.BotUserID() && m.TS != threadTS {
			out = append(out, m)
		}
	}
	return out
}

// waitReplyText waits until the bot's n-th message in the thread (from 0) shows text,
// and returns that message.
func (h *harness) waitReplyText(channel, threadTS string, n int, text string) fakeslack.Message {
	h.t.Helper()
	var got fakeslack.Message
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	err := h.slack.Wait(ctx, func(*fakeslack.Server) bool {
		replies := h.botReplies(channel, threadTS)
		if len(replies) <= n {
			return false
		}
		got = replies[n]
		return got.VisibleText() == text
	})
	if err != nil {
		h.t.Fatalf("reply %d in thread %s never showed %q; last text %q; slack: %s",
			n, threadTS, text, got.VisibleText(), h.slack.Summary())
	}
	return got
}

// waitExecutes polls the fake Tess, which has no change notification, until it has
// accepted n executions.
func (h *harness) waitExecutes(n int) []faketess.ExecuteRecord {
	h.t.Helper()
	deadline := time.After(waitTimeout)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		execs := h.tess.Executes()
		if len(execs) >= n {
			return execs
		}
		select {
		case <-tick.C:
		case <-deadline:
			h.t.Fatalf("fake Tess got %d executions, want %d", len(execs), n)
		}
	}
}

// rendered returns the mrkdwn parts that the final Markdown text renders to.
func rendered(markdown string) []string {
	return mrkdwn.NewStream(mrkdwn.DefaultLimit).Update(markdown, true)
}

// partial returns the single mrkdwn part shown for unfinished Markdown text.
func partial(markdown string) string {
	return mrkdwn.NewStream(mrkdwn.DefaultLimit).Update(markdown, false)[0]
}

// lastUserMessage returns the content of the last user message of an execution.
func lastUserMessage(rec faketess.ExecuteRecord) string {
	for i := len(rec.Messages) - 1; i >= 0; i-- {
		if rec.Messages[i].Role == "user" {
			return rec.Messages[i].Content
		}
	}
	return ""
}
