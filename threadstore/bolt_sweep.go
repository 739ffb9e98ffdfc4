package threadstore

import (
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// sweepLoop deletes expired entries every sweepInterval until Close. Lookups already
// hide expired entries, so the sweep only reclaims space.
func (s *boltStore) sweepLoop() {
	defer close(s.swept)

	ticker := time.NewTicker(s.opts.sweepInterval)
	defer ticker.Stop()

	failures := 0
	for {
		select {
		case <-s.stopSweep:
			return
		case <-ticker.C:
		}
		failures = s.sweepAndLog(failures)
	}
}

// sweepAndLog runs one sweep and returns the number of failed sweeps in a row. It logs
// only the first failure of a run of failures, and the recovery after it.
func (s *boltStore) sweepAndLog(failures int) int {
	threads, events, err := s.sweep()
	if err != nil {
		if failures == 0 {
			s.opts.Logger.Error("store sweep failed", "err", err)
		}
		return failures + 1
	}

	if failures > 0 {
		s.opts.Logger.Info("store sweep recovered", "failures", failures)
	}
	if threads+events > 0 {
		s.opts.Logger.Debug("store swept", "threads", threads, "seen_events", events)
	}
	return 0
}

// sweep deletes the threads unused for ThreadTTL and the seen events past their ttl, and
// returns how many of each it deleted.
func (s *boltStore) sweep() (threads, events int, err error) {
	now := s.opts.now()
	err = s.db.Update(func(tx *bolt.Tx) error {
		var err error
		threads, err = deleteWhere(tx.Bucket(threadsBucket), func(data []byte) bool {
			thread, err := decodeThread(data)
			// A record that does not decode is of no use, so it goes too.
			return err != nil || s.threadExpired(thread)
		})
		if err != nil {
			return fmt.Errorf("sweep threads: %w", err)
		}

		events, err = deleteWhere(tx.Bucket(seenBucket), func(data []byte) bool {
			expiry, ok := decodeExpiry(data)
			return !ok || !now.Before(expiry)
		})
		if err != nil {
			return fmt.Errorf("sweep seen events: %w", err)
		}
		return nil
	})
	return threads, events, err
}

// deleteWhere deletes the entries of bucket whose value matches expired. It collects the
// keys first, as copies, because bbolt forbids changing a bucket inside its ForEach.
func deleteWhere(bucket *bolt.Bucket, expired func(value []byte) bool) (int, error) {
	var keys [][]byte
	err := bucket.ForEach(func(key, value []byte) error {
		if expired(value) {
			keys = append(keys, append([]byte(nil), key...))
		}
		return nil
	})
	if err != nil {
		return 0, err
	}

	for _, key := range keys {
		if err := bucket.Delete(key); err != nil {
			return 0, err
		}
	}
	return len(keys), nil
}
