package bot

import (
	"context"
	"log/slog"
	"testing"

	"github.com/tessbot/tessbot/internal/fakeslack"
)

func TestThreadStatusShowThenClear(t *testing.T) {
	srv := fakeslack.New(t)
	s := newThreadStatus(newSlackClient(srv), "C0CHAN", "1.1", slog.New(slog.DiscardHandler))
	s.show(context.Background())
	s.show(context.Background())
	s.clear(context.Background())
	s.clear(context.Background())
	s.wait()

	got := srv.Statuses("C0CHAN", "1.1")
	if len(got) != 2 {
		t.Fatalf("statuses = %+v, want set then clear", got)
	}
	if got[0].Status != statusText {
		t.Errorf("first status = %q, want %q", got[0].Status, statusText)
	}
	if got[1].Status != "" {
		t.Errorf("second status = %q, want empty", got[1].Status)
	}
}

func TestThreadStatusRejected(t *testing.T) {
	srv := fakeslack.New(t)
	srv.FailNext("assistant.threads.setStatus", 1, fakeslack.Fault{Error: "missing_scope"})
	s := newThreadStatus(newSlackClient(srv), "C0CHAN", "1.1", slog.New(slog.DiscardHandler))
	s.show(context.Background())
	s.clear(context.Background())
	s.wait()

	if n := srv.Count("assistant.threads.setStatus").Calls; n != 1 {
		t.Errorf("setStatus called %d times, want 1: no clear after a rejected set", n)
	}
}

func TestThreadStatusClearWithoutShow(t *testing.T) {
	srv := fakeslack.New(t)
	s := newThreadStatus(newSlackClient(srv), "C0CHAN", "1.1", slog.New(slog.DiscardHandler))
	s.clear(context.Background())
	s.wait()
	if n := srv.Count("assistant.threads.setStatus").Calls; n != 0 {
		t.Errorf("setStatus called %d times, want 0", n)
	}
}
