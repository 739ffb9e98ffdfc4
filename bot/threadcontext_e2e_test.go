package bot_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tessbot/tessbot/internal/fakeslack"
)

func TestThreadContextOnFirstMention(t *testing.T) {
	h := newHarness(t)
	h.env["THREAD_CONTEXT_MESSAGES"] = "50"
	h.start()
	root := h.slack.Seed(fakeslack.Msg{Channel: channelID, User: "U0ALICE", Text: "the build is red"})
	h.slack.Seed(fakeslack.Msg{Channel: channelID, User: "U0BOB", Text: "since the last merge", ThreadTS: root})

	h.mention("why?", root)
	execs := h.waitExecutes(1)
	prompt := lastUserMessage(execs[0])
	for _, want := range []string{"[<@U0ALICE>] the build is red", "[<@U0BOB>] since the last merge"} {
		if !strings.Contains(prompt, want) {
			t.Errorf("prompt lacks %q:\n%s", want, prompt)
		}
	}
	if !strings.HasSuffix(prompt, "\n\nwhy?") {
		t.Errorf("prompt does not end with the question:\n%s", prompt)
	}
	h.waitReplyText(channelID, root, 0, rendered(prompt)[0])

	// The thread now has a conversation: the next mention sends the message alone.
	h.mention("and now?", root)
	execs = h.waitExecutes(2)
	if got := lastUserMessage(execs[1]); got != "and now?" {
		t.Errorf("second prompt = %q, want the message alone", got)
	}
	if n := h.slack.Count("conversations.replies").Calls; n != 1 {
		t.Errorf("conversations.replies calls = %d, want 1", n)
	}
}

func TestThreadContextThrottled(t *testing.T) {
	h := newHarness(t, fakeslack.WithRepliesLimit(15))
	h.env["THREAD_CONTEXT_MESSAGES"] = "50"
	h.start()

	// A 40-message thread: one page of 15 is read.
	long := h.slack.Seed(fakeslack.Msg{Channel: channelID, User: "U0ALICE", Text: "message 0"})
	for i := 1; i < 40; i++ {
		h.slack.Seed(fakeslack.Msg{Channel: channelID, User: "U0BOB", Text: fmt.Sprintf("message %d", i), ThreadTS: long})
	}
	h.mention("summarize", long)
	execs := h.waitExecutes(1)
	first := lastUserMessage(execs[0])
	if !strings.Contains(first, "message 14") || strings.Contains(first, "message 15") {
		t.Errorf("first prompt does not hold exactly the first page:\n%s", first)
	}
	if !strings.Contains(first, "not included") {
		t.Errorf("first prompt does not say that messages are missing:\n%s", first)
	}

	// A second thread whose read gets 429 twice: the reply goes without context.
	other := h.slack.Seed(fakeslack.Msg{Channel: channelID, User: "U0ALICE", Text: "another topic"})
	h.slack.Seed(fakeslack.Msg{Channel: channelID, User: "U0BOB", Text: "more", ThreadTS: other})
	h.slack.FailNext("conversations.replies", 2, fakeslack.Fault{Status: http.StatusTooManyRequests, RetryAfter: time.Second})
	h.mention("question", other)
	h.waitReplyText(channelID, other, 0, rendered("question")[0])

	execs = h.waitExecutes(2)
	if got := lastUserMessage(execs[1]); got != "question" {
		t.Errorf("throttled prompt = %q, want the message alone", got)
	}
	if n := h.slack.Count("conversations.replies").Calls; n != 3 {
		t.Errorf("conversations.replies calls = %d, want 3 (one read, then one retry after the 429)", n)
	}
}

func TestThreadContextNotForTopLevel(t *testing.T) {
	h := newHarness(t)
	h.env["THREAD_CONTEXT_MESSAGES"] = "50"
	h.start()
	root := h.mention("top level", "")
	h.waitReplyText(channelID, root, 0, rendered("top level")[0])
	if n := h.slack.Count("conversations.replies").Calls; n != 0 {
		t.Errorf("conversations.replies calls = %d, want 0 for a top-level mention", n)
	}
}
