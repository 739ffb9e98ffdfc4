package bot_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/tessbot/tessbot/internal/fakeslack"
	"github.com/tessbot/tessbot/internal/faketess"
)

const stopActionID = "tessbot_stop"

// stopValue returns the value of the Stop button in the blocks of m, or "".
func stopValue(t *testing.T, m fakeslack.Message) string {
	t.Helper()
	if m.Blocks == "" || m.Blocks == "[]" {
		return ""
	}
	var blocks []struct {
		Type     string `json:"type"`
		Elements []struct {
			ActionID string `json:"action_id"`
			Value    string `json:"value"`
		} `json:"elements"`
	}
	if err := json.Unmarshal([]byte(m.Blocks), &blocks); err != nil {
		t.Fatalf("blocks %q: %v", m.Blocks, err)
	}
	for _, b := range blocks {
		for _, e := range b.Elements {
			if b.Type == "actions" && e.ActionID == stopActionID {
				return e.Value
			}
		}
	}
	return ""
}

// waitVisible waits until the message at ts in channel shows text containing want.
func (h *harness) waitVisible(channel, ts, want string) fakeslack.Message {
	h.t.Helper()
	var got fakeslack.Message
	h.slack.WaitFor(h.t, func(s *fakeslack.Server) bool {
		got, _ = s.Message(channel, ts)
		return strings.Contains(got.VisibleText(), want)
	}, waitTimeout)
	return got
}

func TestStopButtonStopsReply(t *testing.T) {
	h := newHarness(t)
	m, _ := h.startWithMetrics()
	hold := make(chan struct{})
	t.Cleanup(func() { close(hold) })
	h.tess.Queue(faketess.Script{Deltas: []string{"partial answer ", "never shown"}, Hold: hold, HoldAfter: 1})

	root := h.mention("long question", "")
	msg := h.waitReplyText(channelID, root, 0, partial("partial answer "))
	value := stopValue(t, msg)
	if value == "" {
		t.Fatalf("streaming message has no Stop button: %s", msg.Blocks)
	}

	h.send(h.slack.BlockAction(strangerID, stopActionID, value, channelID, msg.TS))
	note := h.waitEphemeral(channelID, strangerID)
	if !strings.Contains(note.Text, "Only the person who asked can stop this reply") {
		t.Errorf("note to another user = %q", note.Text)
	}
	if got := metricValue(t, m, "tessbot_replies_in_flight", nil); got != 1 {
		t.Fatalf("replies in flight after another user's Stop = %v, want 1", got)
	}

	h.send(h.slack.BlockAction(humanID, stopActionID, value, channelID, msg.TS))
	final := h.waitVisible(channelID, msg.TS, "Stopped before the answer was complete")
	if !strings.HasPrefix(final.VisibleText(), "partial answer") {
		t.Errorf("final text %q lost the partial answer", final.VisibleText())
	}
	if strings.Contains(final.VisibleText(), "never shown") {
		t.Errorf("final text %q continued after Stop", final.VisibleText())
	}
	waitMetric(t, m, "tessbot_replies_stopped_total", nil, 1)
	final, _ = h.slack.Message(channelID, msg.TS)
	if final.Blocks != "[]" {
		t.Errorf("final message keeps blocks %q, want the button removed", final.Blocks)
	}
	if n := len(h.tess.Executes()); n != 1 {
		t.Errorf("executions = %d, want 1", n)
	}

	// A press after the end: the requester learns that nothing runs.
	h.send(h.slack.BlockAction(humanID, stopActionID, value, channelID, msg.TS))
	h.slack.WaitFor(t, func(s *fakeslack.Server) bool {
		for _, e := range s.Ephemerals(channelID) {
			if e.User == humanID && strings.Contains(e.Text, "no longer running") {
				return true
			}
		}
		return false
	}, waitTimeout)
}

func TestStopButtonOff(t *testing.T) {
	h := newHarness(t)
	h.env["STOP_BUTTON"] = "false"
	h.start()
	root := h.mention("no button", "")
	h.waitReplyText(channelID, root, 0, rendered("no button")[0])

	for _, c := range h.slack.Calls("chat.postMessage") {
		if c.Form.Has("blocks") {
			t.Errorf("placeholder carries blocks %q with STOP_BUTTON=false", c.Form.Get("blocks"))
		}
	}
}

func TestFinalReplyDropsButton(t *testing.T) {
	h := newHarness(t)
	h.start()
	root := h.mention("short", "")
	msg := h.waitReplyText(channelID, root, 0, rendered("short")[0])
	if v := stopValue(t, msg); v != "" {
		t.Errorf("final message keeps the Stop button %q", v)
	}
	first := msg.Versions[0]
	if !strings.Contains(first.Blocks, stopActionID) {
		t.Errorf("placeholder had no Stop button: %q", first.Blocks)
	}
}
