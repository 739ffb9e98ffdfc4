package scheduler

import (
	"cmp"
	"context"
	"errors"
	"slices"
	"time"

	"golang.org/x/time/rate"
)

// method is a Slack Web API method the scheduler calls.
type method int

const (
	methodPost method = iota
	methodUpdate
	methodCount
)

func (m method) String() string {
	if m == methodPost {
		return "chat.postMessage"
	}
	return "chat.update"
}

// candidate is a message with a write that may go out now.
type candidate struct {
	r    *Reply
	m    *message
	rank int // 0 for placeholders, first visible and final texts, 1 for the rest

	// needs is the number of chat.update tokens that must be available, the one this
	// write takes included: 1 for a final text, 1+reserve for other edits.
	needs float64
}

// channelState is the chat.postMessage budget of one channel.
type channelState struct {
	posts   *rate.Limiter
	replies int // active replies in the channel
}

func (s *Scheduler) channel(id string) *channelState {
	ch := s.channels[id]
	if ch == nil {
		ch = &channelState{posts: rate.NewLimiter(rate.Limit(s.cfg.PostsPerSecond), 1)}
		s.channels[id] = ch
	}
	return ch
}

// dispatch starts every write that the budget allows now and returns when the next one
// may become possible (zero when only a result or a new text can unblock it).
func (s *Scheduler) dispatch(ctx context.Context, now time.Time) time.Time {
	var next time.Time
	if ctx.Err() != nil {
		return next
	}
	posts, updates := s.collect(now, &next)
	s.dispatchPosts(ctx, now, posts, &next)
	s.dispatchUpdates(ctx, now, updates, &next)

	// Keep the buffers for the next round but not the replies they point to.
	clear(posts)
	clear(updates)
	s.postBuf, s.updateBuf = posts[:0], updates[:0]
	return next
}

// collect lists the writes that may go out now, and moves next to the earliest time a
// write that must still wait becomes ready. A message is posted only once Slack shows the
// newest text of the message before it. So a message that msg_too_long cuts, or that a
// rejected edit posts again, still comes before the next message in the thread.
func (s *Scheduler) collect(now time.Time, next *time.Time) (posts, updates []candidate) {
	posts, updates = s.postBuf[:0], s.updateBuf[:0]
	for _, r := range s.active {
		previousShown := true
		for i, p := range r.parts {
			lastPart := i == len(r.parts)-1
			for j, m := range p.msgs {
				if m.text == "" {
					continue
				}
				mayPost := previousShown
				previousShown = !m.inFlight && !r.needsWrite(m)
				if m.inFlight || !r.needsWrite(m) {
					continue
				}
				if m.ts == "" {
					if !mayPost {
						continue
					}
					if m.retryAt.After(now) {
						earlier(next, m.retryAt)
						continue
					}
					posts = append(posts, s.postCandidate(r, m))
					continue
				}
				final := r.final || !lastPart || j < len(p.msgs)-1
				c, readyAt := s.updateCandidate(r, m, final)
				if readyAt.After(now) {
					earlier(next, readyAt)
					continue
				}
				updates = append(updates, c)
			}
		}
	}
	return posts, updates
}

func (s *Scheduler) postCandidate(r *Reply, m *message) candidate {
	rank := 1
	if r.isPlaceholder(m) {
		rank = 0
	}
	return candidate{r: r, m: m, rank: rank}
}

// updateCandidate ranks an edit of m and returns when it is ready. A final text waits only
// for a retry. Other edits also wait EditInterval after the last write of m, so that text
// arriving meanwhile, a final text included, goes out in the same call.
func (s *Scheduler) updateCandidate(r *Reply, m *message, final bool) (candidate, time.Time) {
	c := candidate{r: r, m: m, rank: 1, needs: 1 + s.reserve}
	if final || !m.showsText {
		c.rank = 0
	}
	if final {
		c.needs = 1
		return c, m.retryAt
	}
	readyAt := m.lastWrite.Add(s.cfg.EditInterval)
	if m.retryAt.After(readyAt) {
		readyAt = m.retryAt
	}
	return c, readyAt
}

// compareCandidates orders by rank, then puts the reply written least recently first.
func compareCandidates(a, b candidate) int {
	if c := cmp.Compare(a.rank, b.rank); c != 0 {
		return c
	}
	if c := a.r.lastWrite.Compare(b.r.lastWrite); c != 0 {
		return c
	}
	return cmp.Compare(a.r.seq, b.r.seq)
}

func (s *Scheduler) dispatchPosts(ctx context.Context, now time.Time, posts []candidate, next *time.Time) {
	if len(posts) == 0 {
		return
	}
	if until := s.pausedUntil[methodPost]; until.After(now) {
		earlier(next, until)
		return
	}
	slices.SortFunc(posts, compareCandidates)
	for _, c := range posts {
		if s.inFlight >= s.cfg.MaxInFlight {
			return
		}
		ch := s.channel(c.r.channel)
		if tokens := ch.posts.TokensAt(now); tokens < 1 {
			earlier(next, now.Add(tokenDelay(1-tokens, s.cfg.PostsPerSecond)))
			continue
		}
		ch.posts.AllowN(now, 1)
		s.send(ctx, c, methodPost)
	}
}

// dispatchUpdates spends the chat.update token held, if any, on the best edit whose
// reserve is met, and requests the next token from the limiter when an edit is waiting.
func (s *Scheduler) dispatchUpdates(ctx context.Context, now time.Time, updates []candidate, next *time.Time) {
	if len(updates) == 0 {
		return
	}
	if until := s.pausedUntil[methodUpdate]; until.After(now) {
		earlier(next, until)
		return
	}
	slices.SortFunc(updates, compareCandidates)

	if s.tokenHeld {
		updates = s.spendToken(ctx, now, updates, next)
		if s.tokenHeld || len(updates) == 0 {
			return
		}
	}
	if s.tokenWaiting {
		return
	}
	if s.tokenRetryAt.After(now) {
		earlier(next, s.tokenRetryAt)
		return
	}

	needs := minNeeds(updates)
	tokens := s.cfg.UpdateLimiter.Tokens()
	if needs <= 1 || tokens >= needs {
		s.requestToken(ctx)
		return
	}
	earlier(next, now.Add(tokenDelay(needs-tokens, s.cfg.UpdatesPerMinute/60)))
}

// spendToken sends the first of the sorted updates whose reserve the held token meets and
// returns the updates left.
func (s *Scheduler) spendToken(ctx context.Context, now time.Time, updates []candidate, next *time.Time) []candidate {
	if s.inFlight >= s.cfg.MaxInFlight {
		return updates // a result wakes Run
	}
	available := s.cfg.UpdateLimiter.Tokens() + 1
	i := slices.IndexFunc(updates, func(c candidate) bool { return c.needs <= available })
	if i < 0 {
		earlier(next, now.Add(tokenDelay(minNeeds(updates)-available, s.cfg.UpdatesPerMinute/60)))
		return updates
	}
	s.tokenHeld = false
	s.send(ctx, updates[i], methodUpdate)
	return slices.Delete(updates, i, i+1)
}

func minNeeds(updates []candidate) float64 {
	needs := updates[0].needs
	for _, c := range updates[1:] {
		needs = min(needs, c.needs)
	}
	return needs
}

// requestToken waits for a chat.update token in another goroutine, so that Run keeps
// serving results and posts meanwhile. Run receives the outcome on s.tokens.
func (s *Scheduler) requestToken(ctx context.Context) {
	s.tokenWaiting = true
	limiter := s.cfg.UpdateLimiter
	go func() {
		s.tokens <- limiter.Wait(ctx)
	}()
}

func (s *Scheduler) handleToken(err error) {
	s.tokenWaiting = false
	if err == nil {
		s.tokenHeld = true
		return
	}
	if errors.Is(err, context.Canceled) {
		return
	}
	s.log.Warn("chat.update limiter failed", "err", err)
	s.tokenRetryAt = time.Now().Add(s.cfg.RetryBackoff)
}

// tokenDelay returns how long a limiter refilling perSecond tokens a second takes to
// gain missing tokens, rounded up to the next millisecond.
func tokenDelay(missing, perSecond float64) time.Duration {
	d := time.Duration(missing / perSecond * float64(time.Second))
	return d.Truncate(time.Millisecond) + time.Millisecond
}

func earlier(next *time.Time, t time.Time) {
	if next.IsZero() || t.Before(*next) {
		*next = t
	}
}
