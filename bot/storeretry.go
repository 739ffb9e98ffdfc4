package bot

import (
	"context"
	"errors"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/tessbot/tessbot/metrics"
	"github.com/tessbot/tessbot/threadstore"
)

// retryPolicy is the schedule of the background retries of a failed store write.
type retryPolicy struct {
	first    time.Duration // wait before the first retry, doubled after each failure
	max      time.Duration // maximum wait between two tries
	attempts int           // tries before the write is given up
}

// defaultStoreRetry retries a write 12 times, with jittered waits that add up to two to
// four minutes, which is long enough for a Redis failover or restart.
var defaultStoreRetry = retryPolicy{first: time.Second, max: 30 * time.Second, attempts: 12}

// errSuperseded ends the retries of a thread write that a later write of the same thread
// replaced.
var errSuperseded = errors.New("replaced by a later write")

// storeRetries retries failed store writes in the background, so that a store outage
// during a reply costs neither the thread's conversation nor leaves a stale record of a
// reply in flight. The methods of a nil *storeRetries do nothing.
type storeRetries struct {
	store   threadstore.Store
	policy  retryPolicy
	metrics *metrics.Metrics // nil counts nothing
	ctx     context.Context  // ends at stop
	cancel  context.CancelFunc
	wg      sync.WaitGroup

	mu      sync.Mutex
	seq     uint64
	threads map[threadstore.ThreadKey]threadWrite // the newest waiting write of each thread
}

// threadWrite is a PutThread that waits for a retry.
type threadWrite struct {
	thread threadstore.Thread
	seq    uint64
}

func newStoreRetries(store threadstore.Store, policy retryPolicy, m *metrics.Metrics) *storeRetries {
	ctx, cancel := context.WithCancel(context.Background())
	return &storeRetries{
		store:   store,
		policy:  policy,
		metrics: m,
		ctx:     ctx,
		cancel:  cancel,
		threads: make(map[threadstore.ThreadKey]threadWrite),
	}
}

// stop abandons the retries still waiting and waits for the ones running.
func (r *storeRetries) stop() {
	if r == nil {
		return
	}
	r.cancel()
	r.wg.Wait()
}

// putThread retries the write of thread for key until it succeeds, a later write of the
// thread replaces it, or the attempts run out. Until then, waitingThread returns it.
func (r *storeRetries) putThread(key threadstore.ThreadKey, thread threadstore.Thread, log *slog.Logger) {
	if r == nil {
		return
	}
	r.mu.Lock()
	r.seq++
	seq := r.seq
	r.threads[key] = threadWrite{thread: thread, seq: seq}
	r.mu.Unlock()

	r.wg.Go(func() {
		r.retry("put_thread", log, func(ctx context.Context) error {
			if !r.isCurrent(key, seq) {
				return errSuperseded
			}
			return r.store.PutThread(ctx, key, thread)
		})
		r.forget(key, seq)
	})
}

// waitingThread returns the write of key that waits for a retry. It is newer than what
// the store has for key.
func (r *storeRetries) waitingThread(key threadstore.ThreadKey) (threadstore.Thread, bool) {
	if r == nil {
		return threadstore.Thread{}, false
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	w, ok := r.threads[key]
	return w.thread, ok
}

// readThread returns the thread's conversation. A write of it that waits for a retry is
// newer than what the store has, so it comes first.
func (t *turn) readThread(ctx context.Context) (threadstore.Thread, error) {
	if thread, ok := t.b.retries.waitingThread(t.key); ok {
		return thread, nil
	}
	return t.b.store.Thread(ctx, t.key)
}

// wroteThread records that a write of key succeeded, which replaces the one waiting.
func (r *storeRetries) wroteThread(key threadstore.ThreadKey) {
	if r == nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.threads, key)
}

func (r *storeRetries) isCurrent(key threadstore.ThreadKey, seq uint64) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.threads[key].seq == seq
}

func (r *storeRetries) forget(key threadstore.ThreadKey, seq uint64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.threads[key].seq == seq {
		delete(r.threads, key)
	}
}

// deletePending retries the deletion of the record of the reply in channel with message
// ts messageTS. Without it, the next start would rewrite a reply that was complete.
func (r *storeRetries) deletePending(channel, messageTS string, log *slog.Logger) {
	if r == nil {
		return
	}
	r.wg.Go(func() {
		r.retry("delete_pending", log, func(ctx context.Context) error {
			return r.store.DeletePending(ctx, channel, messageTS)
		})
	})
}

// retry calls write after growing, jittered waits until it succeeds, returns
// errSuperseded, or fails policy.attempts times. It logs the outcome, not each failure.
func (r *storeRetries) retry(op string, log *slog.Logger, write func(context.Context) error) {
	wait := r.policy.first
	var err error
	for attempt := 1; attempt <= r.policy.attempts; attempt++ {
		if sleepContext(r.ctx, wait/2+rand.N(wait/2+1)) != nil {
			log.Warn("store write abandoned at shutdown", "op", op, "attempts", attempt-1)
			return
		}
		ctx, cancel := context.WithTimeout(r.ctx, storeTimeout)
		err = write(ctx)
		cancel()
		switch {
		case err == nil:
			log.Info("store write recovered", "op", op, "attempts", attempt)
			return
		case errors.Is(err, errSuperseded):
			return
		}
		r.metrics.StoreError(op)
		log.Debug("store write retry failed", "op", op, "attempt", attempt, "err", err)
		wait = min(wait*2, r.policy.max)
	}
	log.Error("store write given up", "op", op, "attempts", r.policy.attempts, "err", err)
}
