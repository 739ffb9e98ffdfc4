package threadstore

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/tessbot/tessbot/internal/testredis"
)

func TestRedisMarkSeenAcrossReplicas(t *testing.T) {
	prefix := testredis.Prefix(t)
	replicas := []Store{
		openTestRedis(t, testredis.URL(), Options{}, prefix),
		openTestRedis(t, testredis.URL(), Options{}, prefix),
	}
	ctx := testContext(t)
	for round := range 20 {
		id := fmt.Sprintf("Ev-%d", round)
		var firsts atomic.Int32
		var wg sync.WaitGroup
		for w := range 8 {
			s := replicas[w%len(replicas)]
			wg.Go(func() {
				first, err := s.MarkSeen(ctx, id, time.Hour)
				if err != nil {
					t.Errorf("MarkSeen: %v", err)
				}
				if first {
					firsts.Add(1)
				}
			})
		}
		wg.Wait()
		if n := firsts.Load(); n != 1 {
			t.Errorf("event %s: %d of 8 calls on two replicas returned first, want 1", id, n)
		}
	}
}

func TestBoltExpiryBoundaries(t *testing.T) {
	ctx := testContext(t)
	start := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	clock := &fakeClock{now: start}
	s := openTestBolt(t, filepath.Join(t.TempDir(), "tessbot.db"), Options{
		ThreadTTL:     time.Hour,
		now:           clock.Now,
		sweepInterval: time.Hour,
	})
	key := ThreadKey{"C01", "1.0"}
	if err := s.PutThread(ctx, key, Thread{RootID: 1}); err != nil {
		t.Fatalf("PutThread: %v", err)
	}
	if first, err := s.MarkSeen(ctx, "Ev01", time.Minute); err != nil || !first {
		t.Fatalf("MarkSeen = %v, %v; want true, nil", first, err)
	}

	clock.Advance(time.Minute - time.Nanosecond)
	if first, err := s.MarkSeen(ctx, "Ev01", time.Minute); err != nil || first {
		t.Errorf("MarkSeen 1ns before the ttl = %v, %v; want false, nil", first, err)
	}
	clock.Advance(time.Nanosecond)
	if first, err := s.MarkSeen(ctx, "Ev01", time.Minute); err != nil || !first {
		t.Errorf("MarkSeen at the ttl = %v, %v; want true, nil", first, err)
	}

	clock.Advance(time.Hour - time.Minute - time.Nanosecond)
	if _, err := s.Thread(ctx, key); err != nil {
		t.Errorf("Thread 1ns before ThreadTTL: %v", err)
	}
	clock.Advance(time.Nanosecond)
	if _, err := s.Thread(ctx, key); !errors.Is(err, ErrNotFound) {
		t.Errorf("Thread at ThreadTTL error = %v, want ErrNotFound", err)
	}
}

func TestBoltFilePermissions(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	path := filepath.Join(dir, "tessbot.db")
	openTestBolt(t, path, Options{})
	for _, p := range []string{dir, path} {
		info, err := os.Stat(p)
		if err != nil {
			t.Fatalf("stat: %v", err)
		}
		if perm := info.Mode().Perm(); perm&0o077 != 0 {
			t.Errorf("%s mode = %v, want no access for group and others", filepath.Base(p), perm)
		}
	}
}

// checkClosedStore calls every method of a closed store and checks that each fails
// without a panic.
func checkClosedStore(t *testing.T, s Store) {
	ctx := testContext(t)
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	calls := map[string]func() error{
		"Thread": func() error { _, err := s.Thread(ctx, ThreadKey{"C01", "1.0"}); return err },
		"PutThread": func() error {
			return s.PutThread(ctx, ThreadKey{"C01", "1.0"}, Thread{RootID: 1})
		},
		"MarkSeen":      func() error { _, err := s.MarkSeen(ctx, "Ev01", time.Hour); return err },
		"File":          func() error { _, err := s.File(ctx, "F1"); return err },
		"PutFile":       func() error { return s.PutFile(ctx, File{SlackID: "F1", TessID: 1}) },
		"DeleteFile":    func() error { return s.DeleteFile(ctx, "F1") },
		"Files":         func() error { _, err := s.Files(ctx); return err },
		"PutPending":    func() error { return s.PutPending(ctx, Pending{Channel: "C01", MessageTS: "1.5"}) },
		"DeletePending": func() error { return s.DeletePending(ctx, "C01", "1.5") },
		"PendingReplies": func() error {
			_, err := s.PendingReplies(ctx)
			return err
		},
		"Lock": func() error {
			unlock, err := s.Lock(ctx, "k", time.Minute)
			if err == nil {
				unlock()
			}
			return err
		},
	}
	for name, call := range calls {
		t.Run(name, func(t *testing.T) {
			err := call()
			if err == nil {
				t.Fatalf("%s after Close returned no error", name)
			}
			if errors.Is(err, ErrNotFound) {
				t.Errorf("%s after Close error = %v, want one that is not ErrNotFound", name, err)
			}
		})
	}
}

func TestBoltUseAfterClose(t *testing.T) {
	s, err := OpenBolt(filepath.Join(t.TempDir(), "tessbot.db"), Options{})
	if err != nil {
		t.Fatalf("OpenBolt: %v", err)
	}
	checkClosedStore(t, s)
}

func TestRedisUseAfterClose(t *testing.T) {
	prefix := testredis.Prefix(t)
	opts := Options{}
	opts.keyPrefix = prefix
	s, err := openRedis(context.Background(), testredis.URL(), opts.withDefaults())
	if err != nil {
		t.Fatalf("open redis store: %v", err)
	}
	checkClosedStore(t, s)
}

func TestLockCancelledContext(t *testing.T) {
	stores := map[string]func(t *testing.T) Store{
		"bolt": func(t *testing.T) Store {
			return openTestBolt(t, filepath.Join(t.TempDir(), "tessbot.db"), Options{})
		},
		"redis": func(t *testing.T) Store {
			return openTestRedis(t, testredis.URL(), Options{}, testredis.Prefix(t))
		},
	}
	for name, open := range stores {
		t.Run(name, func(t *testing.T) {
			s := open(t)
			ctx, cancel := context.WithCancel(testContext(t))
			cancel()
			unlock, err := s.Lock(ctx, "k", time.Minute)
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("Lock with a cancelled ctx error = %v, want context.Canceled", err)
			}
			if unlock != nil {
				t.Error("Lock returned an unlock function with its error")
			}
			// The failed Lock left nothing behind: a live ctx takes the key at once.
			short, cancelShort := context.WithTimeout(testContext(t), 5*time.Second)
			defer cancelShort()
			unlock, err = s.Lock(short, "k", time.Minute)
			if err != nil {
				t.Fatalf("Lock after the cancelled one: %v", err)
			}
			unlock()
		})
	}
}

// testMarkSeenLongestTTL marks an event with the longest ttl, which a caller may pass to
// mean "forever"; its expiry lies past the year 2262, the last that Unix nanoseconds hold.
func testMarkSeenLongestTTL(t *testing.T, open openFunc) {
	ctx := testContext(t)
	s := open(t, Options{})
	for i, ttl := range []time.Duration{math.MaxInt64, 250 * 365 * 24 * time.Hour} {
		id := fmt.Sprintf("Ev-long-%d", i)
		if first, err := s.MarkSeen(ctx, id, ttl); err != nil || !first {
			t.Fatalf("first MarkSeen with ttl %v = %v, %v; want true, nil", ttl, first, err)
		}
		if first, err := s.MarkSeen(ctx, id, ttl); err != nil || first {
			t.Errorf("second MarkSeen with ttl %v = %v, %v; want false, nil", ttl, first, err)
		}
	}
}

func testPendingPartTS(t *testing.T, open openFunc) {
	ctx := testContext(t)
	s := open(t, Options{})
	p := Pending{Channel: "C01", ThreadTS: "1.0", MessageTS: "1.5", ExecutionID: 7, StartedAt: time.Now()}

	// The turn replaces the record each time another message of the reply is posted.
	for _, partTS := range [][]string{{"1.5"}, {"1.5", "", "1.9"}} {
		p.PartTS = partTS
		if err := s.PutPending(ctx, p); err != nil {
			t.Fatalf("PutPending(%v): %v", partTS, err)
		}
		checkPending(t, s, p)
	}
}

func testPendingWithoutPartTS(t *testing.T, open openFunc) {
	s := open(t, Options{})
	startedAt := time.Date(2025, 3, 4, 5, 6, 7, 0, time.UTC)
	old := `{"channel":"C01","thread_ts":"1.0","message_ts":"1.5","execution_id":7,` +
		`"started_at":"2025-03-04T05:06:07Z"}`
	putRawPending(t, s, pendingID("C01", "1.5"), old)

	got, err := s.PendingReplies(testContext(t))
	if err != nil {
		t.Fatalf("PendingReplies: %v", err)
	}
	want := Pending{Channel: "C01", ThreadTS: "1.0", MessageTS: "1.5", ExecutionID: 7, StartedAt: startedAt}
	checkPending(t, s, want)
	if len(got) == 1 && got[0].PartTS != nil {
		t.Errorf("PartTS of a record without it = %q, want nil", got[0].PartTS)
	}
}

// putRawPending writes data as the stored pending record id, bypassing the codec, as an
// older version of the bot would have written it.
func putRawPending(t *testing.T, s Store, id, data string) {
	t.Helper()
	ctx := testContext(t)
	var err error
	switch s := s.(type) {
	case *boltStore:
		err = s.update(ctx, func(tx *bolt.Tx) error {
			return tx.Bucket(pendingBucket).Put([]byte(id), []byte(data))
		})
	case *redisStore:
		err = s.client.HSet(ctx, s.key("pending"), id, data).Err()
	default:
		t.Fatalf("store %T has no raw access", s)
	}
	if err != nil {
		t.Fatalf("write raw pending record: %v", err)
	}
}
