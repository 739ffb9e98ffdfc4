// Package threadstore keeps what the bot must remember across restarts: which Tess
// conversation a Slack thread continues, which Slack files were already uploaded to Tess,
// which events were already handled, and which replies were still streaming.
//
// Two backends implement Store: Bolt (an embedded bbolt file, the default) and Redis
// (for several replicas). Both pass the same conformance suite.
package threadstore

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"golang.org/x/time/rate"
)

var (
	// ErrNotFound is returned by lookups when the key is absent or expired.
	ErrNotFound = errors.New("threadstore: not found")
	// ErrLocked is returned by OpenBolt when another process has the file open.
	ErrLocked = errors.New("threadstore: file is locked by another process")
)

// ThreadKey identifies a Slack thread: the channel id and the ts of the thread's root message.
type ThreadKey struct {
	Channel  string
	ThreadTS string
}

// Thread is the Tess conversation that a Slack thread continues.
type Thread struct {
	RootID    int64     // Tess root_id of the conversation
	AgentID   string    // Tess agent that answered in this thread
	UpdatedAt time.Time // last use; threads unused for longer than the expiry are forgotten
}

// File records a Slack file that was uploaded to Tess.
type File struct {
	SlackID    string
	TessID     int64
	UploadedAt time.Time
}

// Pending is a reply in flight: a Slack message that is being filled from a Tess execution.
// It is written before streaming starts and deleted once the final text is in Slack, so a
// process that starts after a crash can finish or mark the replies it finds.
type Pending struct {
	Channel     string
	ThreadTS    string
	MessageTS   string // the placeholder message being edited
	ExecutionID int64  // Tess execution id; 0 until the first event arrives
	StartedAt   time.Time
	// PartTS holds the ts of each Slack message of the reply posted so far, in order, with
	// "" for a message not posted yet. It is nil in records written before it existed.
	PartTS []string
}

// Store is everything the bot persists. Implementations are safe for concurrent use.
type Store interface {
	// Thread returns the conversation of key, or ErrNotFound.
	Thread(ctx context.Context, key ThreadKey) (Thread, error)
	// PutThread stores the conversation of key and sets its UpdatedAt to now.
	PutThread(ctx context.Context, key ThreadKey, thread Thread) error

	// MarkSeen records an event id and reports whether this was its first sighting
	// within ttl.
	MarkSeen(ctx context.Context, id string, ttl time.Duration) (first bool, err error)

	// File returns the Tess file that a Slack file was uploaded as, or ErrNotFound.
	File(ctx context.Context, slackID string) (File, error)
	// PutFile records an uploaded file.
	PutFile(ctx context.Context, file File) error
	// DeleteFile forgets a Slack file.
	DeleteFile(ctx context.Context, slackID string) error
	// Files lists the uploaded files, oldest first.
	Files(ctx context.Context) ([]File, error)

	// PutPending records or replaces the reply in flight for p.Channel and p.MessageTS.
	PutPending(ctx context.Context, p Pending) error
	// DeletePending forgets the reply in flight in channel with message ts.
	DeletePending(ctx context.Context, channel, messageTS string) error
	// PendingReplies lists the replies in flight.
	PendingReplies(ctx context.Context) ([]Pending, error)

	// Lock takes the lock named key, waiting while another holder has it, and returns a
	// function that releases it. The lock is held until unlock is called or ctx is done,
	// whichever comes first, and unlock may be called more than once. While held, the
	// lock is renewed in the background, and it expires ttl after its holder dies. With
	// the Redis backend every replica on that Redis shares the lock. With bbolt it is
	// shared within the process, the only one that can open the file.
	Lock(ctx context.Context, key string, ttl time.Duration) (unlock func(), err error)

	// Limiter returns the rate budgets of this store. With the Redis backend every replica
	// on that Redis shares them.
	Limiter() Limiter

	// Close releases the backend. The Redis backend first releases the locks still held,
	// so that other replicas need not wait for them to expire.
	Close() error
}

// Limiter is a set of named rate budgets, for example one per Slack method.
type Limiter interface {
	// Wait blocks until one event under the budget named key may happen, or until ctx is
	// done. limit is in events per second, and burst is the number of events that may
	// happen at once. Every caller of one key should pass the same values. When ctx has
	// a deadline before the event's turn, Wait returns at once with an error that wraps
	// context.DeadlineExceeded. A limit of rate.Inf never waits.
	Wait(ctx context.Context, key string, limit rate.Limit, burst int) error
}

// Options configures a backend. Zero values take the defaults.
type Options struct {
	ThreadTTL time.Duration // threads unused for this long are forgotten; default 30 days
	Logger    *slog.Logger  // receives sweep and lock renewal failures; default discards
	// KeyPrefix starts every Redis key, so that several bots can share one Redis server;
	// default "tessbot:". The bbolt backend ignores it.
	KeyPrefix string

	// The fields below exist for tests.
	now           func() time.Time // clock for UpdatedAt and bolt expiry; default time.Now
	sweepInterval time.Duration    // time between bolt sweeps; default ThreadTTL/10, 1s to 1h
	openTimeout   time.Duration    // how long OpenBolt waits for the file lock; default 1s
	keyPrefix     string           // prefix of every Redis key; default KeyPrefix
}

const (
	defaultThreadTTL   = 30 * 24 * time.Hour
	defaultOpenTimeout = time.Second
	defaultKeyPrefix   = "tessbot:"
)

// withDefaults returns opts with every zero field set to its default.
func (opts Options) withDefaults() Options {
	if opts.ThreadTTL <= 0 {
		opts.ThreadTTL = defaultThreadTTL
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.now == nil {
		opts.now = time.Now
	}
	if opts.sweepInterval <= 0 {
		opts.sweepInterval = min(max(opts.ThreadTTL/10, time.Second), time.Hour)
	}
	if opts.openTimeout <= 0 {
		opts.openTimeout = defaultOpenTimeout
	}
	if opts.keyPrefix == "" {
		opts.keyPrefix = opts.KeyPrefix
	}
	if opts.keyPrefix == "" {
		opts.keyPrefix = defaultKeyPrefix
	}
	return opts
}

// OpenBolt opens or creates the bbolt store at path, creating its directory when missing.
// It returns an error wrapping ErrLocked when another process has the file open. The
// store deletes expired threads and seen events in the background until Close.
func OpenBolt(path string, opts Options) (Store, error) {
	return openBolt(path, opts.withDefaults())
}

// OpenRedis connects to the Redis server at url (redis://…) and pings it.
// Errors name the server address but never the URL, which may contain a password.
func OpenRedis(ctx context.Context, url string, opts Options) (Store, error) {
	return openRedis(ctx, url, opts.withDefaults())
}
