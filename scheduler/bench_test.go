package scheduler

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/slack-go/slack"

	"github.com/tessbot/tessbot/internal/fakeslack"
	"github.com/tessbot/tessbot/internal/faketess"
	"github.com/tessbot/tessbot/mrkdwn"
	"github.com/tessbot/tessbot/tess"
)

var (
	realBudget = flag.Bool("realbudget", false,
		"run BenchmarkConcurrentReplies at 50 chat.update a minute for every size, without time "+
			"compression; 500 replies then take about 10 minutes, so raise -timeout")
	midHeapProfile = flag.String("midheapprofile", "",
		"write a heap profile taken mid-stream to this file, suffixed with the number of replies")
)

// Benchmark workload and budget. The fake Slack allows benchUpdateBurst calls at once, and
// the scheduler is configured with one token less. Calls reach the fake with varying
// latency, so a call that overtakes the one sent before it can find the fake's bucket just
// short of a token. The spare token absorbs that.
const (
	benchDeltas         = 60
	benchDeltaInterval  = 100 * time.Millisecond // 60 deltas over 6 s
	benchUpdatesPerMin  = 50.0
	benchUpdateBurst    = 5
	benchPlaceholder    = "Thinking…"
	benchMidStreamDelay = 3 * time.Second // when memory is sampled, all replies in flight
)

// BenchmarkConcurrentReplies streams replies from the fake Tess API through tess.Client,
// mrkdwn.Stream and the scheduler to a real *slack.Client. The fake Slack behind it rejects
// chat.update calls beyond its budget with HTTP 429.
func BenchmarkConcurrentReplies(b *testing.B) {
	for _, n := range []int{1, 10, 100, 500} {
		b.Run(fmt.Sprintf("replies=%d", n), func(b *testing.B) {
			scale := budgetScale(n)
			var sum benchResult
			for range b.N {
				sum.add(runReplies(b, n, scale))
			}
			sum.report(b, float64(b.N), scale)
		})
	}
}

// budgetScale returns the factor by which a run multiplies the chat.update rate of both
// the fake and the scheduler, so that 100 and 500 replies finish in about a minute
// instead of 2 and 10.
func budgetScale(replies int) float64 {
	switch {
	case *realBudget || replies <= 10:
		return 1
	case replies <= 100:
		return 2
	default:
		return 10
	}
}

// benchReply is what one reply of a run recorded on the bot's side.
type benchReply struct {
	channel    string
	root       string
	want       []string  // expected final parts
	firstDelta time.Time // first progress from Tess
	finished   time.Time // Finish called with the final text
	err        error
}

// runReplies runs n concurrent replies against fresh fakes and measures them.
func runReplies(b *testing.B, n int, scale float64) benchResult {
	b.Helper()
	perMinute := benchUpdatesPerMin * scale
	p := newBenchPipeline(b, n, perMinute)
	replies := p.seed(n)

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	stopRun := runScheduler(ctx, p.sched)
	defer stopRun()

	base := sampleMemory()
	cpuBefore := cpuTime()
	var inFlight atomic.Int64
	b.ResetTimer()
	start := time.Now()
	mid := sampleMidStream(b, n, &inFlight)

	var wg sync.WaitGroup
	for i, rep := range replies {
		inFlight.Add(1)
		wg.Go(func() {
			defer inFlight.Add(-1)
			rep.err = streamReply(ctx, p.sched, p.tess, rep, i)
		})
	}
	wg.Wait()
	b.StopTimer()

	res := measure(b, p.slack, replies, start, perMinute/60)
	res.memory = (<-mid).perReply(base)
	res.cpu = (cpuTime() - cpuBefore).Seconds()
	return res
}

// benchPipeline is the fake Tess API, the fake Slack and the bot's side between them.
type benchPipeline struct {
	slack *fakeslack.Server
	tess  *tess.Client
	sched *Scheduler
}

func newBenchPipeline(b *testing.B, n int, perMinute float64) benchPipeline {
	tessSrv := faketess.New(b, faketess.WithDefaultScript(benchScript))
	slackSrv := fakeslack.New(b,
		fakeslack.WithRateLimit("chat.update", perMinute, benchUpdateBurst),
		fakeslack.WithoutCallLog())

	tessClient := tess.New(tess.Config{
		BaseURL:           tessSrv.URL,
		APIKey:            tessSrv.APIKey,
		HTTPClient:        &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: n}},
		RequestsPerSecond: math.Inf(1),
		Logger:            slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	slackClient := slack.New(slackSrv.BotToken(),
		slack.OptionAPIURL(slackSrv.APIURL()),
		slack.OptionHTTPClient(&http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 16}}))
	sched := New(slackClient, Config{
		UpdatesPerMinute: perMinute,
		UpdateBurst:      benchUpdateBurst - 1,
		Logger:           slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	return benchPipeline{slack: slackSrv, tess: tessClient, sched: sched}
}

// seed stores the question of each of n replies, each in its own channel.
func (p benchPipeline) seed(n int) []*benchReply {
	replies := make([]*benchReply, n)
	for i := range replies {
		channel := fmt.Sprintf("C%04d", i)
		root := p.slack.Seed(fakeslack.Msg{Channel: channel, User: "U1", Text: benchQuestion(i)})
		replies[i] = &benchReply{channel: channel, root: root, want: benchFinal(i)}
	}
	return replies
}

// runScheduler starts s.Run and returns a function that stops it and waits for it.
func runScheduler(ctx context.Context, s *Scheduler) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = s.Run(ctx)
	}()
	return func() {
		cancel()
		<-done
	}
}

// sampleMidStream samples memory benchMidStreamDelay from now, when every reply is in
// flight, and writes a heap profile when -midheapprofile is set.
func sampleMidStream(b *testing.B, n int, inFlight *atomic.Int64) <-chan memorySample {
	mid := make(chan memorySample, 1)
	go func() {
		time.Sleep(benchMidStreamDelay)
		sample := sampleMemory()
		sample.replies = inFlight.Load()
		if *midHeapProfile != "" {
			writeHeapProfile(b, fmt.Sprintf("%s.%d", *midHeapProfile, n))
		}
		mid <- sample
	}()
	return mid
}

// streamReply runs one reply as the bot does: placeholder, text as it arrives, final text.
func streamReply(ctx context.Context, sched *Scheduler, client *tess.Client, rep *benchReply, i int) error {
	r := sched.Start(rep.channel, rep.root, benchPlaceholder)
	if _, err := r.PlaceholderTS(ctx); err != nil {
		return fmt.Errorf("placeholder: %w", err)
	}
	stream := mrkdwn.NewStream(mrkdwn.DefaultLimit)
	req := tess.ExecuteRequest{AgentID: "1", Message: benchQuestion(i)}
	result, err := client.Execute(ctx, req, func(p tess.Progress) {
		if rep.firstDelta.IsZero() {
			rep.firstDelta = time.Now()
		}
		r.Set(stream.Update(p.Text, false))
	})
	if err != nil {
		return fmt.Errorf("execute: %w", err)
	}
	rep.finished = time.Now()
	r.Finish(stream.Update(result.Text, true))
	return r.Wait(ctx)
}

func benchQuestion(i int) string {
	return fmt.Sprintf("question %d", i)
}

// benchMarkdown returns the 60 deltas of the answer to question i. Each reply has its own
// text, so that a text sent to the wrong message shows as a wrong final text.
func benchMarkdown(i int) []string {
	deltas := make([]string, benchDeltas)
	for k := range deltas {
		deltas[k] = fmt.Sprintf("**r%d** word%02d and `code%d` ", i, k, k)
		if k%10 == 9 {
			deltas[k] += "\n\n"
		}
	}
	return deltas
}

// benchFinal returns the expected final parts of reply i.
func benchFinal(i int) []string {
	return mrkdwn.NewStream(mrkdwn.DefaultLimit).Update(strings.Join(benchMarkdown(i), ""), true)
}

// benchScript makes the fake Tess answer each question with its reply's deltas.
func benchScript(rec faketess.ExecuteRecord) faketess.Script {
	i := -1
	if len(rec.Messages) > 0 {
		i, _ = strconv.Atoi(strings.TrimPrefix(rec.Messages[len(rec.Messages)-1].Content, "question "))
	}
	return faketess.Script{Deltas: benchMarkdown(i), Delay: benchDeltaInterval}
}

// memorySample is the live heap, as marked by a collection, and the resident set size.
type memorySample struct {
	heap    uint64
	rss     uint64
	replies int64
}

// sampleMemory collects garbage, returns freed memory to the system and samples. The heap
// figure is what that collection marked live, so allocations racing with it do not count.
func sampleMemory() memorySample {
	runtime.GC()
	debug.FreeOSMemory()
	live := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	metrics.Read(live)
	return memorySample{heap: live[0].Value.Uint64(), rss: readRSS()}
}

// perReply returns the growth from base divided by the replies in flight.
func (m memorySample) perReply(base memorySample) memoryPerReply {
	if m.replies <= 0 {
		return memoryPerReply{}
	}
	growth := func(now, before uint64) float64 {
		if now < before {
			return 0
		}
		return float64(now-before) / float64(m.replies)
	}
	return memoryPerReply{heap: growth(m.heap, base.heap), rss: growth(m.rss, base.rss)}
}

// readRSS returns the resident set size of this process from /proc/self/status, or 0 on
// systems without it.
func readRSS() uint64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for line := range strings.Lines(string(data)) {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.ParseUint(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return kb * 1024
		}
	}
	return 0
}

// writeHeapProfile writes the current heap profile to path.
func writeHeapProfile(b *testing.B, path string) {
	f, err := os.Create(path)
	if err != nil {
		b.Errorf("heap profile: %v", err)
		return
	}
	defer f.Close()
	if err := pprof.WriteHeapProfile(f); err != nil {
		b.Errorf("heap profile: %v", err)
	}
}

// cpuTime returns the user and system CPU time of this process so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
