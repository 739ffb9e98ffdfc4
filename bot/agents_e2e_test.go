package bot_test

import (
	"strings"
	"testing"
)

func TestChannelAgentAnswers(t *testing.T) {
	h := newHarness(t)
	h.env["CHANNEL_AGENTS"] = channelID + ":8"
	h.start()

	root := h.mention("which agent", "")
	h.waitReplyText(channelID, root, 0, rendered("which agent")[0])
	dm := h.slack.NewTS()
	h.send(h.slack.DM(dmChannelID, humanID, "and here", dm, ""))
	h.waitReplyText(dmChannelID, dm, 0, rendered("and here")[0])

	execs := h.waitExecutes(2)
	if execs[0].AgentID != "8" {
		t.Errorf("agent in %s = %s, want 8", channelID, execs[0].AgentID)
	}
	if execs[1].AgentID != agentID {
		t.Errorf("agent in the DM = %s, want the default %s", execs[1].AgentID, agentID)
	}
}

func TestThreadKeepsItsAgent(t *testing.T) {
	h := newHarness(t)
	h.env["CHANNEL_AGENTS"] = channelID + ":8"
	h.start()
	root := h.mention("first", "")
	h.waitReplyText(channelID, root, 0, rendered("first")[0])
	if err := h.stop(); err != nil {
		t.Fatal(err)
	}

	// The channel now has agent 9, and agent 8 still replies in another channel.
	h.env["CHANNEL_AGENTS"] = channelID + ":9,C0OTHER:8"
	h.start()
	h.mention("second", root)
	h.waitReplyText(channelID, root, 1, rendered("second")[0])
	other := h.mention("new thread", "")
	h.waitReplyText(channelID, other, 0, rendered("new thread")[0])

	execs := h.waitExecutes(3)
	if execs[1].AgentID != "8" || execs[1].RootID != execs[0].ExecutionID {
		t.Errorf("old thread: agent %s root_id %d, want agent 8 continuing %d",
			execs[1].AgentID, execs[1].RootID, execs[0].ExecutionID)
	}
	if execs[2].AgentID != "9" || execs[2].RootID != 0 {
		t.Errorf("new thread: agent %s root_id %d, want agent 9 and a new conversation",
			execs[2].AgentID, execs[2].RootID)
	}
}

func TestThreadOfRemovedAgentStartsNew(t *testing.T) {
	h := newHarness(t)
	h.env["CHANNEL_AGENTS"] = channelID + ":8"
	h.start()
	root := h.mention("first", "")
	h.waitReplyText(channelID, root, 0, rendered("first")[0])
	if err := h.stop(); err != nil {
		t.Fatal(err)
	}

	h.env["CHANNEL_AGENTS"] = ""
	h.start()
	h.mention("second", root)
	h.waitReplyText(channelID, root, 1, rendered("second")[0])

	execs := h.waitExecutes(2)
	if execs[1].AgentID != agentID || execs[1].RootID != 0 {
		t.Errorf("agent %s root_id %d, want the default agent in a new conversation",
			execs[1].AgentID, execs[1].RootID)
	}
}

func TestDefaultsSentWithExecution(t *testing.T) {
	h := newHarness(t)
	h.env["TESS_MODEL"] = "TESS-6"
	h.env["TESS_TOOLS"] = "internet"
	h.env["TESS_TEMPERATURE"] = "0.50"
	h.start()

	root := h.mention("tuned", "")
	h.waitReplyText(channelID, root, 0, rendered("tuned")[0])
	execs := h.waitExecutes(1)
	if execs[0].Model != "tess-6" || execs[0].Tools != "internet" || execs[0].Temperature != "0.5" {
		t.Errorf("model %q tools %q temperature %q, want tess-6, internet, 0.5",
			execs[0].Model, execs[0].Tools, execs[0].Temperature)
	}
}

func TestInvalidDefaultStopsStart(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		want string
	}{
		{"model", map[string]string{"TESS_MODEL": "gpt-2"},
			`invalid TESS_MODEL "gpt-2" for agent 7 ("Fake agent 7"): allowed values are tess-5, tess-6`},
		{"temperature of a channel agent", map[string]string{"TESS_TEMPERATURE": "0.3", "CHANNEL_AGENTS": channelID + ":8"},
			`tess agent 7: invalid TESS_TEMPERATURE "0.3"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			for k, v := range tt.env {
				h.env[k] = v
			}
			err := h.runOnce()
			if err == nil {
				t.Fatal("Run started with an invalid default")
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not contain %q", err, tt.want)
			}
			if n := h.slack.ConnectionCount(); n != 0 {
				t.Errorf("Socket Mode connections = %d, want none", n)
			}
		})
	}
}
