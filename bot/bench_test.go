package bot_test

import (
	"fmt"
	"testing"
	"time"
)

// BenchmarkMentionToFinalReply measures one turn through the whole bot: a mention over
// Socket Mode, the placeholder, a three-delta answer from the fake Tess, and the final
// text visible in the fake Slack.
func BenchmarkMentionToFinalReply(b *testing.B) {
	h := newHarness(b)
	h.start()

	start := time.Now()
	for i := 0; b.Loop(); i++ {
		text := fmt.Sprintf("question %d", i)
		ts := h.mention(text, "")
		h.waitReplyText(channelID, ts, 0, rendered(text)[0])
	}
	b.ReportMetric(float64(time.Since(start).Milliseconds())/float64(b.N), "ms/turn")
}
