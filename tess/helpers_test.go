package tess

import (
	"bytes"
	"context"
	"log/slog"
	"math"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tessbot/tessbot/internal/faketess"
	"golang.org/x/time/rate"
)

// newHourlyLimiter returns a limiter that holds burst tokens and refills one an hour, so
// that the tokens a test used can be counted.
func newHourlyLimiter(burst int) *rate.Limiter {
	return rate.NewLimiter(rate.Every(time.Hour), burst)
}

// logBuffer collects log output from concurrent goroutines.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// fastConfig returns a Config for baseURL and key whose waits take milliseconds.
func fastConfig(baseURL, key string, logs *logBuffer) Config {
	return Config{
		BaseURL:           baseURL,
		APIKey:            key,
		RequestsPerSecond: math.Inf(1),
		Logger:            slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		RetryBackoff:      time.Millisecond,
		MaxRetryAfter:     5 * time.Millisecond,
		PollInterval:      time.Millisecond,
		PollMaxInterval:   5 * time.Millisecond,
		FileDeadline:      10 * time.Second,
		PollDeadline:      10 * time.Second,
	}
}

// newFakeClient returns a client of srv with fast waits, changed by edit when not nil,
// and the buffer that collects its logs.
func newFakeClient(t *testing.T, srv *faketess.Server, edit func(*Config)) (*Client, *logBuffer) {
	t.Helper()
	logs := &logBuffer{}
	cfg := fastConfig(srv.URL, srv.APIKey, logs)
	cfg.WorkspaceID = srv.WorkspaceID
	if edit != nil {
		edit(&cfg)
	}
	return New(cfg), logs
}

// testContext returns a context that ends with the test or after a minute, so that a
// hang fails the test instead of stalling the run.
func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// progressLog records the Progress values of one execution.
type progressLog struct {
	texts []string
	last  Progress
}

func (p *progressLog) record(pr Progress) {
	p.texts = append(p.texts, pr.Text)
	p.last = pr
}

// checkGrowth fails unless every text extends the one before and the last is want, which
// is what a Slack message edited with each Progress shows: no repeated or lost text.
func (p *progressLog) checkGrowth(t *testing.T, want string) {
	t.Helper()
	prev := ""
	for i, text := range p.texts {
		if !strings.HasPrefix(text, prev) || text == prev {
			t.Fatalf("progress %d = %q does not extend %q", i, text, prev)
		}
		prev = text
	}
	if prev != want {
		t.Fatalf("last progress = %q, want %q", prev, want)
	}
}
