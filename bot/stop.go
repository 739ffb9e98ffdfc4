package bot

import (
	"context"
	"errors"
	"sync"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/socketmode"
)

// stopActionID is the action_id of the Stop button on a streaming reply. Its value is the
// id of the reply, from stopID.
const stopActionID = "tessbot_stop"

// errStoppedByUser is the cause of a reply's context when its requester pressed Stop.
var errStoppedByUser = errors.New("reply stopped by the requester")

// stopID returns the Stop button value of the reply to the message at ts in channel. One
// message gets at most one reply, so the pair identifies it.
func stopID(channel, ts string) string {
	return channel + ":" + ts
}

// stopActions returns the actions block with the Stop button of reply id.
func stopActions(id string) *slack.ActionBlock {
	button := slack.NewButtonBlockElement(stopActionID, id,
		slack.NewTextBlockObject(slack.PlainTextType, "Stop", false, false))
	return slack.NewActionBlock(stopActionID, button)
}

// stopResult is the outcome of a press of Stop.
type stopResult int

const (
	stopDone     stopResult = iota // the reply was running and is now stopping
	stopNotOwner                   // someone other than the requester pressed Stop
	stopNotFound                   // no reply with that id runs in this process
)

// stopRegistry contains the replies that can be stopped, by stopID.
type stopRegistry struct {
	mu      sync.Mutex
	replies map[string]stoppable
}

type stoppable struct {
	requester string
	cancel    context.CancelCauseFunc
}

// add registers reply id, asked by requester, and returns the function that removes it.
func (s *stopRegistry) add(id, requester string, cancel context.CancelCauseFunc) (remove func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.replies == nil {
		s.replies = make(map[string]stoppable)
	}
	s.replies[id] = stoppable{requester: requester, cancel: cancel}
	return func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		delete(s.replies, id)
	}
}

// stop cancels reply id with errStoppedByUser when user is its requester.
func (s *stopRegistry) stop(id, user string) stopResult {
	s.mu.Lock()
	reply, ok := s.replies[id]
	s.mu.Unlock()
	switch {
	case !ok:
		return stopNotFound
	case reply.requester != user:
		return stopNotOwner
	}
	reply.cancel(errStoppedByUser)
	return stopDone
}

// Notes for a press of Stop, shown only to the person who pressed it.
const (
	stopNotOwnerNote = "_Only the person who asked can stop this reply._"
	stopNotFoundNote = "_This reply is no longer running, so it cannot be stopped._"
)

// handleInteractive handles an interactive envelope. Only presses of Stop are used.
func (b *bot) handleInteractive(evt socketmode.Event) {
	callback, ok := evt.Data.(slack.InteractionCallback)
	if !ok || callback.Type != slack.InteractionTypeBlockActions {
		b.log.Debug("interactive envelope ignored", "type", callback.Type)
		return
	}
	for _, action := range callback.ActionCallback.BlockActions {
		if action.ActionID == stopActionID {
			b.pressStop(callback, action.Value)
		}
	}
}

// pressStop stops reply id when the person who pressed Stop requested it, and otherwise
// posts them an ephemeral note with the reason nothing happened.
//
// NOTE: with several replicas, Slack delivers the press to one of them, which may not be
// the one running the reply; that replica then posts stopNotFoundNote.
func (b *bot) pressStop(callback slack.InteractionCallback, id string) {
	channel := callback.Container.ChannelID
	if channel == "" {
		channel = callback.Channel.ID
	}
	user, threadTS := callback.User.ID, callback.Container.ThreadTs
	log := b.log.With("channel", channel, "thread_ts", threadTS, "user", user, "reply_id", id)

	switch b.stops.stop(id, user) {
	case stopDone:
		log.Info("reply stopped by its requester")
	case stopNotOwner:
		log.Info("stop pressed by someone other than the requester")
		b.postNote(channel, user, threadTS, stopNotOwnerNote, log)
	case stopNotFound:
		log.Info("stop pressed for a reply that is not running")
		b.postNote(channel, user, threadTS, stopNotFoundNote, log)
	}
}
