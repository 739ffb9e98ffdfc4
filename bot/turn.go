package bot

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/tessbot/tessbot/metrics"
	"github.com/tessbot/tessbot/mrkdwn"
	"github.com/tessbot/tessbot/scheduler"
	"github.com/tessbot/tessbot/tess"
	"github.com/tessbot/tessbot/threadstore"
)

// lockTTL is how long a thread's lock outlives a process that died holding it. The store
// renews the lock while the turn runs.
const lockTTL = time.Minute

// finalWaitTimeout bounds the wait for the final text to be visible in Slack. Slack's
// Retry-After on chat.update can reach tens of seconds.
const finalWaitTimeout = 2 * time.Minute

// turn is one answer: a user message, its placeholder in Slack, and the Tess execution
// that fills it.
type turn struct {
	b     *bot
	msg   message
	key   threadstore.ThreadKey
	log   *slog.Logger
	reply *scheduler.Reply

	stream     *mrkdwn.Stream
	text       string // Markdown received so far
	partsShown int    // number of parts passed to the reply so far
	started    time.Time

	placeholderTS string
	partTS        []string // ts of the reply's messages in the pending record
	storedRoot    int64    // root_id the store had for the thread when the turn started
	rootID        int64
	executionID   int64
	savedRoot     bool
	restarted     bool // the stored conversation was rejected and a new one started

	fileIDs  []int64 // Tess files attached to the execution
	fileNote string  // what happened to the message's files, shown below the answer

	turnOps
}

// runTurn answers m in its thread. The thread's queue calls it, one turn per thread at a
// time.
func (b *bot) runTurn(m message) {
	defer b.catchTurnPanic(m)
	t := &turn{
		b:       b,
		msg:     m,
		key:     threadstore.ThreadKey{Channel: m.Channel, ThreadTS: m.threadTS()},
		stream:  mrkdwn.NewStream(b.cfg.MessageLimit),
		started: time.Now(),
	}
	t.log = b.log.With("channel", t.key.Channel, "thread_ts", t.key.ThreadTS, "ts", m.TS)
	if b.turnCtx.Err() != nil {
		t.dropAtShutdown()
		return
	}

	unlock := t.lock()
	defer unlock()
	if b.turnCtx.Err() != nil {
		t.dropAtShutdown()
		return
	}

	t.reply = t.startReply()
	defer t.endReply()
	defer t.finishOnPanic()
	prompt := stripMention(m.Text, b.botUserID)
	files := decodeFiles(m.Files)
	if prompt == "" && len(files) == 0 {
		t.finishWithNote(askNote)
		return
	}
	if !t.loadThread() {
		t.finishWithNote(storeReadNote)
		return
	}
	if !t.awaitPlaceholder() {
		return
	}
	prompt, ok := t.attachFiles(prompt, files)
	if !ok {
		return
	}

	res, err := t.execute(t.prepare(prompt))
	t.finish(res, err)
}

// execute runs the Tess execution of the turn. When Tess rejects the stored conversation
// (404 or 422) before any text arrived, it starts a new conversation once, so that an
// expired root_id does not break every later turn of the thread.
func (t *turn) execute(prompt string) (*tess.Result, error) {
	req := t.executeRequest(prompt)
	req.FileIDs = t.fileIDs
	res, err := t.b.tess.Execute(t.ctx, req, t.onProgress)

	var apiErr *tess.APIError
	if req.RootID == 0 || t.text != "" || !errors.As(err, &apiErr) ||
		(apiErr.StatusCode != http.StatusNotFound && apiErr.StatusCode != http.StatusUnprocessableEntity) {
		return res, err
	}
	t.log.Warn("tess rejected the stored conversation; starting a new one", "err", err)
	t.restarted = true
	req.RootID = 0
	return t.b.tess.Execute(t.ctx, req, t.onProgress)
}

// lock takes the thread's lock in the store, so that replicas sharing a Redis store also
// run one turn per thread. Without the store the in-process queue still orders turns.
func (t *turn) lock() (unlock func()) {
	unlock, err := t.b.store.Lock(t.b.turnCtx, threadLockName(t.key), lockTTL)
	if err != nil {
		if t.b.turnCtx.Err() == nil {
			t.b.metrics.StoreError("lock")
			t.log.Error("lock thread failed; continuing without the lock", "err", err)
		}
		return func() {}
	}
	return unlock
}

// loadThread reads the thread's conversation. It returns false when the store fails:
// starting a new conversation instead would lose the old one for good once stored.
func (t *turn) loadThread() bool {
	ctx, cancel := context.WithTimeout(t.b.turnCtx, storeTimeout)
	defer cancel()
	thread, err := t.readThread(ctx)
	switch {
	case errors.Is(err, threadstore.ErrNotFound):
		return true
	case err != nil:
		t.b.metrics.StoreError("thread")
		t.log.Error("read thread failed", "err", err)
		return false
	case thread.AgentID != "" && !t.b.isConfiguredAgent(thread.AgentID):
		t.log.Info("thread belongs to an agent that is no longer configured; starting a new conversation",
			"root_id", thread.RootID,
			"thread_agent_id", thread.AgentID)
		return true
	case thread.AgentID != "" && thread.AgentID != t.agentID:
		// The thread keeps the agent that started its conversation.
		t.agentID = thread.AgentID
		t.log = t.log.With("thread_agent_id", thread.AgentID)
	}
	t.storedRoot = thread.RootID
	t.log = t.log.With("root_id", thread.RootID)
	return true
}

// awaitPlaceholder waits until the placeholder is posted and records the reply as pending.
// It returns false when the placeholder could not be posted: without a message in Slack,
// there is nowhere to show the answer.
func (t *turn) awaitPlaceholder() bool {
	ctx, cancel := context.WithTimeout(t.b.writeCtx, finalWaitTimeout)
	defer cancel()
	ts, err := t.reply.PlaceholderTS(ctx)
	if err != nil {
		t.log.Error("post placeholder failed", "err", err)
		return false
	}
	t.placeholderTS = ts
	t.partTS = t.reply.Timestamps()
	t.putPending()
	return true
}

// recordParts rewrites the pending record when the reply posted a message since the last
// record, so that a recovery edits that message instead of posting its part again.
//
// NOTE: a message posted after the last Tess event, while the final text goes out, is not
// recorded, so a crash in that window can still make a recovery repeat that part.
func (t *turn) recordParts() {
	ts := t.reply.Timestamps()
	if slices.Equal(ts, t.partTS) {
		return
	}
	t.partTS = ts
	t.putPending()
}

func (t *turn) putPending() {
	ctx, cancel := context.WithTimeout(t.b.writeCtx, storeTimeout)
	defer cancel()
	err := t.b.store.PutPending(ctx, threadstore.Pending{
		Channel:     t.key.Channel,
		ThreadTS:    t.key.ThreadTS,
		MessageTS:   t.placeholderTS,
		ExecutionID: t.executionID,
		StartedAt:   t.started,
		PartTS:      t.partTS,
	})
	if err != nil {
		t.b.metrics.StoreError("put_pending")
		t.log.Error("store pending reply failed", "message_ts", t.placeholderTS, "err", err)
	}
}

// onProgress shows the text so far. Tess calls it from the turn's goroutine.
func (t *turn) onProgress(p tess.Progress) {
	t.observeProgress(p)
	if p.RootID != 0 && !t.savedRoot {
		t.saveThread(p.RootID)
	}
	if p.ExecutionID != 0 && t.executionID == 0 {
		t.executionID = p.ExecutionID
		t.putPending()
	}
	t.recordParts()
	if p.Text == t.text {
		return
	}
	t.setText(p.Text)
	if parts := visibleParts(t.stream.Update(t.text, false)); len(parts) > 0 {
		t.reply.Set(t.keepCount(parts))
	}
}

// keepCount pads parts to the number already shown, because a reply's number of parts
// must not shrink. Only a text that replaced, rather than extended, the text so far can
// have fewer parts.
func (t *turn) keepCount(parts []string) []string {
	for len(parts) < t.partsShown {
		parts = append(parts, replacedPartText)
	}
	t.partsShown = len(parts)
	return parts
}

// setText records the Markdown so far. A text that does not extend the previous one
// (Tess sent the authoritative text after a broken stream) restarts the rendering.
func (t *turn) setText(text string) {
	if !strings.HasPrefix(text, t.text) {
		t.stream = mrkdwn.NewStream(t.b.cfg.MessageLimit)
	}
	t.text = text
}

// saveThread stores the thread's conversation, which also marks it as used now. A failure
// is logged and the reply goes on, while the write is retried in the background.
func (t *turn) saveThread(rootID int64) {
	t.savedRoot = true
	t.rootID = rootID
	if rootID != t.storedRoot {
		t.log = t.log.With("root_id", rootID)
	}
	ctx, cancel := context.WithTimeout(t.b.writeCtx, storeTimeout)
	defer cancel()
	thread := threadstore.Thread{RootID: rootID, AgentID: t.agentID}
	if err := t.b.store.PutThread(ctx, t.key, thread); err != nil {
		t.b.metrics.StoreError("put_thread")
		t.log.Error("store thread failed; retrying in the background", "err", err)
		t.b.retries.putThread(t.key, thread, t.log)
		return
	}
	t.b.retries.wroteThread(t.key)
}

// finish shows the final text, or the partial text with a note when err is not nil, and
// waits until Slack shows it.
func (t *turn) finish(res *tess.Result, err error) {
	if res != nil && res.RootID != 0 && !t.savedRoot {
		t.saveThread(res.RootID)
	}
	if res != nil && res.ExecutionID != 0 {
		t.executionID = res.ExecutionID
	}
	if res != nil {
		t.credits = res.Credits
	}

	var parts []string
	if err != nil {
		parts = withNote(visibleParts(t.stream.Update(t.text, true)), t.errorNote(err), t.b.cfg.MessageLimit)
	} else {
		t.outcome = metrics.Completed
		if res.Text != "" {
			t.setText(res.Text)
		}
		parts = visibleParts(t.stream.Update(t.text, true))
		if len(parts) == 0 {
			parts = []string{noAnswerNote}
		}
		if t.restarted {
			parts = withNote(parts, restartedNote, t.b.cfg.MessageLimit)
		}
	}
	if t.fileNote != "" {
		parts = withNote(parts, t.fileNote, t.b.cfg.MessageLimit)
	}
	t.recordParts()
	t.reply.Finish(t.keepCount(parts))
	t.awaitFinal()
}

func (t *turn) logTessError(err error) {
	t.log.Error("tess execute failed",
		"execution_id", t.executionID,
		"chars", len(t.text),
		"err", err)
}

// finishWithNote ends a turn that never reached Tess with a note in place of the answer.
func (t *turn) finishWithNote(note string) {
	t.outcome = noteOutcome(note)
	t.reply.Finish([]string{note})
	t.awaitFinal()
}

// awaitFinal waits until the final text is visible, then deletes the pending record. When
// the wait fails the record stays for a later start to find.
func (t *turn) awaitFinal() {
	ctx, cancel := context.WithTimeout(t.b.writeCtx, finalWaitTimeout)
	defer cancel()
	if err := t.reply.Wait(ctx); err != nil {
		t.outcome = metrics.Failed
		t.log.Error("final text not confirmed by slack", "message_ts", t.placeholderTS, "err", err)
		return
	}
	if t.placeholderTS != "" {
		if err := t.b.store.DeletePending(ctx, t.key.Channel, t.placeholderTS); err != nil {
			t.b.metrics.StoreError("delete_pending")
			t.log.Error("delete pending reply failed; retrying in the background",
				"message_ts", t.placeholderTS,
				"err", err)
			t.b.retries.deletePending(t.key.Channel, t.placeholderTS, t.log)
		}
	}
}

// visibleParts drops trailing empty parts, which Slack would reject as no_text. It returns
// nil when nothing is left to show.
func visibleParts(parts []string) []string {
	for len(parts) > 0 && strings.TrimSpace(parts[len(parts)-1]) == "" {
		parts = parts[:len(parts)-1]
	}
	return parts
}

// withNote appends note below the last part, or as a new part when the last one has no
// room left for it.
func withNote(parts []string, note string, limit int) []string {
	if len(parts) == 0 {
		return []string{note}
	}
	last := parts[len(parts)-1]
	joined := last + "\n\n" + note
	if mrkdwn.Length(joined) > limit {
		return append(parts, note)
	}
	return append(parts[:len(parts)-1:len(parts)-1], joined)
}
