package scheduler

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/slack-go/slack"
)

func TestClassify(t *testing.T) {
	tests := []struct {
		name       string
		err        error
		kind       errorKind
		retryAfter time.Duration
	}{
		{"429 with retry-after", &slack.RateLimitedError{RetryAfter: 3 * time.Second}, errRateLimited, 3 * time.Second},
		{"wrapped 429", fmt.Errorf("call: %w", &slack.RateLimitedError{RetryAfter: time.Second}), errRateLimited, time.Second},
		{"429 without retry-after", slack.StatusCodeError{Code: http.StatusTooManyRequests}, errRateLimited, 0},
		{"rate_limited body", slack.SlackErrorResponse{Err: "rate_limited"}, errRateLimited, 0},
		{"ratelimited body", slack.SlackErrorResponse{Err: "ratelimited"}, errRateLimited, 0},
		{"msg_too_long", slack.SlackErrorResponse{Err: "msg_too_long"}, errTooLong, 0},
		{"message_not_found", slack.SlackErrorResponse{Err: "message_not_found"}, errRejected, 0},
		{"cant_update_message", slack.SlackErrorResponse{Err: "cant_update_message"}, errRejected, 0},
		{"channel_not_found", slack.SlackErrorResponse{Err: "channel_not_found"}, errRejected, 0},
		{"internal_error", slack.SlackErrorResponse{Err: "internal_error"}, errTransient, 0},
		{"server error", slack.StatusCodeError{Code: http.StatusServiceUnavailable}, errTransient, 0},
		{"client error", slack.StatusCodeError{Code: http.StatusForbidden}, errRejected, 0},
		{"network error", errors.New("read tcp: connection reset by peer"), errTransient, 0},
		{"timeout", context.DeadlineExceeded, errTransient, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			kind, retryAfter := classify(tt.err)
			if kind != tt.kind {
				t.Errorf("kind = %d, want %d", kind, tt.kind)
			}
			if retryAfter != tt.retryAfter {
				t.Errorf("retry after = %v, want %v", retryAfter, tt.retryAfter)
			}
		})
	}
}

func TestRateLimitPausesMethodForEveryReply(t *testing.T) {
	tests := []struct {
		name   string
		err    error
		window time.Duration
	}{
		{"429 with retry-after", &slack.RateLimitedError{RetryAfter: 300 * time.Millisecond}, 300 * time.Millisecond},
		{"rate_limited body", slack.SlackErrorResponse{Err: "rate_limited"}, 200 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := newFakeSlack()
			limited := make(chan struct{})
			var once sync.Once
			fake.hook = func(c call) error {
				if c.method != "update" {
					return nil
				}
				err := error(nil)
				once.Do(func() {
					err = tt.err
					close(limited)
				})
				return err
			}
			cfg := fastConfig()
			// One write in flight, so no update can start between the 429 and its handling.
			cfg.MaxInFlight = 1
			cfg.RateLimitPause = 200 * time.Millisecond
			s := startScheduler(t, fake, cfg)

			var replies []*Reply
			for i := range 3 {
				r := s.Start(fmt.Sprintf("C%d", i), "100.000001", "…")
				placeholderTS(t, r)
				replies = append(replies, r)
			}
			replies[0].Set([]string{"first"})
			<-limited
			// Every reply has a final text pending while chat.update is paused.
			for i, r := range replies {
				r.Finish([]string{fmt.Sprintf("final %d", i)})
			}
			for _, r := range replies {
				if err := waitReply(t, r); err != nil {
					t.Fatalf("wait: %v", err)
				}
			}

			calls := fake.recorded("update")
			windowEnd := calls[0].end.Add(tt.window)
			if calls[0].err == nil {
				t.Fatal("first update was not rate limited")
			}
			for _, c := range calls[1:] {
				if c.start.Before(windowEnd) {
					t.Errorf("update of %s started %v after the 429, inside the %v window",
						c.channel, c.start.Sub(calls[0].end), tt.window)
				}
			}
			if n := len(calls) - 1; n != len(replies) {
				t.Errorf("updates after the 429 = %d, want one final per reply", n)
			}
		})
	}
}

func TestRateLimitPausesOnlyThatMethod(t *testing.T) {
	fake := newFakeSlack()
	limited := make(chan struct{})
	var once sync.Once
	fake.hook = func(c call) error {
		if c.method == "update" {
			once.Do(func() { close(limited) })
			return &slack.RateLimitedError{RetryAfter: time.Hour}
		}
		return nil
	}
	s := startScheduler(t, fake, fastConfig())

	first := s.Start("C1", "100.000001", "…")
	placeholderTS(t, first)
	first.Set([]string{"text"})
	<-limited

	second := s.Start("C2", "100.000002", "…")
	placeholderTS(t, second)
	second.Finish([]string{"final"})
	first.Finish([]string{"text and more"})

	if n := len(fake.recorded("update")); n != 1 {
		t.Errorf("updates = %d, want only the rate-limited one inside the window", n)
	}
	if n := len(fake.recorded("post")); n != 2 {
		t.Errorf("posts = %d, want both placeholders during the chat.update pause", n)
	}
}

func TestRateLimitMidStreamCoalescesAndFinalLands(t *testing.T) {
	fake := newFakeSlack()
	var r *Reply
	var mu sync.Mutex
	updates := 0
	const retryAfter = 150 * time.Millisecond
	fake.hook = func(c call) error {
		mu.Lock()
		defer mu.Unlock()
		if c.method != "update" {
			return nil
		}
		updates++
		if updates != 2 && updates != 4 {
			return nil
		}
		// Deltas that arrive while chat.update is paused.
		for _, text := range []string{"x1", "x1 x2", "x1 x2 x3"} {
			r.Set([]string{fmt.Sprintf("%s %d", text, updates)})
		}
		return &slack.RateLimitedError{RetryAfter: retryAfter}
	}
	s := startScheduler(t, fake, fastConfig())

	r = s.Start("C1", "100.000001", "…")
	placeholderTS(t, r)
	for _, text := range growing(5) {
		r.Set([]string{text})
	}
	r.Finish([]string{"final text"})
	if err := waitReply(t, r); err != nil {
		t.Fatalf("wait: %v", err)
	}

	calls := fake.recorded("update")
	for i, c := range calls {
		if c.err == nil {
			continue
		}
		windowEnd := c.end.Add(retryAfter)
		if i+1 >= len(calls) {
			t.Fatalf("no update after the 429 at call %d", i)
		}
		next := calls[i+1]
		if next.start.Before(windowEnd) {
			t.Errorf("update %d started inside the Retry-After window", i+1)
		}
		if strings.HasPrefix(next.text, "x1 ") && !strings.HasPrefix(next.text, "x1 x2 x3") {
			t.Errorf("update after the 429 sent %q, want the newest text", next.text)
		}
	}
	if got := fake.visible("C1", "100.000001"); !slices.Equal(got, []string{"final text"}) {
		t.Errorf("visible = %q, want the final text", got)
	}
}

func TestErrorsDoNotLoseText(t *testing.T) {
	final := strings.Repeat("lorem ipsum dolor ", 25) // 450 runes
	serverError := slack.StatusCodeError{Code: http.StatusServiceUnavailable, Status: "503"}
	tests := []struct {
		name string
		// fail returns the error for a call; original is the placeholder's ts.
		fail func(c call, original string, n int) error
		// repost is whether the final text ends in a new message.
		repost bool
		limit  int // runes the fake accepts per message; 0 for any
	}{
		{"server error retried", func(c call, original string, n int) error {
			return errIf(c.method == "update" && n <= 2, serverError)
		}, false, 0},
		{"internal_error retried", func(c call, original string, n int) error {
			return errIf(c.method == "update" && n <= 2, slack.SlackErrorResponse{Err: "internal_error"})
		}, false, 0},
		{"network error retried", func(c call, original string, n int) error {
			return errIf(c.method == "update" && n <= 2, errors.New("connection reset by peer"))
		}, false, 0},
		{"post error retried", func(c call, original string, n int) error {
			return errIf(c.method == "post" && n <= 2, serverError)
		}, false, 0},
		{"message_not_found reposts", func(c call, original string, n int) error {
			return errIf(c.method == "update" && c.ts == original, slack.SlackErrorResponse{Err: "message_not_found"})
		}, true, 0},
		{"cant_update_message reposts", func(c call, original string, n int) error {
			return errIf(c.method == "update" && c.ts == original, slack.SlackErrorResponse{Err: "cant_update_message"})
		}, true, 0},
		{"retries exhausted reposts", func(c call, original string, n int) error {
			return errIf(c.method == "update" && c.ts == original, serverError)
		}, true, 0},
		{"msg_too_long cuts", nil, false, 150},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := newFakeSlack()
			var mu sync.Mutex
			counts := make(map[string]int)
			var original string
			fake.hook = func(c call) error {
				mu.Lock()
				defer mu.Unlock()
				counts[c.method]++
				if tt.limit > 0 && utf8.RuneCountInString(c.text) > tt.limit {
					return slack.SlackErrorResponse{Err: "msg_too_long"}
				}
				if tt.fail == nil {
					return nil
				}
				return tt.fail(c, original, counts[c.method])
			}
			s := startScheduler(t, fake, fastConfig())

			r := s.Start("C1", "100.000001", "…")
			ts := placeholderTS(t, r)
			mu.Lock()
			original = ts
			mu.Unlock()
			r.Set([]string{final[:100]})
			r.Finish([]string{final})
			if err := waitReply(t, r); err != nil {
				t.Fatalf("wait: %v", err)
			}

			visible := fake.visible("C1", "100.000001")
			switch {
			case tt.repost:
				if len(visible) < 2 || visible[len(visible)-1] != final {
					t.Errorf("visible = %q, want the final text in a new message", visible)
				}
			case tt.limit > 0:
				if got := strings.Join(visible, ""); got != final {
					t.Errorf("visible pieces joined = %q, want the final text", got)
				}
				for _, piece := range visible {
					if n := utf8.RuneCountInString(piece); n > tt.limit {
						t.Errorf("piece of %d runes exceeds the fake's limit %d", n, tt.limit)
					}
				}
			default:
				if !slices.Equal(visible, []string{final}) {
					t.Errorf("visible = %q, want the final text in the placeholder message", visible)
				}
			}
		})
	}
}

func errIf(cond bool, err error) error {
	if cond {
		return err
	}
	return nil
}

func TestPostRejectedFailsReply(t *testing.T) {
	fake := newFakeSlack()
	fake.hook = func(c call) error {
		return slack.SlackErrorResponse{Err: "channel_not_found"}
	}
	s := startScheduler(t, fake, fastConfig())

	r := s.Start("C1", "100.000001", "…")
	_, err := r.PlaceholderTS(context.Background())
	if resp, ok := errors.AsType[slack.SlackErrorResponse](err); !ok || resp.Err != "channel_not_found" {
		t.Errorf("placeholder ts error = %v, want channel_not_found", err)
	}
	r.Finish([]string{"text"})
	if err := waitReply(t, r); err == nil {
		t.Error("wait = nil, want the post error")
	}
	if n := len(fake.recorded("post")); n != 1 {
		t.Errorf("posts = %d, want 1: a rejected post is not retried", n)
	}
}
