package scheduler

import (
	"errors"
	"sync/atomic"

	"github.com/slack-go/slack"
)

// Block Kit limits that Slack documents for one message: 3,000 characters of text in a
// section block and 50 blocks. Section text is measured in UTF-16 code units, which are
// never fewer than the characters.
const (
	maxSectionChars = 3000
	maxBlocks       = 50
)

// ReplyOptions are optional settings of a reply, for StartWithOptions.
type ReplyOptions struct {
	// Actions, when not nil, is shown below the text of the reply's first message until
	// the reply's final text, for example a Stop button. While it shows, that message is
	// sent as section blocks of its text followed by Actions, because Slack does not show
	// the text field of a message with blocks. The text field still carries the text, as
	// the notification fallback. A code block cut between two sections is closed and
	// reopened. After Finish, the message gets a final edit without blocks, also when the
	// final text leaves its text unchanged. When Slack rejects the blocks, the reply goes
	// on without Actions.
	Actions slack.Block
}

// actionState is the Actions of a reply, whether Slack accepted them, and the count of
// accepted edits.
type actionState struct {
	block slack.Block // nil without Actions
	off   bool        // Slack rejected the blocks; owned by Run
	edits atomic.Int64
}

// StartWithOptions is Start with the settings of opts.
func (s *Scheduler) StartWithOptions(channel, threadTS, placeholder string, opts ReplyOptions) *Reply {
	return s.start(channel, threadTS, placeholder, opts)
}

// Edits returns the number of chat.update calls of the reply that Slack accepted so far.
// After Wait has returned it is the final count.
func (r *Reply) Edits() int {
	return int(r.actions.edits.Load())
}

// blocksOf sets the blocks of write w of message m: the text with Actions while the reply
// streams, or an empty list that clears them from a message that shows them.
func (r *Reply) blocksOf(w *write, m *message) {
	if r.actions.block == nil || r.parts[0].msgs[0] != m {
		return
	}
	if !r.final && !r.actions.off {
		w.blocks = textBlocks(w.text, r.actions.block)
	}
	if w.blocks == nil {
		w.clearBlocks = w.method == methodUpdate && m.hasBlocks
	}
}

// textBlocks returns text as section blocks of at most maxSectionChars (see
// splitSections), followed by actions, or nil when that needs more than maxBlocks blocks.
func textBlocks(text string, actions slack.Block) []slack.Block {
	pieces := splitSections(text, maxSectionChars)
	if len(pieces)+1 > maxBlocks {
		return nil
	}
	blocks := make([]slack.Block, 0, len(pieces)+1)
	for _, piece := range pieces {
		blocks = append(blocks, slack.NewSectionBlock(
			slack.NewTextBlockObject(slack.MarkdownType, piece, false, false), nil, nil))
	}
	return append(blocks, actions)
}

// blockOptions returns the slack-go options that send the blocks of w, if any.
func (w write) blockOptions() []slack.MsgOption {
	switch {
	case w.blocks != nil:
		return []slack.MsgOption{slack.MsgOptionBlocks(w.blocks...)}
	case w.clearBlocks:
		return []slack.MsgOption{slack.MsgOptionBlocks()}
	}
	return nil
}

// isBlocksError reports whether Slack rejected the blocks of a write rather than its text.
func isBlocksError(err error) bool {
	resp, ok := errors.AsType[slack.SlackErrorResponse](err)
	if !ok {
		return false
	}
	switch resp.Err {
	case "invalid_blocks", "invalid_blocks_format", "msg_blocks_too_long", "too_many_blocks":
		return true
	}
	return false
}

// handleBlocksError turns the Actions of the reply of w off after Slack rejected its
// blocks, and reports whether it did. The text of w stays pending and goes out again,
// without blocks or clearing them.
func (s *Scheduler) handleBlocksError(w write) bool {
	if w.blocks == nil || !isBlocksError(w.err) {
		return false
	}
	s.log.Warn("slack rejected the reply's blocks; going on without its actions",
		"channel", w.r.channel,
		"thread_ts", w.r.threadTS,
		"method", w.method.String(),
		"err", w.err)
	w.r.actions.off = true
	return true
}
