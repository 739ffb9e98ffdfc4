package tess

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tessbot/tessbot/internal/faketess"
)

func TestRetryAfterForms(t *testing.T) {
	date := time.Now().Add(90 * time.Second).UTC().Format(http.TimeFormat)
	tests := []struct {
		name   string
		header string
		body   string
		min    time.Duration // APIError.RetryAfter is within [min, max]; 0 when absent
		max    time.Duration
	}{
		{"header seconds", "7", `{"error":"Rate limit exceeded"}`, 7 * time.Second, 7 * time.Second},
		{"header http date", date, `{}`, 80 * time.Second, 90 * time.Second},
		{"header date far ahead", "Fri, 31 Dec 9999 23:59:59 GMT", `{}`, 24 * time.Hour, 24 * time.Hour},
		{"body over a day", "", `{"retry_after":1e12}`, 24 * time.Hour, 24 * time.Hour},
		{"header over a day", "99999999999", `{}`, 24 * time.Hour, 24 * time.Hour},
		{"header infinite", "Inf", `{}`, 24 * time.Hour, 24 * time.Hour},
		{"body wins over header", "5", `{"retry_after":2}`, 2 * time.Second, 2 * time.Second},
		{"body not a number", "3", `{"retry_after":"NaN"}`, 3 * time.Second, 3 * time.Second},
		{"header not a number", "NaN", `{}`, 0, 0},
		{"header negative", "-4", `{}`, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if tt.header != "" {
					w.Header().Set("Retry-After", tt.header)
				}
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusTooManyRequests)
				fmt.Fprint(w, tt.body)
			}))
			t.Cleanup(srv.Close)
			logs := &logBuffer{}
			cfg := fastConfig(srv.URL, "key", logs)
			cfg.MaxRetries = 1
			cfg.MaxRetryAfter = 20 * time.Millisecond
			c := New(cfg)
			_, err := c.Agent(testContext(t), "7")
			var apiErr *APIError
			if !errors.As(err, &apiErr) {
				t.Fatalf("err = %v, want *APIError", err)
			}
			if apiErr.RetryAfter < tt.min || apiErr.RetryAfter > tt.max {
				t.Errorf("retry after = %s, want within [%s, %s]", apiErr.RetryAfter, tt.min, tt.max)
			}
			// A wait that Tess requests is capped at MaxRetryAfter, not replaced by the backoff.
			if tt.min > 0 && !strings.Contains(logs.String(), "wait=20ms") {
				t.Errorf("logs lack a retry capped at 20ms:\n%s", logs)
			}
		})
	}
}

func TestRetriesBoundedEveryPath(t *testing.T) {
	tests := []struct {
		name  string
		fault faketess.Fault
	}{
		{"429", faketess.Fault{Status: 429, RetryAfter: 1}},
		{"500", faketess.Fault{Status: 500}},
		{"dropped", faketess.Fault{Drop: true}},
	}
	for _, tt := range tests {
		for _, retries := range []int{-1, 1, 4} {
			t.Run(fmt.Sprintf("%s %d retries", tt.name, retries), func(t *testing.T) {
				srv := faketess.New(t)
				f := tt.fault
				f.Times = 100
				srv.Inject(f)
				c, _ := newFakeClient(t, srv, func(cfg *Config) { cfg.MaxRetries = retries })
				ctx := testContext(t)
				calls := []func() error{
					func() error { _, err := c.Agent(ctx, "7"); return err },
					func() error {
						_, err := c.Execute(ctx, ExecuteRequest{AgentID: "7", Message: "hi"}, nil)
						return err
					},
					func() error { return c.DeleteFile(ctx, 5) },
					func() error {
						_, err := c.UploadFile(ctx, "a.txt", strings.NewReader("a"))
						return err
					},
				}
				want := max(retries, 0) + 1
				for i, call := range calls {
					before := srv.CallCount("", "")
					if err := call(); err == nil {
						t.Fatalf("call %d: err = nil, want the injected failure", i)
					}
					if n := srv.CallCount("", "") - before; n != want {
						t.Errorf("call %d: %d requests, want %d", i, n, want)
					}
				}
			})
		}
	}
}

// cancelOnMessage is a slog handler that calls cancel when a record's message contains
// text, so that a test can cancel exactly while a call sleeps before its retry.
type cancelOnMessage struct {
	slog.Handler
	text   string
	cancel context.CancelFunc
}

func (h cancelOnMessage) Handle(ctx context.Context, r slog.Record) error {
	if strings.Contains(r.Message, h.text) {
		// The retry loop logs just before it sleeps, so the cancel lands in the sleep.
		time.AfterFunc(10*time.Millisecond, h.cancel)
	}
	return h.Handler.Handle(ctx, r)
}

func TestCancelDuringBackoff(t *testing.T) {
	tests := []struct {
		name  string
		fault faketess.Fault
	}{
		{"429 asking for an hour", faketess.Fault{Status: 429, RetryAfter: 3600}},
		{"500 with an hour of backoff", faketess.Fault{Status: 500}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := faketess.New(t)
			f := tt.fault
			f.Times = 100
			srv.Inject(f)
			ctx, cancel := context.WithCancel(testContext(t))
			defer cancel()
			logs := &logBuffer{}
			c, _ := newFakeClient(t, srv, func(cfg *Config) {
				cfg.MaxRetryAfter = time.Hour
				cfg.RetryBackoff = time.Hour
				cfg.Logger = slog.New(cancelOnMessage{
					Handler: slog.NewTextHandler(logs, nil),
					text:    "retrying",
					cancel:  cancel,
				})
			})
			// A sleep that ignored ctx would outlast testContext and fail with
			// DeadlineExceeded instead.
			_, err := c.Execute(ctx, ExecuteRequest{AgentID: "7", Message: "hi"}, nil)
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("err = %v, want context.Canceled", err)
			}
			if n := srv.CallCount("", ""); n != 1 {
				t.Errorf("requests = %d, want 1", n)
			}
		})
	}
}

func TestCancelDuringPollWait(t *testing.T) {
	var polls atomic.Int32
	srv, _ := newStreamServer(t, writeEvents(`{"id":9,"status":"running","output":"a"}`),
		`{"id":9,"status":"running","output":"a"}`)
	ctx, cancel := context.WithCancel(testContext(t))
	defer cancel()
	cfg := fastConfig(srv.URL, "key", &logBuffer{})
	cfg.PollInterval = time.Hour
	c := New(cfg)
	res, err := c.Execute(ctx, ExecuteRequest{AgentID: "7", Message: "hi"}, func(p Progress) {
		if polls.Add(1) == 1 {
			cancel()
		}
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if res == nil || res.Text != "a" {
		t.Errorf("result = %+v, want the streamed text", res)
	}
}
