package threadstore

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// redisStore is the Store on a Redis server. Key layout, after the prefix "tessbot:":
//
//	thread:{channel}:{thread_ts}  string, threadRecord JSON, expires ThreadTTL after PutThread
//	seen:{event id}               string, expires after the ttl given to MarkSeen
//	files                         hash, Slack file id → fileRecord JSON
//	files:by_time                 sorted set of Slack file ids, score = upload time in µs
//	pending                       hash, {channel}:{message ts} → pendingRecord JSON
//	lock:{key}                    string, the holder's random token, expires with the lock
//	rate:{key}                    string, theoretical arrival time of a rate budget
type redisStore struct {
	client  *redis.Client
	opts    Options
	limiter Limiter

	mu        sync.Mutex
	heldLocks map[*redisLock]struct{} // released by Close
	closeOnce sync.Once
	closeErr  error
}

func openRedis(ctx context.Context, rawURL string, opts Options) (*redisStore, error) {
	ropts, err := redis.ParseURL(rawURL)
	if err != nil {
		// url.Error repeats the whole URL, password included, so keep only its cause.
		if urlErr, ok := errors.AsType[*url.Error](err); ok {
			err = urlErr.Err
		}
		return nil, fmt.Errorf("invalid redis url: %w", err)
	}

	// go-redis has one package-wide logger, which otherwise prints dial failures to stderr
	// outside the bot's log. The store opened last receives its messages.
	redis.SetLogger(redisLogger{log: opts.Logger})
	client := redis.NewClient(ropts)
	if err := client.Ping(ctx).Err(); err != nil {
		client.Close()
		return nil, fmt.Errorf("redis at %s is unreachable: %w", ropts.Addr, err)
	}

	return &redisStore{
		client:    client,
		opts:      opts,
		limiter:   &redisLimiter{client: client, prefix: opts.keyPrefix},
		heldLocks: make(map[*redisLock]struct{}),
	}, nil
}

func (s *redisStore) key(parts ...string) string {
	k := s.opts.keyPrefix
	for i, part := range parts {
		if i > 0 {
			k += ":"
		}
		k += part
	}
	return k
}

func (s *redisStore) Thread(ctx context.Context, key ThreadKey) (Thread, error) {
	data, err := s.client.Get(ctx, s.key("thread", threadID(key))).Bytes()
	if errors.Is(err, redis.Nil) {
		return Thread{}, ErrNotFound
	}
	if err != nil {
		return Thread{}, fmt.Errorf("get thread %s: %w", threadID(key), err)
	}
	thread, err := decodeThread(data)
	if err != nil {
		return Thread{}, fmt.Errorf("get thread %s: %w", threadID(key), err)
	}
	return thread, nil
}

func (s *redisStore) PutThread(ctx context.Context, key ThreadKey, thread Thread) error {
	thread.UpdatedAt = s.opts.now().UTC()
	data, err := encodeThread(thread)
	if err != nil {
		return fmt.Errorf("put thread %s: %w", threadID(key), err)
	}
	err = s.client.Set(ctx, s.key("thread", threadID(key)), data, s.opts.ThreadTTL).Err()
	if err != nil {
		return fmt.Errorf("put thread %s: %w", threadID(key), err)
	}
	return nil
}

func (s *redisStore) MarkSeen(ctx context.Context, id string, ttl time.Duration) (bool, error) {
	if ttl <= 0 {
		return false, fmt.Errorf("mark event %s seen: invalid ttl %v, must be positive", id, ttl)
	}
	first, err := s.client.SetNX(ctx, s.key("seen", id), 1, ttl).Result()
	if err != nil {
		return false, fmt.Errorf("mark event %s seen: %w", id, err)
	}
	return first, nil
}

func (s *redisStore) File(ctx context.Context, slackID string) (File, error) {
	data, err := s.client.HGet(ctx, s.key("files"), slackID).Bytes()
	if errors.Is(err, redis.Nil) {
		return File{}, ErrNotFound
	}
	if err != nil {
		return File{}, fmt.Errorf("get file %s: %w", slackID, err)
	}
	file, err := decodeFile(data)
	if err != nil {
		return File{}, fmt.Errorf("get file %s: %w", slackID, err)
	}
	return file, nil
}

func (s *redisStore) PutFile(ctx context.Context, file File) error {
	data, err := encodeFile(file)
	if err != nil {
		return fmt.Errorf("put file %s: %w", file.SlackID, err)
	}
	_, err = s.client.TxPipelined(ctx, func(pipe redis.Pipeliner) error {
		pipe.HSet(ctx, s.key("files"), file.SlackID, data)
		pipe.ZAdd(ctx, s.key("files", "by_time"), redis.Z{
			Score:  float64(file.UploadedAt.UnixMicro()),
			Member: file.SlackID,
		})
		return nil
	})
	if err != nil {
		return fmt.Errorf("put file %s: %w", file.SlackID, err)
	}
	return nil
}

func (s *redisStore) DeleteFile(ctx context.Context, slackID string) error {
	_, err := s.client.TxPipelined(ctx, func(pipe redis.Pipeliner) error {
		pipe.HDel(ctx, s.key("files"), slackID)
		pipe.ZRem(ctx, s.key("files", "by_time"), slackID)
		return nil
	})
	if err != nil {
		return fmt.Errorf("delete file %s: %w", slackID, err)
	}
	return nil
}

func (s *redisStore) Files(ctx context.Context) ([]File, error) {
	ids, err := s.client.ZRange(ctx, s.key("files", "by_time"), 0, -1).Result()
	if err != nil {
		return nil, fmt.Errorf("list files: %w", err)
	}
	if len(ids) == 0 {
		return nil, nil
	}

	values, err := s.client.HMGet(ctx, s.key("files"), ids...).Result()
	if err != nil {
		return nil, fmt.Errorf("list files: %w", err)
	}
	files := make([]File, 0, len(values))
	for _, value := range values {
		data, ok := value.(string)
		if !ok {
			continue // deleted between the two reads
		}
		file, err := decodeFile([]byte(data))
		if err != nil {
			return nil, fmt.Errorf("list files: %w", err)
		}
		files = append(files, file)
	}
	// Scores hold microseconds, so sorting again orders files within one microsecond.
	sortFiles(files)
	return files, nil
}

func (s *redisStore) PutPending(ctx context.Context, p Pending) error {
	id := pendingID(p.Channel, p.MessageTS)
	data, err := encodePending(p)
	if err != nil {
		return fmt.Errorf("put pending reply %s: %w", id, err)
	}
	if err := s.client.HSet(ctx, s.key("pending"), id, data).Err(); err != nil {
		return fmt.Errorf("put pending reply %s: %w", id, err)
	}
	return nil
}

func (s *redisStore) DeletePending(ctx context.Context, channel, messageTS string) error {
	id := pendingID(channel, messageTS)
	if err := s.client.HDel(ctx, s.key("pending"), id).Err(); err != nil {
		return fmt.Errorf("delete pending reply %s: %w", id, err)
	}
	return nil
}

func (s *redisStore) PendingReplies(ctx context.Context) ([]Pending, error) {
	values, err := s.client.HVals(ctx, s.key("pending")).Result()
	if err != nil {
		return nil, fmt.Errorf("list pending replies: %w", err)
	}
	replies := make([]Pending, 0, len(values))
	for _, data := range values {
		p, err := decodePending([]byte(data))
		if err != nil {
			return nil, fmt.Errorf("list pending replies: %w", err)
		}
		replies = append(replies, p)
	}
	sortPending(replies)
	return replies, nil
}

func (s *redisStore) Limiter() Limiter { return s.limiter }

// Close releases the locks still held, so that other replicas need not wait for them to
// expire, and closes the connections.
func (s *redisStore) Close() error {
	s.closeOnce.Do(func() {
		s.mu.Lock()
		held := make([]*redisLock, 0, len(s.heldLocks))
		for l := range s.heldLocks {
			held = append(held, l)
		}
		s.mu.Unlock()

		for _, l := range held {
			l.release()
		}
		s.closeErr = s.client.Close()
	})
	return s.closeErr
}

// redisLogger passes the messages of go-redis, such as failed dials during an outage, to
// slog as warnings.
type redisLogger struct {
	log *slog.Logger
}

func (l redisLogger) Printf(ctx context.Context, format string, v ...any) {
	l.log.WarnContext(ctx, "redis client message", "detail", fmt.Sprintf(format, v...))
}
