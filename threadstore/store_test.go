package threadstore

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// openFunc opens a fresh, empty store of one backend and closes it when the test ends.
type openFunc func(t *testing.T, opts Options) Store

// testStore is the conformance suite that every backend passes.
func testStore(t *testing.T, open openFunc) {
	tests := []struct {
		name string
		run  func(t *testing.T, open openFunc)
	}{
		{"thread round trip", testThreadRoundTrip},
		{"thread missing", testThreadMissing},
		{"thread expires", testThreadExpires},
		{"mark seen", testMarkSeen},
		{"mark seen concurrent", testMarkSeenConcurrent},
		{"mark seen longest ttl", testMarkSeenLongestTTL},
		{"files oldest first", testFilesOrder},
		{"file missing", testFileMissing},
		{"pending replies", testPending},
		{"pending part ts", testPendingPartTS},
		{"pending record without part ts", testPendingWithoutPartTS},
		{"lock mutual exclusion", testLockExclusion},
		{"lock wait honours ctx", testLockWaitCtx},
		{"lock released on ctx cancel", testLockReleasedOnCancel},
		{"lock invalid arguments", testLockInvalid},
		{"concurrent use", testConcurrentUse},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { tt.run(t, open) })
	}
	t.Run("limiter", func(t *testing.T) {
		testLimiter(t, func(t *testing.T) Limiter { return open(t, Options{}).Limiter() })
	})
}

func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// eventually polls cond until it holds, failing the test after a deadline.
func eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func testThreadRoundTrip(t *testing.T, open openFunc) {
	ctx := testContext(t)
	s := open(t, Options{})
	key := ThreadKey{Channel: "C01", ThreadTS: "1700000000.000100"}

	before := time.Now()
	// UpdatedAt in the argument is ignored: PutThread sets it to now.
	in := Thread{RootID: 42, AgentID: "agent-7", UpdatedAt: time.Unix(1, 0)}
	if err := s.PutThread(ctx, key, in); err != nil {
		t.Fatalf("PutThread: %v", err)
	}
	after := time.Now()

	got, err := s.Thread(ctx, key)
	if err != nil {
		t.Fatalf("Thread: %v", err)
	}
	if got.RootID != 42 {
		t.Errorf("RootID = %d, want 42", got.RootID)
	}
	if got.AgentID != "agent-7" {
		t.Errorf("AgentID = %q, want agent-7", got.AgentID)
	}
	if got.UpdatedAt.Before(before) || got.UpdatedAt.After(after) {
		t.Errorf("UpdatedAt = %v, want between %v and %v", got.UpdatedAt, before, after)
	}

	if err := s.PutThread(ctx, key, Thread{RootID: 43, AgentID: "agent-8"}); err != nil {
		t.Fatalf("PutThread again: %v", err)
	}
	got, err = s.Thread(ctx, key)
	if err != nil {
		t.Fatalf("Thread after overwrite: %v", err)
	}
	if got.RootID != 43 || got.AgentID != "agent-8" {
		t.Errorf("after overwrite got %+v, want root_id 43 of agent-8", got)
	}
}

func testThreadMissing(t *testing.T, open openFunc) {
	ctx := testContext(t)
	s := open(t, Options{})
	if err := s.PutThread(ctx, ThreadKey{"C01", "1.1"}, Thread{RootID: 1}); err != nil {
		t.Fatalf("PutThread: %v", err)
	}

	for _, key := range []ThreadKey{{"C01", "1.2"}, {"C02", "1.1"}, {}} {
		_, err := s.Thread(ctx, key)
		if !errors.Is(err, ErrNotFound) {
			t.Errorf("Thread(%+v) error = %v, want ErrNotFound", key, err)
		}
	}
}

func testThreadExpires(t *testing.T, open openFunc) {
	ctx := testContext(t)
	const ttl = 300 * time.Millisecond
	s := open(t, Options{ThreadTTL: ttl})
	key := ThreadKey{"C01", "1.1"}

	if err := s.PutThread(ctx, key, Thread{RootID: 9}); err != nil {
		t.Fatalf("PutThread: %v", err)
	}
	eventually(t, "the thread expires", func() bool {
		_, err := s.Thread(ctx, key)
		if err != nil && !errors.Is(err, ErrNotFound) {
			t.Fatalf("Thread: %v", err)
		}
		return errors.Is(err, ErrNotFound)
	})

	// A new PutThread starts the thread again. A loaded machine may take longer than the
	// short ttl between the write and the read, so only a read within the ttl must find
	// the thread, and the pair is tried again otherwise.
	eventually(t, "the thread put again is found", func() bool {
		put := time.Now()
		if err := s.PutThread(ctx, key, Thread{RootID: 10}); err != nil {
			t.Fatalf("PutThread after expiry: %v", err)
		}
		got, err := s.Thread(ctx, key)
		switch {
		case err == nil:
			if got.RootID != 10 {
				t.Errorf("RootID = %d, want 10", got.RootID)
			}
			return true
		case !errors.Is(err, ErrNotFound):
			t.Fatalf("Thread after new put: %v", err)
		case time.Since(put) < ttl:
			t.Fatalf("Thread right after PutThread error = %v, want the thread", err)
		}
		return false
	})
}

func testMarkSeen(t *testing.T, open openFunc) {
	ctx := testContext(t)
	s := open(t, Options{})

	first, err := s.MarkSeen(ctx, "Ev01", time.Hour)
	if err != nil || !first {
		t.Fatalf("first MarkSeen = %v, %v; want true, nil", first, err)
	}
	first, err = s.MarkSeen(ctx, "Ev01", time.Hour)
	if err != nil || first {
		t.Fatalf("second MarkSeen = %v, %v; want false, nil", first, err)
	}
	first, err = s.MarkSeen(ctx, "Ev02", time.Hour)
	if err != nil || !first {
		t.Fatalf("MarkSeen of another event = %v, %v; want true, nil", first, err)
	}

	// A short ttl: a call within it sees the event, and a call after it does not. Only
	// the elapsed time tells which, because a loaded machine can be slow between calls.
	const ttl = 300 * time.Millisecond
	marked := time.Now()
	first, err = s.MarkSeen(ctx, "Ev03", ttl)
	if err != nil || !first {
		t.Fatalf("first MarkSeen with a short ttl = %v, %v; want true, nil", first, err)
	}
	first, err = s.MarkSeen(ctx, "Ev03", ttl)
	if err != nil || (first && time.Since(marked) < ttl) {
		t.Fatalf("MarkSeen within the ttl = %v, %v; want false, nil", first, err)
	}
	eventually(t, "the event id expires", func() bool {
		first, err := s.MarkSeen(ctx, "Ev03", time.Hour)
		if err != nil {
			t.Fatalf("MarkSeen: %v", err)
		}
		return first
	})
	first, err = s.MarkSeen(ctx, "Ev03", time.Hour)
	if err != nil || first {
		t.Errorf("MarkSeen right after it expired and was marked again = %v, %v; want false, nil",
			first, err)
	}

	if _, err := s.MarkSeen(ctx, "Ev04", 0); err == nil {
		t.Errorf("MarkSeen with ttl 0 returned no error")
	}
}

func testMarkSeenConcurrent(t *testing.T, open openFunc) {
	ctx := testContext(t)
	s := open(t, Options{})

	var firsts atomic.Int32
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			first, err := s.MarkSeen(ctx, "Ev-shared", time.Hour)
			if err != nil {
				t.Errorf("MarkSeen: %v", err)
			}
			if first {
				firsts.Add(1)
			}
		})
	}
	wg.Wait()
	if n := firsts.Load(); n != 1 {
		t.Errorf("%d of 8 concurrent MarkSeen calls returned first, want 1", n)
	}
}

func testFilesOrder(t *testing.T, open openFunc) {
	ctx := testContext(t)
	s := open(t, Options{})
	base := time.Date(2025, 3, 4, 5, 6, 7, 0, time.UTC)

	for _, f := range []File{
		{SlackID: "F3", TessID: 303, UploadedAt: base.Add(2 * time.Second)},
		{SlackID: "F1", TessID: 101, UploadedAt: base},
		{SlackID: "F2", TessID: 202, UploadedAt: base.Add(time.Second)},
	} {
		if err := s.PutFile(ctx, f); err != nil {
			t.Fatalf("PutFile(%s): %v", f.SlackID, err)
		}
	}
	checkFileIDs(t, s, "F1", "F2", "F3")

	got, err := s.File(ctx, "F2")
	if err != nil {
		t.Fatalf("File(F2): %v", err)
	}
	if got.TessID != 202 || !got.UploadedAt.Equal(base.Add(time.Second)) {
		t.Errorf("File(F2) = %+v, want tess id 202 uploaded at %v", got, base.Add(time.Second))
	}

	// Uploading F1 again moves it to the end.
	if err := s.PutFile(ctx, File{SlackID: "F1", TessID: 111, UploadedAt: base.Add(3 * time.Second)}); err != nil {
		t.Fatalf("PutFile(F1) again: %v", err)
	}
	checkFileIDs(t, s, "F2", "F3", "F1")

	if err := s.DeleteFile(ctx, "F3"); err != nil {
		t.Fatalf("DeleteFile(F3): %v", err)
	}
	checkFileIDs(t, s, "F2", "F1")
	if _, err := s.File(ctx, "F3"); !errors.Is(err, ErrNotFound) {
		t.Errorf("File(F3) after delete error = %v, want ErrNotFound", err)
	}
}

func checkFileIDs(t *testing.T, s Store, want ...string) {
	t.Helper()
	files, err := s.Files(testContext(t))
	if err != nil {
		t.Fatalf("Files: %v", err)
	}
	got := make([]string, len(files))
	for i, f := range files {
		got[i] = f.SlackID
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("Files = %v, want %v", got, want)
	}
}

func testFileMissing(t *testing.T, open openFunc) {
	ctx := testContext(t)
	s := open(t, Options{})

	if _, err := s.File(ctx, "F404"); !errors.Is(err, ErrNotFound) {
		t.Errorf("File of unknown id error = %v, want ErrNotFound", err)
	}
	if err := s.DeleteFile(ctx, "F404"); err != nil {
		t.Errorf("DeleteFile of unknown id: %v", err)
	}
	files, err := s.Files(ctx)
	if err != nil || len(files) != 0 {
		t.Errorf("Files of empty store = %v, %v; want none", files, err)
	}
}

func testPending(t *testing.T, open openFunc) {
	ctx := testContext(t)
	s := open(t, Options{})
	base := time.Date(2025, 3, 4, 5, 6, 7, 0, time.UTC)

	later := Pending{Channel: "C02", ThreadTS: "2.0", MessageTS: "2.5", StartedAt: base.Add(time.Minute)}
	earlier := Pending{Channel: "C01", ThreadTS: "1.0", MessageTS: "1.5", StartedAt: base}
	for _, p := range []Pending{later, earlier} {
		if err := s.PutPending(ctx, p); err != nil {
			t.Fatalf("PutPending(%s): %v", p.MessageTS, err)
		}
	}
	checkPending(t, s, earlier, later)

	// The first event gives the execution id, and the record is replaced.
	earlier.ExecutionID = 777
	if err := s.PutPending(ctx, earlier); err != nil {
		t.Fatalf("PutPending with execution id: %v", err)
	}
	checkPending(t, s, earlier, later)

	if err := s.DeletePending(ctx, "C01", "1.5"); err != nil {
		t.Fatalf("DeletePending: %v", err)
	}
	checkPending(t, s, later)
	if err := s.DeletePending(ctx, "C01", "1.5"); err != nil {
		t.Errorf("DeletePending of a deleted reply: %v", err)
	}
}

func checkPending(t *testing.T, s Store, want ...Pending) {
	t.Helper()
	got, err := s.PendingReplies(testContext(t))
	if err != nil {
		t.Fatalf("PendingReplies: %v", err)
	}
	if len(got) != len(want) {
		t.Fatalf("PendingReplies returned %d replies, want %d: %+v", len(got), len(want), got)
	}
	for i := range want {
		g, w := got[i], want[i]
		if g.Channel != w.Channel || g.ThreadTS != w.ThreadTS || g.MessageTS != w.MessageTS ||
			g.ExecutionID != w.ExecutionID || !g.StartedAt.Equal(w.StartedAt) ||
			!slices.Equal(g.PartTS, w.PartTS) {
			t.Errorf("PendingReplies[%d] = %+v, want %+v", i, g, w)
		}
	}
}

func testConcurrentUse(t *testing.T, open openFunc) {
	ctx := testContext(t)
	s := open(t, Options{})
	const workers, rounds = 6, 20

	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for r := range rounds {
				if err := concurrentRound(ctx, s, w, r); err != nil {
					t.Errorf("worker %d round %d: %v", w, r, err)
					return
				}
			}
		})
	}
	wg.Wait()

	files, err := s.Files(ctx)
	if err != nil {
		t.Fatalf("Files: %v", err)
	}
	if len(files) != workers*rounds {
		t.Errorf("Files returned %d files, want %d", len(files), workers*rounds)
	}
	replies, err := s.PendingReplies(ctx)
	if err != nil {
		t.Fatalf("PendingReplies: %v", err)
	}
	if len(replies) != 0 {
		t.Errorf("PendingReplies returned %d replies, want 0", len(replies))
	}
}

// concurrentRound runs every kind of store operation once for worker w.
func concurrentRound(ctx context.Context, s Store, w, r int) error {
	key := ThreadKey{Channel: "C01", ThreadTS: fmt.Sprintf("%d.0", r%3)}
	if err := s.PutThread(ctx, key, Thread{RootID: int64(w)}); err != nil {
		return err
	}
	if _, err := s.Thread(ctx, key); err != nil {
		return err
	}
	first, err := s.MarkSeen(ctx, fmt.Sprintf("Ev-%d-%d", w, r), time.Hour)
	if err != nil {
		return err
	}
	if !first {
		return fmt.Errorf("MarkSeen of a new event id returned false")
	}
	id := fmt.Sprintf("F-%d-%d", w, r)
	if err := s.PutFile(ctx, File{SlackID: id, TessID: int64(r), UploadedAt: time.Now()}); err != nil {
		return err
	}
	if _, err := s.Files(ctx); err != nil {
		return err
	}
	p := Pending{Channel: "C01", ThreadTS: key.ThreadTS, MessageTS: id, StartedAt: time.Now()}
	if err := s.PutPending(ctx, p); err != nil {
		return err
	}
	if _, err := s.PendingReplies(ctx); err != nil {
		return err
	}
	return s.DeletePending(ctx, p.Channel, p.MessageTS)
}
