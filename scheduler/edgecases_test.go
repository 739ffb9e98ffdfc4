package scheduler

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tessbot/tessbot/internal/fakeslack"
)

// checkThread fails t unless the thread of root shows want, one message per part, with
// no text posted twice.
func checkThread(t *testing.T, srv *fakeslack.Server, root string, want []string) {
	t.Helper()
	got := threadTexts(srv, "C1", root)
	if !slices.Equal(got, want) {
		t.Errorf("thread = %.60q, want %.60q", got, want)
	}
	posted := srv.Calls("chat.postMessage")
	seen := make(map[string]bool)
	for _, c := range posted {
		if c.Status != http.StatusOK || c.Error != "" {
			continue
		}
		text := c.Form.Get("text")
		if seen[text] {
			t.Errorf("text %.40q posted twice", text)
		}
		seen[text] = true
	}
}

func TestPartsGrowWhileUpdatesPaused(t *testing.T) {
	srv, client := newFakeWorkspace(t)
	srv.FailNext("chat.update", 1, fakeslack.Fault{Status: http.StatusTooManyRequests, RetryAfter: time.Second})
	s := startScheduler(t, client, fastConfig())

	root := srv.Seed(fakeslack.Msg{Channel: "C1", User: "U1", Text: "question"})
	r := s.Start("C1", root, "…")
	placeholderTS(t, r)
	final := []string{"part one", "part two", "part three", "part four"}
	r.Set(final[:1]) // rejected with 429: chat.update pauses for a second
	for n := 2; n <= len(final); n++ {
		r.Set(final[:n])
	}
	r.Finish(final)
	if err := waitReply(t, r); err != nil {
		t.Fatalf("wait: %v", err)
	}
	checkThread(t, srv, root, final)
}

func TestFinishBeforePlaceholderPosted(t *testing.T) {
	fake := newFakeSlack()
	release := make(chan struct{})
	fake.hook = func(c call) error {
		if c.method == "post" {
			<-release
		}
		return nil
	}
	s := startScheduler(t, fake, fastConfig())

	r := s.Start("C1", "100.000001", "…")
	r.Set([]string{"partial"})
	r.Finish([]string{"the answer"})
	close(release)
	if err := waitReply(t, r); err != nil {
		t.Fatalf("wait: %v", err)
	}
	if got := fake.visible("C1", "100.000001"); !slices.Equal(got, []string{"the answer"}) {
		t.Errorf("thread = %q, want the final text once", got)
	}
	if n := len(fake.recorded("")); n > 2 {
		t.Errorf("calls = %d, want at most a post and an edit", n)
	}
}

// syncedBy returns once Run has taken every text set before the call.
func syncedBy(t *testing.T, s *Scheduler, channel string) {
	t.Helper()
	placeholderTS(t, s.Start(channel, "100.000009", "…"))
}

func TestFinishFewerPartsNoStalePost(t *testing.T) {
	fake := newFakeSlack()
	cfg := fastConfig()
	cfg.PostsPerSecond = 5 // the second part waits for the channel's budget
	s := startScheduler(t, fake, cfg)

	r := s.Start("C1", "100.000001", "…")
	placeholderTS(t, r)
	r.Set([]string{"first", "draft of a second part"})
	syncedBy(t, s, "C2")
	r.Finish([]string{"first, final"})
	if err := waitReply(t, r); err != nil {
		t.Fatalf("wait: %v", err)
	}
	if got := fake.visible("C1", "100.000001"); !slices.Equal(got, []string{"first, final"}) {
		t.Errorf("thread = %q, want only the final part", got)
	}
}

func TestSameTextTwiceIsOneEdit(t *testing.T) {
	fake := newFakeSlack()
	s := startScheduler(t, fake, fastConfig())

	r := s.Start("C1", "100.000001", "…")
	ts := placeholderTS(t, r)
	r.Set([]string{"same"})
	syncedBy(t, s, "C2")
	r.Set([]string{"same"})
	r.Finish([]string{"same"})
	if err := waitReply(t, r); err != nil {
		t.Fatalf("wait: %v", err)
	}
	if got := texts(forMessage(fake.recorded("update"), ts)); !slices.Equal(got, []string{"same"}) {
		t.Errorf("edits = %q, want one", got)
	}
}

func TestPlaceholderRateLimitedIsRetried(t *testing.T) {
	srv, client := newFakeWorkspace(t)
	srv.FailNext("chat.postMessage", 1, fakeslack.Fault{Status: http.StatusTooManyRequests, RetryAfter: time.Second})
	s := startScheduler(t, client, fastConfig())

	root := srv.Seed(fakeslack.Msg{Channel: "C1", User: "U1", Text: "question"})
	r := s.Start("C1", root, "…")
	placeholderTS(t, r)
	r.Finish([]string{"answer"})
	if err := waitReply(t, r); err != nil {
		t.Fatalf("wait: %v", err)
	}
	checkThread(t, srv, root, []string{"answer"})
	srv.WaitFor(t, func(srv *fakeslack.Server) bool {
		return len(srv.Calls("chat.postMessage")) >= 2 // recorded after the response
	}, 10*time.Second)
	calls := srv.Calls("chat.postMessage")
	if len(calls) < 2 || calls[0].Status != http.StatusTooManyRequests {
		t.Fatalf("posts = %d, want a 429 then the placeholder", len(calls))
	}
	if gap := calls[1].At.Sub(calls[0].At); gap < time.Second {
		t.Errorf("placeholder posted again %v after the 429, inside its Retry-After", gap)
	}
}

func TestTooLongPartKeepsPartOrder(t *testing.T) {
	srv, client := newFakeWorkspace(t, fakeslack.WithUpdateTextLimit(200), fakeslack.WithPostTextLimit(200))
	s := startScheduler(t, client, fastConfig())

	root := srv.Seed(fakeslack.Msg{Channel: "C1", User: "U1", Text: "question"})
	r := s.Start("C1", root, "…")
	placeholderTS(t, r)
	srv.SetLatency("chat.update", 200*time.Millisecond) // the next part is posted meanwhile
	long := strings.Repeat("lorem ", 50)                // 300 runes: rejected as too long
	final := []string{long, "second part"}
	r.Finish(final)
	if err := waitReply(t, r); err != nil {
		t.Fatalf("wait: %v", err)
	}
	got := threadTexts(srv, "C1", root)
	if joined := strings.Join(got, ""); joined != strings.Join(final, "") {
		t.Errorf("thread = %q, want the parts in order", got)
	}
}

func TestRunCancelledWithWritesInFlight(t *testing.T) {
	fake := newFakeSlack()
	entered := make(chan struct{}, 10)
	release := make(chan struct{})
	fake.hook = func(c call) error {
		if c.method == "update" {
			entered <- struct{}{}
			<-release
		}
		return nil
	}
	before := runtime.NumGoroutine()
	s := New(fake, fastConfig())
	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan error, 1)
	go func() { stopped <- s.Run(ctx) }()

	r := s.Start("C1", "100.000001", "…")
	placeholderTS(t, r)
	r.Set([]string{"partial"})
	<-entered
	cancel()
	close(release)
	if err := <-stopped; err != nil {
		t.Fatalf("run: %v", err)
	}
	r.Finish([]string{"late final"})
	if err := waitReply(t, r); !errors.Is(err, ErrStopped) {
		t.Errorf("wait = %v, want ErrStopped", err)
	}
	if n := len(fake.recorded("update")); n != 1 {
		t.Errorf("updates = %d, want only the one in flight", n)
	}
	deadline := time.Now().Add(10 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		runtime.Gosched()
	}
	if n := runtime.NumGoroutine(); n > before {
		t.Errorf("goroutines = %d after Run returned, want at most %d", n, before)
	}
}

func TestPostsPerChannelKeepLimiterSpacing(t *testing.T) {
	fake := newFakeSlack()
	cfg := fastConfig()
	cfg.PostsPerSecond = 20
	s := startScheduler(t, fake, cfg)

	var replies []*Reply
	for i := range 6 {
		replies = append(replies, s.Start("C1", fmt.Sprintf("100.%06d", i), "…"))
	}
	other := s.Start("C2", "100.000001", "…")
	for _, r := range append(replies, other) {
		r.Finish([]string{"done"})
	}
	for _, r := range append(replies, other) {
		if err := waitReply(t, r); err != nil {
			t.Fatalf("wait: %v", err)
		}
	}

	var posts []call
	for _, c := range fake.recorded("post") {
		if c.channel == "C1" {
			posts = append(posts, c)
		}
	}
	if len(posts) != len(replies) {
		t.Fatalf("posts in C1 = %d, want %d", len(posts), len(replies))
	}
	// The limiter admits n posts no sooner than n-1 intervals after the first. Call start
	// times trail dispatch by a goroutine switch, so one interval is left as slack.
	interval := time.Second / time.Duration(cfg.PostsPerSecond)
	span := posts[len(posts)-1].start.Sub(posts[0].start)
	if least := time.Duration(len(posts)-2) * interval; span < least {
		t.Errorf("%d posts in C1 within %v, faster than %v apart", len(posts), span, interval)
	}
}

func TestConstantTextDoesNotStarveFinals(t *testing.T) {
	fake := newFakeSlack()
	limiter := newStepLimiter(100)
	cfg := fastConfig()
	cfg.UpdateLimiter = limiter
	s := startScheduler(t, fake, cfg)

	busy := s.Start("C0", "100.000001", "…")
	placeholderTS(t, busy)
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
				busy.Set([]string{fmt.Sprintf("text %d", i)})
				select {
				case limiter.grant <- struct{}{}:
				default:
				}
				time.Sleep(time.Millisecond) // deltas arrive over time, as from a stream
			}
		}
	}()

	var replies []*Reply
	for i := range 5 {
		r := s.Start(fmt.Sprintf("C%d", i+1), "100.000001", "…")
		placeholderTS(t, r)
		r.Finish([]string{"final"})
		replies = append(replies, r)
	}
	for i, r := range replies {
		if err := waitReply(t, r); err != nil {
			t.Fatalf("reply %d: %v", i, err)
		}
	}
}
