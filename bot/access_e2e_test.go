package bot_test

import (
	"strings"
	"testing"
)

const strangerID = "U0STRANGER"

func TestAccessRejectedUserGetsNote(t *testing.T) {
	h := newHarness(t)
	h.env["ALLOWED_USERS"] = "U0OTHER"
	m, _ := h.startWithMetrics()

	root := h.mention("let me in", "")
	note := h.waitEphemeral(channelID, humanID)
	if !strings.Contains(note.Text, "not on the list of people I answer") {
		t.Errorf("note = %q", note.Text)
	}
	if note.ThreadTS != "" {
		t.Errorf("note of a top-level mention posted in thread %q", note.ThreadTS)
	}
	waitMetric(t, m, "tessbot_access_rejected_total", nil, 1)
	if n := len(h.tess.Executes()); n != 0 {
		t.Errorf("executions = %d, want none for a rejected user", n)
	}
	if replies := h.botReplies(channelID, root); len(replies) != 0 {
		t.Errorf("bot replied %d times to a rejected user", len(replies))
	}
}

func TestAccessRejectedChannelGetsNote(t *testing.T) {
	h := newHarness(t)
	h.env["ALLOWED_CHANNELS"] = "C0OTHER"
	h.start()

	h.mention("here?", "")
	note := h.waitEphemeral(channelID, humanID)
	if !strings.Contains(note.Text, "not enabled in this conversation") {
		t.Errorf("note = %q", note.Text)
	}
	if n := len(h.tess.Executes()); n != 0 {
		t.Errorf("executions = %d, want none in a rejected channel", n)
	}
}

func TestAccessRejectedDirectMessage(t *testing.T) {
	h := newHarness(t)
	h.env["ALLOWED_CHANNELS"] = channelID
	h.start()

	h.send(h.slack.DM(dmChannelID, humanID, "hello", "", ""))
	note := h.waitEphemeral(dmChannelID, humanID)
	if !strings.Contains(note.Text, "not enabled in this conversation") {
		t.Errorf("note = %q", note.Text)
	}
	if n := len(h.tess.Executes()); n != 0 {
		t.Errorf("executions = %d, want none in an unlisted DM", n)
	}
}

func TestAccessAllowedAnswered(t *testing.T) {
	h := newHarness(t)
	h.env["ALLOWED_CHANNELS"] = "C0OTHER, " + channelID
	h.env["ALLOWED_USERS"] = humanID
	h.start()

	root := h.mention("allowed", "")
	h.waitReplyText(channelID, root, 0, rendered("allowed")[0])
	if n := len(h.slack.Ephemerals(channelID)); n != 0 {
		t.Errorf("ephemeral notes = %d, want none", n)
	}
}

func TestAccessThreadReplyRejectedQuietly(t *testing.T) {
	h := newHarness(t)
	h.env["ALLOWED_USERS"] = humanID
	m, _ := h.startWithMetrics()

	root := h.mention("start", "")
	h.waitReplyText(channelID, root, 0, rendered("start")[0])

	// A reply without a mention in the engaged thread: ignored without a note.
	h.send(h.slack.ChannelMessage(channelID, strangerID, "chatting", "", root))
	waitMetric(t, m, "tessbot_access_rejected_total", nil, 1)
	if n := len(h.slack.Ephemerals(channelID)); n != 0 {
		t.Errorf("ephemeral notes after a thread reply = %d, want none", n)
	}

	// A mention in the same thread: a note in the thread.
	h.send(h.slack.Mention(channelID, strangerID, "<@"+h.slack.BotUserID()+"> me too", "", root))
	note := h.waitEphemeral(channelID, strangerID)
	if note.ThreadTS != root {
		t.Errorf("note thread_ts = %q, want %q", note.ThreadTS, root)
	}
	if n := len(h.tess.Executes()); n != 1 {
		t.Errorf("executions = %d, want only the allowed user's", n)
	}
}
