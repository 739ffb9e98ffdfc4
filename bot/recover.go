package bot

import (
	"context"
	"errors"
	"log/slog"
	"sync"

	"golang.org/x/time/rate"

	"github.com/tessbot/tessbot/mrkdwn"
	"github.com/tessbot/tessbot/scheduler"
	"github.com/tessbot/tessbot/tess"
	"github.com/tessbot/tessbot/threadstore"
)

// interruptedNote replaces, or ends, a reply that a previous process left unfinished when
// Tess has no output to finish it with.
const interruptedNote = "_⚠️ The bot restarted while writing this answer, and the answer " +
	"could not be recovered. Ask again to get it._"

// durability holds what keeps replies and conversations through crashes, restarts and
// store outages. A bot built without run leaves it zero: nothing is retried or recovered.
type durability struct {
	updates    scheduler.Limiter // chat.update budget of the scheduler and of recoveries
	posts      *rate.Limiter     // chat.postMessage budget of recoveries
	retries    *storeRetries
	recoveries sync.WaitGroup
}

// initDurability sets the chat.update budget of cfg, shared by the replicas on a Redis
// store, and the budgets and retries of recoveries.
func (b *bot) initDurability(cfg *scheduler.Config) {
	if cfg.UpdateBurst <= 0 {
		cfg.UpdateBurst = defaultUpdateBurst
	}
	if cfg.UpdateLimiter == nil {
		cfg.UpdateLimiter = b.newUpdateLimiter(cfg.UpdatesPerMinute, cfg.UpdateBurst)
	}
	b.updates = cfg.UpdateLimiter

	postsPerSecond := cfg.PostsPerSecond
	if postsPerSecond <= 0 {
		postsPerSecond = 1 // the scheduler's default, per channel
	}
	b.posts = rate.NewLimiter(rate.Limit(postsPerSecond), 1)

	policy := defaultStoreRetry
	if b.cfg.storeRetry != nil {
		policy = *b.cfg.storeRetry
	}
	b.retries = newStoreRetries(b.store, policy, b.metrics)
}

// threadLockName returns the name of the store lock that turns and recoveries of the
// thread key take, so that one of them at a time, on any replica, writes in the thread.
func threadLockName(key threadstore.ThreadKey) string {
	return "thread:" + key.Channel + ":" + key.ThreadTS
}

// startRecovery lists the replies that a previous process left in flight and finishes
// each in the background: with the output of its Tess execution when Tess has it, or
// with interruptedNote. It lists them before any turn of this process starts, so the list
// holds only replies of stopped processes and of other replicas. ctx ends the recoveries
// that still wait for a lock or for Tess; their records stay for the next start.
func (b *bot) startRecovery(ctx context.Context) {
	listCtx, cancel := context.WithTimeout(ctx, storeTimeout)
	defer cancel()
	pending, err := b.store.PendingReplies(listCtx)
	if err != nil {
		b.metrics.StoreError("pending_replies")
		b.log.Error("list pending replies failed; they are recovered at the next start", "err", err)
		return
	}
	if len(pending) > 0 {
		b.log.Info("recovering replies left in flight", "replies", len(pending))
	}
	for _, p := range pending {
		b.recoveries.Go(func() { b.recoverReply(ctx, p) })
	}
}

// recoverReply finishes the reply of p under the thread's lock. A reply that another
// replica is still writing is left alone: its turn holds the lock and deletes the record
// before it lets go.
func (b *bot) recoverReply(ctx context.Context, p threadstore.Pending) {
	key := threadstore.ThreadKey{Channel: p.Channel, ThreadTS: p.ThreadTS}
	log := b.log.With(
		"channel", p.Channel,
		"thread_ts", p.ThreadTS,
		"message_ts", p.MessageTS,
		"execution_id", p.ExecutionID)

	unlock, err := b.store.Lock(ctx, threadLockName(key), lockTTL)
	if err != nil {
		if ctx.Err() == nil {
			b.metrics.StoreError("lock")
			log.Error("lock thread for recovery failed; the reply is recovered at the next start", "err", err)
		}
		return
	}
	defer unlock()
	if !b.stillPending(ctx, p, log) {
		return
	}

	parts, ok := b.recoveredParts(ctx, key, p, log)
	if !ok {
		log.Info("recovery stopped at shutdown; the reply is recovered at the next start")
		return
	}
	err = b.rewriteReply(p, parts, log)
	switch {
	case errors.Is(err, errSlackRejected):
		log.Error("recover reply failed; slack rejects it, so it is given up", "err", err)
	case err != nil:
		log.Error("recover reply failed; it is tried again at the next start", "err", err)
		return
	default:
		log.Info("reply recovered", "parts", len(parts))
	}
	b.forgetPending(p, log)
}

// stillPending reports whether the record of p is still in the store. A turn that held
// the thread's lock before this recovery took it deletes its record when it ends.
func (b *bot) stillPending(ctx context.Context, p threadstore.Pending, log *slog.Logger) bool {
	ctx, cancel := context.WithTimeout(ctx, storeTimeout)
	defer cancel()
	pending, err := b.store.PendingReplies(ctx)
	if err != nil {
		b.metrics.StoreError("pending_replies")
		log.Error("list pending replies failed; the reply is recovered at the next start", "err", err)
		return false
	}
	for _, q := range pending {
		if q.Channel == p.Channel && q.MessageTS == p.MessageTS {
			return true
		}
	}
	log.Debug("pending reply finished by its turn")
	return false
}

// recoveredParts returns the parts that the reply of p shows: the output of its Tess
// execution, or interruptedNote when Tess has none. It returns false when ctx ended first.
func (b *bot) recoveredParts(ctx context.Context, key threadstore.ThreadKey, p threadstore.Pending, log *slog.Logger) ([]string, bool) {
	if p.ExecutionID == 0 {
		log.Info("reply interrupted before tess reported its execution; marking it interrupted")
		return []string{interruptedNote}, true
	}

	res, err := b.tess.Wait(ctx, p.ExecutionID, nil)
	if ctx.Err() != nil {
		return nil, false
	}
	var text string
	if res != nil {
		text = res.Text
	}
	parts := visibleParts(mrkdwn.NewStream(b.cfg.MessageLimit).Update(text, true))
	var execErr *tess.ExecutionError
	switch {
	case err == nil:
		log.Info("tess finished the interrupted execution", "chars", len(text))
		b.keepConversation(ctx, key, res.RootID, log)
		if len(parts) == 0 {
			return []string{noAnswerNote}, true
		}
		return parts, true
	case errors.As(err, &execErr):
		log.Warn("interrupted execution failed in tess", "chars", len(text), "err", err)
		return withNote(parts, failureNote(err), b.cfg.MessageLimit), true
	}
	log.Warn("tess has no output of the interrupted execution; marking it interrupted", "err", err)
	return withNote(parts, interruptedNote, b.cfg.MessageLimit), true
}

// keepConversation stores rootID as the thread's conversation when the store has none:
// the turn stores it at its first text, but that write may have failed before the crash.
func (b *bot) keepConversation(ctx context.Context, key threadstore.ThreadKey, rootID int64, log *slog.Logger) {
	if rootID == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, storeTimeout)
	defer cancel()
	_, err := b.store.Thread(ctx, key)
	if !errors.Is(err, threadstore.ErrNotFound) {
		return
	}
	thread := threadstore.Thread{RootID: rootID, AgentID: b.agentFor(key.Channel)}
	if err := b.store.PutThread(ctx, key, thread); err != nil {
		b.metrics.StoreError("put_thread")
		log.Error("store thread failed; retrying in the background", "root_id", rootID, "err", err)
		b.retries.putThread(key, thread, log)
		return
	}
	log.Info("thread conversation stored from the interrupted execution", "root_id", rootID)
}

// forgetPending deletes the record of p, retrying in the background when the store fails.
func (b *bot) forgetPending(p threadstore.Pending, log *slog.Logger) {
	ctx, cancel := context.WithTimeout(b.writeCtx, storeTimeout)
	defer cancel()
	if err := b.store.DeletePending(ctx, p.Channel, p.MessageTS); err != nil {
		b.metrics.StoreError("delete_pending")
		log.Error("delete pending reply failed; retrying in the background", "err", err)
		b.retries.deletePending(p.Channel, p.MessageTS, log)
	}
}
