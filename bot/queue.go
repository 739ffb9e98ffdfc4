package bot

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/tessbot/tessbot/metrics"
	"github.com/tessbot/tessbot/threadstore"
)

// seenTTL is how long a handled message is remembered. Slack redelivers an unacked event
// for about five minutes; the margin also covers replays after a restart.
const seenTTL = 2 * time.Hour

// pruneEvery is how many new entries seenSet records between sweeps of expired ones.
const pruneEvery = 1024

// threadQueues runs the turns of each thread one at a time, in the order they were
// pushed, and the turns of different threads concurrently.
type threadQueues struct {
	run func(message)

	mu      sync.Mutex
	waiting map[threadstore.ThreadKey][]message // present while the thread's worker runs
	workers sync.WaitGroup
}

func newThreadQueues(run func(message)) *threadQueues {
	return &threadQueues{run: run, waiting: make(map[threadstore.ThreadKey][]message)}
}

// push queues m on key, starting the thread's worker when it is idle.
func (q *threadQueues) push(key threadstore.ThreadKey, m message) {
	q.mu.Lock()
	waiting, running := q.waiting[key]
	q.waiting[key] = append(waiting, m)
	if !running {
		q.workers.Add(1)
	}
	q.mu.Unlock()

	if !running {
		go q.work(key)
	}
}

// work runs the turns queued on key until none is left.
func (q *threadQueues) work(key threadstore.ThreadKey) {
	defer q.workers.Done()
	for {
		q.mu.Lock()
		waiting := q.waiting[key]
		if len(waiting) == 0 {
			delete(q.waiting, key)
			q.mu.Unlock()
			return
		}
		m := waiting[0]
		q.waiting[key] = waiting[1:]
		q.mu.Unlock()

		q.run(m)
	}
}

// has reports whether a turn of key is queued or running.
func (q *threadQueues) has(key threadstore.ThreadKey) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	_, ok := q.waiting[key]
	return ok
}

// active returns the number of threads with a turn queued or running.
func (q *threadQueues) active() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.waiting)
}

// wait blocks until every worker is idle. Call it only once no more pushes come.
func (q *threadQueues) wait() {
	q.workers.Wait()
}

// seenSet de-duplicates messages with the store, which survives restarts and is shared
// by replicas. A copy in memory keeps de-duplicating while the store fails.
type seenSet struct {
	store    threadstore.Store
	ttl      time.Duration
	log      *slog.Logger
	failures onceLogger
	metrics  *metrics.Metrics // set after creation; nil counts nothing

	mu      sync.Mutex
	local   map[string]time.Time
	inserts int
}

func newSeenSet(store threadstore.Store, ttl time.Duration, log *slog.Logger) *seenSet {
	return &seenSet{store: store, ttl: ttl, log: log, local: make(map[string]time.Time)}
}

// first records id and reports whether it was not seen within the ttl. When the store
// fails, it decides from memory alone, because a duplicate is better than a lost message.
func (s *seenSet) first(ctx context.Context, id string) bool {
	if !s.firstLocal(id, time.Now()) {
		return false
	}

	first, err := s.store.MarkSeen(ctx, id, s.ttl)
	if err != nil {
		s.metrics.StoreError("mark_seen")
		if s.failures.fail() {
			s.log.Error("mark event seen failed; de-duplicating in memory only", "err", err)
		}
		return true
	}
	if n := s.failures.recover(); n > 0 {
		s.log.Info("mark event seen recovered", "failures", n)
	}
	return first
}

func (s *seenSet) firstLocal(id string, now time.Time) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if at, ok := s.local[id]; ok && now.Sub(at) < s.ttl {
		return false
	}
	s.local[id] = now

	s.inserts++
	if s.inserts%pruneEvery == 0 {
		for k, at := range s.local {
			if now.Sub(at) >= s.ttl {
				delete(s.local, k)
			}
		}
	}
	return true
}

// onceLogger counts a series of failures, so that the series is logged once when it
// starts and once when it ends.
type onceLogger struct {
	mu       sync.Mutex
	failures int
}

// fail counts a failure and reports whether it starts a series.
func (o *onceLogger) fail() bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.failures++
	return o.failures == 1
}

// recover ends the series and returns its length, 0 when there was none.
func (o *onceLogger) recover() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	n := o.failures
	o.failures = 0
	return n
}
