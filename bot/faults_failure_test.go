package bot_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/tessbot/tessbot/bot"
	"github.com/tessbot/tessbot/internal/fakeslack"
	"github.com/tessbot/tessbot/internal/faketess"
	"github.com/tessbot/tessbot/scheduler"
	"github.com/tessbot/tessbot/tess"
)

func TestFailureKeepsStreamedText(t *testing.T) {
	answer, words := numberedAnswer(800)
	deltas := faketess.SplitText(answer, 8)
	tests := []struct {
		name   string
		script faketess.Script
	}{
		{"execution fails", faketess.Script{Deltas: deltas, Status: "failed", Error: "upstream timeout"}},
		{"stream drops, poll says failed", faketess.Script{Deltas: deltas, Cut: faketess.CutDrop,
			CutAfter: len(deltas), Status: "failed", Error: "upstream timeout"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newFieldHarness(t)
			h.start()
			h.tess.Queue(tt.script)

			ts := h.mention("a long one", "")
			replies := h.waitThread(channelID, ts, func(r []fakeslack.Message) bool {
				return len(r) > 0 && strings.Contains(r[0].VisibleText(), "upstream timeout")
			})

			if len(replies) != 1 {
				t.Fatalf("bot posted %d messages, want 1", len(replies))
			}
			text := replies[0].VisibleText()
			note := strings.Index(text, "⚠️")
			if note < 0 {
				t.Fatalf("reply %q has no warning note", text)
			}
			if !wordsInOrder(text[:note], words) {
				t.Errorf("reply lost some of the %d streamed words before the note:\n%s", words, text)
			}
			if strings.Contains(text, placeholder) {
				t.Errorf("reply still shows the placeholder")
			}
			if showsStopButton(replies[0]) {
				t.Errorf("final reply keeps the Stop button: %s", replies[0].Blocks)
			}
		})
	}
}

func TestNoTextLeavesNoPlaceholder(t *testing.T) {
	tests := []struct {
		name   string
		script faketess.Script
	}{
		{"no delta", faketess.Script{}},
		{"only white space", faketess.Script{Deltas: []string{"  ", "\n\n", " "}}},
		{"failed without text", faketess.Script{Status: "failed", Error: "no capacity"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newFieldHarness(t)
			h.start()
			h.tess.Queue(tt.script)

			ts := h.mention("say nothing", "")
			h.waitExecutes(1)
			h.mention("barrier", ts)
			h.waitReplyText(channelID, ts, 1, rendered("barrier")[0])

			replies := h.botReplies(channelID, ts)
			if len(replies) != 2 {
				t.Fatalf("bot posted %d messages, want one per turn", len(replies))
			}
			text := replies[0].VisibleText()
			if strings.Contains(text, placeholder) || strings.TrimSpace(text) == "" {
				t.Errorf("reply without text shows %q, want a note", text)
			}
			if !strings.HasPrefix(text, "_") {
				t.Errorf("reply %q is not one of the bot's notes", text)
			}
			if showsStopButton(replies[0]) {
				t.Errorf("final reply keeps the Stop button: %s", replies[0].Blocks)
			}
		})
	}
}

func TestRateLimitedEditsWaitRetryAfter(t *testing.T) {
	const retryAfter = 3 * time.Second
	h := newFieldHarness(t)
	h.start()
	hold := make(chan struct{})
	deltas := []string{"Start. "}
	for i := 1; i <= 10; i++ {
		deltas = append(deltas, fmt.Sprintf("Sentence %d. ", i))
	}
	h.tess.Queue(faketess.Script{Deltas: deltas, Hold: hold, HoldAfter: 1})

	ts := h.mention("stream slowly", "")
	h.waitReplyText(channelID, ts, 0, partial("Start. "))
	h.slack.FailNext("chat.update", 2, fakeslack.Fault{Status: http.StatusTooManyRequests, RetryAfter: retryAfter})
	close(hold)
	h.waitReplyText(channelID, ts, 0, rendered(strings.Join(deltas, ""))[0])

	// The fake records a call once it has responded, just after the message changed.
	h.slack.WaitFor(t, func(s *fakeslack.Server) bool {
		calls := s.Calls("chat.update")
		return len(calls) > 0 && calls[len(calls)-1].Status == http.StatusOK &&
			calls[len(calls)-1].Form.Get("text") == rendered(strings.Join(deltas, ""))[0]
	}, waitTimeout)
	calls := h.slack.Calls("chat.update")
	for len(calls) > 0 && calls[0].Status != http.StatusTooManyRequests {
		calls = calls[1:]
	}
	if len(calls) != 3 {
		t.Errorf("chat.update calls after the first 429 = %d, want 3: two rejected, then the final text", len(calls))
	}
	limited := 0
	for i, c := range calls {
		if c.Status != http.StatusTooManyRequests {
			continue
		}
		limited++
		if i+1 >= len(calls) {
			t.Fatalf("no chat.update after the 429 at %v", c.At)
		}
		if gap := calls[i+1].At.Sub(c.At); gap < retryAfter {
			t.Errorf("chat.update sent %v after a 429 with Retry-After %v", gap, retryAfter)
		}
	}
	if limited != 2 {
		t.Errorf("rejected chat.update calls = %d, want 2", limited)
	}
}

func TestThreadHistoryReadOncePerThread(t *testing.T) {
	h := newFieldHarness(t, fakeslack.WithRepliesLimit(15))
	h.env["THREAD_CONTEXT_MESSAGES"] = "50"
	h.start()
	root := h.slack.Seed(fakeslack.Msg{Channel: channelID, User: "U0ALICE", Text: "message 0"})
	for i := 1; i < 40; i++ {
		h.slack.Seed(fakeslack.Msg{Channel: channelID, User: "U0BOB", Text: fmt.Sprintf("message %d", i), ThreadTS: root})
	}

	h.mention("summarize", root)
	first := h.waitExecutes(1)[0]
	h.waitThread(channelID, root, func(r []fakeslack.Message) bool { return noPlaceholder(r) && len(r) == 1 })
	// A second read of the thread would get a 429, but the thread's conversation already
	// contains the history, so the second mention does not read it.
	h.slack.FailNext("conversations.replies", 5, fakeslack.Fault{Status: http.StatusTooManyRequests, RetryAfter: time.Minute})
	h.mention("and the rest?", root)
	h.waitReplyText(channelID, root, 1, rendered("and the rest?")[0])

	second := h.tess.Executes()[1]
	if second.RootID != first.ExecutionID {
		t.Errorf("second mention root_id = %d, want the thread's conversation %d", second.RootID, first.ExecutionID)
	}
	if got := lastUserMessage(second); got != "and the rest?" {
		t.Errorf("second prompt = %q, want the message alone", got)
	}
	if n := h.slack.Count("conversations.replies").Calls; n != 1 {
		t.Errorf("conversations.replies calls = %d, want 1", n)
	}
}

// botGoroutines returns the stacks of the goroutines running code of the bot, its
// scheduler or slack-go's Socket Mode client.
func botGoroutines() []string {
	buf := make([]byte, 1<<20)
	buf = buf[:runtime.Stack(buf, true)]
	var found []string
	for _, stack := range strings.Split(string(buf), "\n\n") {
		for _, pkg := range []string{"tessbot/tessbot/bot.", "tessbot/tessbot/scheduler.", "slack/socketmode."} {
			if strings.Contains(stack, pkg) {
				found = append(found, stack)
				break
			}
		}
	}
	return found
}

// settledBotGoroutines returns the bot's goroutines that are still there after a short
// grace. A worker calls WaitGroup.Done in a defer, so Run can return before the worker has
// exited. The grace lets such goroutines finish, and it is far shorter than the reconnect
// backoff of a leaked Socket Mode client.
func settledBotGoroutines() []string {
	deadline := time.Now().Add(2 * time.Second)
	for {
		leftover := botGoroutines()
		if len(leftover) == 0 || time.Now().After(deadline) {
			return leftover
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestShutdownLeavesNoGoroutines(t *testing.T) {
	tests := []struct {
		name       string
		reconnects bool
	}{
		{"while connected", false},
		{"while reconnecting", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if leftover := botGoroutines(); len(leftover) > 0 {
				t.Skipf("%d goroutines of the bot are left from earlier tests", len(leftover))
			}
			h := newFieldHarness(t)
			h.env["THREAD_CONTEXT_MESSAGES"] = "50"
			h.start()
			root := h.mention("hello", "")
			h.waitReplyText(channelID, root, 0, rendered("hello")[0])
			h.mention("in the thread", root)
			h.waitReplyText(channelID, root, 1, rendered("in the thread")[0])
			h.send(h.slack.DM(dmChannelID, humanID, "private", "", ""))
			h.waitExecutes(3)
			if len(botGoroutines()) == 0 {
				t.Fatal("no goroutine of the bot found while it runs, so the check below sees nothing")
			}
			if tt.reconnects {
				// Slack rotates the connection, and the new one is slow to open.
				h.slack.SetLatency("apps.connections.open", 300*time.Millisecond)
				h.slack.Disconnect("refresh_requested")
				h.slack.WaitFor(t, func(s *fakeslack.Server) bool { return s.ConnectionCount() == 0 }, waitTimeout)
			}

			if err := h.stop(); err != nil {
				t.Fatalf("bot.Run: %v", err)
			}
			if leftover := settledBotGoroutines(); len(leftover) > 0 {
				t.Errorf("%d goroutines still run after bot.Run returned:\n%s",
					len(leftover), strings.Join(leftover, "\n\n"))
			}
		})
	}
}

func TestShutdownTellsQueuedMessage(t *testing.T) {
	h := newFieldHarness(t)
	h.env["SHUTDOWN_GRACE"] = "100ms"
	h.start()
	never := make(chan struct{})
	h.tess.Queue(faketess.Script{Deltas: []string{"Kept text. ", "Never sent."}, Hold: never, HoldAfter: 1})

	root := h.mention("question A", "")
	h.waitReplyText(channelID, root, 0, partial("Kept text. "))
	// B waits behind A, whose stream never ends, until the shutdown grace runs out.
	h.send(h.slack.ChannelMessage(channelID, humanID, "also B?", "", root))
	if err := h.stop(); err != nil {
		t.Fatalf("bot.Run: %v", err)
	}

	replies := h.botReplies(channelID, root)
	if len(replies) != 2 {
		t.Fatalf("bot posted %d messages, want a reply to A and a note for B", len(replies))
	}
	if text := replies[1].VisibleText(); !strings.Contains(text, "restarted") || !strings.Contains(text, "Ask again") {
		t.Errorf("note for B = %q, want one that says the bot restarted and to ask again", text)
	}
	if n := len(h.tess.Executes()); n != 1 {
		t.Errorf("executions = %d, want only A's", n)
	}
}

func TestTessErrorEchoingKeyHidden(t *testing.T) {
	tests := []struct {
		name  string
		setup func(h *harness)
	}{
		{"execution error", func(h *harness) {
			h.tess.Queue(faketess.Script{Deltas: []string{"Some text. "}, Status: "failed",
				Error: "upstream rejected the key " + h.tess.APIKey})
		}},
		{"invalid request", func(h *harness) {
			h.tess.Inject(faketess.Fault{Method: "POST", Path: "/agents/" + agentID + "/execute",
				Status: http.StatusUnprocessableEntity,
				Body:   `{"message":"bad request from key ` + h.tess.APIKey + `"}`})
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// newFieldHarness checks every Slack message, and newHarness every log line.
			h := newFieldHarness(t)
			h.start()
			tt.setup(h)

			ts := h.mention("fail with the key", "")
			text := h.waitFinalReply(channelID, ts, "⚠️")
			if strings.Contains(text, h.tess.APIKey) {
				t.Errorf("reply %q shows the Tess API key", text)
			}
		})
	}
}

// startWithTess starts the bot as start does, with tune applied to the Tess client's
// settings after the test settings.
func (h *harness) startWithTess(tune func(*tess.Config)) {
	h.t.Helper()
	cfg, err := h.config()
	if err != nil {
		h.t.Fatalf("config: %v", err)
	}
	tessTuning := func(c *tess.Config) {
		c.PollInterval = 10 * time.Millisecond
		c.PollMaxInterval = 50 * time.Millisecond
		c.RetryBackoff = 10 * time.Millisecond
		tune(c)
	}
	fastPosts := func(c *scheduler.Config) { c.PostsPerSecond = 100 }
	cfg = bot.WithTuning(cfg, tessTuning, fastPosts)

	ctx, cancel := context.WithCancel(context.Background())
	h.cancel, h.done = cancel, make(chan error, 1)
	logger := slog.New(slog.NewTextHandler(h.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	go func() { h.done <- bot.Run(ctx, cfg, logger) }()
	h.slack.WaitConnections(h.t, h.slack.ConnectionCount()+1, waitTimeout)
}

func TestQuietStreamKeepsWholeAnswer(t *testing.T) {
	h := newFieldHarness(t)
	h.startWithTess(func(c *tess.Config) { c.StreamIdleTimeout = 300 * time.Millisecond })
	first, _ := numberedAnswer(200)
	rest := strings.Repeat("and then some more text ", 21)
	never := make(chan struct{})
	// After 200 characters the stream goes quiet for longer than the idle timeout; Tess
	// finishes the execution meanwhile.
	h.tess.Queue(faketess.Script{Deltas: []string{first, rest}, Hold: never, HoldAfter: 1})

	ts := h.mention("take your time", "")
	reply := h.waitReplyText(channelID, ts, 0, rendered(first + rest)[0])

	if !strings.Contains(reply.VisibleText(), "w00001") {
		t.Errorf("reply %q lost the first 200 characters", reply.VisibleText())
	}
	if n := len(h.tess.Executes()); n != 1 {
		t.Errorf("executions = %d, want 1: the quiet stream was not run again", n)
	}
	if n := len(h.botReplies(channelID, ts)); n != 1 {
		t.Errorf("bot posted %d messages, want 1", n)
	}
}
