package scheduler

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/slack-go/slack"
)

// heldSlack returns from chat.postMessage at once and blocks every chat.update until
// release is closed, so that replies stay in flight with text pending.
type heldSlack struct {
	next    atomic.Int64
	release chan struct{}
}

func (h *heldSlack) PostMessageContext(ctx context.Context, channel string, options ...slack.MsgOption) (string, string, error) {
	return channel, fmt.Sprintf("1700000000.%06d", h.next.Add(1)), nil
}

func (h *heldSlack) UpdateMessageContext(ctx context.Context, channel, ts string, options ...slack.MsgOption) (string, string, string, error) {
	select {
	case <-h.release:
	case <-ctx.Done():
	}
	return channel, ts, "", nil
}

// BenchmarkReplyMemory measures the scheduler's own heap per reply in flight, beyond the
// text: the texts exist before the baseline sample, and Set passes substrings of them.
func BenchmarkReplyMemory(b *testing.B) {
	const replies = 500
	texts := make([]string, replies)
	for i := range texts {
		texts[i] = strings.Repeat(fmt.Sprintf("*r%d* word ", i), 150)
	}
	var perReply float64
	for range b.N {
		perReply += replyMemory(b, texts)
	}
	b.ReportMetric(perReply/float64(b.N), "heap-B/reply")
}

func replyMemory(b *testing.B, texts []string) float64 {
	api := &heldSlack{release: make(chan struct{})}
	s := New(api, Config{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = s.Run(ctx)
	}()
	defer func() {
		close(api.release)
		cancel()
		<-done
	}()

	base := sampleMemory()
	rs := make([]*Reply, len(texts))
	for i := range rs {
		rs[i] = s.Start(fmt.Sprintf("C%04d", i), "100.000001", benchPlaceholder)
		if _, err := rs[i].PlaceholderTS(ctx); err != nil {
			b.Fatalf("placeholder ts: %v", err)
		}
	}
	for k := 1; k <= benchDeltas; k++ {
		for i, r := range rs {
			r.Set([]string{texts[i][:len(texts[i])*k/benchDeltas]})
		}
	}
	mid := sampleMemory()
	mid.replies = int64(len(rs))
	return mid.perReply(base).heap
}
