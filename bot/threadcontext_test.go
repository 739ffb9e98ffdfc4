package bot

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/slack-go/slack"

	"github.com/tessbot/tessbot/internal/fakeslack"
)

// seedThread stores a thread of n messages from two people in channel C0CHAN and returns
// the root ts.
func seedThread(srv *fakeslack.Server, n int) string {
	root := srv.Seed(fakeslack.Msg{Channel: "C0CHAN", User: "U0ALICE", Text: "message 0"})
	for i := 1; i < n; i++ {
		user := []string{"U0ALICE", "U0BOB"}[i%2]
		srv.Seed(fakeslack.Msg{Channel: "C0CHAN", User: user, Text: fmt.Sprintf("message %d", i), ThreadTS: root})
	}
	return root
}

func newSlackClient(srv *fakeslack.Server) *slack.Client {
	return slack.New(srv.BotToken(), slack.OptionAPIURL(srv.APIURL()))
}

func TestReadThreadContext(t *testing.T) {
	srv := fakeslack.New(t)
	root := seedThread(srv, 5)
	mention := srv.Seed(fakeslack.Msg{Channel: "C0CHAN", User: "U0BOB", Text: "<@U0BOT> sum up", ThreadTS: root})
	srv.Seed(fakeslack.Msg{Channel: "C0CHAN", User: "U0ALICE", Text: "after the mention", ThreadTS: root})

	tc, result := readThreadContext(context.Background(), newSlackClient(srv), "C0CHAN", root, mention, 50, slog.New(slog.DiscardHandler))
	if result != contextOK {
		t.Fatalf("result = %q, want ok", result)
	}
	if len(tc.messages) != 5 {
		t.Fatalf("read %d messages, want the 5 before the mention", len(tc.messages))
	}
	prompt := tc.prompt("sum up", "U0BOT")
	for _, want := range []string{"[<@U0ALICE>] message 0", "[<@U0BOB>] message 3", "The message to answer:\n\nsum up"} {
		if !strings.Contains(prompt, want) {
			t.Errorf("prompt lacks %q:\n%s", want, prompt)
		}
	}
	for _, unwanted := range []string{"<@U0BOT> sum up", "after the mention", "not included"} {
		if strings.Contains(prompt, unwanted) {
			t.Errorf("prompt contains %q:\n%s", unwanted, prompt)
		}
	}
	if calls := srv.Calls("conversations.replies"); len(calls) != 1 || calls[0].Form.Get("limit") != "50" {
		t.Errorf("conversations.replies calls = %+v, want one with limit 50", calls)
	}
}

func TestReadThreadContextOnePage(t *testing.T) {
	srv := fakeslack.New(t, fakeslack.WithRepliesLimit(15))
	root := seedThread(srv, 40)
	mention := srv.NewTS()

	tc, result := readThreadContext(context.Background(), newSlackClient(srv), "C0CHAN", root, mention, 50, slog.New(slog.DiscardHandler))
	if result != contextOK {
		t.Fatalf("result = %q, want ok", result)
	}
	if len(tc.messages) != 15 || !tc.hasMore {
		t.Errorf("read %d messages, has_more %v; want 15 and true", len(tc.messages), tc.hasMore)
	}
	if n := srv.Count("conversations.replies").Calls; n != 1 {
		t.Errorf("conversations.replies called %d times, want 1", n)
	}
	if prompt := tc.prompt("q", "U0BOT"); !strings.Contains(prompt, "(Later messages of the thread are not included.)") {
		t.Errorf("prompt does not say that messages are missing:\n%s", prompt)
	}
}

func TestReadThreadContextRateLimited(t *testing.T) {
	tests := []struct {
		name       string
		faults     int
		retryAfter time.Duration
		wantResult string
		wantCalls  int
	}{
		{"429 once then ok", 1, time.Second, contextOK, 2},
		{"429 twice", 2, time.Second, contextRateLimited, 2},
		{"retry after too long", 1, time.Minute, contextRateLimited, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := fakeslack.New(t)
			root := seedThread(srv, 3)
			srv.FailNext("conversations.replies", tt.faults, fakeslack.Fault{Status: 429, RetryAfter: tt.retryAfter})

			tc, result := readThreadContext(context.Background(), newSlackClient(srv), "C0CHAN", root, srv.NewTS(), 50,
				slog.New(slog.DiscardHandler))
			if result != tt.wantResult {
				t.Errorf("result = %q, want %q", result, tt.wantResult)
			}
			if n := srv.Count("conversations.replies").Calls; n != tt.wantCalls {
				t.Errorf("conversations.replies called %d times, want %d", n, tt.wantCalls)
			}
			if got := len(tc.messages) > 0; got != (tt.wantResult == contextOK) {
				t.Errorf("got %d messages with result %q", len(tc.messages), result)
			}
		})
	}
}

func TestReadThreadContextFailure(t *testing.T) {
	srv := fakeslack.New(t)
	tc, result := readThreadContext(context.Background(), newSlackClient(srv), "C0NONE", "1.1", "2.2", 50,
		slog.New(slog.DiscardHandler))
	if result != contextFailed {
		t.Errorf("result = %q, want failed", result)
	}
	if got := tc.prompt("q", "U0BOT"); got != "q" {
		t.Errorf("prompt without context = %q, want the text alone", got)
	}
}

func TestThreadContextPrompt(t *testing.T) {
	long := strings.Repeat("x", maxContextMessageRunes+10)
	tc := threadContext{messages: []slack.Message{
		{Msg: slack.Msg{User: "U1", Text: "hello"}},
		{Msg: slack.Msg{User: "UBOT", Text: "earlier answer"}},
		{Msg: slack.Msg{BotID: "B2", Username: "deploybot", Text: "deployed"}},
		{Msg: slack.Msg{User: "U1", Text: "", Files: []slack.File{{Name: "report.pdf"}}}},
		{Msg: slack.Msg{User: "U1", Text: "   "}},
		{Msg: slack.Msg{User: "U1", Text: long}},
	}}
	prompt := tc.prompt("question", "UBOT")
	for _, want := range []string{
		"[<@U1>] hello",
		"[assistant] earlier answer",
		"[bot deploybot] deployed",
		"[<@U1>] [file: report.pdf]",
		strings.Repeat("x", maxContextMessageRunes) + "…",
	} {
		if !strings.Contains(prompt, want) {
			t.Errorf("prompt lacks %q", want)
		}
	}
	if strings.Contains(prompt, strings.Repeat("x", maxContextMessageRunes+1)) {
		t.Error("a long message was not shortened")
	}
	if strings.Count(prompt, "\n[") != 5 {
		t.Errorf("prompt has %d message lines, want 5 (blank message skipped)", strings.Count(prompt, "\n["))
	}
}

func TestThreadContextPromptBudget(t *testing.T) {
	var msgs []slack.Message
	for i := range 20 {
		msgs = append(msgs, slack.Message{Msg: slack.Msg{User: "U1", Text: fmt.Sprintf("%02d %s", i, strings.Repeat("y", 1500))}})
	}
	prompt := threadContext{messages: msgs}.prompt("q", "UBOT")
	if !strings.Contains(prompt, "[<@U1>] 00 ") {
		t.Error("the oldest message is missing")
	}
	if strings.Contains(prompt, "[<@U1>] 19 ") {
		t.Error("the context exceeds its budget")
	}
	if !strings.Contains(prompt, "not included") {
		t.Error("prompt does not say that messages are missing")
	}
}

func TestCompareTS(t *testing.T) {
	tests := []struct {
		a, b string
		want int
	}{
		{"1700000000.000100", "1700000000.000200", -1},
		{"1700000001.000100", "1700000000.000200", 1},
		{"999999999.000100", "1700000000.000100", -1},
		{"1700000000.000100", "1700000000.000100", 0},
	}
	for _, tt := range tests {
		got := compareTS(tt.a, tt.b)
		if (got < 0) != (tt.want < 0) || (got > 0) != (tt.want > 0) {
			t.Errorf("compareTS(%s, %s) = %d, want sign %d", tt.a, tt.b, got, tt.want)
		}
	}
}
