package main

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tessbot/tessbot/internal/fakeslack"
	"github.com/tessbot/tessbot/internal/faketess"
	"github.com/tessbot/tessbot/mrkdwn"
	"github.com/tessbot/tessbot/threadstore"
)

const (
	crashChannel = "C0CRASH"
	crashUser    = "U0HUMAN"
	crashLimit   = 200 // MESSAGE_LIMIT, so that the recovered answer has two parts
)

// crashSetup is a bot on the fakes whose first process is killed mid-reply.
type crashSetup struct {
	slack   *fakeslack.Server
	tess    *faketess.Server
	dataDir string
	env     map[string]string
}

func newCrashSetup(t *testing.T) *crashSetup {
	s := &crashSetup{slack: fakeslack.New(t), tess: faketess.New(t), dataDir: t.TempDir()}
	s.env = botEnv(s.slack, s.tess, s.dataDir)
	s.env["MESSAGE_LIMIT"] = "200"
	return s
}

// mention sends a top-level mention of the bot and returns its ts.
func (s *crashSetup) mention(t *testing.T, text string) string {
	t.Helper()
	ts := s.slack.NewTS()
	env := s.slack.Mention(crashChannel, crashUser, "<@"+s.slack.BotUserID()+"> "+text, ts, "")
	s.slack.WaitAck(t, s.slack.Send(env), processTimeout)
	return ts
}

// store opens the bot's embedded store, once no process has it open.
func (s *crashSetup) store(t *testing.T) threadstore.Store {
	t.Helper()
	store, err := threadstore.OpenBolt(filepath.Join(s.dataDir, "tessbot.db"), threadstore.Options{})
	if err != nil {
		t.Fatalf("open the store: %v", err)
	}
	t.Cleanup(func() { store.Close() })
	return store
}

// waitExecutes waits until the fake Tess has accepted n executions.
func (s *crashSetup) waitExecutes(t *testing.T, n int) []faketess.ExecuteRecord {
	t.Helper()
	waitUntil(t, fmt.Sprintf("the fake Tess accepts %d executions", n), func() bool {
		return len(s.tess.Executes()) >= n
	})
	return s.tess.Executes()
}

func TestMainFinishesReplyAfterKill(t *testing.T) {
	s := newCrashSetup(t)
	start := "The answer starts here, "
	rest := strings.Repeat("and the rest of it arrives after the crash. ", 8)
	hold := make(chan struct{}) // never closed: the stream ends when the process dies
	s.tess.Queue(faketess.Script{Deltas: []string{start, rest}, Hold: hold, HoldAfter: 1})
	full := final(start+rest, crashLimit)
	if len(full) != 2 {
		t.Fatalf("the answer renders to %d parts, want 2", len(full))
	}

	first := startBot(t, "first process", s.env)
	s.slack.WaitConnections(t, 1, processTimeout)
	root := s.mention(t, "a long question")
	waitReplies(t, s.slack, crashChannel, root, mrkdwn.NewStream(crashLimit).Update(start, false)[0])
	first.kill()

	// The fake Tess finishes the execution once its stream is gone, as Tess does.
	second := startBot(t, "second process", s.env)
	replies := waitReplies(t, s.slack, crashChannel, root, full...)
	second.stop()

	execs := s.tess.Executes()
	if len(execs) != 1 {
		t.Errorf("executions = %d, want 1: the answer comes from polling, not a new execution", len(execs))
	}
	if s.tess.Polls(execs[0].ExecutionID) == 0 {
		t.Error("the second process never polled the interrupted execution")
	}
	if strings.Contains(replies[0].Blocks, "tessbot_stop") {
		t.Error("the recovered reply still shows the Stop button")
	}
	store := s.store(t)
	pending, err := store.PendingReplies(context.Background())
	if err != nil {
		t.Fatalf("PendingReplies: %v", err)
	}
	if len(pending) != 0 {
		t.Errorf("pending replies after the recovery = %+v, want none", pending)
	}
	thread, err := store.Thread(context.Background(), threadstore.ThreadKey{Channel: crashChannel, ThreadTS: root})
	if err != nil {
		t.Fatalf("Thread: %v", err)
	}
	if thread.RootID != execs[0].ExecutionID {
		t.Errorf("root_id of the thread = %d, want %d", thread.RootID, execs[0].ExecutionID)
	}
}

func TestMainMarksReplyInterruptedAfterKill(t *testing.T) {
	s := newCrashSetup(t)
	hold := make(chan struct{}) // never closed: no event, so no execution id, reaches the bot
	s.tess.Queue(faketess.Script{Deltas: []string{"never sent"}, Hold: hold, HoldAfter: 0})

	first := startBot(t, "first process", s.env)
	s.slack.WaitConnections(t, 1, processTimeout)
	root := s.mention(t, "a question")
	execs := s.waitExecutes(t, 1) // the pending record is written before the execution
	first.kill()

	second := startBot(t, "second process", s.env)
	var got fakeslack.Message
	s.slack.WaitFor(t, func(fs *fakeslack.Server) bool {
		replies := botReplies(fs, crashChannel, root)
		if len(replies) != 1 {
			return false
		}
		got = replies[0]
		return strings.Contains(got.VisibleText(), "could not be recovered")
	}, processTimeout)
	second.stop()

	if !strings.Contains(got.VisibleText(), "Ask again") {
		t.Errorf("interrupted reply shows %q, want it to ask again", got.VisibleText())
	}
	if n := s.tess.Polls(execs[0].ExecutionID); n != 0 {
		t.Errorf("the execution was polled %d times, but the bot never learned its id", n)
	}
	pending, err := s.store(t).PendingReplies(context.Background())
	if err != nil {
		t.Fatalf("PendingReplies: %v", err)
	}
	if len(pending) != 0 {
		t.Errorf("pending replies after the recovery = %+v, want none", pending)
	}
}
