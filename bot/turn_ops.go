package bot

import (
	"context"
	"errors"
	"time"

	"github.com/tessbot/tessbot/metrics"
	"github.com/tessbot/tessbot/scheduler"
	"github.com/tessbot/tessbot/tess"
)

// stoppedNote is shown below the partial text of a reply that its requester stopped.
const stoppedNote = "_⏹️ Stopped before the answer was complete._"

// turnOps is the part of a turn that serves operations: its agent, the context that Stop
// cancels, the assistant thread status, and what the "reply finished" log line and the
// metrics report.
type turnOps struct {
	agentID string
	// ctx carries the turn's Tess calls. It ends at shutdown, like turnCtx, or with the
	// cause errStoppedByUser when the requester presses Stop.
	ctx        context.Context
	cancel     context.CancelCauseFunc
	removeStop func()
	status     *threadStatus

	outcome     metrics.Outcome
	tessStarted time.Time
	firstDelta  time.Duration // zero until the first text arrived
	credits     float64
}

// startReply starts the turn's reply in Slack, with a Stop button when STOP_BUTTON is on,
// and counts it. Every call is matched by one endReply.
func (t *turn) startReply() *scheduler.Reply {
	t.agentID = t.b.agentFor(t.key.Channel)
	t.log = t.log.With("agent_id", t.agentID)
	t.ctx, t.cancel = context.WithCancelCause(t.b.turnCtx)
	t.outcome = metrics.Failed // until the turn shows its final text
	t.b.metrics.ReplyStarted()
	if t.b.api != nil {
		t.status = newThreadStatus(t.b.api, t.key.Channel, t.key.ThreadTS, t.log)
	}

	if !t.b.cfg.StopButton {
		return t.b.sched.Start(t.key.Channel, t.key.ThreadTS, placeholderText)
	}
	id := stopID(t.msg.Channel, t.msg.TS)
	t.removeStop = t.b.stops.add(id, t.msg.User, t.cancel)
	return t.b.sched.StartWithOptions(t.key.Channel, t.key.ThreadTS, placeholderText,
		scheduler.ReplyOptions{Actions: stopActions(id)})
}

// endReply releases what startReply took, counts the outcome and writes the one log
// line of the finished reply.
func (t *turn) endReply() {
	if t.removeStop != nil {
		t.removeStop()
	}
	t.status.clear(t.b.writeCtx)
	t.status.wait()
	t.cancel(nil)

	total := time.Since(t.started)
	t.b.metrics.ReplyFinished(t.outcome, total)
	t.b.metrics.AddCredits(t.credits)
	edits := 0
	if t.reply != nil {
		edits = t.reply.Edits()
	}
	t.b.log.Info("reply finished",
		"channel", t.key.Channel,
		"thread_ts", t.key.ThreadTS,
		"ts", t.msg.TS,
		"agent_id", t.agentID,
		"root_id", max(t.rootID, t.storedRoot),
		"execution_id", t.executionID,
		"outcome", outcomeName(t.outcome),
		"first_delta", t.firstDelta.Round(time.Millisecond),
		"duration", total.Round(time.Millisecond),
		"edits", edits,
		"chars", len(t.text),
		"credits", t.credits)
}

// prepare shows the assistant thread status and returns prompt with the thread's earlier
// messages when the bot is first mentioned inside an existing thread. It then starts the
// clock of the time to first delta.
func (t *turn) prepare(prompt string) string {
	t.status.show(t.b.writeCtx)
	prompt = t.withThreadContext(prompt)
	t.tessStarted = time.Now()
	return prompt
}

// withThreadContext reads the thread once, for a mention inside a thread that has no
// stored conversation, and returns prompt preceded by its earlier messages.
func (t *turn) withThreadContext(prompt string) string {
	limit := t.b.cfg.ThreadContextMessages
	inThread := t.msg.ThreadTS != "" && t.msg.ThreadTS != t.msg.TS
	if t.b.api == nil || limit <= 0 || !inThread || t.storedRoot != 0 {
		return prompt
	}
	tc, result := readThreadContext(t.ctx, t.b.api, t.key.Channel, t.key.ThreadTS, t.msg.TS, limit, t.log)
	t.b.metrics.ThreadContextRead(result)
	if result == contextOK {
		t.log.Debug("thread context read", "messages", len(tc.messages), "has_more", tc.hasMore)
	}
	return tc.prompt(prompt, t.b.botUserID)
}

// executeRequest returns the Tess request for prompt, with the agent's defaults.
func (t *turn) executeRequest(prompt string) tess.ExecuteRequest {
	d := t.b.defaults[t.agentID]
	return tess.ExecuteRequest{
		AgentID:     t.agentID,
		Message:     prompt,
		RootID:      t.storedRoot,
		Model:       d.Model,
		Tools:       d.Tools,
		Temperature: d.Temperature,
	}
}

// observeProgress records the time to the first text and clears the thread status.
func (t *turn) observeProgress(p tess.Progress) {
	if p.Text == "" || t.firstDelta != 0 {
		return
	}
	t.firstDelta = max(time.Since(t.tessStarted), time.Nanosecond)
	t.b.metrics.ObserveFirstDelta(t.firstDelta)
	t.status.clear(t.b.writeCtx)
}

// errorNote returns the note shown below the partial text of a turn whose execution
// ended with err, logs the error and sets the outcome. A turn stopped with the Stop
// button keeps its partial text under stoppedNote.
func (t *turn) errorNote(err error) string {
	if t.ctx != nil && errors.Is(context.Cause(t.ctx), errStoppedByUser) {
		t.outcome = metrics.Stopped
		t.log.Info("reply stopped by its requester", "execution_id", t.executionID, "chars", len(t.text))
		return stoppedNote
	}
	t.outcome = metrics.Failed
	t.logTessError(err)
	return failureNote(err)
}

// noteOutcome returns the outcome of a turn that ended with note instead of an answer:
// the store note is a failure, and the other notes are the intended reply.
func noteOutcome(note string) metrics.Outcome {
	if note == storeReadNote {
		return metrics.Failed
	}
	return metrics.Completed
}

func outcomeName(o metrics.Outcome) string {
	switch o {
	case metrics.Completed:
		return "completed"
	case metrics.Stopped:
		return "stopped"
	}
	return "failed"
}
