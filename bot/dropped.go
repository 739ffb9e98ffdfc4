package bot

import "context"

// notStartedNote is the reply to a message whose turn had not started when the bot stopped.
const notStartedNote = "_⚠️ The bot restarted before it could answer this message. Ask again to get an answer._"

// dropAtShutdown ends a turn that had not started when the shutdown grace ran out. It
// posts notStartedNote in the thread, because the message was acked and marked seen, so
// no later start replies to it. The note has until writeCtx ends to show.
func (t *turn) dropAtShutdown() {
	t.log.Warn("turn dropped at shutdown")
	reply := t.b.sched.Start(t.key.Channel, t.key.ThreadTS, notStartedNote)
	reply.Finish([]string{notStartedNote})
	ctx, cancel := context.WithTimeout(t.b.writeCtx, finalWaitTimeout)
	defer cancel()
	if err := reply.Wait(ctx); err != nil {
		t.log.Error("post note for a turn dropped at shutdown failed", "err", err)
	}
}
