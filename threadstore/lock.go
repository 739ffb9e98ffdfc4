package threadstore

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// keyedMutex is a set of mutexes named by string, whose Lock honours ctx. A name's entry
// exists only while someone holds or waits for it.
type keyedMutex struct {
	mu    sync.Mutex
	locks map[string]*keyedEntry
}

type keyedEntry struct {
	held  chan struct{} // has one element while the lock is held
	users int           // holders and waiters
}

func newKeyedMutex() *keyedMutex {
	return &keyedMutex{locks: make(map[string]*keyedEntry)}
}

// Lock takes the mutex named key, or returns ctx's error when ctx is done first. The lock
// is released by unlock or when ctx is done, whichever comes first.
func (m *keyedMutex) Lock(ctx context.Context, key string) (unlock func(), err error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}

	entry := m.join(key)
	select {
	case entry.held <- struct{}{}:
	case <-ctx.Done():
		m.leave(key, entry)
		return nil, ctx.Err()
	}

	var once sync.Once
	release := func() {
		once.Do(func() {
			<-entry.held
			m.leave(key, entry)
		})
	}
	stop := context.AfterFunc(ctx, release)
	return func() { stop(); release() }, nil
}

func (m *keyedMutex) join(key string) *keyedEntry {
	m.mu.Lock()
	defer m.mu.Unlock()

	entry, ok := m.locks[key]
	if !ok {
		entry = &keyedEntry{held: make(chan struct{}, 1)}
		m.locks[key] = entry
	}
	entry.users++
	return entry
}

func (m *keyedMutex) leave(key string, entry *keyedEntry) {
	m.mu.Lock()
	defer m.mu.Unlock()

	entry.users--
	if entry.users == 0 {
		delete(m.locks, key)
	}
}

// checkLockArgs rejects a lock request that no backend can honour.
func checkLockArgs(key string, ttl time.Duration) error {
	if key == "" {
		return fmt.Errorf("lock: empty key")
	}
	if ttl <= 0 {
		return fmt.Errorf("lock %q: invalid ttl %v, must be positive", key, ttl)
	}
	return nil
}
