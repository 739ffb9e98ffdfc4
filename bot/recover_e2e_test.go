package bot_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/slack-go/slack"

	"github.com/tessbot/tessbot/internal/fakeslack"
	"github.com/tessbot/tessbot/internal/faketess"
	"github.com/tessbot/tessbot/mrkdwn"
	"github.com/tessbot/tessbot/tess"
	"github.com/tessbot/tessbot/threadstore"
)

// recoveryLimit is MESSAGE_LIMIT in the recovery tests, small enough for an answer of
// several parts.
const recoveryLimit = 200

// leftReply is a reply that a stopped process left in flight: a placeholder in Slack and
// its pending record, written before the bot starts.
type leftReply struct {
	threadTS string
	pending  threadstore.Pending
}

// leaveReply posts a placeholder with a Stop button in a new thread, as a stopped process
// would have, and returns it with the pending record of executionID.
func (h *harness) leaveReply(executionID int64) leftReply {
	h.t.Helper()
	threadTS := h.slack.Seed(fakeslack.Msg{Channel: channelID, User: humanID, Text: "a question"})
	api := slack.New(h.slack.BotToken(), slack.OptionAPIURL(h.slack.APIURL()))
	actions := slack.NewActionBlock("tessbot_stop", slack.NewButtonBlockElement("tessbot_stop", "x",
		slack.NewTextBlockObject(slack.PlainTextType, "Stop", false, false)))
	_, ts, err := api.PostMessage(channelID,
		slack.MsgOptionText("partial text", false),
		slack.MsgOptionBlocks(slack.NewSectionBlock(
			slack.NewTextBlockObject(slack.MarkdownType, "partial text", false, false), nil, nil), actions),
		slack.MsgOptionTS(threadTS))
	if err != nil {
		h.t.Fatalf("post placeholder: %v", err)
	}
	return leftReply{threadTS: threadTS, pending: threadstore.Pending{
		Channel:     channelID,
		ThreadTS:    threadTS,
		MessageTS:   ts,
		ExecutionID: executionID,
		StartedAt:   time.Now().Add(-time.Minute),
	}}
}

// openStore opens the bot's embedded store, which only one process may have open.
func (h *harness) openStore() threadstore.Store {
	h.t.Helper()
	store, err := threadstore.OpenBolt(filepath.Join(h.dataDir, "tessbot.db"), threadstore.Options{})
	if err != nil {
		h.t.Fatalf("open store: %v", err)
	}
	return store
}

// putPending writes the pending records of replies into the bot's store.
func (h *harness) putPending(replies ...leftReply) {
	h.t.Helper()
	store := h.openStore()
	defer store.Close()
	for _, r := range replies {
		if err := store.PutPending(context.Background(), r.pending); err != nil {
			h.t.Fatalf("PutPending: %v", err)
		}
	}
}

// runExecution runs an execution of script on the fake Tess to its end, as Tess does
// for a stream whose reader went away, and returns its id.
func (h *harness) runExecution(script faketess.Script) int64 {
	h.t.Helper()
	h.tess.Queue(script)
	client := tess.New(tess.Config{BaseURL: h.tess.URL, APIKey: h.tess.APIKey, RequestsPerSecond: 1000})
	res, _ := client.Execute(context.Background(), tess.ExecuteRequest{AgentID: agentID, Message: "q"}, nil)
	if res == nil || res.ExecutionID == 0 {
		h.t.Fatal("the fake Tess gave the execution no id")
	}
	return res.ExecutionID
}

func TestRecoverPendingReplies(t *testing.T) {
	h := newHarness(t)
	h.env["MESSAGE_LIMIT"] = "200"
	long := strings.Repeat("A long recovered answer needs more than one Slack message. ", 8)
	finished := h.leaveReply(h.runExecution(faketess.Script{Deltas: []string{"Recovered ", "answer."}}))
	multiPart := h.leaveReply(h.runExecution(faketess.Script{Deltas: faketess.SplitText(long, 4)}))
	failed := h.leaveReply(h.runExecution(faketess.Script{
		Deltas: []string{"Half an answer"},
		Status: "failed",
		Error:  "model overloaded",
	}))
	unknown := h.leaveReply(424242)
	noExecution := h.leaveReply(0)
	h.putPending(finished, multiPart, failed, unknown, noExecution)

	h.start()

	wantFinished := h.waitVisible(channelID, finished.pending.MessageTS, "Recovered answer.")
	if stopValue(t, wantFinished) != "" {
		t.Error("the recovered reply still shows the Stop button")
	}
	parts := mrkdwn.NewStream(recoveryLimit).Update(long, true)
	if len(parts) < 2 {
		t.Fatalf("the long answer renders to %d parts, want several", len(parts))
	}
	for i, part := range parts {
		h.waitReplyText(channelID, multiPart.threadTS, i, part)
	}
	got := h.waitVisible(channelID, failed.pending.MessageTS, "stopped early")
	if !strings.Contains(got.VisibleText(), "Half an answer") {
		t.Errorf("failed execution shows %q, want its partial text", got.VisibleText())
	}
	for name, r := range map[string]leftReply{"unknown execution": unknown, "no execution": noExecution} {
		got := h.waitVisible(channelID, r.pending.MessageTS, "could not be recovered")
		if !strings.Contains(got.VisibleText(), "Ask again") {
			t.Errorf("%s shows %q, want it to ask again", name, got.VisibleText())
		}
	}

	if err := h.stop(); err != nil {
		t.Fatalf("bot.Run: %v", err)
	}
	store := h.openStore()
	defer store.Close()
	pending, err := store.PendingReplies(context.Background())
	if err != nil {
		t.Fatalf("PendingReplies: %v", err)
	}
	if len(pending) != 0 {
		t.Errorf("pending replies after the recovery = %+v, want none", pending)
	}
	thread, err := store.Thread(context.Background(), threadstore.ThreadKey{Channel: channelID, ThreadTS: finished.threadTS})
	if err != nil {
		t.Fatalf("Thread of the recovered reply: %v", err)
	}
	if thread.RootID != finished.pending.ExecutionID {
		t.Errorf("root_id of the recovered thread = %d, want the execution %d", thread.RootID, finished.pending.ExecutionID)
	}
}

func TestRecoveredThreadContinuesConversation(t *testing.T) {
	h := newHarness(t)
	left := h.leaveReply(h.runExecution(faketess.Script{Deltas: []string{"First answer."}}))
	h.putPending(left)
	h.start()
	h.waitVisible(channelID, left.pending.MessageTS, "First answer.")

	h.mention("and then?", left.threadTS)
	execs := h.waitExecutes(2)
	h.waitReplyText(channelID, left.threadTS, 1, "and then?")

	if got := execs[1].RootID; got != left.pending.ExecutionID {
		t.Errorf("root_id of the next turn = %d, want the recovered execution %d", got, left.pending.ExecutionID)
	}
}

func TestRecoverEditsRecordedParts(t *testing.T) {
	h := newHarness(t)
	h.env["MESSAGE_LIMIT"] = "200"
	long := strings.Repeat("A recovered answer of two parts edits both messages. ", 5)
	parts := mrkdwn.NewStream(recoveryLimit).Update(long, true)
	if len(parts) != 2 {
		t.Fatalf("the answer renders to %d parts, want 2", len(parts))
	}
	left := h.leaveReply(h.runExecution(faketess.Script{Deltas: faketess.SplitText(long, 4)}))
	api := slack.New(h.slack.BotToken(), slack.OptionAPIURL(h.slack.APIURL()))
	_, secondTS, err := api.PostMessage(channelID,
		slack.MsgOptionText("second part, partial", false),
		slack.MsgOptionTS(left.threadTS))
	if err != nil {
		t.Fatalf("post second part: %v", err)
	}
	left.pending.PartTS = []string{left.pending.MessageTS, secondTS}
	h.putPending(left)

	h.start()
	h.waitVisible(channelID, left.pending.MessageTS, parts[0])
	h.waitVisible(channelID, secondTS, parts[1])
	if err := h.stop(); err != nil {
		t.Fatalf("bot.Run: %v", err)
	}

	replies := h.botReplies(channelID, left.threadTS)
	if len(replies) != 2 {
		t.Fatalf("bot messages in the thread = %d, want the 2 recorded ones: %s", len(replies), h.slack.Summary())
	}
	for i, ts := range left.pending.PartTS {
		if replies[i].TS != ts {
			t.Errorf("bot message %d has ts %s, want the recorded %s", i, replies[i].TS, ts)
		}
		if got := replies[i].VisibleText(); got != parts[i] {
			t.Errorf("bot message %d shows %q, want part %q", i, got, parts[i])
		}
	}
}
