package threadstore

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"golang.org/x/time/rate"

	"github.com/tessbot/tessbot/internal/syncbuf"
	"github.com/tessbot/tessbot/internal/testredis"
)

// openTestRedis opens a store on the test server with prefix, closed when the test ends.
func openTestRedis(t testing.TB, url string, opts Options, prefix string) *redisStore {
	t.Helper()
	opts.keyPrefix = prefix
	s, err := openRedis(context.Background(), url, opts.withDefaults())
	if err != nil {
		t.Fatalf("open redis store: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestRedis(t *testing.T) {
	testredis.Client(t)
	testStore(t, func(t *testing.T, opts Options) Store {
		return openTestRedis(t, testredis.URL(), opts, testredis.Prefix(t))
	})
}

func TestRedisReplicasShareLock(t *testing.T) {
	prefix := testredis.Prefix(t)
	a := openTestRedis(t, testredis.URL(), Options{}, prefix)
	b := openTestRedis(t, testredis.URL(), Options{}, prefix)
	checkMutualExclusion(t, a, b)
}

func TestRedisReplicasShareLimiter(t *testing.T) {
	ctx, cancel := context.WithTimeout(testContext(t), 5*time.Second)
	defer cancel()
	prefix := testredis.Prefix(t)
	a := openTestRedis(t, testredis.URL(), Options{}, prefix)
	b := openTestRedis(t, testredis.URL(), Options{}, prefix)
	hourly := rate.Every(time.Hour)

	if err := a.Limiter().Wait(ctx, "chat.update", hourly, 2); err != nil {
		t.Fatalf("Wait on replica a: %v", err)
	}
	if err := b.Limiter().Wait(ctx, "chat.update", hourly, 2); err != nil {
		t.Fatalf("Wait on replica b: %v", err)
	}
	err := a.Limiter().Wait(ctx, "chat.update", hourly, 2)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("third Wait across replicas error = %v, want context.DeadlineExceeded", err)
	}
}

func TestRedisLockOfDeadHolderExpires(t *testing.T) {
	ctx := testContext(t)
	client := testredis.Client(t)
	prefix := testredis.Prefix(t)
	s := openTestRedis(t, testredis.URL(), Options{}, prefix)

	// A replica that died while holding the lock left its token with an expiry.
	if err := client.Set(ctx, prefix+"lock:k", "dead-replica", 500*time.Millisecond).Err(); err != nil {
		t.Fatalf("set lock key: %v", err)
	}
	unlock, err := s.Lock(ctx, "k", testLockTTL)
	if err != nil {
		t.Fatalf("Lock after the dead holder's lock expired: %v", err)
	}
	defer unlock()

	token, err := client.Get(ctx, prefix+"lock:k").Result()
	if err != nil {
		t.Fatalf("get lock key: %v", err)
	}
	if token == "dead-replica" {
		t.Error("Lock returned while the dead holder's token was still set")
	}
}

func TestRedisLockRenewedUntilHolderStops(t *testing.T) {
	ctx := testContext(t)
	client := testredis.Client(t)
	prefix := testredis.Prefix(t)
	holder := openTestRedis(t, testredis.URL(), Options{}, prefix)
	other := openTestRedis(t, testredis.URL(), Options{}, prefix)
	// The holder renews every ttl/3, so the lock is lost only when its renewal stalls for
	// two thirds of ttl, 2s, far longer than the stalls of a loaded test machine.
	const ttl = 3 * time.Second

	unlock, err := holder.Lock(ctx, "k", ttl)
	if err != nil {
		t.Fatalf("Lock: %v", err)
	}
	defer unlock()

	// Without renewal the key would expire after ttl, and the waiter, which tries again
	// within about 100ms, would take it well before it gives up 1s later.
	waitCtx, cancel := context.WithTimeout(ctx, ttl+time.Second)
	defer cancel()
	if _, err := other.Lock(waitCtx, "k", ttl); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Lock while the holder renews: error = %v, want context.DeadlineExceeded", err)
	}

	// The holder's process dies: its connections close and nothing is released.
	if err := holder.client.Close(); err != nil {
		t.Fatalf("close holder connections: %v", err)
	}
	unlockOther, err := other.Lock(ctx, "k", ttl)
	if err != nil {
		t.Fatalf("Lock after the holder stopped renewing: %v", err)
	}
	defer unlockOther()
	if n, err := client.Exists(ctx, prefix+"lock:k").Result(); err != nil || n != 1 {
		t.Errorf("lock key exists = %d, %v; want 1 while the new holder has it", n, err)
	}
}

func TestRedisLostLockStaysWithNewHolder(t *testing.T) {
	ctx := testContext(t)
	client := testredis.Client(t)
	prefix := testredis.Prefix(t)
	var logs syncbuf.Buffer
	logger := slog.New(slog.NewTextHandler(&logs, nil))
	old := openTestRedis(t, testredis.URL(), Options{Logger: logger}, prefix)
	next := openTestRedis(t, testredis.URL(), Options{}, prefix)

	unlockOld, err := old.Lock(ctx, "k", 300*time.Millisecond)
	if err != nil {
		t.Fatalf("Lock: %v", err)
	}
	// The old holder stalls past its ttl, so its key expires and another replica takes it.
	if err := client.Del(ctx, prefix+"lock:k").Err(); err != nil {
		t.Fatalf("delete lock key: %v", err)
	}
	unlockNext, err := next.Lock(ctx, "k", time.Hour)
	if err != nil {
		t.Fatalf("Lock by the next holder: %v", err)
	}
	defer unlockNext()

	eventually(t, "the old holder logs the lost lock", func() bool {
		return strings.Contains(logs.String(), "lock expired before unlock")
	})
	unlockOld()
	if n, err := client.Exists(ctx, prefix+"lock:k").Result(); err != nil || n != 1 {
		t.Errorf("lock key exists = %d, %v after the old holder's unlock; want 1", n, err)
	}
}

func TestRedisCloseReleasesLocks(t *testing.T) {
	ctx := testContext(t)
	client := testredis.Client(t)
	prefix := testredis.Prefix(t)
	s := openTestRedis(t, testredis.URL(), Options{}, prefix)

	if _, err := s.Lock(ctx, "k", time.Hour); err != nil {
		t.Fatalf("Lock: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if n, err := client.Exists(ctx, prefix+"lock:k").Result(); err != nil || n != 0 {
		t.Errorf("lock key exists = %d, %v after Close; want 0", n, err)
	}
}

func TestRedisPutThreadRefreshesTTL(t *testing.T) {
	ctx := testContext(t)
	client := testredis.Client(t)
	prefix := testredis.Prefix(t)
	s := openTestRedis(t, testredis.URL(), Options{ThreadTTL: time.Hour}, prefix)
	key := ThreadKey{"C01", "1.0"}
	redisKey := prefix + "thread:C01:1.0"

	if err := s.PutThread(ctx, key, Thread{RootID: 1}); err != nil {
		t.Fatalf("PutThread: %v", err)
	}
	// Age the key as if most of the hour had passed.
	if err := client.PExpire(ctx, redisKey, time.Second).Err(); err != nil {
		t.Fatalf("pexpire: %v", err)
	}
	if err := s.PutThread(ctx, key, Thread{RootID: 1}); err != nil {
		t.Fatalf("PutThread again: %v", err)
	}
	ttl, err := client.PTTL(ctx, redisKey).Result()
	if err != nil {
		t.Fatalf("pttl: %v", err)
	}
	if ttl < 59*time.Minute || ttl > time.Hour {
		t.Errorf("thread key expires in %v after PutThread, want about 1h", ttl)
	}
}

func TestRedisDefaultKeyPrefix(t *testing.T) {
	ctx := testContext(t)
	client := testredis.Client(t)
	s, err := OpenRedis(ctx, testredis.URL(), Options{})
	if err != nil {
		t.Fatalf("OpenRedis: %v", err)
	}
	defer s.Close()

	channel := "C" + rand.Text()
	want := "tessbot:thread:" + channel + ":1.0"
	t.Cleanup(func() { client.Del(context.Background(), want) })
	if err := s.PutThread(ctx, ThreadKey{channel, "1.0"}, Thread{RootID: 1}); err != nil {
		t.Fatalf("PutThread: %v", err)
	}
	if n, err := client.Exists(ctx, want).Result(); err != nil || n != 1 {
		t.Errorf("key %s exists = %d, %v; want 1", want, n, err)
	}
}

func TestOpenRedisErrors(t *testing.T) {
	const password = "s3cret-pass"
	tests := []struct {
		name     string
		url      string
		wantText string
	}{
		{"server unreachable", "redis://tessbot:" + password + "@127.0.0.1:1/0", "127.0.0.1:1"},
		{"invalid port", "redis://tessbot:" + password + "@127.0.0.1:port/0", "invalid redis url"},
		{"wrong scheme", "http://tessbot:" + password + "@127.0.0.1:6379/0", "invalid redis url"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			s, err := OpenRedis(ctx, tt.url, Options{})
			if err == nil {
				s.Close()
				t.Fatal("OpenRedis returned no error")
			}
			if !strings.Contains(err.Error(), tt.wantText) {
				t.Errorf("error %q does not contain %q", err, tt.wantText)
			}
			if strings.Contains(err.Error(), password) {
				t.Errorf("error %q contains the password", err)
			}
		})
	}
}

func TestRedisLoggerWritesWarning(t *testing.T) {
	var buf bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&buf, nil))
	redisLogger{log: logger}.Printf(context.Background(), "dial tcp %s: connection refused", "127.0.0.1:1")

	out := buf.String()
	if !strings.Contains(out, "level=WARN") {
		t.Errorf("log %q is not a warning", out)
	}
	if !strings.Contains(out, `detail="dial tcp 127.0.0.1:1: connection refused"`) {
		t.Errorf("log %q lacks the go-redis message", out)
	}
}
