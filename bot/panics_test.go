package bot

import (
	"context"
	"log/slog"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tessbot/tessbot/internal/fakeslack"
	"github.com/tessbot/tessbot/internal/faketess"
	"github.com/tessbot/tessbot/mrkdwn"
	"github.com/tessbot/tessbot/threadstore"
)

// panicStore is a bbolt store whose Thread, PutThread and MarkSeen panic, as a bug in a
// store client would, as many times as the field of the same name is set to.
type panicStore struct {
	threadstore.Store
	thread, putThread, markSeen atomic.Int32
}

func newPanicStore(t *testing.T) *panicStore {
	t.Helper()
	store, err := threadstore.OpenBolt(filepath.Join(t.TempDir(), "store.db"), threadstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = store.Close() })
	return &panicStore{Store: store}
}

func panicOnce(n *atomic.Int32, what string) {
	if n.Add(-1) >= 0 {
		panic("store client bug in " + what)
	}
}

func (s *panicStore) Thread(ctx context.Context, key threadstore.ThreadKey) (threadstore.Thread, error) {
	panicOnce(&s.thread, "Thread")
	return s.Store.Thread(ctx, key)
}

func (s *panicStore) PutThread(ctx context.Context, key threadstore.ThreadKey, thread threadstore.Thread) error {
	panicOnce(&s.putThread, "PutThread")
	return s.Store.PutThread(ctx, key, thread)
}

func (s *panicStore) MarkSeen(ctx context.Context, id string, ttl time.Duration) (bool, error) {
	panicOnce(&s.markSeen, "MarkSeen")
	return s.Store.MarkSeen(ctx, id, ttl)
}

// newPanicBot returns a bot on store whose log goes to the returned buffer, with its
// thread queues, for running turns as the dispatcher does.
func newPanicBot(t *testing.T, store threadstore.Store) (*bot, *fakeslack.Server, *faketess.Server, *lockedBuffer) {
	t.Helper()
	b, fs, ft := newTurnBot(t, store)
	logs := &lockedBuffer{}
	b.log = slog.New(slog.NewTextHandler(logs, nil))
	b.seen = newSeenSet(store, seenTTL, b.log)
	b.threads = newThreadQueues(b.runTurn)
	return b, fs, ft, logs
}

// botTexts returns the text of every bot message in the thread.
func botTexts(fs *fakeslack.Server, channel, threadTS string) []string {
	var texts []string
	for _, m := range fs.Thread(channel, threadTS) {
		if m.User == fs.BotUserID() {
			texts = append(texts, m.VisibleText())
		}
	}
	return texts
}

func TestTurnPanicEndsReplyWithNote(t *testing.T) {
	tests := []struct {
		name  string
		setup func(s *panicStore)
	}{
		{"before the execution", func(s *panicStore) { s.thread.Store(1) }},
		{"while the answer streams", func(s *panicStore) { s.putThread.Store(1) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			store := newPanicStore(t)
			tt.setup(store)
			b, fs, ft, logs := newPanicBot(t, store)
			key := threadstore.ThreadKey{Channel: "C1", ThreadTS: "100.1"}

			b.threads.push(key, message{Type: "app_mention", Channel: "C1", User: "U1", TS: "100.1", Text: "first"})
			b.threads.wait()
			b.threads.push(key, message{Type: "app_mention", Channel: "C1", User: "U1", TS: "100.2", ThreadTS: "100.1",
				Text: "second"})
			b.threads.wait()

			texts := botTexts(fs, "C1", "100.1")
			if len(texts) != 2 {
				t.Fatalf("bot messages = %q, want one per turn", texts)
			}
			if !strings.Contains(texts[0], panicNote) {
				t.Errorf("reply of the turn that panicked = %q, want the note %q", texts[0], panicNote)
			}
			if strings.Contains(texts[0], placeholderText) {
				t.Errorf("reply of the turn that panicked still shows the placeholder")
			}
			if want := mrkdwn.Render("second"); texts[1] != want {
				t.Errorf("reply of the next turn = %q, want %q", texts[1], want)
			}
			log := logs.String()
			if !strings.Contains(log, "store client bug") || !strings.Contains(log, "level=ERROR") {
				t.Errorf("log has no error line with the panic:\n%s", log)
			}
			for _, secret := range []string{fs.BotToken(), ft.APIKey} {
				if strings.Contains(log, secret) {
					t.Errorf("log contains the secret %q", secret)
				}
			}
		})
	}
}

func TestDispatchSurvivesPanic(t *testing.T) {
	store := newPanicStore(t)
	store.markSeen.Store(1)
	b, fs, _, logs := newPanicBot(t, store)

	incoming := make(chan message, 2)
	incoming <- message{Type: "app_mention", Channel: "C1", User: "U1", TS: "100.1", Text: "lost"}
	incoming <- message{Type: "app_mention", Channel: "C1", User: "U1", TS: "200.1", Text: "kept"}
	close(incoming)
	b.dispatch(incoming)
	b.threads.wait()

	if texts := botTexts(fs, "C1", "200.1"); len(texts) != 1 || texts[0] != mrkdwn.Render("kept") {
		t.Errorf("reply after the panic = %q, want %q", texts, mrkdwn.Render("kept"))
	}
	if log := logs.String(); !strings.Contains(log, "store client bug") {
		t.Errorf("log does not show the panic:\n%s", log)
	}
}
