package bot

import (
	"context"
	"log/slog"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/tessbot/tessbot/threadstore"
)

// fastRetry retries every millisecond or so, for at most 50 tries.
var fastRetry = retryPolicy{first: time.Millisecond, max: 4 * time.Millisecond, attempts: 50}

// switchStore is an embedded store whose thread writes and pending deletions fail while
// down is set. It records the root_id of each thread write that succeeded.
type switchStore struct {
	threadstore.Store

	mu       sync.Mutex
	down     bool
	failures int
	written  []int64
	deleted  []string
}

func newSwitchStore(t *testing.T) *switchStore {
	t.Helper()
	store, err := threadstore.OpenBolt(filepath.Join(t.TempDir(), "tessbot.db"), threadstore.Options{})
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() { store.Close() })
	return &switchStore{Store: store, down: true}
}

func (s *switchStore) setDown(down bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.down = down
}

func (s *switchStore) PutThread(ctx context.Context, key threadstore.ThreadKey, thread threadstore.Thread) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.down {
		s.failures++
		return errStoreDown
	}
	s.written = append(s.written, thread.RootID)
	return s.Store.PutThread(ctx, key, thread)
}

func (s *switchStore) DeletePending(ctx context.Context, channel, messageTS string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.down {
		s.failures++
		return errStoreDown
	}
	s.deleted = append(s.deleted, messageTS)
	return s.Store.DeletePending(ctx, channel, messageTS)
}

func (s *switchStore) snapshot() (failures int, written []int64, deleted []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.failures, slices.Clone(s.written), slices.Clone(s.deleted)
}

// waitUntil polls cond until it returns true, and fails the test after 10 seconds.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not reached within 10s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

var retryKey = threadstore.ThreadKey{Channel: "C0RETRY", ThreadTS: "1700000000.000100"}

func TestStoreRetriesPutThreadUntilStoreRecovers(t *testing.T) {
	store := newSwitchStore(t)
	r := newStoreRetries(store, fastRetry, nil)
	defer r.stop()

	r.putThread(retryKey, threadstore.Thread{RootID: 41, AgentID: "7"}, slog.New(slog.DiscardHandler))
	if got, ok := r.waitingThread(retryKey); !ok || got.RootID != 41 {
		t.Fatalf("waitingThread while the store fails = %+v, %v; want root_id 41", got, ok)
	}
	waitUntil(t, "a retry fails", func() bool { failures, _, _ := store.snapshot(); return failures > 0 })
	store.setDown(false)
	waitUntil(t, "the write leaves the waiting list", func() bool {
		_, ok := r.waitingThread(retryKey)
		return !ok
	})

	got, err := store.Thread(context.Background(), retryKey)
	if err != nil {
		t.Fatalf("Thread after the retry: %v", err)
	}
	if got.RootID != 41 || got.AgentID != "7" {
		t.Errorf("stored thread = %+v, want root_id 41 and agent 7", got)
	}
}

func TestStoreRetriesLaterWriteReplacesEarlier(t *testing.T) {
	store := newSwitchStore(t)
	r := newStoreRetries(store, fastRetry, nil)
	defer r.stop()
	log := slog.New(slog.DiscardHandler)

	r.putThread(retryKey, threadstore.Thread{RootID: 1}, log)
	r.putThread(retryKey, threadstore.Thread{RootID: 2}, log)
	if got, _ := r.waitingThread(retryKey); got.RootID != 2 {
		t.Errorf("waitingThread = root_id %d, want the later write 2", got.RootID)
	}
	store.setDown(false)
	waitUntil(t, "the write leaves the waiting list", func() bool {
		_, ok := r.waitingThread(retryKey)
		return !ok
	})
	r.stop()

	if _, written, _ := store.snapshot(); !slices.Equal(written, []int64{2}) {
		t.Errorf("root_ids written = %v, want only the later write [2]", written)
	}
}

func TestStoreRetriesDirectWriteEndsRetry(t *testing.T) {
	store := newSwitchStore(t)
	r := newStoreRetries(store, fastRetry, nil)
	log := slog.New(slog.DiscardHandler)

	r.putThread(retryKey, threadstore.Thread{RootID: 1}, log)
	r.wroteThread(retryKey)
	store.setDown(false)
	r.stop()

	if _, ok := r.waitingThread(retryKey); ok {
		t.Error("waitingThread still returns the write after a direct write")
	}
	if _, written, _ := store.snapshot(); len(written) != 0 {
		t.Errorf("root_ids written by the retry = %v, want none", written)
	}
}

func TestStoreRetriesGiveUp(t *testing.T) {
	store := newSwitchStore(t)
	r := newStoreRetries(store, retryPolicy{first: time.Millisecond, max: time.Millisecond, attempts: 3}, nil)

	r.putThread(retryKey, threadstore.Thread{RootID: 1}, slog.New(slog.DiscardHandler))
	waitUntil(t, "the write is given up", func() bool {
		_, ok := r.waitingThread(retryKey)
		return !ok
	})
	r.stop()

	if failures, _, _ := store.snapshot(); failures != 3 {
		t.Errorf("PutThread tries = %d, want 3", failures)
	}
}

func TestStoreRetriesDeletePending(t *testing.T) {
	store := newSwitchStore(t)
	ctx := context.Background()
	p := threadstore.Pending{Channel: "C0RETRY", ThreadTS: "1.0", MessageTS: "2.0", StartedAt: time.Now()}
	if err := store.PutPending(ctx, p); err != nil {
		t.Fatalf("PutPending: %v", err)
	}
	r := newStoreRetries(store, fastRetry, nil)
	defer r.stop()

	r.deletePending(p.Channel, p.MessageTS, slog.New(slog.DiscardHandler))
	waitUntil(t, "a retry fails", func() bool { failures, _, _ := store.snapshot(); return failures > 0 })
	store.setDown(false)
	waitUntil(t, "the record is deleted", func() bool { _, _, deleted := store.snapshot(); return len(deleted) > 0 })

	pending, err := store.PendingReplies(ctx)
	if err != nil {
		t.Fatalf("PendingReplies: %v", err)
	}
	if len(pending) != 0 {
		t.Errorf("pending replies after the retry = %+v, want none", pending)
	}
}

func TestStoreRetriesNilDoesNothing(t *testing.T) {
	var r *storeRetries
	r.putThread(retryKey, threadstore.Thread{RootID: 1}, slog.New(slog.DiscardHandler))
	r.deletePending("C", "1.0", slog.New(slog.DiscardHandler))
	r.wroteThread(retryKey)
	r.stop()
	if _, ok := r.waitingThread(retryKey); ok {
		t.Error("a nil storeRetries returns a waiting write")
	}
}
