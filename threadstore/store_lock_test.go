package threadstore

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/time/rate"
)

const testLockTTL = 5 * time.Second

func testLockExclusion(t *testing.T, open openFunc) {
	s := open(t, Options{})
	checkMutualExclusion(t, s)
}

// checkMutualExclusion makes goroutines take one lock in turn, spread over stores, and
// checks that no two held it at once. It counts with atomics only, because the race
// detector cannot see the ordering that a Redis lock provides.
func checkMutualExclusion(t *testing.T, stores ...Store) {
	ctx := testContext(t)
	const workers, rounds = 4, 8

	var inside, overlaps, entries atomic.Int32
	var wg sync.WaitGroup
	for w := range workers {
		s := stores[w%len(stores)]
		wg.Go(func() {
			for range rounds {
				unlock, err := s.Lock(ctx, "thread:C01:1.0", testLockTTL)
				if err != nil {
					t.Errorf("Lock: %v", err)
					return
				}
				if inside.Add(1) != 1 {
					overlaps.Add(1)
				}
				entries.Add(1)
				time.Sleep(time.Millisecond) // widen the window in which an overlap shows
				inside.Add(-1)
				unlock()
			}
		})
	}
	wg.Wait()

	if n := overlaps.Load(); n != 0 {
		t.Errorf("%d times a holder found another inside the lock", n)
	}
	if n := entries.Load(); n != workers*rounds {
		t.Errorf("the lock was taken %d times, want %d", n, workers*rounds)
	}
}

func testLockWaitCtx(t *testing.T, open openFunc) {
	ctx := testContext(t)
	s := open(t, Options{})

	unlock, err := s.Lock(ctx, "k", testLockTTL)
	if err != nil {
		t.Fatalf("Lock: %v", err)
	}
	defer unlock()

	waitCtx, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
	defer cancel()
	if _, err := s.Lock(waitCtx, "k", testLockTTL); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Lock of a held key error = %v, want context.DeadlineExceeded", err)
	}

	cancelled, cancelNow := context.WithCancel(ctx)
	cancelNow()
	if _, err := s.Lock(cancelled, "free", testLockTTL); !errors.Is(err, context.Canceled) {
		t.Errorf("Lock with a cancelled ctx error = %v, want context.Canceled", err)
	}

	// Another key is independent.
	unlockOther, err := s.Lock(ctx, "other", testLockTTL)
	if err != nil {
		t.Fatalf("Lock of another key: %v", err)
	}
	unlockOther()
}

func testLockReleasedOnCancel(t *testing.T, open openFunc) {
	ctx := testContext(t)
	s := open(t, Options{})

	holderCtx, cancelHolder := context.WithCancel(ctx)
	unlockFirst, err := s.Lock(holderCtx, "k", testLockTTL)
	if err != nil {
		t.Fatalf("Lock: %v", err)
	}

	secondHolder := make(chan func(), 1)
	go func() {
		unlock, err := s.Lock(ctx, "k", testLockTTL)
		if err != nil {
			t.Errorf("Lock after the holder's ctx was cancelled: %v", err)
			close(secondHolder)
			return
		}
		secondHolder <- unlock
	}()
	cancelHolder()
	unlockSecond, ok := <-secondHolder
	if !ok {
		return
	}

	// The first holder's late unlock must leave the second holder's lock alone.
	unlockFirst()
	shortCtx, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
	defer cancel()
	if _, err := s.Lock(shortCtx, "k", testLockTTL); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Lock while the second holder has it: error = %v, want context.DeadlineExceeded",
			err)
	}

	unlockSecond()
	unlockSecond() // a second call has no effect
	unlockThird, err := s.Lock(ctx, "k", testLockTTL)
	if err != nil {
		t.Fatalf("Lock after unlock: %v", err)
	}
	unlockThird()
}

func testLockInvalid(t *testing.T, open openFunc) {
	ctx := testContext(t)
	s := open(t, Options{})

	tests := []struct {
		name string
		key  string
		ttl  time.Duration
	}{
		{"empty key", "", time.Second},
		{"zero ttl", "k", 0},
		{"negative ttl", "k", -time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			unlock, err := s.Lock(ctx, tt.key, tt.ttl)
			if err == nil {
				unlock()
				t.Fatalf("Lock(%q, %v) returned no error", tt.key, tt.ttl)
			}
		})
	}
}

// testLimiter checks a Limiter backend. newLimiter returns one with no budget used.
func testLimiter(t *testing.T, newLimiter func(t *testing.T) Limiter) {
	hourly := rate.Every(time.Hour)

	t.Run("burst then deadline", func(t *testing.T) {
		l := newLimiter(t)
		ctx, cancel := context.WithTimeout(testContext(t), 5*time.Second)
		defer cancel()
		for i := range 2 {
			if err := l.Wait(ctx, "chat.update", hourly, 2); err != nil {
				t.Fatalf("Wait %d within the burst: %v", i+1, err)
			}
		}
		err := l.Wait(ctx, "chat.update", hourly, 2)
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("Wait past the burst error = %v, want context.DeadlineExceeded", err)
		}
	})

	t.Run("keys independent", func(t *testing.T) {
		l := newLimiter(t)
		ctx, cancel := context.WithTimeout(testContext(t), 5*time.Second)
		defer cancel()
		if err := l.Wait(ctx, "a", hourly, 1); err != nil {
			t.Fatalf("Wait(a): %v", err)
		}
		if err := l.Wait(ctx, "b", hourly, 1); err != nil {
			t.Errorf("Wait(b) after a used its budget: %v", err)
		}
	})

	t.Run("waits its turn", func(t *testing.T) {
		l := newLimiter(t)
		ctx := testContext(t)
		for i := range 3 {
			if err := l.Wait(ctx, "fast", 50, 1); err != nil {
				t.Fatalf("Wait %d at 50 per second: %v", i+1, err)
			}
		}
	})

	t.Run("wait cancelled", func(t *testing.T) {
		l := newLimiter(t)
		// Without a deadline Wait sleeps for its turn instead of failing at once.
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		if err := l.Wait(ctx, "slow", hourly, 1); err != nil {
			t.Fatalf("first Wait: %v", err)
		}
		time.AfterFunc(50*time.Millisecond, cancel)
		if err := l.Wait(ctx, "slow", hourly, 1); !errors.Is(err, context.Canceled) {
			t.Errorf("Wait cancelled while waiting: error = %v, want context.Canceled", err)
		}
	})

	t.Run("invalid budget", func(t *testing.T) {
		l := newLimiter(t)
		ctx := testContext(t)
		if err := l.Wait(ctx, "k", 0, 1); err == nil {
			t.Errorf("Wait with limit 0 returned no error")
		}
		if err := l.Wait(ctx, "k", 1, 0); err == nil {
			t.Errorf("Wait with burst 0 returned no error")
		}
		if err := l.Wait(ctx, "", 1, 1); err == nil {
			t.Errorf("Wait with an empty key returned no error")
		}
		for range 3 {
			if err := l.Wait(ctx, "k", rate.Inf, 1); err != nil {
				t.Errorf("Wait with limit rate.Inf: %v", err)
			}
		}
	})
}
