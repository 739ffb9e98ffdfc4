package fakeslack

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/slack-go/slack"
)

func TestRateLimitReturns429(t *testing.T) {
	fake := New(t, WithRateLimit("chat.update", 1, 2))
	api := newClient(fake)
	_, ts, err := api.PostMessage("C1", slack.MsgOptionText("x", false))
	if err != nil {
		t.Fatal(err)
	}

	for i := range 2 {
		if _, _, _, err := api.UpdateMessage("C1", ts, slack.MsgOptionText("y", false)); err != nil {
			t.Fatalf("update %d within burst: %v", i, err)
		}
	}

	_, _, _, err = api.UpdateMessage("C1", ts, slack.MsgOptionText("z", false))
	var rl *slack.RateLimitedError
	if !errors.As(err, &rl) {
		t.Fatalf("update beyond burst: %v (%T), want *slack.RateLimitedError", err, err)
	}
	// One token a minute: the next one is most of a minute away.
	if rl.RetryAfter < 30*time.Second || rl.RetryAfter > 60*time.Second {
		t.Errorf("RetryAfter = %v, want between 30s and 60s", rl.RetryAfter)
	}

	got := fake.Count("chat.update")
	if got.Calls != 3 || got.RateLimited != 1 || got.Errors != 1 {
		t.Errorf("counter = %+v, want 3 calls, 1 rate limited", got)
	}
	if m, _ := fake.Message("C1", ts); m.Text != "y" {
		t.Errorf("text after 429 = %q, want y", m.Text)
	}
	calls := fake.Calls("chat.update")
	if calls[2].Status != http.StatusTooManyRequests || calls[2].Error != "ratelimited" {
		t.Errorf("third call recorded as %d %q", calls[2].Status, calls[2].Error)
	}
}

func TestSetRateLimitRemoves(t *testing.T) {
	fake := New(t, WithRateLimit("auth.test", 1, 1))
	api := newClient(fake)
	_, _ = api.AuthTest()
	if _, err := api.AuthTest(); err == nil {
		t.Fatal("second call within the limit succeeded")
	}
	fake.SetRateLimit("auth.test", 0, 0)
	if _, err := api.AuthTest(); err != nil {
		t.Errorf("call after removing the limit: %v", err)
	}
}

func TestRetryAfterSeconds(t *testing.T) {
	tests := []struct {
		in   time.Duration
		want int
	}{
		{0, 1},
		{time.Millisecond, 1},
		{time.Second, 1},
		{1001 * time.Millisecond, 2},
		{59500 * time.Millisecond, 60},
	}
	for _, tt := range tests {
		if got := retryAfterSeconds(tt.in); got != tt.want {
			t.Errorf("retryAfterSeconds(%v) = %d, want %d", tt.in, got, tt.want)
		}
	}
}

func TestFailNext(t *testing.T) {
	fake := New(t)
	api := newClient(fake)
	fake.FailNext("auth.test", 2, Fault{Error: "fatal_error"})
	fake.FailNext("auth.test", 1, Fault{Status: http.StatusServiceUnavailable})
	fake.FailNext("auth.test", 1, Fault{Status: http.StatusTooManyRequests, RetryAfter: 2500 * time.Millisecond})

	for i := range 2 {
		_, err := api.AuthTest()
		if got := slackErrorCode(t, err); got != "fatal_error" {
			t.Errorf("call %d: error %q, want fatal_error", i, got)
		}
	}
	_, err := api.AuthTest()
	var status slack.StatusCodeError
	if !errors.As(err, &status) || status.Code != http.StatusServiceUnavailable {
		t.Errorf("third call: %v, want status 503", err)
	}
	_, err = api.AuthTest()
	var rl *slack.RateLimitedError
	if !errors.As(err, &rl) || rl.RetryAfter != 3*time.Second {
		t.Errorf("fourth call: %v, want RateLimitedError of 3s", err)
	}
	if _, err := api.AuthTest(); err != nil {
		t.Errorf("fifth call: %v, want success", err)
	}
	if got := fake.Count("auth.test"); got.Faults != 4 || got.Calls != 5 {
		t.Errorf("counter = %+v, want 4 faults of 5 calls", got)
	}
}

func TestFailNextUnknownMethodPanics(t *testing.T) {
	fake := New(t)
	defer func() {
		if recover() == nil {
			t.Error("FailNext on a method the fake does not serve did not panic")
		}
	}()
	fake.FailNext("chat.unknown", 1, Fault{Error: "x"})
}

func TestLatencyDelaysResponse(t *testing.T) {
	fake := New(t)
	fake.SetLatency("auth.test", time.Hour)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := newClient(fake).AuthTestContext(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("error = %v, want deadline exceeded", err)
	}
	if got := fake.Count("auth.test").Calls; got != 0 {
		t.Errorf("calls = %d, want 0: a call abandoned during latency gets no response", got)
	}
}

func TestWaitReturnsOnChange(t *testing.T) {
	fake := New(t)
	changed := fake.Changed()
	fake.Seed(Msg{Channel: "C1", User: "U1", Text: "seeded"})
	select {
	case <-changed:
	default:
		t.Error("Changed channel still open after a stored message")
	}

	go func() { _, _, _ = newClient(fake).PostMessage("C1", slack.MsgOptionText("later", false)) }()
	fake.WaitFor(t, func(s *Server) bool { return len(s.BotMessages("C1")) == 1 }, waitTimeout)

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := fake.Wait(ctx, func(*Server) bool { return false })
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Wait with a cancelled context = %v, want context.Canceled", err)
	}
}
