package bot_test

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/tessbot/tessbot/internal/fakeslack"
	"github.com/tessbot/tessbot/internal/faketess"
)

// slackTextLimit is where Slack starts to return msg_too_long for the text of
// chat.postMessage and chat.update in practice, far below the documented 40,000.
const slackTextLimit = 4000

// newFieldHarness returns a harness whose fake Slack rejects text over slackTextLimit on
// posts as well as on edits, and which checks at the end of the test that no Slack message
// shows a token.
func newFieldHarness(t *testing.T, opts ...fakeslack.Option) *harness {
	t.Helper()
	opts = append([]fakeslack.Option{fakeslack.WithPostTextLimit(slackTextLimit)}, opts...)
	h := newHarness(t, opts...)
	t.Cleanup(h.checkSlackHasNoSecret)
	return h
}

// checkSlackHasNoSecret fails the test when any version of a message, or an ephemeral
// message, in the test channels contains a token or key.
func (h *harness) checkSlackHasNoSecret() {
	secrets := []string{h.slack.BotToken(), h.slack.AppToken(), h.tess.APIKey}
	for _, channel := range []string{channelID, dmChannelID} {
		var shown []string
		for _, m := range h.slack.Messages(channel) {
			for _, v := range m.Versions {
				shown = append(shown, v.Text, v.Blocks, v.MarkdownText)
			}
		}
		for _, e := range h.slack.Ephemerals(channel) {
			shown = append(shown, e.Text, e.Blocks)
		}
		for _, text := range shown {
			for _, secret := range secrets {
				if strings.Contains(text, secret) {
					h.t.Errorf("a Slack message in %s shows the secret %q", channel, secret)
				}
			}
		}
	}
}

// waitThread waits until cond holds for the bot's messages in the thread and returns them.
func (h *harness) waitThread(channel, threadTS string, cond func([]fakeslack.Message) bool) []fakeslack.Message {
	h.t.Helper()
	var replies []fakeslack.Message
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	err := h.slack.Wait(ctx, func(*fakeslack.Server) bool {
		replies = h.botReplies(channel, threadTS)
		return cond(replies)
	})
	if err != nil {
		h.t.Fatalf("bot messages in thread %s never reached the expected state; slack: %s",
			threadTS, h.slack.Summary())
	}
	return replies
}

// numberedAnswer returns Markdown of at least n characters: paragraphs of the words
// w00001, w00002, … in order, and the number of words.
func numberedAnswer(n int) (string, int) {
	var b strings.Builder
	words := 0
	for b.Len() < n {
		words++
		b.WriteString(fmt.Sprintf("w%05d", words))
		if words%40 == 0 {
			b.WriteString("\n\n")
		} else {
			b.WriteString(" ")
		}
	}
	return b.String(), words
}

var numberedWord = regexp.MustCompile(`w(\d{5})`)

// wordsInOrder reports whether text contains the words w00001 to wN, each once, in order.
func wordsInOrder(text string, n int) bool {
	found := numberedWord.FindAllStringSubmatch(text, -1)
	if len(found) != n {
		return false
	}
	for i, match := range found {
		if k, _ := strconv.Atoi(match[1]); k != i+1 {
			return false
		}
	}
	return true
}

func joinedText(replies []fakeslack.Message) string {
	texts := make([]string, 0, len(replies))
	for _, r := range replies {
		texts = append(texts, r.VisibleText())
	}
	return strings.Join(texts, "\n")
}

// noPlaceholder reports whether no message shows the placeholder.
func noPlaceholder(replies []fakeslack.Message) bool {
	for _, r := range replies {
		if strings.Contains(r.VisibleText(), placeholder) {
			return false
		}
	}
	return true
}

func TestLongAnswerSplitWithinLimit(t *testing.T) {
	tests := []struct {
		name   string
		chars  int
		deltas int
	}{
		{"4500 characters in one delta", 4500, 1},
		{"4500 characters streamed", 4500, 9},
		{"45000 characters streamed", 45000, 60},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newFieldHarness(t)
			h.start()
			answer, words := numberedAnswer(tt.chars)
			h.tess.Queue(faketess.Script{Deltas: faketess.SplitText(answer, tt.deltas)})

			ts := h.mention("write a lot", "")
			replies := h.waitThread(channelID, ts, func(r []fakeslack.Message) bool {
				return noPlaceholder(r) && wordsInOrder(joinedText(r), words)
			})

			if least := (tt.chars + slackTextLimit - 1) / slackTextLimit; len(replies) < least {
				t.Errorf("answer of %d characters in %d messages, want at least %d", tt.chars, len(replies), least)
			}
			for i, r := range replies {
				for j, v := range r.Versions {
					if n := utf8.RuneCountInString(v.Text); n > slackTextLimit {
						t.Errorf("message %d version %d has %d characters, over %d", i, j, n, slackTextLimit)
					}
				}
			}
			for _, method := range []string{"chat.postMessage", "chat.update"} {
				if c := h.slack.Count(method); c.Errors != 0 {
					t.Errorf("%s got %d errors, want none: the bot relied on msg_too_long", method, c.Errors)
				}
			}
		})
	}
}

func TestOneDeltaAnswerPostedOnce(t *testing.T) {
	h := newFieldHarness(t, fakeslack.WithEcho())
	h.start()
	h.tess.Queue(faketess.Script{Deltas: []string{"OK."}})

	ts := h.mention("ok?", "")
	h.waitReplyText(channelID, ts, 0, "OK.")
	// A later turn of the thread runs after every write of the first one was made.
	h.mention("barrier", ts)
	h.waitReplyText(channelID, ts, 1, rendered("barrier")[0])

	replies := h.botReplies(channelID, ts)
	if len(replies) != 2 {
		t.Fatalf("bot posted %d messages, want one per turn", len(replies))
	}
	if got := replies[0].VisibleText(); got != "OK." {
		t.Errorf("first reply = %q, want %q", got, "OK.")
	}
	if n := h.slack.Count("chat.postMessage").Calls; n != 2 {
		t.Errorf("chat.postMessage calls = %d, want 2: one placeholder per turn", n)
	}
	if n := h.slack.Count("chat.delete").Calls; n != 0 {
		t.Errorf("chat.delete calls = %d, want none", n)
	}
}

func TestHalfLinkNeverShown(t *testing.T) {
	h := newFieldHarness(t)
	h.start()
	hold := make(chan struct{})
	h.tess.Queue(faketess.Script{
		Deltas:    []string{"Read [docs](https://exa", "mple.com/guide) first."},
		Hold:      hold,
		HoldAfter: 1,
	})

	ts := h.mention("where are the docs?", "")
	h.waitReplyText(channelID, ts, 0, partial("Read [docs](https://exa"))
	close(hold)
	want := rendered("Read [docs](https://example.com/guide) first.")[0]
	reply := h.waitReplyText(channelID, ts, 0, want)

	for i, v := range reply.Versions {
		text := v.Text
		if strings.Contains(text, "https://exa") && !strings.Contains(text, "<https://example.com/guide|docs>") {
			t.Errorf("version %d shows a half link: %q", i, text)
		}
		if strings.Contains(text, "](") || strings.Contains(text, "[docs") {
			t.Errorf("version %d shows Markdown link syntax: %q", i, text)
		}
	}
}

// showsStopButton reports whether m shows an actions block, such as the Stop button.
func showsStopButton(m fakeslack.Message) bool {
	return strings.Contains(m.Blocks, `"type":"actions"`)
}

// fenceCount returns how many lines of text are code fences.
func fenceCount(text string) int {
	n := 0
	for _, line := range strings.Split(text, "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), "```") {
			n++
		}
	}
	return n
}

func TestCodeRendersAsCodeInEveryPart(t *testing.T) {
	var code strings.Builder
	lines := 0
	for code.Len() < 5400 {
		lines++
		fmt.Fprintf(&code, "echo \"line %04d of the script\" >> /tmp/out.log\n", lines)
	}
	tests := []struct {
		name   string
		deltas []string
		want   []string // lines that must appear, in order, inside code
	}{
		{"5400 characters of bash", faketess.SplitText("```bash\n"+code.String()+"```\n", 12),
			[]string{"line 0001 of", fmt.Sprintf("line %04d of", lines)}},
		{"stream ends inside a python fence", []string{"Here:\n\n```python\nprint(1)\n", "x = 2\n"},
			[]string{"print(1)", "x = 2"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newFieldHarness(t)
			h.start()
			h.tess.Queue(faketess.Script{Deltas: tt.deltas})

			ts := h.mention("show me code", "")
			last := tt.want[len(tt.want)-1]
			replies := h.waitThread(channelID, ts, func(r []fakeslack.Message) bool {
				return noPlaceholder(r) && len(r) > 0 && strings.Contains(r[len(r)-1].VisibleText(), last)
			})

			for i, r := range replies {
				text := r.VisibleText()
				if n := fenceCount(text); n == 0 || n%2 != 0 {
					t.Errorf("message %d has %d fence lines, want an even number above zero:\n%s", i, n, text)
				}
				if strings.Contains(text, "```bash") || strings.Contains(text, "```python") {
					t.Errorf("message %d keeps the language tag, which Slack shows as code text", i)
				}
			}
			if len(replies) > 1 {
				for i, r := range replies {
					text := strings.TrimSpace(r.VisibleText())
					if i > 0 && !strings.HasPrefix(text, "```") {
						t.Errorf("message %d does not start inside the code block: %.60q", i, text)
					}
					if i < len(replies)-1 && !strings.HasSuffix(text, "```") {
						t.Errorf("message %d does not end by closing the code block", i)
					}
				}
			}
			joined := joinedText(replies)
			at := 0
			for _, want := range tt.want {
				i := strings.Index(joined[at:], want)
				if i < 0 {
					t.Fatalf("%q missing or out of order in the reply", want)
				}
				at += i
			}
			if n := strings.Count(joined, "line "); tt.name == "5400 characters of bash" && n != lines {
				t.Errorf("reply has %d script lines, want %d", n, lines)
			}
		})
	}
}

// sectionTexts returns the text of each section block of the blocks JSON raw.
func sectionTexts(t *testing.T, raw string) []string {
	t.Helper()
	if raw == "" {
		return nil
	}
	var blocks []struct {
		Type string `json:"type"`
		Text struct {
			Text string `json:"text"`
		} `json:"text"`
	}
	if err := json.Unmarshal([]byte(raw), &blocks); err != nil {
		t.Fatalf("blocks %q: %v", raw, err)
	}
	var texts []string
	for _, b := range blocks {
		if b.Type == "section" {
			texts = append(texts, b.Text.Text)
		}
	}
	return texts
}

func TestFrozenFirstPartDropsStopButton(t *testing.T) {
	var code strings.Builder
	for i := 1; code.Len() < 3800; i++ {
		fmt.Fprintf(&code, "echo \"line %04d of the script\" >> /tmp/out.log\n", i)
	}
	h := newFieldHarness(t)
	h.start()
	hold := make(chan struct{})
	h.tess.Queue(faketess.Script{
		Deltas:    []string{"```bash\n" + code.String() + "```\n\n", "The script writes the log."},
		Hold:      hold,
		HoldAfter: 1,
	})

	ts := h.mention("show me code", "")
	// The code block fills the first message, which is final before the answer ends.
	h.waitThread(channelID, ts, func(r []fakeslack.Message) bool { return len(r) == 2 })
	close(hold)
	replies := h.waitThread(channelID, ts, func(r []fakeslack.Message) bool {
		return len(r) == 2 && strings.Contains(r[1].VisibleText(), "writes the log")
	})
	h.mention("barrier", ts)
	h.waitReplyText(channelID, ts, 2, rendered("barrier")[0])
	replies = h.botReplies(channelID, ts)[:2]

	for i, r := range replies {
		if showsStopButton(r) {
			t.Errorf("message %d keeps the Stop button after the answer ended", i)
		}
		for j, section := range sectionTexts(t, r.Blocks) {
			if n := fenceCount(section); n%2 != 0 {
				t.Errorf("message %d section %d has %d fence lines, so its code does not render as code", i, j, n)
			}
		}
	}
}
