package threadstore

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

func openTestBolt(t testing.TB, path string, opts Options) *boltStore {
	t.Helper()
	s, err := openBolt(path, opts.withDefaults())
	if err != nil {
		t.Fatalf("open bolt store: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

func TestBolt(t *testing.T) {
	testStore(t, func(t *testing.T, opts Options) Store {
		// The directory does not exist yet, as on a first start.
		return openTestBolt(t, filepath.Join(t.TempDir(), "data", "tessbot.db"), opts)
	})
}

func TestBoltReopenKeepsData(t *testing.T) {
	ctx := testContext(t)
	path := filepath.Join(t.TempDir(), "tessbot.db")
	key := ThreadKey{"C01", "1.0"}
	started := time.Date(2025, 3, 4, 5, 6, 7, 0, time.UTC)

	s, err := OpenBolt(path, Options{})
	if err != nil {
		t.Fatalf("OpenBolt: %v", err)
	}
	if err := s.PutThread(ctx, key, Thread{RootID: 5, AgentID: "a"}); err != nil {
		t.Fatalf("PutThread: %v", err)
	}
	if err := s.PutFile(ctx, File{SlackID: "F1", TessID: 11, UploadedAt: started}); err != nil {
		t.Fatalf("PutFile: %v", err)
	}
	p := Pending{Channel: "C01", ThreadTS: "1.0", MessageTS: "1.5", ExecutionID: 9, StartedAt: started}
	if err := s.PutPending(ctx, p); err != nil {
		t.Fatalf("PutPending: %v", err)
	}
	if _, err := s.MarkSeen(ctx, "Ev01", time.Hour); err != nil {
		t.Fatalf("MarkSeen: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}

	s = openTestBolt(t, path, Options{})
	if got, err := s.Thread(ctx, key); err != nil || got.RootID != 5 || got.AgentID != "a" {
		t.Errorf("Thread after reopen = %+v, %v; want root_id 5 of agent a", got, err)
	}
	if got, err := s.File(ctx, "F1"); err != nil || got.TessID != 11 {
		t.Errorf("File after reopen = %+v, %v; want tess id 11", got, err)
	}
	checkPending(t, s, p)
	if first, err := s.MarkSeen(ctx, "Ev01", time.Hour); err != nil || first {
		t.Errorf("MarkSeen after reopen = %v, %v; want false, nil", first, err)
	}
}

func TestBoltSecondOpenLocked(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tessbot.db")
	openTestBolt(t, path, Options{})

	// bbolt takes flock(2) per open file, so a second open in this process conflicts
	// like a second process would.
	s, err := openBolt(path, Options{openTimeout: 100 * time.Millisecond}.withDefaults())
	if err == nil {
		s.Close()
		t.Fatal("second open of a file in use succeeded")
	}
	if !errors.Is(err, ErrLocked) {
		t.Errorf("error = %v, want ErrLocked", err)
	}
	if !strings.Contains(err.Error(), path) {
		t.Errorf("error %q does not name the file", err)
	}
}

func TestBoltCreatesDirectory(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a", "b")
	openTestBolt(t, filepath.Join(dir, "tessbot.db"), Options{})

	info, err := os.Stat(dir)
	if err != nil {
		t.Fatalf("stat directory: %v", err)
	}
	if perm := info.Mode().Perm(); perm&0o077 != 0 {
		t.Errorf("directory mode = %v, want no access for group and others", perm)
	}
}

// fakeClock is a clock that advances only when Advance is called.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func bucketLen(t *testing.T, s *boltStore, name []byte) int {
	t.Helper()
	n := 0
	err := s.db.View(func(tx *bolt.Tx) error {
		n = tx.Bucket(name).Stats().KeyN
		return nil
	})
	if err != nil {
		t.Fatalf("read bucket %s: %v", name, err)
	}
	return n
}

func TestBoltSweepDeletesExpired(t *testing.T) {
	ctx := testContext(t)
	clock := &fakeClock{now: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)}
	s := openTestBolt(t, filepath.Join(t.TempDir(), "tessbot.db"), Options{
		ThreadTTL:     time.Hour,
		now:           clock.Now,
		sweepInterval: time.Hour,
	})
	old, recent := ThreadKey{"C01", "1.0"}, ThreadKey{"C01", "2.0"}

	if err := s.PutThread(ctx, old, Thread{RootID: 1}); err != nil {
		t.Fatalf("PutThread(old): %v", err)
	}
	clock.Advance(30 * time.Minute)
	if err := s.PutThread(ctx, recent, Thread{RootID: 2}); err != nil {
		t.Fatalf("PutThread(recent): %v", err)
	}
	for id, ttl := range map[string]time.Duration{"Ev-short": 10 * time.Minute, "Ev-long": 2 * time.Hour} {
		if _, err := s.MarkSeen(ctx, id, ttl); err != nil {
			t.Fatalf("MarkSeen(%s): %v", id, err)
		}
	}
	clock.Advance(45 * time.Minute)

	// Lookups hide the expired thread before any sweep.
	if _, err := s.Thread(ctx, old); !errors.Is(err, ErrNotFound) {
		t.Errorf("Thread(old) error = %v, want ErrNotFound", err)
	}
	if _, err := s.Thread(ctx, recent); err != nil {
		t.Errorf("Thread(recent): %v", err)
	}

	threads, events, err := s.sweep()
	if err != nil {
		t.Fatalf("sweep: %v", err)
	}
	if threads != 1 || events != 1 {
		t.Errorf("sweep deleted %d threads and %d events, want 1 and 1", threads, events)
	}
	if n := bucketLen(t, s, threadsBucket); n != 1 {
		t.Errorf("threads bucket has %d entries after sweep, want 1", n)
	}
	if n := bucketLen(t, s, seenBucket); n != 1 {
		t.Errorf("seen bucket has %d entries after sweep, want 1", n)
	}
	if first, err := s.MarkSeen(ctx, "Ev-long", time.Hour); err != nil || first {
		t.Errorf("MarkSeen(Ev-long) after sweep = %v, %v; want false, nil", first, err)
	}
}

func TestBoltOpenSweeps(t *testing.T) {
	ctx := testContext(t)
	clock := &fakeClock{now: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)}
	opts := Options{ThreadTTL: time.Hour, now: clock.Now, sweepInterval: time.Hour}
	path := filepath.Join(t.TempDir(), "tessbot.db")

	s, err := openBolt(path, opts.withDefaults())
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	if err := s.PutThread(ctx, ThreadKey{"C01", "1.0"}, Thread{RootID: 1}); err != nil {
		t.Fatalf("PutThread: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}

	clock.Advance(2 * time.Hour)
	s = openTestBolt(t, path, opts)
	if n := bucketLen(t, s, threadsBucket); n != 0 {
		t.Errorf("threads bucket has %d entries after reopen, want 0", n)
	}
}

func TestBoltSweepRunsInBackground(t *testing.T) {
	ctx := testContext(t)
	clock := &fakeClock{now: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)}
	s, err := openBolt(filepath.Join(t.TempDir(), "tessbot.db"), Options{
		ThreadTTL:     time.Hour,
		now:           clock.Now,
		sweepInterval: 10 * time.Millisecond,
	}.withDefaults())
	if err != nil {
		t.Fatalf("open: %v", err)
	}

	if err := s.PutThread(ctx, ThreadKey{"C01", "1.0"}, Thread{RootID: 1}); err != nil {
		t.Fatalf("PutThread: %v", err)
	}
	clock.Advance(2 * time.Hour)
	eventually(t, "the background sweep deletes the thread", func() bool {
		return bucketLen(t, s, threadsBucket) == 0
	})

	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	select {
	case <-s.swept:
	default:
		t.Error("the sweep goroutine still runs after Close")
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

func TestLocalLimiter(t *testing.T) {
	testLimiter(t, func(*testing.T) Limiter { return NewLocalLimiter() })
}
