package scheduler

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/slack-go/slack"

	"github.com/tessbot/tessbot/internal/fakeslack"
)

func stopButton() slack.Block {
	return slack.NewActionBlock("stop", slack.NewButtonBlockElement("stop", "r1",
		slack.NewTextBlockObject(slack.PlainTextType, "Stop", false, false)))
}

// blockTypes returns the types of the blocks in a JSON block array.
func blockTypes(t *testing.T, raw string) []string {
	t.Helper()
	var blocks []struct {
		Type string `json:"type"`
	}
	if err := json.Unmarshal([]byte(raw), &blocks); err != nil {
		t.Fatalf("blocks %q: %v", raw, err)
	}
	types := make([]string, len(blocks))
	for i, b := range blocks {
		types[i] = b.Type
	}
	return types
}

func TestActionsShownUntilFinal(t *testing.T) {
	srv, client := newFakeWorkspace(t)
	s := startScheduler(t, client, fastConfig())
	root := srv.Seed(fakeslack.Msg{Channel: "C1", User: "U1", Text: "question"})

	r := s.StartWithOptions("C1", root, "Thinking…", ReplyOptions{Actions: stopButton()})
	ts := placeholderTS(t, r)
	placeholder, _ := srv.Message("C1", ts)
	if got := strings.Join(blockTypes(t, placeholder.Blocks), ","); got != "section,actions" {
		t.Errorf("placeholder blocks = %s, want section,actions", got)
	}
	if placeholder.Text != "Thinking…" || placeholder.VisibleText() != "Thinking…" {
		t.Errorf("placeholder text %q, visible %q", placeholder.Text, placeholder.VisibleText())
	}

	r.Set([]string{"partial"})
	srv.WaitFor(t, func(srv *fakeslack.Server) bool {
		m, _ := srv.Message("C1", ts)
		return m.VisibleText() == "partial"
	}, 10*time.Second)
	streaming, _ := srv.Message("C1", ts)
	if !strings.Contains(streaming.Blocks, `"action_id":"stop"`) {
		t.Errorf("streaming message lost the button: %s", streaming.Blocks)
	}

	r.Finish([]string{"final text"})
	if err := waitReply(t, r); err != nil {
		t.Fatal(err)
	}
	final, _ := srv.Message("C1", ts)
	if final.Blocks != "[]" {
		t.Errorf("final blocks = %q, want them cleared", final.Blocks)
	}
	if final.VisibleText() != "final text" {
		t.Errorf("final visible text = %q", final.VisibleText())
	}
	if got := r.Edits(); got != final.Edits() {
		t.Errorf("Edits() = %d, fake Slack counted %d", got, final.Edits())
	}
}

func TestActionsLongTextSections(t *testing.T) {
	srv, client := newFakeWorkspace(t)
	s := startScheduler(t, client, fastConfig())

	r := s.StartWithOptions("C1", "100.000001", "…", ReplyOptions{Actions: stopButton()})
	ts := placeholderTS(t, r)
	long := strings.Repeat("word ", 700) // 3,500 runes
	r.Set([]string{long})
	srv.WaitFor(t, func(srv *fakeslack.Server) bool {
		m, _ := srv.Message("C1", ts)
		return m.Text == long
	}, 10*time.Second)

	m, _ := srv.Message("C1", ts)
	if got := strings.Join(blockTypes(t, m.Blocks), ","); got != "section,section,actions" {
		t.Errorf("blocks = %s, want two sections and the actions", got)
	}
	r.Finish([]string{long})
	if err := waitReply(t, r); err != nil {
		t.Fatal(err)
	}
}

func TestActionsRejectedOnPost(t *testing.T) {
	srv, client := newFakeWorkspace(t)
	srv.FailNext("chat.postMessage", 1, fakeslack.Fault{Error: "invalid_blocks"})
	s := startScheduler(t, client, fastConfig())

	r := s.StartWithOptions("C1", "100.000001", "…", ReplyOptions{Actions: stopButton()})
	ts := placeholderTS(t, r)
	r.Finish([]string{"done"})
	if err := waitReply(t, r); err != nil {
		t.Fatal(err)
	}

	posts := srv.Calls("chat.postMessage")
	if len(posts) != 2 {
		t.Fatalf("chat.postMessage calls = %d, want the rejected one and one without blocks", len(posts))
	}
	if posts[1].Form.Has("blocks") {
		t.Errorf("second post still carries blocks: %s", posts[1].Form.Get("blocks"))
	}
	m, _ := srv.Message("C1", ts)
	if m.VisibleText() != "done" || m.Blocks != "" {
		t.Errorf("message text %q, blocks %q; want done without blocks", m.VisibleText(), m.Blocks)
	}
}

func TestActionsRejectedOnUpdate(t *testing.T) {
	srv, client := newFakeWorkspace(t)
	s := startScheduler(t, client, fastConfig())

	r := s.StartWithOptions("C1", "100.000001", "…", ReplyOptions{Actions: stopButton()})
	ts := placeholderTS(t, r)
	srv.FailNext("chat.update", 1, fakeslack.Fault{Error: "msg_blocks_too_long"})
	r.Set([]string{"partial"})
	srv.WaitFor(t, func(srv *fakeslack.Server) bool {
		m, _ := srv.Message("C1", ts)
		return m.VisibleText() == "partial"
	}, 10*time.Second)

	m, _ := srv.Message("C1", ts)
	if m.Blocks != "[]" {
		t.Errorf("blocks after the rejection = %q, want them cleared", m.Blocks)
	}
	r.Finish([]string{"done"})
	if err := waitReply(t, r); err != nil {
		t.Fatal(err)
	}
	for _, c := range srv.Calls("chat.update")[2:] {
		if c.Form.Has("blocks") {
			t.Errorf("update after the clearing edit carries blocks %q", c.Form.Get("blocks"))
		}
	}
}

func TestStartSendsNoBlocks(t *testing.T) {
	srv, client := newFakeWorkspace(t)
	s := startScheduler(t, client, fastConfig())

	r := s.Start("C1", "100.000001", "…")
	r.Set([]string{"partial"})
	r.Finish([]string{"done"})
	if err := waitReply(t, r); err != nil {
		t.Fatal(err)
	}
	for _, method := range []string{"chat.postMessage", "chat.update"} {
		for _, c := range srv.Calls(method) {
			if c.Form.Has("blocks") {
				t.Errorf("%s carries blocks %q without Actions", method, c.Form.Get("blocks"))
			}
		}
	}
}

func TestTextBlocksTooMany(t *testing.T) {
	text := strings.Repeat("x", maxSectionRunes*maxBlocks)
	if blocks := textBlocks(text, stopButton()); blocks != nil {
		t.Errorf("textBlocks returned %d blocks, want nil past the block limit", len(blocks))
	}
}
