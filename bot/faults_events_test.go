package bot_test

import (
	"strings"
	"testing"
	"time"

	"github.com/tessbot/tessbot/internal/fakeslack"
)

// triggerGap is the time between the two events of one message in the tests of duplicate
// triggers, as Slack sends them.
const triggerGap = 20 * time.Millisecond

// sendBoth sends first, then second triggerGap later without waiting for the first ack,
// and then waits for both acks.
func (h *harness) sendBoth(first, second fakeslack.Envelope) {
	h.t.Helper()
	firstID := h.slack.Send(first)
	time.Sleep(triggerGap)
	secondID := h.slack.Send(second)
	h.slack.WaitAck(h.t, firstID, waitTimeout)
	h.slack.WaitAck(h.t, secondID, waitTimeout)
}

// sentMessages returns the last user message of every execution, joined by "|".
func (h *harness) sentMessages() string {
	var got []string
	for _, e := range h.tess.Executes() {
		got = append(got, lastUserMessage(e))
	}
	return strings.Join(got, "|")
}

func TestBothTriggersAnsweredOnce(t *testing.T) {
	tests := []struct {
		name         string
		messageFirst bool
		inThread     bool
	}{
		{"message then mention at top level", true, false},
		{"mention then message at top level", false, false},
		{"message then mention in a thread", true, true},
		{"mention then message in a thread", false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newFieldHarness(t)
			h.start()
			root := h.mention("start", "")
			h.waitReplyText(channelID, root, 0, rendered("start")[0])

			ts, threadTS := h.slack.NewTS(), ""
			if tt.inThread {
				threadTS = root
			}
			text := "<@" + h.slack.BotUserID() + "> only once"
			mention := h.slack.Mention(channelID, humanID, text, ts, threadTS)
			msg := h.slack.ChannelMessage(channelID, humanID, text, ts, threadTS)
			if tt.messageFirst {
				h.sendBoth(msg, mention)
			} else {
				h.sendBoth(mention, msg)
			}
			reply := threadTS
			if reply == "" {
				reply = ts
			}
			want := 0
			if tt.inThread {
				want = 1
			}
			h.waitReplyText(channelID, reply, want, rendered("only once")[0])
			// A duplicate would run before this later turn of the same thread.
			h.mention("barrier", reply)
			h.waitReplyText(channelID, reply, want+1, rendered("barrier")[0])

			if got, want := h.sentMessages(), "start|only once|barrier"; got != want {
				t.Errorf("messages sent to Tess = %q, want %q", got, want)
			}
		})
	}
}

func TestUnackedEnvelopeRedeliveredAnsweredOnce(t *testing.T) {
	h := newFieldHarness(t)
	// The bot is not connected: nobody acks the first delivery, so Slack delivers the
	// event again with retry_attempt=1. A new event arrives first as retry_attempt=2.
	env := h.slack.Mention(channelID, humanID, "<@"+h.slack.BotUserID()+"> sent while down", "", "")
	h.slack.Send(env)
	h.slack.Redeliver(env, 1)
	fresh := h.slack.Mention(channelID, humanID, "<@"+h.slack.BotUserID()+"> first seen late", "", "")
	h.slack.Redeliver(fresh, 2)
	h.start()

	messages := h.slack.Messages(channelID)
	if len(messages) != 2 {
		t.Fatalf("channel has %d messages, want the 2 mentions", len(messages))
	}
	down, late := messages[0].TS, messages[1].TS
	h.waitReplyText(channelID, down, 0, rendered("sent while down")[0])
	h.waitReplyText(channelID, late, 0, rendered("first seen late")[0])
	h.mention("barrier", down)
	h.waitReplyText(channelID, down, 1, rendered("barrier")[0])

	if n := len(h.botReplies(channelID, down)); n != 2 {
		t.Errorf("bot posted %d messages in the first thread, want 2", n)
	}
	if got := h.slack.PendingCount(); got != 0 {
		t.Errorf("%d envelopes never delivered", got)
	}
	execs := h.tess.Executes()
	if len(execs) != 3 {
		t.Errorf("executions = %d (%q), want 3", len(execs), h.sentMessages())
	}
}

func TestNonHumanMessagesStartNothing(t *testing.T) {
	tests := []struct {
		name    string
		channel string
		// event returns an event in the thread root of channel, after the bot's first
		// reply there, reply.
		event func(h *harness, channel, root string, reply fakeslack.Message) fakeslack.Envelope
	}{
		{"own edit in a channel thread", channelID, ownEdit},
		{"own edit in a direct message", dmChannelID, ownEdit},
		{"bot message without user in a channel thread", channelID, otherBot},
		{"bot message without user in a direct message", dmChannelID, otherBot},
		{"bot message without bot_id", dmChannelID,
			func(h *harness, channel, root string, _ fakeslack.Message) fakeslack.Envelope {
				return h.slack.MessageEvent(fakeslack.Msg{Channel: channel, Username: "webhook",
					Subtype: "bot_message", Text: "a webhook talking", ThreadTS: root})
			}},
		{"own message with user only", dmChannelID,
			func(h *harness, channel, root string, _ fakeslack.Message) fakeslack.Envelope {
				return h.slack.MessageEvent(fakeslack.Msg{Channel: channel, User: h.slack.BotUserID(),
					Text: "written by the bot", ThreadTS: root})
			}},
		{"human edit in a direct message", dmChannelID,
			func(h *harness, channel, root string, _ fakeslack.Message) fakeslack.Envelope {
				human := fakeslack.Msg{User: humanID, TS: root, Text: "edited question"}
				return h.slack.MessageChanged(channel, human, human)
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newFieldHarness(t, fakeslack.WithEcho())
			h.start()
			root := h.slack.NewTS()
			if tt.channel == dmChannelID {
				h.send(h.slack.DM(dmChannelID, humanID, "hello", root, ""))
			} else {
				h.send(h.slack.Mention(channelID, humanID, "<@"+h.slack.BotUserID()+"> hello", root, ""))
			}
			reply := h.waitReplyText(tt.channel, root, 0, rendered("hello")[0])

			h.send(tt.event(h, tt.channel, root, reply))
			h.send(h.slack.Mention(tt.channel, humanID, "<@"+h.slack.BotUserID()+"> barrier", "", root))
			// Some cases store a message of the bot user in the thread, so the barrier's
			// reply is found by its text.
			h.waitThread(tt.channel, root, func(r []fakeslack.Message) bool {
				return len(r) > 0 && r[len(r)-1].VisibleText() == rendered("barrier")[0]
			})

			if got, want := h.sentMessages(), "hello|barrier"; got != want {
				t.Errorf("messages sent to Tess = %q, want %q", got, want)
			}
		})
	}
}

// ownEdit returns the message_changed event of an edit of the bot's reply.
func ownEdit(h *harness, channel, root string, reply fakeslack.Message) fakeslack.Envelope {
	own := fakeslack.Msg{User: h.slack.BotUserID(), BotID: h.slack.BotID(), TS: reply.TS, ThreadTS: root}
	changed, previous := own, own
	changed.Text, previous.Text = "unfurled version", reply.VisibleText()
	return h.slack.MessageChanged(channel, changed, previous)
}

// otherBot returns a message of another bot, with bot_id and username but no user.
func otherBot(h *harness, channel, root string, _ fakeslack.Message) fakeslack.Envelope {
	return h.slack.BotMessage(channel, "B0OTHER", "other-bot", "<@"+h.slack.BotUserID()+"> a bot talking", "", root)
}

func TestReplaysAfterRestartIgnored(t *testing.T) {
	h := newFieldHarness(t)
	h.start()
	text := "<@" + h.slack.BotUserID() + "> answered before"
	ts := h.slack.NewTS()
	mention := h.slack.Mention(channelID, humanID, text, ts, "")
	h.send(mention)
	h.waitReplyText(channelID, ts, 0, rendered("answered before")[0])
	dm := h.slack.DM(dmChannelID, humanID, "a private question", "", "")
	h.send(dm)
	dmTS := h.slack.Messages(dmChannelID)[0].TS
	h.waitReplyText(dmChannelID, dmTS, 0, rendered("a private question")[0])
	if err := h.stop(); err != nil {
		t.Fatalf("first run: %v", err)
	}

	// Slack replays events after a reconnect, as retries or as the same envelopes again.
	h.start()
	h.send(mention)
	h.send(h.slack.ChannelMessage(channelID, humanID, text, ts, ""))
	h.send(h.slack.Redelivery(mention, 3))
	h.send(dm)
	h.send(h.slack.Redelivery(dm, 1))
	h.mention("barrier", ts)
	h.waitReplyText(channelID, ts, 1, rendered("barrier")[0])
	h.send(h.slack.DM(dmChannelID, humanID, "dm barrier", "", dmTS))
	h.waitReplyText(dmChannelID, dmTS, 1, rendered("dm barrier")[0])

	if got, want := h.sentMessages(), "answered before|a private question|barrier|dm barrier"; got != want {
		t.Errorf("messages sent to Tess = %q, want %q", got, want)
	}
}

func TestExternalFileInThreadKeepsThreadWorking(t *testing.T) {
	h := newFieldHarness(t)
	h.start()
	ext, requests := externalHost(t)
	gdoc := h.slack.AddExternalFile("plan.gdoc", ext.URL+"/d/abc")
	root := h.mention("start", "")
	h.waitReplyText(channelID, root, 0, rendered("start")[0])

	// A thread reply without a mention shares the external file, then a mention follows.
	h.send(h.slack.ChannelMessage(channelID, humanID, "here is the plan", "", root, gdoc.JSON))
	h.waitReplyText(channelID, root, 1,
		rendered("here is the plan")[0]+"\n\n_Skipped plan.gdoc: external files are not downloaded._")
	h.mention("unrelated question", root)
	h.waitReplyText(channelID, root, 2, rendered("unrelated question")[0])

	if n := requests.Load(); n != 0 {
		t.Errorf("external host received %d requests, want none", n)
	}
	if got, want := h.sentMessages(), "start|here is the plan|unrelated question"; got != want {
		t.Errorf("messages sent to Tess = %q, want %q", got, want)
	}
}
