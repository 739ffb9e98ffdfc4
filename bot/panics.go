package bot

import (
	"runtime/debug"

	"github.com/tessbot/tessbot/metrics"
)

// panicNote is shown below the text so far of a reply whose turn panicked.
const panicNote = "_⚠️ The bot hit an internal error and stopped this answer. Ask again to get it._"

// catchTurnPanic keeps a panic in the turn of m from ending the process, and logs it with
// its stack. Once the turn's reply has started, finishOnPanic handles the panic first.
func (b *bot) catchTurnPanic(m message) {
	if v := recover(); v != nil {
		b.log.Error("turn panicked",
			"channel", m.Channel,
			"ts", m.TS,
			"panic", v,
			"stack", string(debug.Stack()))
	}
}

// finishOnPanic recovers a panic of the turn and ends its reply with the text so far and
// panicNote, so that no placeholder stays in Slack.
func (t *turn) finishOnPanic() {
	v := recover()
	if v == nil {
		return
	}
	t.log.Error("turn panicked", "panic", v, "stack", string(debug.Stack()))
	t.outcome = metrics.Failed
	parts := withNote(t.partsSoFar(), panicNote, t.b.cfg.MessageLimit)
	t.reply.Finish(t.keepCount(parts))
	t.awaitFinal()
}

// partsSoFar returns the final rendering of the text received so far, or nil when the
// rendering panics too.
func (t *turn) partsSoFar() (parts []string) {
	defer func() {
		if recover() != nil {
			parts = nil
		}
	}()
	return visibleParts(t.stream.Update(t.text, true))
}

// routeCatchingPanic routes m, and drops it with a logged error when routing panics, so
// that the events after it are still routed.
func (b *bot) routeCatchingPanic(m message) {
	defer func() {
		if v := recover(); v != nil {
			b.log.Error("routing event panicked; event dropped",
				"channel", m.Channel,
				"ts", m.TS,
				"event", m.Type,
				"panic", v,
				"stack", string(debug.Stack()))
		}
	}()
	b.route(m)
}
