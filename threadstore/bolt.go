package threadstore

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"
)

var (
	threadsBucket = []byte("threads") // threadID → threadRecord JSON
	filesBucket   = []byte("files")   // Slack file id → fileRecord JSON
	seenBucket    = []byte("seen")    // event id → expiry, Unix nanoseconds, big-endian uint64
	pendingBucket = []byte("pending") // pendingID → pendingRecord JSON
)

// boltStore is the Store on one bbolt file.
type boltStore struct {
	db      *bolt.DB
	opts    Options
	locks   *keyedMutex
	limiter Limiter

	stopSweep chan struct{}
	swept     chan struct{} // closed when the sweep goroutine returns
	closeOnce sync.Once
	closeErr  error
}

func openBolt(path string, opts Options) (*boltStore, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("create directory of store: %w", err)
	}

	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: opts.openTimeout})
	if errors.Is(err, bolterrors.ErrTimeout) {
		return nil, fmt.Errorf("open %s: %w (is another tessbot running with this data directory?): %w",
			path, ErrLocked, err)
	}
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}

	err = db.Update(func(tx *bolt.Tx) error {
		for _, name := range [][]byte{threadsBucket, filesBucket, seenBucket, pendingBucket} {
			if _, err := tx.CreateBucketIfNotExists(name); err != nil {
				return fmt.Errorf("create bucket %s: %w", name, err)
			}
		}
		return nil
	})
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("open %s: %w", path, err)
	}

	s := &boltStore{
		db:        db,
		opts:      opts,
		locks:     newKeyedMutex(),
		limiter:   NewLocalLimiter(),
		stopSweep: make(chan struct{}),
		swept:     make(chan struct{}),
	}
	// The first sweep runs before OpenBolt returns, and later ones every sweepInterval.
	s.sweepAndLog(0)
	go s.sweepLoop()
	return s, nil
}

func (s *boltStore) Thread(ctx context.Context, key ThreadKey) (Thread, error) {
	var thread Thread
	err := s.view(ctx, func(tx *bolt.Tx) error {
		data := tx.Bucket(threadsBucket).Get([]byte(threadID(key)))
		if data == nil {
			return ErrNotFound
		}
		var err error
		thread, err = decodeThread(data)
		return err
	})
	if err != nil {
		return Thread{}, wrapUnlessNotFound(err, "get thread %s", threadID(key))
	}
	if s.threadExpired(thread) {
		return Thread{}, ErrNotFound
	}
	return thread, nil
}

func (s *boltStore) PutThread(ctx context.Context, key ThreadKey, thread Thread) error {
	thread.UpdatedAt = s.opts.now().UTC()
	data, err := encodeThread(thread)
	if err != nil {
		return fmt.Errorf("put thread %s: %w", threadID(key), err)
	}
	err = s.update(ctx, func(tx *bolt.Tx) error {
		return tx.Bucket(threadsBucket).Put([]byte(threadID(key)), data)
	})
	if err != nil {
		return fmt.Errorf("put thread %s: %w", threadID(key), err)
	}
	return nil
}

func (s *boltStore) threadExpired(t Thread) bool {
	return s.opts.now().Sub(t.UpdatedAt) >= s.opts.ThreadTTL
}

func (s *boltStore) MarkSeen(ctx context.Context, id string, ttl time.Duration) (bool, error) {
	if ttl <= 0 {
		return false, fmt.Errorf("mark event %s seen: invalid ttl %v, must be positive", id, ttl)
	}

	first := false
	err := s.update(ctx, func(tx *bolt.Tx) error {
		bucket := tx.Bucket(seenBucket)
		now := s.opts.now()
		if expiry, ok := decodeExpiry(bucket.Get([]byte(id))); ok && now.Before(expiry) {
			return nil
		}
		first = true
		return bucket.Put([]byte(id), encodeExpiry(now.Add(ttl)))
	})
	if err != nil {
		return false, fmt.Errorf("mark event %s seen: %w", id, err)
	}
	return first, nil
}

func (s *boltStore) File(ctx context.Context, slackID string) (File, error) {
	var file File
	err := s.view(ctx, func(tx *bolt.Tx) error {
		data := tx.Bucket(filesBucket).Get([]byte(slackID))
		if data == nil {
			return ErrNotFound
		}
		var err error
		file, err = decodeFile(data)
		return err
	})
	if err != nil {
		return File{}, wrapUnlessNotFound(err, "get file %s", slackID)
	}
	return file, nil
}

func (s *boltStore) PutFile(ctx context.Context, file File) error {
	data, err := encodeFile(file)
	if err != nil {
		return fmt.Errorf("put file %s: %w", file.SlackID, err)
	}
	err = s.update(ctx, func(tx *bolt.Tx) error {
		return tx.Bucket(filesBucket).Put([]byte(file.SlackID), data)
	})
	if err != nil {
		return fmt.Errorf("put file %s: %w", file.SlackID, err)
	}
	return nil
}

func (s *boltStore) DeleteFile(ctx context.Context, slackID string) error {
	err := s.update(ctx, func(tx *bolt.Tx) error {
		return tx.Bucket(filesBucket).Delete([]byte(slackID))
	})
	if err != nil {
		return fmt.Errorf("delete file %s: %w", slackID, err)
	}
	return nil
}

func (s *boltStore) Files(ctx context.Context) ([]File, error) {
	var files []File
	err := s.view(ctx, func(tx *bolt.Tx) error {
		return tx.Bucket(filesBucket).ForEach(func(_, data []byte) error {
			file, err := decodeFile(data)
			files = append(files, file)
			return err
		})
	})
	if err != nil {
		return nil, fmt.Errorf("list files: %w", err)
	}
	sortFiles(files)
	return files, nil
}

func (s *boltStore) PutPending(ctx context.Context, p Pending) error {
	id := pendingID(p.Channel, p.MessageTS)
	data, err := encodePending(p)
	if err != nil {
		return fmt.Errorf("put pending reply %s: %w", id, err)
	}
	err = s.update(ctx, func(tx *bolt.Tx) error {
		return tx.Bucket(pendingBucket).Put([]byte(id), data)
	})
	if err != nil {
		return fmt.Errorf("put pending reply %s: %w", id, err)
	}
	return nil
}

func (s *boltStore) DeletePending(ctx context.Context, channel, messageTS string) error {
	id := pendingID(channel, messageTS)
	err := s.update(ctx, func(tx *bolt.Tx) error {
		return tx.Bucket(pendingBucket).Delete([]byte(id))
	})
	if err != nil {
		return fmt.Errorf("delete pending reply %s: %w", id, err)
	}
	return nil
}

func (s *boltStore) PendingReplies(ctx context.Context) ([]Pending, error) {
	var replies []Pending
	err := s.view(ctx, func(tx *bolt.Tx) error {
		return tx.Bucket(pendingBucket).ForEach(func(_, data []byte) error {
			p, err := decodePending(data)
			replies = append(replies, p)
			return err
		})
	})
	if err != nil {
		return nil, fmt.Errorf("list pending replies: %w", err)
	}
	sortPending(replies)
	return replies, nil
}

func (s *boltStore) Lock(ctx context.Context, key string, ttl time.Duration) (func(), error) {
	if err := checkLockArgs(key, ttl); err != nil {
		return nil, err
	}
	// The locks live in memory and would still work, but a caller that holds one expects
	// to use the store, which fails once closed.
	select {
	case <-s.stopSweep:
		return nil, fmt.Errorf("lock %q: %w", key, bolterrors.ErrDatabaseNotOpen)
	default:
	}
	unlock, err := s.locks.Lock(ctx, key)
	if err != nil {
		return nil, fmt.Errorf("lock %q: %w", key, err)
	}
	return unlock, nil
}

func (s *boltStore) Limiter() Limiter { return s.limiter }

// Close stops the sweep and closes the file. bbolt waits for open transactions first.
func (s *boltStore) Close() error {
	s.closeOnce.Do(func() {
		close(s.stopSweep)
		<-s.swept
		s.closeErr = s.db.Close()
	})
	return s.closeErr
}

// view runs fn in a read transaction unless ctx is already done. bbolt transactions take
// no context, and each one is short.
func (s *boltStore) view(ctx context.Context, fn func(*bolt.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return s.db.View(fn)
}

// update runs fn in a write transaction unless ctx is already done.
func (s *boltStore) update(ctx context.Context, fn func(*bolt.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return s.db.Update(fn)
}

func wrapUnlessNotFound(err error, format string, args ...any) error {
	if errors.Is(err, ErrNotFound) {
		return ErrNotFound
	}
	return fmt.Errorf(format+": %w", append(args, err)...)
}

// maxExpiry is the latest time that Unix nanoseconds in an int64 hold, in the year 2262.
var maxExpiry = time.Unix(0, math.MaxInt64)

// encodeExpiry stores t, or maxExpiry for a later t, whose UnixNano would overflow.
func encodeExpiry(t time.Time) []byte {
	if t.After(maxExpiry) {
		t = maxExpiry
	}
	return binary.BigEndian.AppendUint64(nil, uint64(t.UnixNano()))
}

func decodeExpiry(data []byte) (time.Time, bool) {
	if len(data) != 8 {
		return time.Time{}, false
	}
	return time.Unix(0, int64(binary.BigEndian.Uint64(data))), true
}
