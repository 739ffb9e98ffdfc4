package threadstore

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
	"golang.org/x/time/rate"
)

// NewLocalLimiter returns a Limiter whose budgets live in this process. The bbolt store
// uses it, and test doubles of Store may return it.
func NewLocalLimiter() Limiter {
	return &localLimiter{budgets: make(map[string]*rate.Limiter)}
}

type localLimiter struct {
	mu      sync.Mutex
	budgets map[string]*rate.Limiter
}

func (l *localLimiter) Wait(ctx context.Context, key string, limit rate.Limit, burst int) error {
	if err := checkBudget(key, limit, burst); err != nil {
		return err
	}
	if limit == rate.Inf {
		return ctx.Err()
	}

	now := time.Now()
	r := l.budget(key, limit, burst).ReserveN(now, 1)
	delay := r.DelayFrom(now)
	if deadline, ok := ctx.Deadline(); ok && now.Add(delay).After(deadline) {
		r.CancelAt(now)
		return waitTooLong(key)
	}
	if err := sleep(ctx, delay); err != nil {
		r.Cancel()
		return fmt.Errorf("rate budget %q: %w", key, err)
	}
	return nil
}

// budget returns the limiter of key, created or updated to limit and burst.
func (l *localLimiter) budget(key string, limit rate.Limit, burst int) *rate.Limiter {
	l.mu.Lock()
	defer l.mu.Unlock()

	lim, ok := l.budgets[key]
	if !ok {
		lim = rate.NewLimiter(limit, burst)
		l.budgets[key] = lim
		return lim
	}
	if lim.Limit() != limit {
		lim.SetLimit(limit)
	}
	if lim.Burst() != burst {
		lim.SetBurst(burst)
	}
	return lim
}

// gcraScript reserves one event of a budget by the generic cell rate algorithm. The key
// stores the theoretical arrival time (TAT) in microseconds of the Redis clock, so that
// replicas with skewed clocks agree.
//
// KEYS[1] is the budget. ARGV[1] is the emission interval in microseconds, ARGV[2] the
// burst, and ARGV[3] the max wait in microseconds, or -1 for none. The script returns the
// wait in microseconds before the reserved event, or -1 without reserving when that wait
// would exceed the max wait.
var gcraScript = redis.NewScript(`
if redis.replicate_commands then redis.replicate_commands() end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local interval = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local max_wait = tonumber(ARGV[3])
local tat = tonumber(redis.call('GET', KEYS[1]) or now)
if tat < now then tat = now end
local new_tat = tat + interval
local wait = new_tat - now - burst * interval
if wait < 0 then wait = 0 end
if max_wait >= 0 and wait > max_wait then return -1 end
local ttl_ms = math.ceil((new_tat - now) / 1000) + 1
redis.call('SET', KEYS[1], string.format('%.0f', new_tat), 'PX', ttl_ms)
return math.ceil(wait)
`)

type redisLimiter struct {
	client *redis.Client
	prefix string
}

func (l *redisLimiter) Wait(ctx context.Context, key string, limit rate.Limit, burst int) error {
	if err := checkBudget(key, limit, burst); err != nil {
		return err
	}
	if limit == rate.Inf {
		return ctx.Err()
	}

	intervalMicros := 1e6 / float64(limit)
	maxWaitMicros := int64(-1)
	if deadline, ok := ctx.Deadline(); ok {
		maxWaitMicros = max(time.Until(deadline).Microseconds(), 0)
	}
	waitMicros, err := gcraScript.Run(ctx, l.client, []string{l.prefix + "rate:" + key},
		intervalMicros, burst, maxWaitMicros).Int64()
	if err != nil {
		return fmt.Errorf("rate budget %q: %w", key, err)
	}
	if waitMicros < 0 {
		return waitTooLong(key)
	}
	if err := sleep(ctx, time.Duration(waitMicros)*time.Microsecond); err != nil {
		return fmt.Errorf("rate budget %q: %w", key, err)
	}
	return nil
}

func checkBudget(key string, limit rate.Limit, burst int) error {
	if key == "" {
		return fmt.Errorf("rate budget: empty key")
	}
	if limit <= 0 || burst < 1 {
		return fmt.Errorf("rate budget %q: limit %v and burst %d must be positive", key, limit, burst)
	}
	return nil
}

func waitTooLong(key string) error {
	return fmt.Errorf("rate budget %q: wait would exceed the deadline: %w",
		key, context.DeadlineExceeded)
}

// sleep waits for d or until ctx is done, and returns ctx's error in the second case.
func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()

	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
