package bot_test

import (
	"strings"
	"testing"

	"github.com/tessbot/tessbot/internal/fakeslack"
	"github.com/tessbot/tessbot/internal/faketess"
)

// waitFinalReply waits until the bot's first message in the thread no longer shows the
// placeholder and contains want, and returns its text.
func (h *harness) waitFinalReply(channel, threadTS, want string) string {
	h.t.Helper()
	var text string
	h.slack.WaitFor(h.t, func(*fakeslack.Server) bool {
		replies := h.botReplies(channel, threadTS)
		if len(replies) == 0 {
			return false
		}
		text = replies[0].VisibleText()
		return strings.Contains(text, want)
	}, waitTimeout)
	return text
}

func TestTessFailureKeepsPartialText(t *testing.T) {
	h := newHarness(t)
	h.start()
	h.tess.Queue(faketess.Script{
		Deltas: []string{"Partial answer ", "with **details**."},
		Status: "failed",
		Error:  "model overloaded",
	})

	ts := h.mention("fail please", "")
	text := h.waitFinalReply(channelID, ts, "model overloaded")

	partialText := rendered("Partial answer with **details**.")[0]
	if !strings.HasPrefix(text, partialText) {
		t.Errorf("reply %q does not start with the partial text %q", text, partialText)
	}
	if !strings.Contains(text, "⚠️") {
		t.Errorf("reply %q has no warning note", text)
	}
	if strings.Contains(text, placeholder) {
		t.Errorf("reply %q still shows the placeholder", text)
	}
}

func TestTessStreamCutKeepsPartialText(t *testing.T) {
	h := newHarness(t)
	h.start()
	h.tess.Queue(faketess.Script{
		Deltas:   []string{"First half, ", "second half."},
		Cut:      faketess.CutDrop,
		CutAfter: 1,
		Status:   "failed",
		Error:    "worker crashed",
	})

	ts := h.mention("cut please", "")
	text := h.waitFinalReply(channelID, ts, "worker crashed")

	if !strings.Contains(text, "First half") {
		t.Errorf("reply %q lost the streamed text", text)
	}
}

func TestTessRejectedKeyShowsNote(t *testing.T) {
	h := newHarness(t)
	h.start()
	h.tess.Inject(faketess.Fault{Method: "POST", Path: "/agents/" + agentID + "/execute", Status: 403,
		Body: `{"error":"Invalid authentication"}`})

	ts := h.mention("hello", "")
	text := h.waitFinalReply(channelID, ts, "API key was rejected")

	if strings.Contains(text, placeholder) {
		t.Errorf("reply %q still shows the placeholder", text)
	}
}

func TestRejectedConversationStartsNewOne(t *testing.T) {
	h := newHarness(t)
	h.start()
	root := h.mention("first", "")
	h.waitReplyText(channelID, root, 0, rendered("first")[0])
	h.tess.Inject(faketess.Fault{Method: "POST", Path: "/agents/" + agentID + "/execute", Status: 404,
		Body: `{"error":"Execution not found"}`})

	h.mention("second", root)
	var text string
	h.slack.WaitFor(t, func(*fakeslack.Server) bool {
		replies := h.botReplies(channelID, root)
		if len(replies) < 2 {
			return false
		}
		text = replies[1].VisibleText()
		return strings.Contains(text, "starts a new one")
	}, waitTimeout)

	if !strings.HasPrefix(text, rendered("second")[0]) {
		t.Errorf("reply %q does not start with the answer", text)
	}
	execs := h.tess.Executes()
	if len(execs) != 2 {
		t.Fatalf("accepted executions = %d, want 2", len(execs))
	}
	if execs[1].RootID != 0 {
		t.Errorf("retry sent root_id %d, want a new conversation", execs[1].RootID)
	}

	h.mention("third", root)
	h.waitReplyText(channelID, root, 2, rendered("third")[0])
	if got := h.tess.Executes()[2].RootID; got != execs[1].ExecutionID {
		t.Errorf("next turn root_id = %d, want the new conversation %d", got, execs[1].ExecutionID)
	}
}

func TestEmptyAnswerShowsNote(t *testing.T) {
	h := newHarness(t)
	h.start()
	h.tess.Queue(faketess.Script{})

	ts := h.mention("say nothing", "")
	text := h.waitFinalReply(channelID, ts, "without an answer")

	if strings.Contains(text, placeholder) {
		t.Errorf("reply %q still shows the placeholder", text)
	}
}

func TestMentionWithoutTextShowsHint(t *testing.T) {
	h := newHarness(t)
	h.start()

	ts := h.mention("", "")
	h.waitFinalReply(channelID, ts, "Mention me with a question")

	if n := len(h.tess.Executes()); n != 0 {
		t.Errorf("executions = %d, want none for an empty message", n)
	}
}

func TestShutdownFinishesReplyInFlight(t *testing.T) {
	h := newHarness(t)
	h.start()
	hold := make(chan struct{})
	h.tess.Queue(faketess.Script{Deltas: []string{"Started. ", "Finished."}, Hold: hold, HoldAfter: 1})

	ts := h.mention("long one", "")
	h.waitReplyText(channelID, ts, 0, partial("Started. "))
	h.cancel()
	h.slack.WaitFor(t, func(s *fakeslack.Server) bool { return s.ConnectionCount() == 0 }, waitTimeout)
	select {
	case err := <-h.done:
		t.Fatalf("bot.Run returned with a reply in flight: %v", err)
	default:
	}

	close(hold)
	if err := h.wait(); err != nil {
		t.Fatalf("bot.Run: %v", err)
	}
	reply := h.botReplies(channelID, ts)[0]
	if got, want := reply.VisibleText(), rendered("Started. Finished.")[0]; got != want {
		t.Errorf("reply after shutdown = %q, want %q", got, want)
	}
}

func TestShutdownGraceStopsReply(t *testing.T) {
	h := newHarness(t)
	h.env["SHUTDOWN_GRACE"] = "100ms"
	h.start()
	never := make(chan struct{})
	h.tess.Queue(faketess.Script{Deltas: []string{"Kept text. ", "Never sent."}, Hold: never, HoldAfter: 1})

	ts := h.mention("too long", "")
	h.waitReplyText(channelID, ts, 0, partial("Kept text. "))
	if err := h.stop(); err != nil {
		t.Fatalf("bot.Run: %v", err)
	}

	text := h.botReplies(channelID, ts)[0].VisibleText()
	if !strings.HasPrefix(text, strings.TrimSpace(partial("Kept text. "))) {
		t.Errorf("reply %q lost the partial text", text)
	}
	if !strings.Contains(text, "restarted") {
		t.Errorf("reply %q has no note about the restart", text)
	}
}

func TestStartFails(t *testing.T) {
	tests := []struct {
		name  string
		setup func(h *harness)
		want  string
	}{
		{"rejected tess key", func(h *harness) { h.env["TESS_API_KEY"] = "tess-wrong-key-123" }, "API key was rejected"},
		{"unknown agent", func(h *harness) { h.env["TESS_AGENT_ID"] = "404" }, "agent was not found"},
		{"rejected slack token", func(h *harness) { h.env["SLACK_BOT_TOKEN"] = "xoxb-wrong-token-456" }, "invalid_auth"},
		{"rejected slack token named", func(h *harness) { h.env["SLACK_BOT_TOKEN"] = "xoxb-wrong-token-456" }, "rejected SLACK_BOT_TOKEN"},
		{"rejected app token", func(h *harness) { h.env["SLACK_APP_TOKEN"] = "xapp-wrong-token-789" }, "invalid_auth"},
		{"rejected app token named", func(h *harness) { h.env["SLACK_APP_TOKEN"] = "xapp-wrong-token-789" }, "rejected SLACK_APP_TOKEN"},
		{"invalid configuration", func(h *harness) { h.env["MESSAGE_LIMIT"] = "5" }, "MESSAGE_LIMIT"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			if tt.name == "unknown agent" {
				h.tess = faketess.New(t, faketess.WithAgent(faketess.Agent{ID: 7, Title: "Only agent", Type: "chat"}))
			}
			tt.setup(h)
			err := h.runOnce()
			if err == nil {
				t.Fatal("bot started")
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not contain %q", err, tt.want)
			}
			for _, secret := range []string{"tess-wrong-key-123", "xoxb-wrong-token-456", "xapp-wrong-token-789",
				h.tess.APIKey, h.slack.AppToken()} {
				if strings.Contains(err.Error(), secret) {
					t.Errorf("error %q contains the secret %q", err, secret)
				}
			}
		})
	}
}

func TestUnknownEventAcked(t *testing.T) {
	h := newHarness(t)
	h.start()

	payload := `{"type":"event_callback","event_id":"Ev0UNKNOWN","event":{"type":"made_up_event","ts":"1.1"}}`
	h.send(fakeslack.Envelope{Type: "events_api", EnvelopeID: "env-unknown-1", Payload: []byte(payload)})
	// The bot keeps working after an event that slack-go cannot parse.
	ts := h.mention("still there?", "")
	h.waitReplyText(channelID, ts, 0, rendered("still there?")[0])
}
