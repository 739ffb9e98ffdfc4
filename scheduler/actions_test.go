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
	text := strings.Repeat("x", maxSectionChars*maxBlocks)
	if blocks := textBlocks(text, stopButton()); blocks != nil {
		t.Errorf("textBlocks returned %d blocks, want nil past the block limit", len(blocks))
	}
}

// frozenFirstMessage starts a reply with Actions in a new thread of C1 and sets its two
// parts. It returns once the first message shows its complete text with the button, as
// when the first part of an answer is complete before the answer ends. It returns the
// reply, the thread's ts and the ts of both messages.
func frozenFirstMessage(t *testing.T, srv *fakeslack.Server, s *Scheduler, parts []string) (r *Reply, root string, ts []string) {
	t.Helper()
	root = srv.Seed(fakeslack.Msg{Channel: "C1", User: "U1", Text: "question"})
	r = s.StartWithOptions("C1", root, "…", ReplyOptions{Actions: stopButton()})
	first := placeholderTS(t, r)
	r.Set(parts)
	srv.WaitFor(t, func(srv *fakeslack.Server) bool {
		texts := threadTexts(srv, "C1", root)
		// The fake records a call after its response, so the post may show before its record.
		return len(texts) == 2 && texts[0] == parts[0] && texts[1] == parts[1] &&
			len(srv.Calls("chat.postMessage")) == 2
	}, 10*time.Second)

	for _, m := range srv.Thread("C1", root) {
		if m.TS != root {
			ts = append(ts, m.TS)
		}
	}
	if m, _ := srv.Message("C1", first); !strings.Contains(m.Blocks, `"action_id":"stop"`) {
		t.Fatalf("first message does not show the button while streaming: %q", m.Blocks)
	}
	return r, root, ts
}

func TestActionsClearedOnFrozenFirstMessage(t *testing.T) {
	srv, client := newFakeWorkspace(t)
	s := startScheduler(t, client, fastConfig())
	r, _, ts := frozenFirstMessage(t, srv, s, []string{"first part", "second"})
	before, _ := srv.Message("C1", ts[0])

	r.Finish([]string{"first part", "second, done"})
	if err := waitReply(t, r); err != nil {
		t.Fatal(err)
	}
	first, _ := srv.Message("C1", ts[0])
	if first.Blocks != "[]" {
		t.Errorf("first message blocks = %q, want them cleared", first.Blocks)
	}
	if first.VisibleText() != "first part" {
		t.Errorf("first message shows %q, want its unchanged text", first.VisibleText())
	}
	if got := first.Edits() - before.Edits(); got != 1 {
		t.Errorf("first message got %d edits after Finish, want the one that clears its blocks", got)
	}
	second, _ := srv.Message("C1", ts[1])
	if second.VisibleText() != "second, done" || second.Blocks != "" {
		t.Errorf("second message shows %q with blocks %q, want the final text without blocks",
			second.VisibleText(), second.Blocks)
	}
	if got, want := r.Edits(), first.Edits()+second.Edits(); got != want {
		t.Errorf("Edits() = %d, fake Slack counted %d", got, want)
	}
}

func TestActionsClearRejectedKeepsText(t *testing.T) {
	srv, client := newFakeWorkspace(t)
	s := startScheduler(t, client, fastConfig())
	parts := []string{"first part", "second"}
	r, root, _ := frozenFirstMessage(t, srv, s, parts)
	posts, updates := len(srv.Calls("chat.postMessage")), len(srv.Calls("chat.update"))

	srv.FailNext("chat.update", 1, fakeslack.Fault{Error: "cant_update_message"})
	r.Finish(parts)
	if err := waitReply(t, r); err != nil {
		t.Fatal(err)
	}
	if got := len(srv.Calls("chat.update")); got != updates+1 {
		t.Errorf("chat.update calls went from %d to %d, want the one rejected clearing edit", updates, got)
	}
	if got := len(srv.Calls("chat.postMessage")); got != posts {
		t.Errorf("chat.postMessage calls went from %d to %d, want no repost of shown text", posts, got)
	}
	if texts := threadTexts(srv, "C1", root); len(texts) != 2 {
		t.Errorf("thread has %d replies, want 2: %q", len(texts), texts)
	}
}

func TestActionsCodeSectionsBalanced(t *testing.T) {
	srv, client := newFakeWorkspace(t)
	s := startScheduler(t, client, fastConfig())

	r := s.StartWithOptions("C1", "100.000001", "…", ReplyOptions{Actions: stopButton()})
	ts := placeholderTS(t, r)
	var code strings.Builder
	code.WriteString("```\n")
	for code.Len() < 3800 {
		code.WriteString("echo \"line of the script\" &gt;&gt; out.log\n")
	}
	code.WriteString("```")
	text := code.String()
	r.Set([]string{text})
	srv.WaitFor(t, func(srv *fakeslack.Server) bool {
		m, _ := srv.Message("C1", ts)
		return m.Text == text
	}, 10*time.Second)

	m, _ := srv.Message("C1", ts)
	var blocks []struct {
		Type string `json:"type"`
		Text struct {
			Text string `json:"text"`
		} `json:"text"`
	}
	if err := json.Unmarshal([]byte(m.Blocks), &blocks); err != nil {
		t.Fatalf("blocks %q: %v", m.Blocks, err)
	}
	if len(blocks) != 3 {
		t.Fatalf("got %d blocks, want two sections and the actions", len(blocks))
	}
	for i, b := range blocks[:2] {
		if n := strings.Count(b.Text.Text, "```"); n != 2 {
			t.Errorf("section %d has %d fences, want the code block closed and reopened", i, n)
		}
	}
	r.Finish([]string{text})
	if err := waitReply(t, r); err != nil {
		t.Fatal(err)
	}
}
