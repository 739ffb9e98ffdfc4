package bot

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"testing"
	"time"

	"golang.org/x/time/rate"

	"github.com/tessbot/tessbot/threadstore"
)

// budgetCall is one Wait on a fakeBudget.
type budgetCall struct {
	key   string
	limit rate.Limit
	burst int
}

// fakeBudget is a threadstore.Limiter that grants every call at once, or returns err.
type fakeBudget struct {
	mu    sync.Mutex
	calls []budgetCall
	err   error
}

func (f *fakeBudget) Wait(ctx context.Context, key string, limit rate.Limit, burst int) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, budgetCall{key, limit, burst})
	if err := ctx.Err(); err != nil {
		return err
	}
	return f.err
}

func (f *fakeBudget) callCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.calls)
}

// newTestSharedLimiter returns a limiter of 6 a minute and a burst of 5 on shared. At
// that rate the bucket regains a token in 10 s, far longer than a test takes.
func newTestSharedLimiter(shared threadstore.Limiter) *sharedLimiter {
	local := rate.NewLimiter(rate.Limit(6.0/60), 5)
	return newSharedLimiter(shared, local, slog.New(slog.DiscardHandler), nil)
}

func TestSharedLimiterWaitsOnSharedBudget(t *testing.T) {
	shared := &fakeBudget{}
	l := newTestSharedLimiter(shared)

	if err := l.Wait(context.Background()); err != nil {
		t.Fatalf("Wait: %v", err)
	}

	if len(shared.calls) != 1 {
		t.Fatalf("shared budget got %d calls, want 1", len(shared.calls))
	}
	want := budgetCall{key: updateBudgetKey, limit: rate.Limit(6.0 / 60), burst: 5}
	if got := shared.calls[0]; got != want {
		t.Errorf("shared budget call = %+v, want %+v", got, want)
	}
}

func TestSharedLimiterTokensEstimate(t *testing.T) {
	l := newTestSharedLimiter(&fakeBudget{})
	if got := l.Tokens(); got < 4.99 {
		t.Fatalf("Tokens at start = %v, want the burst of 5", got)
	}

	for range 2 {
		if err := l.Wait(context.Background()); err != nil {
			t.Fatalf("Wait: %v", err)
		}
	}
	if got := l.Tokens(); got < 2.99 || got > 3.01 {
		t.Errorf("Tokens after 2 calls without waiting = %v, want about 3", got)
	}

	l.observe(time.Minute)
	if got := l.Tokens(); got >= 1 {
		t.Errorf("Tokens after a call that waited = %v, want below 1", got)
	}
}

func TestSharedLimiterEstimateStaysAtEmpty(t *testing.T) {
	l := newTestSharedLimiter(&fakeBudget{})
	for range 8 {
		l.observe(0)
	}
	if got := l.Tokens(); got < 0 {
		t.Errorf("Tokens after more calls than the burst = %v, want at least 0", got)
	}
}

func TestSharedLimiterFallsBackWhenStoreFails(t *testing.T) {
	shared := &fakeBudget{err: errors.New("redis: connection refused")}
	l := newTestSharedLimiter(shared)

	for i := range 3 {
		if err := l.Wait(context.Background()); err != nil {
			t.Fatalf("Wait %d while the store fails: %v", i, err)
		}
	}

	if got := shared.callCount(); got != 1 {
		t.Errorf("shared budget got %d calls, want 1 before the fallback period", got)
	}
	if got := l.Tokens(); got > 2.01 {
		t.Errorf("Tokens after 3 local calls = %v, want about 2", got)
	}
}

func TestSharedLimiterReturnsToSharedBudget(t *testing.T) {
	shared := &fakeBudget{err: errors.New("redis: connection refused")}
	l := newTestSharedLimiter(shared)
	if err := l.Wait(context.Background()); err != nil {
		t.Fatalf("Wait while the store fails: %v", err)
	}

	shared.mu.Lock()
	shared.err = nil
	shared.mu.Unlock()
	l.mu.Lock()
	l.fallbackUntil = time.Now() // the fallback period is over
	l.mu.Unlock()
	if err := l.Wait(context.Background()); err != nil {
		t.Fatalf("Wait after the store recovered: %v", err)
	}

	if got := shared.callCount(); got != 2 {
		t.Errorf("shared budget got %d calls, want 2", got)
	}
}

func TestSharedLimiterCancelledContext(t *testing.T) {
	shared := &fakeBudget{}
	l := newTestSharedLimiter(shared)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()

	err := l.Wait(ctx)

	if !errors.Is(err, context.Canceled) {
		t.Errorf("Wait with a cancelled context = %v, want context.Canceled", err)
	}
	if l.inFallback(time.Now()) {
		t.Error("a cancelled context switched to the local budget")
	}
}

func TestNewUpdateLimiter(t *testing.T) {
	tests := []struct {
		name     string
		redisURL string
		shared   bool
	}{
		{"embedded store keeps a local budget", "", false},
		{"redis store shares the budget", "redis://127.0.0.1:6379/0", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := &bot{
				cfg:   Config{RedisURL: tt.redisURL},
				log:   slog.New(slog.DiscardHandler),
				store: limiterStore{limiter: &fakeBudget{}},
			}

			l := b.newUpdateLimiter(60, 5)

			_, shared := l.(*sharedLimiter)
			if shared != tt.shared {
				t.Errorf("limiter is %T, shared = %v, want %v", l, shared, tt.shared)
			}
			if got := l.Tokens(); got < 4.99 {
				t.Errorf("Tokens = %v, want the burst of 5", got)
			}
		})
	}
}

// limiterStore is a Store whose only working method is Limiter.
type limiterStore struct {
	threadstore.Store
	limiter threadstore.Limiter
}

func (s limiterStore) Limiter() threadstore.Limiter { return s.limiter }
