// Package scheduler owns every Slack write of streaming replies. It keeps only the newest
// text of each message, sends first and final texts before intermediate edits, shares the
// per-method rate budget fairly between replies, and pauses a method for every reply when
// Slack responds with 429.
package scheduler

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/slack-go/slack"
	"golang.org/x/time/rate"
)

// Slack is the part of *slack.Client that the scheduler writes with.
type Slack interface {
	PostMessageContext(ctx context.Context, channelID string, options ...slack.MsgOption) (string, string, error)
	UpdateMessageContext(ctx context.Context, channelID, timestamp string, options ...slack.MsgOption) (string, string, string, error)
}

// Limiter is a budget of calls. *rate.Limiter implements it; a budget shared between
// replicas can implement it too.
type Limiter interface {
	// Wait blocks until one call may go out, or returns an error when ctx is done first.
	Wait(ctx context.Context) error
	// Tokens returns how many calls could go out now without waiting. An estimate is enough.
	Tokens() float64
}

// Config sets the budget. Zero values take Slack's published tiers.
type Config struct {
	UpdatesPerMinute float64       // chat.update for the whole app; default 50 (Tier 3)
	UpdateBurst      int           // default 5
	PostsPerSecond   float64       // chat.postMessage per channel; default 1
	EditInterval     time.Duration // minimum time between two edits of one message; default 1s
	Logger           *slog.Logger

	// UpdateLimiter replaces the local chat.update limiter built from UpdatesPerMinute and
	// UpdateBurst, for example with a budget shared between replicas. UpdatesPerMinute and
	// UpdateBurst should still describe it: they size the reserve kept for final texts and
	// the estimate of when tokens return.
	UpdateLimiter Limiter

	MaxInFlight    int           // writes in flight at once; default 8
	CallTimeout    time.Duration // limit of one Slack call; default 30s
	MaxAttempts    int           // tries of one write on transient errors; default 5
	RetryBackoff   time.Duration // wait after the first transient error, doubled up to 30s; default 1s
	RateLimitPause time.Duration // pause after a 429 without Retry-After or "rate_limited"; default 30s
	EmptyText      string        // final text when Finish gets none; default "(no text)"
}

const maxRetryBackoff = 30 * time.Second

// ErrStopped is returned by a reply's methods when Run stopped before the reply was done.
var ErrStopped = errors.New("scheduler stopped")

func (c Config) withDefaults() Config {
	if c.UpdatesPerMinute <= 0 {
		c.UpdatesPerMinute = 50
	}
	if c.UpdateBurst <= 0 {
		c.UpdateBurst = 5
	}
	if c.PostsPerSecond <= 0 {
		c.PostsPerSecond = 1
	}
	if c.EditInterval <= 0 {
		c.EditInterval = time.Second
	}

	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.UpdateLimiter == nil {
		c.UpdateLimiter = rate.NewLimiter(rate.Limit(c.UpdatesPerMinute/60), c.UpdateBurst)
	}

	if c.MaxInFlight <= 0 {
		c.MaxInFlight = 8
	}
	if c.CallTimeout <= 0 {
		c.CallTimeout = 30 * time.Second
	}
	if c.MaxAttempts <= 0 {
		c.MaxAttempts = 5
	}
	if c.RetryBackoff <= 0 {
		c.RetryBackoff = time.Second
	}
	if c.RateLimitPause <= 0 {
		c.RateLimitPause = 30 * time.Second
	}
	if strings.TrimSpace(c.EmptyText) == "" {
		c.EmptyText = "(no text)"
	}
	return c
}

// Scheduler sends the messages of every reply. Create it with New and start Run.
type Scheduler struct {
	api Slack
	cfg Config
	log *slog.Logger

	// reserve is the number of chat.update tokens that only final texts may use, so that
	// a final text finds budget left when intermediate edits have been flowing.
	reserve float64

	mu      sync.Mutex
	changed []*Reply // replies with a Set, Finish or Start not yet seen by Run
	seq     uint64
	running bool
	stopped bool

	wake    chan struct{}
	results chan write
	tokens  chan error

	// The fields below are owned by the goroutine of Run.
	active       []*Reply
	channels     map[string]*channelState
	inFlight     int
	tokenHeld    bool
	tokenWaiting bool
	tokenRetryAt time.Time
	pausedUntil  [methodCount]time.Time
	calls        sync.WaitGroup
	postBuf      []candidate // reused by collect
	updateBuf    []candidate

	afterResult func() // called by Run after each result; set only by tests
}

// New returns a Scheduler that writes through api.
func New(api Slack, cfg Config) *Scheduler {
	cfg = cfg.withDefaults()
	return &Scheduler{
		api:      api,
		cfg:      cfg,
		log:      cfg.Logger,
		reserve:  float64(cfg.UpdateBurst - 1),
		wake:     make(chan struct{}, 1),
		results:  make(chan write, cfg.MaxInFlight),
		tokens:   make(chan error, 1),
		channels: make(map[string]*channelState),
	}
}

// Run sends pending writes until ctx is done. It then waits for the calls in flight, which
// are not cancelled but limited by CallTimeout, fails the replies not yet done with
// ErrStopped and returns nil. Only one Run may be active per Scheduler.
func (s *Scheduler) Run(ctx context.Context) error {
	s.mu.Lock()
	if s.running || s.stopped {
		s.mu.Unlock()
		return errors.New("run called on a scheduler that is running or stopped")
	}
	s.running = true
	s.mu.Unlock()

	s.log.Info("scheduler started",
		"updates_per_minute", s.cfg.UpdatesPerMinute,
		"update_burst", s.cfg.UpdateBurst,
		"posts_per_second", s.cfg.PostsPerSecond)

	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		s.takeChanged()
		next := s.dispatch(ctx, time.Now())
		resetTimer(timer, next)

		select {
		case <-ctx.Done():
			s.stop()
			return nil
		case <-s.wake:
		case res := <-s.results:
			s.handleResult(res)
		case err := <-s.tokens:
			s.handleToken(err)
		case <-timer.C:
		}
	}
}

// resetTimer arms timer for next, or for an hour when nothing is due.
func resetTimer(timer *time.Timer, next time.Time) {
	d := time.Hour
	if !next.IsZero() {
		d = max(time.Until(next), 0)
	}
	timer.Reset(d)
}

// stop waits for the calls in flight and fails every reply not yet done.
func (s *Scheduler) stop() {
	s.mu.Lock()
	s.stopped = true
	s.mu.Unlock()

	s.calls.Wait()
	for s.inFlight > 0 {
		s.handleResult(<-s.results)
	}
	s.takeChanged()
	for len(s.active) > 0 {
		s.fail(s.active[0], ErrStopped)
	}
	s.log.Info("scheduler stopped")
}

// notifyRun wakes Run. It never blocks.
func (s *Scheduler) notifyRun() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// takeChanged moves the texts written by Set and Finish into the state that Run owns.
func (s *Scheduler) takeChanged() {
	s.mu.Lock()
	changed := s.changed
	s.changed = nil
	for _, r := range changed {
		r.queued = false
	}
	s.mu.Unlock()

	for _, r := range changed {
		r.sync(s)
	}
}
