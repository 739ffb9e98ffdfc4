package bot_test

import (
	"os"
	"strings"
	"testing"

	"github.com/tessbot/tessbot/internal/fakeslack"
	"github.com/tessbot/tessbot/internal/faketess"
	"github.com/tessbot/tessbot/mrkdwn"
)

// TestLongCodeAnswerArrivesAsParts streams a 10,000-character answer with a long code block
// through the bot and checks that Slack ends up with exactly the parts the renderer makes
// of the whole answer, each within the limit and in thread order.
func TestLongCodeAnswerArrivesAsParts(t *testing.T) {
	raw, err := os.ReadFile("../mrkdwn/testdata/long_code.md")
	if err != nil {
		t.Fatal(err)
	}
	answer := string(raw)
	if len(answer) < 10000 {
		t.Fatalf("answer has %d bytes, want at least 10,000", len(answer))
	}
	want := mrkdwn.Split(answer, mrkdwn.DefaultLimit)
	if len(want) < 3 {
		t.Fatalf("the renderer made %d parts, want at least 3 for this test to mean anything", len(want))
	}

	h := newFieldHarness(t)
	h.start()
	h.tess.Queue(faketess.Script{Deltas: faketess.SplitText(answer, 80)})
	ts := h.mention("write the migration script", "")
	// The first message shows the Stop button until the final write clears it, so wait for
	// every message, not only the last, to show its final text.
	replies := h.waitThread(channelID, ts, func(r []fakeslack.Message) bool {
		if !noPlaceholder(r) || len(r) != len(want) {
			return false
		}
		for i := range r {
			if r[i].VisibleText() != want[i] {
				return false
			}
		}
		return true
	})

	for i, r := range replies {
		got := r.VisibleText()
		if got != want[i] {
			at := firstDifference(got, want[i])
			t.Errorf("message %d differs from part %d of the rendered answer at byte %d:\ngot  %.80q\nwant %.80q",
				i, i, at, got[at:], want[i][at:])
		}
		if n := mrkdwn.Length(got); n > mrkdwn.DefaultLimit {
			t.Errorf("message %d has %d characters, over the limit of %d", i, n, mrkdwn.DefaultLimit)
		}
		if n := strings.Count(got, "```"); n%2 != 0 {
			t.Errorf("message %d has %d fence markers, so a code block is left open", i, n)
		}
	}
}

// firstDifference returns the index of the first byte where a and b differ.
func firstDifference(a, b string) int {
	n := min(len(a), len(b))
	for i := range n {
		if a[i] != b[i] {
			return i
		}
	}
	return n
}
