package bot

import (
	"context"
	"errors"
	"log/slog"
	"math"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/tessbot/tessbot/metrics"
	"github.com/tessbot/tessbot/scheduler"
	"github.com/tessbot/tessbot/threadstore"
)

// updateBudgetKey names the chat.update budget in the store. Slack limits chat.update per
// app, so every replica of the app spends from this one budget.
const updateBudgetKey = "slack:chat.update"

// defaultUpdateBurst is the chat.update burst when the scheduler settings leave it unset.
// It is the scheduler's own default.
const defaultUpdateBurst = 5

// budgetFallback is how long the shared budget is bypassed after the store failed to
// serve it, so that each write does not wait for a store that is down.
const budgetFallback = 10 * time.Second

// newUpdateLimiter returns the chat.update budget of the scheduler and of recovered
// replies: shared by every replica through the store when the store is Redis, and local
// to the process with the embedded store, which only one process can open.
func (b *bot) newUpdateLimiter(perMinute float64, burst int) scheduler.Limiter {
	local := rate.NewLimiter(rate.Limit(perMinute/60), burst)
	if b.cfg.RedisURL == "" {
		return local
	}
	return newSharedLimiter(b.store.Limiter(), local, b.log.With("component", "budget"), b.metrics)
}

// sharedLimiter adapts a budget of the store, which replicas share, to the Limiter of the
// scheduler.
//
// Tokens returns an estimate. The store reports how long a call waited but not how many
// tokens are left, so the limiter keeps a local bucket with the same rate and burst. Each
// call of this replica spends one of its tokens, and a call that had to wait empties it,
// because the shared bucket was empty then. Calls of other replicas show only in those
// waits, so the estimate runs high while other replicas spend, and the scheduler's
// reserve for final texts is then smaller than it thinks.
//
// While the store fails, calls wait on the local bucket alone for budgetFallback, so that
// replies still reach Slack. Each replica may then spend the whole budget, and Slack's 429
// responses, which pause the scheduler, make up the difference.
type sharedLimiter struct {
	shared     threadstore.Limiter
	local      *rate.Limiter
	emptyAfter time.Duration // a wait this long means the shared bucket was empty
	log        *slog.Logger
	metrics    *metrics.Metrics // nil counts nothing
	failures   onceLogger

	mu            sync.Mutex
	fallbackUntil time.Time
}

func newSharedLimiter(shared threadstore.Limiter, local *rate.Limiter, log *slog.Logger, m *metrics.Metrics) *sharedLimiter {
	interval := time.Duration(float64(time.Second) / float64(local.Limit()))
	return &sharedLimiter{
		shared:     shared,
		local:      local,
		emptyAfter: max(interval/10, time.Millisecond),
		log:        log,
		metrics:    m,
	}
}

// Wait blocks until the shared budget allows one chat.update, or until the local bucket
// does while the store fails.
func (l *sharedLimiter) Wait(ctx context.Context) error {
	if l.inFallback(time.Now()) {
		return l.local.Wait(ctx)
	}

	start := time.Now()
	err := l.shared.Wait(ctx, updateBudgetKey, l.local.Limit(), l.local.Burst())
	switch {
	case err == nil:
		if n := l.failures.recover(); n > 0 {
			l.log.Info("shared chat.update budget recovered", "failures", n)
		}
		l.observe(time.Since(start))
		return nil
	case ctx.Err() != nil || errors.Is(err, context.DeadlineExceeded):
		return err
	}

	l.metrics.StoreError("rate_budget")
	if l.failures.fail() {
		l.log.Error("shared chat.update budget failed; using a budget of this replica",
			"fallback", budgetFallback,
			"err", err)
	}
	l.mu.Lock()
	l.fallbackUntil = time.Now().Add(budgetFallback)
	l.mu.Unlock()
	return l.local.Wait(ctx)
}

// Tokens returns the estimate of the tokens left in the shared budget.
func (l *sharedLimiter) Tokens() float64 {
	return l.local.Tokens()
}

func (l *sharedLimiter) inFallback(now time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return now.Before(l.fallbackUntil)
}

// observe updates the local estimate after the shared budget granted a call that waited
// for waited.
func (l *sharedLimiter) observe(waited time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()

	now := time.Now()
	tokens := l.local.TokensAt(now)
	switch {
	case waited >= l.emptyAfter:
		// This call took the token that the shared bucket had just regained.
		if n := math.Floor(tokens); n >= 1 {
			l.local.ReserveN(now, int(n))
		}
	case tokens >= 1:
		l.local.ReserveN(now, 1)
	}
	// Below one token the estimate is already lower than the shared budget, which did
	// not make this call wait, so it stays.
}
