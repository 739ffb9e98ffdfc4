package threadstore

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	mathrand "math/rand/v2"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

const (
	lockPollMin        = 5 * time.Millisecond   // first wait between two tries to take a lock
	lockPollMax        = 100 * time.Millisecond // maximum wait between two tries
	lockReleaseTimeout = 5 * time.Second
)

// releaseScript deletes KEYS[1] only while it still holds the token ARGV[1], so a holder
// whose lock expired and was taken by another cannot release the new holder's lock.
var releaseScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then
	return redis.call('DEL', KEYS[1])
end
return 0
`)

// renewScript sets the expiry of KEYS[1] to ARGV[2] milliseconds only while it still
// holds the token ARGV[1]. It returns 0 when the lock was lost.
var renewScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then
	return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
`)

// redisLock is one holding of a lock: the key is set to a random token, which only this
// holder renews and deletes.
type redisLock struct {
	store *redisStore
	name  string
	key   string
	token string
	ttl   time.Duration

	cancel context.CancelFunc // stops the renewal
	done   chan struct{}      // closed when the renewal returns
	once   sync.Once
}

func (s *redisStore) Lock(ctx context.Context, name string, ttl time.Duration) (func(), error) {
	if err := checkLockArgs(name, ttl); err != nil {
		return nil, err
	}

	l := &redisLock{store: s, name: name, key: s.key("lock", name), token: rand.Text(), ttl: ttl}
	if err := l.acquire(ctx); err != nil {
		return nil, fmt.Errorf("lock %q: %w", name, err)
	}

	renewCtx, cancel := context.WithCancel(context.Background())
	l.cancel = cancel
	l.done = make(chan struct{})
	go l.renew(renewCtx)

	s.mu.Lock()
	s.heldLocks[l] = struct{}{}
	s.mu.Unlock()

	stop := context.AfterFunc(ctx, l.release)
	return func() { stop(); l.release() }, nil
}

// acquire tries SET NX until it succeeds or ctx is done, waiting a jittered, growing
// interval between tries.
func (l *redisLock) acquire(ctx context.Context) error {
	wait := lockPollMin
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		ok, err := l.store.client.SetNX(ctx, l.key, l.token, l.ttl).Result()
		if err != nil {
			// The SET may have succeeded before the reply was lost, so give the key back.
			l.delete()
			return err
		}
		if ok {
			return nil
		}

		// Full jitter keeps replicas that wait for one lock from polling in step.
		if err := sleep(ctx, mathrand.N(wait)+time.Millisecond); err != nil {
			return err
		}
		wait = min(wait*2, lockPollMax)
	}
}

// renew extends the lock to ttl every ttl/3 until ctx is cancelled or the lock is lost.
func (l *redisLock) renew(ctx context.Context) {
	defer close(l.done)

	ticker := time.NewTicker(max(l.ttl/3, time.Millisecond))
	defer ticker.Stop()

	log := l.store.opts.Logger.With("lock", l.name)
	failures := 0
	for {
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		}

		renewed, err := renewScript.Run(ctx, l.store.client, []string{l.key},
			l.token, l.ttl.Milliseconds()).Int()
		switch {
		case ctx.Err() != nil:
			return
		case errors.Is(err, redis.ErrClosed):
			return
		case err != nil:
			// The key may outlive a short outage, so keep trying until it is lost.
			failures++
			if failures == 1 {
				log.Warn("lock renewal failed", "err", err)
			}
		case renewed == 0:
			log.Error("lock expired before unlock, so another holder may have taken it")
			return
		case failures > 0:
			log.Info("lock renewal recovered", "failures", failures)
			failures = 0
		}
	}
}

// release stops the renewal and deletes the key if it still holds this token. Only its
// first call has an effect.
func (l *redisLock) release() {
	l.once.Do(func() {
		l.cancel()
		<-l.done

		l.store.mu.Lock()
		delete(l.store.heldLocks, l)
		l.store.mu.Unlock()

		l.delete()
	})
}

// delete removes the key if it still holds this token, and logs a failure: the key then
// expires within ttl.
func (l *redisLock) delete() {
	ctx, cancel := context.WithTimeout(context.Background(), lockReleaseTimeout)
	defer cancel()

	err := releaseScript.Run(ctx, l.store.client, []string{l.key}, l.token).Err()
	if err != nil && !errors.Is(err, redis.ErrClosed) {
		l.store.opts.Logger.Warn("lock release failed, so it expires after its ttl",
			"lock", l.name,
			"ttl", l.ttl,
			"err", err)
	}
}
