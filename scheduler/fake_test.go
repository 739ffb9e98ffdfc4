package scheduler

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/slack-go/slack"
)

// call is one request that fakeSlack received.
type call struct {
	method   string // "post" or "update"
	channel  string
	ts       string // message edited, or created by a post
	threadTS string
	text     string
	start    time.Time
	end      time.Time
	err      error
}

// fakeSlack implements Slack in memory. It records every call and keeps the visible text
// of every message. hook, when set, runs before a call takes effect: it may block, and an
// error it returns fails the call.
type fakeSlack struct {
	hook func(c call) error

	mu     sync.Mutex
	next   int
	calls  []call
	texts  map[string]string   // channel/ts → visible text
	thread map[string][]string // channel/thread_ts → ts of replies, in post order
}

func newFakeSlack() *fakeSlack {
	return &fakeSlack{texts: make(map[string]string), thread: make(map[string][]string)}
}

func (f *fakeSlack) PostMessageContext(ctx context.Context, channel string, options ...slack.MsgOption) (string, string, error) {
	_, values, err := slack.UnsafeApplyMsgOptions("", channel, "", options...)
	if err != nil {
		return "", "", err
	}
	c := call{method: "post", channel: channel, threadTS: values.Get("thread_ts"), text: values.Get("text")}
	c.start = time.Now()
	if f.hook != nil {
		c.err = f.hook(c)
	}

	f.mu.Lock()
	defer f.mu.Unlock()
	if c.err == nil {
		f.next++
		c.ts = fmt.Sprintf("1700000000.%06d", f.next)
		f.texts[channel+"/"+c.ts] = c.text
		key := channel + "/" + c.threadTS
		f.thread[key] = append(f.thread[key], c.ts)
	}
	c.end = time.Now()
	f.calls = append(f.calls, c)
	return channel, c.ts, c.err
}

func (f *fakeSlack) UpdateMessageContext(ctx context.Context, channel, ts string, options ...slack.MsgOption) (string, string, string, error) {
	_, values, err := slack.UnsafeApplyMsgOptions("", channel, "", options...)
	if err != nil {
		return "", "", "", err
	}
	c := call{method: "update", channel: channel, ts: ts, text: values.Get("text")}
	c.start = time.Now()
	if f.hook != nil {
		c.err = f.hook(c)
	}

	f.mu.Lock()
	defer f.mu.Unlock()
	key := channel + "/" + ts
	if _, ok := f.texts[key]; !ok && c.err == nil {
		c.err = slack.SlackErrorResponse{Err: "message_not_found"}
	}
	if c.err == nil {
		f.texts[key] = c.text
	}
	c.end = time.Now()
	f.calls = append(f.calls, c)
	return channel, ts, c.text, c.err
}

// recorded returns the calls received so far, optionally only those of one method.
func (f *fakeSlack) recorded(method string) []call {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []call
	for _, c := range f.calls {
		if method == "" || c.method == method {
			out = append(out, c)
		}
	}
	return out
}

// visible returns the text Slack shows for each reply in the thread, in post order.
func (f *fakeSlack) visible(channel, threadTS string) []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, ts := range f.thread[channel+"/"+threadTS] {
		out = append(out, f.texts[channel+"/"+ts])
	}
	return out
}

// stepLimiter is a chat.update budget that the test hands out one token at a time.
type stepLimiter struct {
	grant  chan struct{}
	tokens float64
}

func newStepLimiter(tokens float64) *stepLimiter {
	return &stepLimiter{grant: make(chan struct{}, 100), tokens: tokens}
}

func (l *stepLimiter) Wait(ctx context.Context) error {
	select {
	case <-l.grant:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (l *stepLimiter) Tokens() float64 { return l.tokens }

// startScheduler runs a Scheduler over api until the test ends.
func startScheduler(t *testing.T, api Slack, cfg Config) *Scheduler {
	t.Helper()
	return startSchedulerWith(t, api, cfg, nil)
}

// startSchedulerWith is startScheduler with a setup function that runs before Run.
func startSchedulerWith(t *testing.T, api Slack, cfg Config, setup func(*Scheduler)) *Scheduler {
	t.Helper()
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	s := New(api, cfg)
	if setup != nil {
		setup(s)
	}
	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		if err := s.Run(ctx); err != nil {
			t.Errorf("run: %v", err)
		}
	}()
	t.Cleanup(func() {
		cancel()
		<-stopped
	})
	return s
}

// fastConfig is a budget that lets unit tests run quickly.
func fastConfig() Config {
	return Config{
		UpdatesPerMinute: 60000,
		UpdateBurst:      10,
		PostsPerSecond:   1000,
		EditInterval:     time.Nanosecond,
		RetryBackoff:     time.Millisecond,
	}
}

// waitReply waits for r's final text with a deadline so that a broken scheduler fails
// the test instead of hanging it.
func waitReply(t *testing.T, r *Reply) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	return r.Wait(ctx)
}

func placeholderTS(t *testing.T, r *Reply) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	ts, err := r.PlaceholderTS(ctx)
	if err != nil {
		t.Fatalf("placeholder ts: %v", err)
	}
	return ts
}

// texts returns the text of each call.
func texts(calls []call) []string {
	out := make([]string, len(calls))
	for i, c := range calls {
		out[i] = c.text
	}
	return out
}

// forMessage returns the successful updates of message ts.
func forMessage(calls []call, ts string) []call {
	return slices.DeleteFunc(slices.Clone(calls), func(c call) bool {
		return c.ts != ts || c.err != nil
	})
}

// growing returns the first n prefixes of a text, as a stream of deltas produces them.
func growing(n int) []string {
	var out []string
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, "word%d ", i)
		out = append(out, b.String())
	}
	return out
}
