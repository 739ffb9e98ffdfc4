package main

import (
	"context"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/tessbot/tessbot/internal/fakeslack"
	"github.com/tessbot/tessbot/internal/faketess"
	"github.com/tessbot/tessbot/internal/testredis"
	"github.com/tessbot/tessbot/mrkdwn"
	"github.com/tessbot/tessbot/threadstore"
)

// The chat.update budget of the replicas tests. Each replica is configured with the whole
// app's budget, and the fake Slack enforces it for the app with one spare token per
// replica: the scheduler of each may hold a granted token for a while before it spends
// it, so that token's call can land beside later ones.
const (
	replicaUpdatesPerMinute = 240
	replicaUpdateBurst      = 5
)

// replicaSetup is two bot processes on one Redis and one fake Slack.
type replicaSetup struct {
	slack    *fakeslack.Server
	tess     *faketess.Server
	prefix   string
	replicas []*botProcess
	conns    []int // Socket Mode connection of each replica
}

func startReplicas(t *testing.T) *replicaSetup {
	t.Helper()
	s := &replicaSetup{
		prefix: testredis.Prefix(t),
		slack: fakeslack.New(t,
			fakeslack.WithRateLimit("chat.update", replicaUpdatesPerMinute, replicaUpdateBurst+2)),
		tess: faketess.New(t),
	}
	for i := range 2 {
		env := botEnv(s.slack, s.tess, t.TempDir())
		env["REDIS_URL"] = testredis.URL()
		env["REDIS_KEY_PREFIX"] = s.prefix
		env["SLACK_UPDATES_PER_MINUTE"] = fmt.Sprint(replicaUpdatesPerMinute)
		env["EDIT_INTERVAL"] = "50ms"
		s.replicas = append(s.replicas, startBot(t, fmt.Sprintf("replica %d", i+1), env))
		s.slack.WaitConnections(t, i+1, processTimeout)
	}
	s.conns = s.slack.ConnectionIDs()
	if len(s.conns) != 2 {
		t.Fatalf("connections = %v, want one per replica", s.conns)
	}
	return s
}

// mention builds a mention of the bot in channel, inside threadTS when it is not empty.
func (s *replicaSetup) mention(channel, text, threadTS string) (fakeslack.Envelope, string) {
	ts := s.slack.NewTS()
	env := s.slack.Mention(channel, crashUser, "<@"+s.slack.BotUserID()+"> "+text, ts, threadTS)
	return env, ts
}

// otherConn returns the connection that the envelope envelopeID was not delivered to.
func (s *replicaSetup) otherConn(t *testing.T, envelopeID string) int {
	t.Helper()
	for _, d := range s.slack.Deliveries() {
		if d.EnvelopeID == envelopeID {
			if d.Conn == s.conns[0] {
				return s.conns[1]
			}
			return s.conns[0]
		}
	}
	t.Fatalf("envelope %s was not delivered", envelopeID)
	return 0
}

// totalLogLines returns the log lines of both replicas that contain every one of parts.
func (s *replicaSetup) totalLogLines(parts ...string) int {
	return s.replicas[0].logLines(parts...) + s.replicas[1].logLines(parts...)
}

func TestMainReplicasAnswerEachMessageOnce(t *testing.T) {
	s := startReplicas(t)
	const messages = 8
	channel := func(i int) string { return fmt.Sprintf("C0REP%02d", i) }
	envs := make([]fakeslack.Envelope, messages)
	roots := make([]string, messages)
	delivered := make([]string, messages)
	for i := range messages {
		envs[i], roots[i] = s.mention(channel(i), fmt.Sprintf("question %d", i), "")
	}

	// Slack delivers an event again when its ack is late, possibly to another connection:
	// after the first replica has answered, or while it still routes the first delivery.
	redeliver := func(i int) {
		if _, err := s.slack.SendTo(s.otherConn(t, delivered[i]), s.slack.Redelivery(envs[i], 1)); err != nil {
			t.Fatalf("redeliver message %d: %v", i, err)
		}
	}
	for i := range messages / 2 {
		delivered[i] = s.slack.Send(envs[i])
	}
	for i := range messages / 2 {
		waitReplies(t, s.slack, channel(i), roots[i], final(fmt.Sprintf("question %d", i), mrkdwn.DefaultLimit)...)
		redeliver(i)
	}
	for i := messages / 2; i < messages; i++ {
		delivered[i] = s.slack.Send(envs[i])
		redeliver(i)
	}

	for i := range messages {
		waitReplies(t, s.slack, channel(i), roots[i], final(fmt.Sprintf("question %d", i), mrkdwn.DefaultLimit)...)
	}
	waitUntil(t, "the replicas logged every duplicate", func() bool {
		return s.totalLogLines("duplicate event ignored") == messages
	})
	for _, r := range s.replicas {
		if r.logLines("reply finished") == 0 {
			t.Errorf("%s answered no message; the replicas did not share the work", r.name)
		}
	}
	for _, r := range s.replicas {
		r.stop()
	}

	for i, root := range roots {
		if got := botReplies(s.slack, channel(i), root); len(got) != 1 {
			t.Errorf("message %d got %d replies, want 1", i, len(got))
		}
	}
	if got := len(s.tess.Executes()); got != messages {
		t.Errorf("executions = %d, want one per message: %d", got, messages)
	}
	checkNoPending(t, s.prefix)
}

func TestMainReplicasShareUpdateBudget(t *testing.T) {
	s := startReplicas(t)
	const messages = 24
	answer := strings.Repeat("Each replica edits this answer as it streams. ", 8)
	for range messages {
		s.tess.Queue(faketess.Script{Deltas: faketess.SplitText(answer, 40), Delay: 50 * time.Millisecond})
	}

	roots := make([]string, messages)
	for i := range messages {
		env, ts := s.mention(fmt.Sprintf("C0BUDGET%02d", i), "a question", "")
		roots[i] = ts
		if _, err := s.slack.SendTo(s.conns[i%2], env); err != nil {
			t.Fatalf("send message %d: %v", i, err)
		}
	}
	for i, root := range roots {
		waitReplies(t, s.slack, fmt.Sprintf("C0BUDGET%02d", i), root, final(answer, mrkdwn.DefaultLimit)...)
	}
	for _, r := range s.replicas {
		r.stop()
	}

	// Alone, each replica would spend the whole budget, twice what Slack allows the app.
	// The bound counts calls against the span in which they arrived, so a loaded machine
	// that delays calls only stretches the span and loosens the bound. Two extra seconds of
	// budget cover calls granted while the first one was still on its way.
	calls := s.slack.Calls("chat.update")
	if len(calls) == 0 {
		t.Fatal("no chat.update calls reached Slack")
	}
	span := calls[len(calls)-1].At.Sub(calls[0].At)
	allowed := replicaUpdateBurst + int(math.Ceil((span.Seconds()+2)*replicaUpdatesPerMinute/60))
	if len(calls) > allowed {
		t.Errorf("chat.update calls = %d in %v, want at most %d under one shared budget",
			len(calls), span, allowed)
	}
	t.Logf("chat.update calls = %d in %v, at most %d allowed", len(calls), span, allowed)
	for _, r := range s.replicas {
		if got := r.logLines("reply finished", "outcome=completed"); got != messages/2 {
			t.Errorf("%s completed %d replies, want %d", r.name, got, messages/2)
		}
	}
}

func TestMainReplicasTakeTurnsInThread(t *testing.T) {
	s := startReplicas(t)
	const channel = "C0REPTHREAD"
	hold := make(chan struct{})
	t.Cleanup(func() {
		select {
		case <-hold:
		default:
			close(hold)
		}
	})
	s.tess.Queue(faketess.Script{Deltas: []string{"First ", "answer."}, Hold: hold, HoldAfter: 1})

	first, root := s.mention(channel, "first", "")
	if _, err := s.slack.SendTo(s.conns[0], first); err != nil {
		t.Fatalf("send the first message: %v", err)
	}
	waitReplies(t, s.slack, channel, root, mrkdwn.NewStream(mrkdwn.DefaultLimit).Update("First ", false)[0])
	second, secondTS := s.mention(channel, "second", root)
	if _, err := s.slack.SendTo(s.conns[1], second); err != nil {
		t.Fatalf("send the second message: %v", err)
	}
	// The second replica has queued the message; without the thread's lock it would
	// post its placeholder now, while the first answer still streams.
	waitUntil(t, "the second replica queued the second message", func() bool {
		return s.replicas[1].logLines("message queued", "ts="+secondTS) == 1
	})
	close(hold)

	replies := waitReplies(t, s.slack, channel, root, "First answer.", "second")
	for _, r := range s.replicas {
		r.stop()
	}

	firstDone := replies[0].Versions[len(replies[0].Versions)-1].At
	if secondStart := replies[1].Versions[0].At; secondStart.Before(firstDone) {
		t.Errorf("the second reply was posted at %v, before the first was final at %v",
			secondStart.Format(time.StampMicro), firstDone.Format(time.StampMicro))
	}
	if s.replicas[1].logLines("reply finished", "ts="+secondTS) != 1 {
		t.Error("the second replica did not answer the second message")
	}
	execs := s.tess.Executes()
	if len(execs) != 2 {
		t.Fatalf("executions = %d, want 2", len(execs))
	}
	if execs[1].RootID != execs[0].ExecutionID {
		t.Errorf("root_id of the second answer = %d, want the first conversation %d", execs[1].RootID, execs[0].ExecutionID)
	}
	checkNoPending(t, s.prefix)
}

// checkNoPending checks that the replicas left no reply in flight in the Redis store.
func checkNoPending(t *testing.T, prefix string) {
	t.Helper()
	ctx := context.Background()
	store, err := threadstore.OpenRedis(ctx, testredis.URL(), threadstore.Options{KeyPrefix: prefix})
	if err != nil {
		t.Fatalf("open the store: %v", err)
	}
	defer store.Close()
	pending, err := store.PendingReplies(ctx)
	if err != nil {
		t.Fatalf("PendingReplies: %v", err)
	}
	if len(pending) != 0 {
		t.Errorf("pending replies = %+v, want none", pending)
	}
}
