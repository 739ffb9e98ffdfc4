package bot

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/slack-go/slack"

	"github.com/tessbot/tessbot/internal/fakeslack"
	"github.com/tessbot/tessbot/internal/faketess"
	"github.com/tessbot/tessbot/mrkdwn"
	"github.com/tessbot/tessbot/scheduler"
	"github.com/tessbot/tessbot/tess"
	"github.com/tessbot/tessbot/threadstore"
)

var errStoreDown = errors.New("store is down")

// brokenStore fails every write and lock. Thread returns readErr.
type brokenStore struct {
	threadstore.Store
	readErr error
}

func (s brokenStore) Thread(context.Context, threadstore.ThreadKey) (threadstore.Thread, error) {
	return threadstore.Thread{}, s.readErr
}

func (brokenStore) PutThread(context.Context, threadstore.ThreadKey, threadstore.Thread) error {
	return errStoreDown
}

func (brokenStore) PutPending(context.Context, threadstore.Pending) error { return errStoreDown }

func (brokenStore) DeletePending(context.Context, string, string) error { return errStoreDown }

func (brokenStore) Lock(context.Context, string, time.Duration) (func(), error) {
	return nil, errStoreDown
}

// newTurnBot returns a bot that writes to a fake Slack and reads a fake Tess through
// store, without Socket Mode, for calling runTurn directly.
func newTurnBot(t *testing.T, store threadstore.Store) (*bot, *fakeslack.Server, *faketess.Server) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	fs := fakeslack.New(t)
	ft := faketess.New(t)
	api := slack.New(fs.BotToken(), slack.OptionAPIURL(fs.APIURL()))
	sched := scheduler.New(api, scheduler.Config{EditInterval: 10 * time.Millisecond, PostsPerSecond: 100})
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		_ = sched.Run(ctx)
	}()
	t.Cleanup(func() {
		cancel()
		<-stopped
	})

	log := slog.New(slog.DiscardHandler)
	b := &bot{
		cfg:       Config{TessAgentID: "7", MessageLimit: mrkdwn.DefaultLimit},
		log:       log,
		store:     store,
		tess:      tess.New(tess.Config{BaseURL: ft.URL, APIKey: ft.APIKey, RequestsPerSecond: 1000}),
		sched:     sched,
		botUserID: fs.BotUserID(),
		seen:      newSeenSet(store, seenTTL, log),
		turnCtx:   ctx,
		writeCtx:  ctx,
	}
	return b, fs, ft
}

// onlyReply returns the text of the single bot message in the thread.
func onlyReply(t *testing.T, fs *fakeslack.Server, channel, threadTS string) string {
	t.Helper()
	var texts []string
	for _, m := range fs.Thread(channel, threadTS) {
		if m.User == fs.BotUserID() {
			texts = append(texts, m.VisibleText())
		}
	}
	if len(texts) != 1 {
		t.Fatalf("bot messages in the thread = %q, want one", texts)
	}
	return texts[0]
}

func TestTurnStoreWriteFailuresKeepReply(t *testing.T) {
	b, fs, ft := newTurnBot(t, brokenStore{readErr: threadstore.ErrNotFound})
	ft.Queue(faketess.Script{Deltas: []string{"Still ", "answered."}})

	b.runTurn(message{Type: "app_mention", Channel: "C1", User: "U1", TS: "100.1", Text: "<@U0BOT> hi"})

	if got, want := onlyReply(t, fs, "C1", "100.1"), mrkdwn.Render("Still answered."); got != want {
		t.Errorf("reply = %q, want %q", got, want)
	}
}

func TestTurnStoreReadFailureShowsNote(t *testing.T) {
	b, fs, ft := newTurnBot(t, brokenStore{readErr: errStoreDown})

	b.runTurn(message{Type: "app_mention", Channel: "C1", User: "U1", TS: "100.1", ThreadTS: "99.1", Text: "<@U0BOT> hi"})

	if got := onlyReply(t, fs, "C1", "99.1"); got != storeReadNote {
		t.Errorf("reply = %q, want the store note %q", got, storeReadNote)
	}
	if n := len(ft.Executes()); n != 0 {
		t.Errorf("executions = %d, want none without the thread's conversation", n)
	}
}

func TestTurnPlaceholderFailureSkipsTess(t *testing.T) {
	b, fs, ft := newTurnBot(t, brokenStore{readErr: threadstore.ErrNotFound})
	fs.FailNext("chat.postMessage", 10, fakeslack.Fault{Error: "channel_not_found"})

	b.runTurn(message{Type: "app_mention", Channel: "C1", User: "U1", TS: "100.1", Text: "<@U0BOT> hi"})

	if n := len(ft.Executes()); n != 0 {
		t.Errorf("executions = %d, want none when the placeholder cannot be posted", n)
	}
}

func TestTurnOneDeltaOneMessage(t *testing.T) {
	b, fs, ft := newTurnBot(t, brokenStore{readErr: threadstore.ErrNotFound})
	ft.Queue(faketess.Script{Deltas: []string{"OK."}})

	b.runTurn(message{Type: "message", ChannelType: "im", Channel: "D1", User: "U1", TS: "100.1", Text: "ok?"})

	if got := onlyReply(t, fs, "D1", "100.1"); got != "OK." {
		t.Errorf("reply = %q, want %q", got, "OK.")
	}
}

func TestTurnFilesOnlyShowsNote(t *testing.T) {
	b, fs, ft := newTurnBot(t, brokenStore{readErr: threadstore.ErrNotFound})
	file := []byte(`{"id":"F1","name":"a.png","mimetype":"image/png"}`)

	b.runTurn(message{Type: "message", Subtype: "file_share", ChannelType: "im", Channel: "D1", User: "U1",
		TS: "100.1", Files: []json.RawMessage{file}})

	if got := onlyReply(t, fs, "D1", "100.1"); !strings.Contains(got, "attached files") {
		t.Errorf("reply = %q, want the note about files", got)
	}
	if n := len(ft.Executes()); n != 0 {
		t.Errorf("executions = %d, want none for a message without text", n)
	}
}
