package scheduler

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/slack-go/slack"

	"github.com/tessbot/tessbot/internal/fakeslack"
)

// newFakeWorkspace starts internal/fakeslack and returns it with a real slack-go client
// pointed at it.
func newFakeWorkspace(t testing.TB, opts ...fakeslack.Option) (*fakeslack.Server, *slack.Client) {
	t.Helper()
	srv := fakeslack.New(t, opts...)
	client := slack.New(srv.BotToken(), slack.OptionAPIURL(srv.APIURL()))
	return srv, client
}

// threadTexts returns the visible text of the replies in a thread, root excluded.
func threadTexts(srv *fakeslack.Server, channel, threadTS string) []string {
	var out []string
	for _, m := range srv.Thread(channel, threadTS) {
		if m.TS != threadTS {
			out = append(out, m.VisibleText())
		}
	}
	return out
}

func TestWorkspaceFinalTexts(t *testing.T) {
	srv, client := newFakeWorkspace(t)
	s := startScheduler(t, client, fastConfig())

	finals := []string{
		"*bold* and `code` with &lt;escaped&gt; text",
		"a mention <@U123> and a link <https://example.com|example>",
		strings.Repeat("long ", 700),
	}
	var replies []*Reply
	var roots []string
	for i := range finals {
		root := srv.Seed(fakeslack.Msg{Channel: "C1", User: "U1", Text: fmt.Sprintf("question %d", i)})
		r := s.Start("C1", root, "Thinking…")
		replies = append(replies, r)
		roots = append(roots, root)
	}
	for i, r := range replies {
		r.Set([]string{finals[i][:10]})
		r.Finish([]string{finals[i]})
	}
	for i, r := range replies {
		if err := waitReply(t, r); err != nil {
			t.Fatalf("reply %d: %v", i, err)
		}
		got := threadTexts(srv, "C1", roots[i])
		if len(got) != 1 || got[0] != finals[i] {
			t.Errorf("reply %d: thread = %q, want the final text once", i, got)
		}
	}
}

func TestWorkspaceRateLimitPausesUpdates(t *testing.T) {
	srv, client := newFakeWorkspace(t)
	srv.FailNext("chat.update", 1, fakeslack.Fault{Status: http.StatusTooManyRequests, RetryAfter: time.Second})
	cfg := fastConfig()
	cfg.MaxInFlight = 1 // no update can start between the 429 and its handling
	s := startScheduler(t, client, cfg)

	var replies []*Reply
	for i := range 3 {
		r := s.Start(fmt.Sprintf("C%d", i), "100.000001", "…")
		placeholderTS(t, r)
		replies = append(replies, r)
	}
	for i, r := range replies {
		r.Finish([]string{fmt.Sprintf("final %d", i)})
	}
	for i, r := range replies {
		if err := waitReply(t, r); err != nil {
			t.Fatalf("reply %d: %v", i, err)
		}
	}

	calls := srv.Calls("chat.update")
	if len(calls) != 4 {
		t.Fatalf("chat.update calls = %d, want the 429 and 3 finals", len(calls))
	}
	if calls[0].Status != http.StatusTooManyRequests {
		t.Fatalf("first chat.update status = %d, want 429", calls[0].Status)
	}
	for _, c := range calls[1:] {
		if gap := c.At.Sub(calls[0].At); gap < time.Second {
			t.Errorf("chat.update %v after the 429, inside its Retry-After of 1s", gap)
		}
	}
}

func TestWorkspaceRejectedEditsKeepText(t *testing.T) {
	final := strings.Repeat("sit amet ", 60) // 540 runes
	tests := []struct {
		name  string
		fault *fakeslack.Fault
		limit int
	}{
		{"message_not_found", &fakeslack.Fault{Error: "message_not_found"}, 0},
		{"cant_update_message", &fakeslack.Fault{Error: "cant_update_message"}, 0},
		{"server error", &fakeslack.Fault{Status: http.StatusBadGateway}, 0},
		{"msg_too_long", nil, 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var opts []fakeslack.Option
			if tt.limit > 0 {
				opts = append(opts, fakeslack.WithUpdateTextLimit(tt.limit), fakeslack.WithPostTextLimit(tt.limit))
			}
			srv, client := newFakeWorkspace(t, opts...)
			if tt.fault != nil {
				srv.FailNext("chat.update", 1, *tt.fault)
			}
			s := startScheduler(t, client, fastConfig())

			root := srv.Seed(fakeslack.Msg{Channel: "C1", User: "U1", Text: "question"})
			r := s.Start("C1", root, "…")
			placeholderTS(t, r)
			r.Finish([]string{final})
			if err := waitReply(t, r); err != nil {
				t.Fatalf("wait: %v", err)
			}

			got := threadTexts(srv, "C1", root)
			if tt.limit > 0 {
				if joined := strings.Join(got, ""); joined != final {
					t.Errorf("thread joined = %q, want the final text", joined)
				}
				for _, text := range got {
					if n := utf8.RuneCountInString(text); n > tt.limit {
						t.Errorf("message of %d runes exceeds the limit %d", n, tt.limit)
					}
				}
				return
			}
			if len(got) == 0 || got[len(got)-1] != final {
				t.Errorf("thread = %q, want the final text last", got)
			}
		})
	}
}

func TestWorkspaceBudgetNoRateLimits(t *testing.T) {
	// The scheduler keeps the fake's rate with two tokens less of burst: calls reach the
	// fake with varying latency, and the spare tokens absorb up to 100ms of that jitter.
	srv, client := newFakeWorkspace(t, fakeslack.WithRateLimit("chat.update", 1200, 5))
	cfg := fastConfig()
	cfg.UpdatesPerMinute = 1200
	cfg.UpdateBurst = 3
	cfg.EditInterval = 20 * time.Millisecond
	s := startScheduler(t, client, cfg)

	texts := growing(40)
	var replies []*Reply
	for i := range 10 {
		replies = append(replies, s.Start(fmt.Sprintf("C%d", i), "100.000001", "…"))
	}
	ctx := context.Background()
	for _, r := range replies {
		if _, err := r.PlaceholderTS(ctx); err != nil {
			t.Fatalf("placeholder ts: %v", err)
		}
	}
	for _, text := range texts {
		for _, r := range replies {
			r.Set([]string{text})
		}
		time.Sleep(2 * time.Millisecond) // deltas arrive over time, as from a stream
	}
	for _, r := range replies {
		r.Finish([]string{texts[len(texts)-1]})
	}
	for i, r := range replies {
		if err := waitReply(t, r); err != nil {
			t.Fatalf("reply %d: %v", i, err)
		}
		got := threadTexts(srv, fmt.Sprintf("C%d", i), "100.000001")
		if len(got) != 1 || got[0] != texts[len(texts)-1] {
			t.Errorf("reply %d: thread = %q, want the final text", i, got)
		}
	}
	if n := srv.Count("chat.update").RateLimited; n > 0 {
		t.Errorf("chat.update answered 429 %d times, want 0", n)
	}
}

func TestWorkspaceShortAnswerOneMessage(t *testing.T) {
	srv, client := newFakeWorkspace(t)
	cfg := fastConfig()
	cfg.EditInterval = time.Hour
	s := startScheduler(t, client, cfg)

	root := srv.Seed(fakeslack.Msg{Channel: "C1", User: "U1", Text: "question"})
	r := s.Start("C1", root, "Thinking…")
	placeholderTS(t, r)
	r.Set([]string{"OK."})
	r.Finish([]string{"OK."})
	if err := waitReply(t, r); err != nil {
		t.Fatalf("wait: %v", err)
	}

	msgs := threadReplies(srv, "C1", root)
	if len(msgs) != 1 {
		t.Fatalf("bot messages = %d, want 1", len(msgs))
	}
	if got := msgs[0].VisibleText(); got != "OK." {
		t.Errorf("text = %q, want %q", got, "OK.")
	}
	if n := msgs[0].Edits(); n != 1 {
		t.Errorf("edits = %d, want 1", n)
	}
}

func TestWorkspaceMultiplePartsInOrder(t *testing.T) {
	srv, client := newFakeWorkspace(t)
	s := startScheduler(t, client, fastConfig())

	root := srv.Seed(fakeslack.Msg{Channel: "C1", User: "U1", Text: "question"})
	r := s.Start("C1", root, "…")
	final := []string{strings.Repeat("a", 3900), strings.Repeat("b", 3900), "c"}
	r.Set(final[:1])
	r.Set(final[:2])
	r.Finish(final)
	if err := waitReply(t, r); err != nil {
		t.Fatalf("wait: %v", err)
	}

	got := threadTexts(srv, "C1", root)
	if len(got) != len(final) {
		t.Fatalf("bot messages = %d, want %d", len(got), len(final))
	}
	for i := range final {
		if got[i] != final[i] {
			t.Errorf("message %d = %.20q…, want %.20q…", i, got[i], final[i])
		}
	}
}
