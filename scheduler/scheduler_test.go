package scheduler

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestReplyFinishBeforeFirstEditIsOneUpdate(t *testing.T) {
	fake := newFakeSlack()
	cfg := fastConfig()
	cfg.EditInterval = time.Hour
	s := startScheduler(t, fake, cfg)

	r := s.Start("C1", "100.000001", "Thinking…")
	ts := placeholderTS(t, r)
	r.Set([]string{"O"})
	r.Set([]string{"OK"})
	r.Finish([]string{"OK."})
	if err := waitReply(t, r); err != nil {
		t.Fatalf("wait: %v", err)
	}

	posts, updates := fake.recorded("post"), fake.recorded("update")
	if len(posts) != 1 || posts[0].text != "Thinking…" {
		t.Errorf("posts = %q, want only the placeholder", texts(posts))
	}
	if len(updates) != 1 || updates[0].text != "OK." || updates[0].ts != ts {
		t.Errorf("updates = %q, want one update of %s to %q", texts(updates), ts, "OK.")
	}
	if got := fake.visible("C1", "100.000001"); !slices.Equal(got, []string{"OK."}) {
		t.Errorf("visible = %q, want one message %q", got, "OK.")
	}
}

func TestReplyPlaceholderInThread(t *testing.T) {
	fake := newFakeSlack()
	s := startScheduler(t, fake, fastConfig())

	r := s.Start("C1", "100.000001", "Thinking…")
	ts := placeholderTS(t, r)

	posts := fake.recorded("post")
	if len(posts) != 1 {
		t.Fatalf("posts = %d, want 1", len(posts))
	}
	if posts[0].threadTS != "100.000001" {
		t.Errorf("thread_ts = %q, want %q", posts[0].threadTS, "100.000001")
	}
	if posts[0].ts != ts {
		t.Errorf("placeholder ts = %q, want %q", ts, posts[0].ts)
	}
}

func TestReplyTextIsNotEscapedAgain(t *testing.T) {
	fake := newFakeSlack()
	s := startScheduler(t, fake, fastConfig())

	const text = "*bold* &lt;tag&gt; <https://example.com|link>"
	r := s.Start("C1", "100.000001", "…")
	r.Finish([]string{text})
	if err := waitReply(t, r); err != nil {
		t.Fatalf("wait: %v", err)
	}
	if got := fake.visible("C1", "100.000001"); !slices.Equal(got, []string{text}) {
		t.Errorf("visible = %q, want %q", got, text)
	}
}

func TestReplyNewestTextWins(t *testing.T) {
	fake := newFakeSlack()
	started := make(chan call, 10)
	release := make(chan struct{})
	fake.hook = func(c call) error {
		if c.method == "update" {
			started <- c
			if c.text == "a" {
				<-release
			}
		}
		return nil
	}
	s := startScheduler(t, fake, fastConfig())

	r := s.Start("C1", "100.000001", "…")
	placeholderTS(t, r)
	r.Set([]string{"a"})
	if c := <-started; c.text != "a" {
		t.Fatalf("first update = %q, want %q", c.text, "a")
	}
	r.Set([]string{"a b"})
	r.Set([]string{"a b c"})
	r.Set([]string{"a b c d"})
	close(release)
	if c := <-started; c.text != "a b c d" {
		t.Errorf("second update = %q, want the newest text %q", c.text, "a b c d")
	}

	r.Finish([]string{"a b c d e"})
	if err := waitReply(t, r); err != nil {
		t.Fatalf("wait: %v", err)
	}
	for _, c := range fake.recorded("update") {
		if c.text == "a b" || c.text == "a b c" {
			t.Errorf("superseded text %q was sent", c.text)
		}
	}
	if got := fake.visible("C1", "100.000001"); !slices.Equal(got, []string{"a b c d e"}) {
		t.Errorf("visible = %q, want the final text", got)
	}
}

func TestReplySetDoesNotBlockOnSlack(t *testing.T) {
	fake := newFakeSlack()
	release := make(chan struct{})
	fake.hook = func(c call) error {
		<-release
		return nil
	}
	s := startScheduler(t, fake, fastConfig())

	r := s.Start("C1", "100.000001", "…")
	// Every Slack call blocks until release, so these return only if Set and Finish
	// never wait for Slack.
	for _, text := range growing(1000) {
		r.Set([]string{text})
	}
	final := growing(1001)[1000]
	r.Finish([]string{final})
	close(release)

	if err := waitReply(t, r); err != nil {
		t.Fatalf("wait: %v", err)
	}
	if got := fake.visible("C1", "100.000001"); !slices.Equal(got, []string{final}) {
		t.Errorf("visible = %q, want the final text", got)
	}
	if n := len(fake.recorded("")); n > 3 {
		t.Errorf("calls = %d, want at most 3 after coalescing", n)
	}
}

func TestReplyEmptyFinishReplacesPlaceholder(t *testing.T) {
	tests := []struct {
		name  string
		parts []string
	}{
		{"no parts", nil},
		{"empty part", []string{""}},
		{"blank part", []string{" \n"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := newFakeSlack()
			cfg := fastConfig()
			cfg.EmptyText = "No answer."
			s := startScheduler(t, fake, cfg)

			r := s.Start("C1", "100.000001", "Thinking…")
			r.Finish(tt.parts)
			if err := waitReply(t, r); err != nil {
				t.Fatalf("wait: %v", err)
			}
			got := fake.visible("C1", "100.000001")
			if !slices.Equal(got, []string{"No answer."}) {
				t.Errorf("visible = %q, want %q", got, "No answer.")
			}
		})
	}
}

func TestReplyMultipleParts(t *testing.T) {
	fake := newFakeSlack()
	s := startScheduler(t, fake, fastConfig())

	r := s.Start("C1", "100.000001", "…")
	r.Set([]string{"part one"})
	r.Set([]string{"part one, complete", "part t"})
	r.Set([]string{"part one, complete", "part two, complete", "part th"})
	r.Finish([]string{"part one, complete", "part two, complete", "part three"})
	if err := waitReply(t, r); err != nil {
		t.Fatalf("wait: %v", err)
	}

	want := []string{"part one, complete", "part two, complete", "part three"}
	if got := fake.visible("C1", "100.000001"); !slices.Equal(got, want) {
		t.Errorf("visible = %q, want %q", got, want)
	}
	for _, c := range fake.recorded("post") {
		if c.threadTS != "100.000001" {
			t.Errorf("post %q went to thread_ts %q, want the reply's thread", c.text, c.threadTS)
		}
	}
}

func TestReplyTimestamps(t *testing.T) {
	fake := newFakeSlack()
	s := startScheduler(t, fake, fastConfig())

	r := s.Start("C1", "100.000001", "…")
	ts := placeholderTS(t, r)
	if got := r.Timestamps(); !slices.Equal(got, []string{ts}) {
		t.Errorf("Timestamps after the placeholder = %q, want %q", got, []string{ts})
	}
	r.Finish([]string{"part one", "part two", "part three"})
	if err := waitReply(t, r); err != nil {
		t.Fatalf("wait: %v", err)
	}

	posts := fake.recorded("post")
	if len(posts) != 3 {
		t.Fatalf("posts = %q, want the placeholder and two parts", texts(posts))
	}
	want := []string{posts[0].ts, posts[1].ts, posts[2].ts}
	if got := r.Timestamps(); !slices.Equal(got, want) {
		t.Errorf("Timestamps = %q, want the ts of the posts in order %q", got, want)
	}
}

func TestReplyFinalTextWithoutSetInBetween(t *testing.T) {
	fake := newFakeSlack()
	s := startScheduler(t, fake, fastConfig())

	r := s.Start("C1", "100.000001", "…")
	final := []string{strings.Repeat("a", 3000), strings.Repeat("b", 3000)}
	r.Finish(final)
	if err := waitReply(t, r); err != nil {
		t.Fatalf("wait: %v", err)
	}
	if got := fake.visible("C1", "100.000001"); !slices.Equal(got, final) {
		t.Errorf("visible parts = %d, want the 2 final parts", len(got))
	}
}

func TestMessageWritesInOrderAndNeverOverlap(t *testing.T) {
	fake := newFakeSlack()
	var mu sync.Mutex
	rng := rand.New(rand.NewPCG(1, 2))
	fake.hook = func(c call) error {
		mu.Lock()
		d := time.Duration(rng.IntN(2000)) * time.Microsecond
		mu.Unlock()
		time.Sleep(d) // latency of a Slack call, so that writes overlap in time
		return nil
	}
	s := startScheduler(t, fake, fastConfig())

	const replies = 8
	texts := growing(200)
	var wg sync.WaitGroup
	for i := range replies {
		wg.Go(func() {
			r := s.Start(fmt.Sprintf("C%d", i%3), fmt.Sprintf("100.%06d", i), "…")
			if _, err := r.PlaceholderTS(context.Background()); err != nil {
				t.Errorf("reply %d: placeholder ts: %v", i, err)
				return
			}
			for _, text := range texts {
				r.Set([]string{text})
			}
			r.Finish([]string{texts[len(texts)-1]})
			if err := waitReply(t, r); err != nil {
				t.Errorf("reply %d: %v", i, err)
			}
		})
	}
	wg.Wait()

	updates := fake.recorded("update")
	byTS := make(map[string][]call)
	for _, c := range updates {
		byTS[c.ts] = append(byTS[c.ts], c)
	}
	if len(byTS) != replies {
		t.Fatalf("edited messages = %d, want %d", len(byTS), replies)
	}
	for ts, calls := range byTS {
		slices.SortFunc(calls, func(a, b call) int { return a.start.Compare(b.start) })
		for i := 1; i < len(calls); i++ {
			prev, cur := calls[i-1], calls[i]
			if cur.start.Before(prev.end) {
				t.Errorf("message %s: update %q started before update %q returned", ts, cur.text, prev.text)
			}
			if !strings.HasPrefix(cur.text, prev.text) || cur.text == prev.text {
				t.Errorf("message %s: update %q after %q is out of order", ts, cur.text, prev.text)
			}
		}
		if last := calls[len(calls)-1].text; last != texts[len(texts)-1] {
			t.Errorf("message %s: last update %q, want the final text", ts, last)
		}
	}
}

func TestFairnessLeastRecentlyEditedFirst(t *testing.T) {
	fake := newFakeSlack()
	updates := make(chan call, 100)
	fake.hook = func(c call) error {
		if c.method == "update" {
			updates <- c
		}
		return nil
	}
	limiter := newStepLimiter(100)
	cfg := fastConfig()
	cfg.UpdateLimiter = limiter
	s := startScheduler(t, fake, cfg)

	var replies []*Reply
	owner := make(map[string]int) // ts → reply index
	for i := range 3 {
		r := s.Start(fmt.Sprintf("C%d", i), "100.000001", "…")
		owner[placeholderTS(t, r)] = i
		replies = append(replies, r)
	}

	for round := range 4 {
		for i, r := range replies {
			// Reply 0 changes its text far more often than the others.
			for k := range 1 + 10*boolInt(i == 0) {
				r.Set([]string{fmt.Sprintf("round %d text %d", round, k)})
			}
		}
		seen := make(map[int]bool)
		for range replies {
			limiter.grant <- struct{}{}
			c := <-updates
			seen[owner[c.ts]] = true
		}
		if len(seen) != len(replies) {
			t.Errorf("round %d: updates went to replies %v, want each of %d once", round, seen, len(replies))
		}
	}
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

func TestFinalTextBeforeIntermediateEdits(t *testing.T) {
	fake := newFakeSlack()
	updates := make(chan call, 100)
	fake.hook = func(c call) error {
		if c.method == "update" {
			updates <- c
		}
		return nil
	}
	limiter := newStepLimiter(100)
	cfg := fastConfig()
	cfg.UpdateLimiter = limiter
	handled := make(chan struct{}, 100)
	s := startSchedulerWith(t, fake, cfg, func(s *Scheduler) {
		s.afterResult = func() { handled <- struct{}{} }
	})

	// Both replies show text, so their next edits are intermediate or final.
	streaming := s.Start("C1", "100.000001", "…")
	finishing := s.Start("C2", "100.000002", "…")
	finishingTS := placeholderTS(t, finishing)
	placeholderTS(t, streaming)
	<-handled
	<-handled
	for _, r := range []*Reply{streaming, finishing} {
		r.Set([]string{"first"})
		limiter.grant <- struct{}{}
		<-updates
		<-handled // the edit is no longer in flight
	}

	// The streaming reply was written least recently, but the final text goes first.
	streaming.Set([]string{"first second"})
	finishing.Finish([]string{"first final"})
	limiter.grant <- struct{}{}
	if c := <-updates; c.ts != finishingTS || c.text != "first final" {
		t.Errorf("update = %q to %s, want the final text to %s", c.text, c.ts, finishingTS)
	}
	limiter.grant <- struct{}{}
	if c := <-updates; c.text != "first second" {
		t.Errorf("update = %q, want the intermediate edit %q", c.text, "first second")
	}
}

func TestRunStopFailsOpenReplies(t *testing.T) {
	fake := newFakeSlack()
	s := New(fake, fastConfig())
	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan error, 1)
	go func() { stopped <- s.Run(ctx) }()

	r := s.Start("C1", "100.000001", "…")
	placeholderTS(t, r)
	r.Set([]string{"partial"})
	cancel()
	if err := <-stopped; err != nil {
		t.Fatalf("run: %v", err)
	}

	if err := waitReply(t, r); !errors.Is(err, ErrStopped) {
		t.Errorf("wait on open reply = %v, want ErrStopped", err)
	}
	late := s.Start("C1", "100.000002", "…")
	if _, err := late.PlaceholderTS(context.Background()); !errors.Is(err, ErrStopped) {
		t.Errorf("placeholder ts after stop = %v, want ErrStopped", err)
	}
	if err := s.Run(context.Background()); err == nil {
		t.Error("second run returned nil, want an error")
	}
}
