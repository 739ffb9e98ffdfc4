package scheduler

import (
	"slices"
	"testing"
	"time"

	"github.com/tessbot/tessbot/internal/fakeslack"
)

// benchResult contains the figures of one run, or their sum over several runs.
type benchResult struct {
	replies     float64
	calls       float64 // chat.postMessage and chat.update, 429s included
	rateLimited float64 // calls rejected with HTTP 429
	wrong       float64 // replies whose visible final text differs from the expected one
	firstP50    float64 // seconds from the first delta to the first visible text
	firstP95    float64
	allFinal    float64 // seconds from the start until every final text was visible
	bound       float64 // lower bound of allFinal that the fake's budget allows
	cpu         float64 // seconds of CPU used by the whole process, fakes included
	memory      memoryPerReply
}

// memoryPerReply is the growth of live heap and RSS per reply in flight, in bytes.
type memoryPerReply struct {
	heap float64
	rss  float64
}

func (r *benchResult) add(o benchResult) {
	r.replies += o.replies
	r.calls += o.calls
	r.rateLimited += o.rateLimited
	r.wrong += o.wrong
	r.firstP50 += o.firstP50
	r.firstP95 += o.firstP95
	r.allFinal += o.allFinal
	r.bound += o.bound
	r.cpu += o.cpu
	r.memory.heap += o.memory.heap
	r.memory.rss += o.memory.rss
}

// report writes the mean over runs of every figure.
func (r benchResult) report(b *testing.B, runs, scale float64) {
	if r.wrong > 0 {
		b.Errorf("%v replies ended with a lost or wrong final text", r.wrong)
	}
	b.ReportMetric(r.calls/r.replies, "calls/reply")
	b.ReportMetric(r.rateLimited/runs, "429s")
	b.ReportMetric(100*r.rateLimited/r.calls, "429-%")
	b.ReportMetric(r.firstP50/runs, "first-text-p50-s")
	b.ReportMetric(r.firstP95/runs, "first-text-p95-s")
	b.ReportMetric(r.allFinal/runs, "all-final-s")
	b.ReportMetric(r.bound/runs, "bound-s")
	b.ReportMetric(r.allFinal/r.bound, "final-ratio")
	b.ReportMetric(r.cpu/runs, "cpu-s")
	b.ReportMetric(r.memory.heap/runs, "heap-B/reply")
	b.ReportMetric(r.memory.rss/runs, "rss-B/reply")
	b.ReportMetric(scale, "budget-scale")
}

// measure compares what the fake Slack shows with the expected final texts and derives
// the figures of a run from the versions of every message.
func measure(b *testing.B, srv *fakeslack.Server, replies []*benchReply, start time.Time, perSecond float64) benchResult {
	res := benchResult{replies: float64(len(replies))}
	var firstText []time.Duration
	var finishes []time.Time
	allFinal := start
	for i, rep := range replies {
		if rep.err != nil {
			b.Errorf("reply %d: %v", i, rep.err)
			res.wrong++
			continue
		}
		msgs := threadReplies(srv, rep.channel, rep.root)
		if !slices.Equal(visibleTexts(msgs), rep.want) {
			if res.wrong < 3 {
				b.Errorf("reply %d: visible %q, want %q", i, visibleTexts(msgs), rep.want)
			}
			res.wrong++
			continue
		}
		if at, ok := firstTextAt(msgs[0]); ok && !rep.firstDelta.IsZero() {
			firstText = append(firstText, at.Sub(rep.firstDelta))
		}
		for j, m := range msgs {
			if at, ok := versionAt(m, rep.want[j]); ok && at.After(allFinal) {
				allFinal = at
			}
		}
		finishes = append(finishes, rep.finished)
	}

	update, post := srv.Count("chat.update"), srv.Count("chat.postMessage")
	res.calls = float64(update.Calls + post.Calls)
	res.rateLimited = float64(update.RateLimited + post.RateLimited)
	res.firstP50 = percentile(firstText, 0.50).Seconds()
	res.firstP95 = percentile(firstText, 0.95).Seconds()
	res.allFinal = allFinal.Sub(start).Seconds()
	res.bound = finalBound(finishes, start, perSecond, benchUpdateBurst).Sub(start).Seconds()
	return res
}

// threadReplies returns the bot's messages in the thread rooted at root.
func threadReplies(srv *fakeslack.Server, channel, root string) []fakeslack.Message {
	var out []fakeslack.Message
	for _, m := range srv.Thread(channel, root) {
		if m.TS != root {
			out = append(out, m)
		}
	}
	return out
}

func visibleTexts(msgs []fakeslack.Message) []string {
	out := make([]string, len(msgs))
	for i, m := range msgs {
		out[i] = m.VisibleText()
	}
	return out
}

// firstTextAt returns when m first showed something other than the placeholder.
func firstTextAt(m fakeslack.Message) (time.Time, bool) {
	for _, v := range m.Versions {
		if v.Text != benchPlaceholder {
			return v.At, true
		}
	}
	return time.Time{}, false
}

// versionAt returns when m first showed text.
func versionAt(m fakeslack.Message, text string) (time.Time, bool) {
	for _, v := range m.Versions {
		if v.Text == text {
			return v.At, true
		}
	}
	return time.Time{}, false
}

// finalBound returns the earliest time at which every final text could be visible. Each
// reply needs one chat.update once its final text is known. The fake's token bucket is
// full at start, so it allows burst calls at once and perSecond after that.
func finalBound(finishes []time.Time, start time.Time, perSecond float64, burst int) time.Time {
	finishes = slices.Clone(finishes)
	slices.SortFunc(finishes, time.Time.Compare)
	tokens, at := float64(burst), start
	for _, f := range finishes {
		if f.After(at) {
			tokens = min(float64(burst), tokens+f.Sub(at).Seconds()*perSecond)
			at = f
		}
		if tokens < 1 {
			at = at.Add(time.Duration((1 - tokens) / perSecond * float64(time.Second)))
			tokens = 1
		}
		tokens--
	}
	return at
}

// percentile returns the p-quantile of ds by the nearest-rank method.
func percentile(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	ds = slices.Clone(ds)
	slices.Sort(ds)
	rank := int(p*float64(len(ds))+0.999999) - 1
	return ds[max(rank, 0)]
}
