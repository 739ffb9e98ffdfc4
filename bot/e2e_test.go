package bot_test

import (
	"strings"
	"testing"

	"github.com/tessbot/tessbot/internal/fakeslack"
	"github.com/tessbot/tessbot/internal/faketess"
)

func TestMentionStreamsReply(t *testing.T) {
	h := newHarness(t)
	h.start()
	hold := make(chan struct{})
	h.tess.Queue(faketess.Script{Deltas: []string{"Hello ", "**world**", ", and more."}, Hold: hold, HoldAfter: 2})

	ts := h.mention("say hello", "")
	h.waitReplyText(channelID, ts, 0, partial("Hello **world**"))
	close(hold)
	want := rendered("Hello **world**, and more.")
	reply := h.waitReplyText(channelID, ts, 0, want[0])

	if len(want) != 1 {
		t.Fatalf("rendered answer has %d parts, want 1", len(want))
	}
	if got := reply.Versions[0].Text; got != placeholder {
		t.Errorf("first version = %q, want the placeholder %q", got, placeholder)
	}
	if reply.Edits() < 2 {
		t.Errorf("reply was edited %d times, want the partial text and the final text", reply.Edits())
	}
	if reply.ThreadTS != ts {
		t.Errorf("reply thread_ts = %q, want the mention's ts %q", reply.ThreadTS, ts)
	}
	if n := len(h.botReplies(channelID, ts)); n != 1 {
		t.Errorf("bot posted %d messages in the thread, want 1", n)
	}
	execs := h.tess.Executes()
	if len(execs) != 1 {
		t.Fatalf("executions = %d, want 1", len(execs))
	}
	if got := lastUserMessage(execs[0]); got != "say hello" {
		t.Errorf("message sent to Tess = %q, want the text without the mention", got)
	}
	if execs[0].RootID != 0 {
		t.Errorf("first turn sent root_id %d, want none", execs[0].RootID)
	}
	if !execs[0].Stream {
		t.Error("execute request without stream:true")
	}
}

func TestMentionRendersMarkdown(t *testing.T) {
	h := newHarness(t)
	h.start()
	h.tess.Queue(faketess.Script{Deltas: []string{"Use **bold** and ", "[docs](https://example.com)."}})

	ts := h.mention("format", "")
	reply := h.waitReplyText(channelID, ts, 0, rendered("Use **bold** and [docs](https://example.com).")[0])

	text := reply.VisibleText()
	if !strings.Contains(text, "*bold*") || strings.Contains(text, "**bold**") {
		t.Errorf("reply %q does not show Slack bold", text)
	}
	if !strings.Contains(text, "<https://example.com|docs>") {
		t.Errorf("reply %q does not show a Slack link", text)
	}
}

func TestFollowUpMentionCarriesRootID(t *testing.T) {
	h := newHarness(t)
	h.start()

	root := h.mention("first question", "")
	h.waitReplyText(channelID, root, 0, rendered("first question")[0])
	h.mention("second question", root)
	h.waitReplyText(channelID, root, 1, rendered("second question")[0])

	execs := h.tess.Executes()
	if len(execs) != 2 {
		t.Fatalf("executions = %d, want 2", len(execs))
	}
	if execs[1].RootID != execs[0].ExecutionID {
		t.Errorf("follow-up root_id = %d, want the first execution %d", execs[1].RootID, execs[0].ExecutionID)
	}
	if n := len(execs[1].Messages); n != 1 {
		t.Errorf("follow-up sent %d messages, want only the new one", n)
	}
	if got := lastUserMessage(execs[1]); got != "second question" {
		t.Errorf("follow-up message = %q, want %q", got, "second question")
	}
}

func TestThreadReplyWithoutMention(t *testing.T) {
	h := newHarness(t)
	h.start()

	root := h.mention("first question", "")
	h.waitReplyText(channelID, root, 0, rendered("first question")[0])
	h.send(h.slack.ChannelMessage(channelID, humanID, "no mention here", "", root))
	h.waitReplyText(channelID, root, 1, rendered("no mention here")[0])

	execs := h.tess.Executes()
	if len(execs) != 2 {
		t.Fatalf("executions = %d, want 2", len(execs))
	}
	if execs[1].RootID != execs[0].ExecutionID {
		t.Errorf("thread reply root_id = %d, want %d", execs[1].RootID, execs[0].ExecutionID)
	}
}

func TestThreadReplyInOtherThreadIgnored(t *testing.T) {
	h := newHarness(t)
	h.start()

	root := h.slack.NewTS()
	h.send(h.slack.ChannelMessage(channelID, humanID, "people talking", root, ""))
	h.send(h.slack.ChannelMessage(channelID, humanID, "still talking", "", root))
	// A later mention in the same thread runs after anything queued before it.
	h.mention("now you", root)
	h.waitReplyText(channelID, root, 0, rendered("now you")[0])

	execs := h.tess.Executes()
	if len(execs) != 1 {
		t.Fatalf("executions = %d, want only the mention's", len(execs))
	}
	if got := lastUserMessage(execs[0]); got != "now you" {
		t.Errorf("message sent to Tess = %q, want the mention's text", got)
	}
}

func TestDirectMessageAnswered(t *testing.T) {
	h := newHarness(t)
	h.start()

	ts := h.slack.NewTS()
	h.send(h.slack.DM(dmChannelID, humanID, "hi in private", ts, ""))
	reply := h.waitReplyText(dmChannelID, ts, 0, rendered("hi in private")[0])

	if reply.ThreadTS != ts {
		t.Errorf("reply thread_ts = %q, want %q", reply.ThreadTS, ts)
	}
	if n := len(h.tess.Executes()); n != 1 {
		t.Errorf("executions = %d, want 1", n)
	}
}

func TestDirectMessageWithFileAnswered(t *testing.T) {
	h := newHarness(t)
	h.start()

	ts := h.slack.NewTS()
	// The file has no URLs and files.info does not know it, so it is reported, not attached.
	file := []byte(`{"id":"F0FILE","name":"chart.png","mimetype":"image/png","size":12}`)
	h.send(h.slack.DM(dmChannelID, humanID, "what does this show?", ts, "", file))
	h.waitReplyText(dmChannelID, ts, 0, rendered("what does this show?")[0]+
		"\n\n_Could not attach chart.png: Slack did not return its details._")

	if n := len(h.tess.Executes()); n != 1 {
		t.Errorf("executions = %d, want 1 for a file_share message", n)
	}
}

func TestDuplicateDeliveriesAnsweredOnce(t *testing.T) {
	tests := []struct {
		name string
		// deliver sends the events of one user message with text in thread root.
		deliver func(h *harness, text, root string)
	}{
		{"message then mention", func(h *harness, text, root string) {
			ts := h.slack.NewTS()
			full := "<@" + h.slack.BotUserID() + "> " + text
			h.send(h.slack.ChannelMessage(channelID, humanID, full, ts, root))
			h.send(h.slack.Mention(channelID, humanID, full, ts, root))
		}},
		{"mention then message", func(h *harness, text, root string) {
			ts := h.slack.NewTS()
			full := "<@" + h.slack.BotUserID() + "> " + text
			h.send(h.slack.Mention(channelID, humanID, full, ts, root))
			h.send(h.slack.ChannelMessage(channelID, humanID, full, ts, root))
		}},
		{"mention redelivered", func(h *harness, text, root string) {
			env := h.slack.Mention(channelID, humanID, "<@"+h.slack.BotUserID()+"> "+text, "", root)
			h.send(env)
			h.send(h.slack.Redelivery(env, 1))
		}},
		{"thread reply redelivered", func(h *harness, text, root string) {
			env := h.slack.ChannelMessage(channelID, humanID, text, "", root)
			h.send(env)
			h.send(h.slack.Redelivery(env, 1))
			h.send(h.slack.Redelivery(env, 2))
		}},
		{"first delivery is a retry", func(h *harness, text, root string) {
			env := h.slack.Mention(channelID, humanID, "<@"+h.slack.BotUserID()+"> "+text, "", root)
			h.send(h.slack.Redelivery(env, 2))
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			h.start()
			root := h.mention("start", "")
			h.waitReplyText(channelID, root, 0, rendered("start")[0])

			tt.deliver(h, "once please", root)
			// Turns of one thread run in arrival order, so a duplicate would run before
			// this last mention.
			h.mention("barrier", root)
			h.waitReplyText(channelID, root, 2, rendered("barrier")[0])

			execs := h.tess.Executes()
			var got []string
			for _, e := range execs {
				got = append(got, lastUserMessage(e))
			}
			if want := "start|once please|barrier"; strings.Join(got, "|") != want {
				t.Errorf("messages sent to Tess = %q, want %q", got, want)
			}
			if n := len(h.botReplies(channelID, root)); n != 3 {
				t.Errorf("bot posted %d messages, want 3", n)
			}
		})
	}
}

func TestDirectMessageRedeliveredAnsweredOnce(t *testing.T) {
	h := newHarness(t)
	h.start()

	env := h.slack.DM(dmChannelID, humanID, "only once", "", "")
	h.send(env)
	h.send(h.slack.Redelivery(env, 1))
	ts := h.slack.Messages(dmChannelID)[0].TS
	h.waitReplyText(dmChannelID, ts, 0, rendered("only once")[0])
	// A later message in the same thread is queued behind any duplicate.
	h.send(h.slack.DM(dmChannelID, humanID, "barrier", "", ts))
	h.waitReplyText(dmChannelID, ts, 1, rendered("barrier")[0])

	if n := len(h.tess.Executes()); n != 2 {
		t.Errorf("executions = %d, want 2", n)
	}
}

func TestOwnEchoesStartNothing(t *testing.T) {
	h := newHarness(t, fakeslack.WithEcho())
	h.start()

	root := h.mention("echo test", "")
	first := h.waitReplyText(channelID, root, 0, rendered("echo test")[0])
	own := fakeslack.Msg{User: h.slack.BotUserID(), BotID: h.slack.BotID(), TS: first.TS, ThreadTS: root}
	changed, previous := own, own
	changed.Text, previous.Text = "edited by the bot", first.VisibleText()
	h.send(h.slack.MessageChanged(channelID, changed, previous))
	deleted := own
	deleted.TS, deleted.Text = h.slack.NewTS(), "an older bot message"
	h.send(h.slack.MessageDeleted(channelID, deleted.TS, deleted))
	h.send(h.slack.BotMessage(channelID, "B0OTHER", "other-bot", "a bot talking", "", root))
	h.mention("barrier", root)
	h.waitReplyText(channelID, root, 1, rendered("barrier")[0])

	if n := len(h.tess.Executes()); n != 2 {
		t.Errorf("executions = %d, want 2: echoes or other bots started turns", n)
	}
}

func TestTurnsInThreadRunInOrder(t *testing.T) {
	h := newHarness(t)
	h.start()
	hold := make(chan struct{})
	h.tess.Queue(faketess.Script{Deltas: []string{"Answer A ", "continues."}, Hold: hold, HoldAfter: 1})

	root := h.mention("question A", "")
	h.waitReplyText(channelID, root, 0, partial("Answer A "))
	h.send(h.slack.ChannelMessage(channelID, humanID, "also B?", "", root))
	if n := len(h.tess.Executes()); n != 1 {
		t.Fatalf("executions while A streams = %d, want 1", n)
	}
	close(hold)
	a := h.waitReplyText(channelID, root, 0, rendered("Answer A continues.")[0])
	b := h.waitReplyText(channelID, root, 1, rendered("also B?")[0])

	execs := h.tess.Executes()
	if execs[1].RootID != execs[0].ExecutionID {
		t.Errorf("B root_id = %d, want A's conversation %d", execs[1].RootID, execs[0].ExecutionID)
	}
	aDone := a.Versions[len(a.Versions)-1].At
	if bStart := b.Versions[0].At; bStart.Before(aDone) {
		t.Errorf("B's placeholder was posted at %v, before A's final text at %v", bStart, aDone)
	}
}

func TestRestartKeepsRootID(t *testing.T) {
	h := newHarness(t)
	h.start()
	env := h.slack.Mention(channelID, humanID, "<@"+h.slack.BotUserID()+"> remember me", "", "")
	h.send(env)
	root := h.slack.Messages(channelID)[0].TS
	h.waitReplyText(channelID, root, 0, rendered("remember me")[0])
	if err := h.stop(); err != nil {
		t.Fatalf("first run: %v", err)
	}

	h.start()
	// Slack may replay an event after a reconnect; it was answered before the restart.
	h.send(h.slack.Redelivery(env, 1))
	h.mention("after restart", root)
	h.waitReplyText(channelID, root, 1, rendered("after restart")[0])

	execs := h.tess.Executes()
	if len(execs) != 2 {
		t.Fatalf("executions = %d, want 2", len(execs))
	}
	if execs[1].RootID != execs[0].ExecutionID {
		t.Errorf("root_id after restart = %d, want %d", execs[1].RootID, execs[0].ExecutionID)
	}
}
