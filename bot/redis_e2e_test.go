package bot_test

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/tessbot/tessbot/bot"
	"github.com/tessbot/tessbot/internal/faketess"
	"github.com/tessbot/tessbot/internal/tcpproxy"
	"github.com/tessbot/tessbot/internal/testredis"
	"github.com/tessbot/tessbot/threadstore"
)

// startWithConfig runs the bot with the configuration of the harness changed by change,
// and waits until its Socket Mode connection is up.
func (h *harness) startWithConfig(change func(bot.Config) bot.Config) {
	h.t.Helper()
	cfg, err := h.config()
	if err != nil {
		h.t.Fatalf("config: %v", err)
	}
	cfg = change(cfg)
	ctx, cancel := context.WithCancel(context.Background())
	h.cancel = cancel
	h.done = make(chan error, 1)
	logger := slog.New(slog.NewTextHandler(h.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	go func() { h.done <- bot.Run(ctx, cfg, logger) }()
	h.slack.WaitConnections(h.t, 1, waitTimeout)
}

// waitLog waits until the bot has logged a line containing every one of parts.
func (h *harness) waitLog(parts ...string) {
	h.t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for !hasLogLine(h.logs.String(), parts...) {
		if time.Now().After(deadline) {
			h.t.Fatalf("the bot never logged a line with %q", parts)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func hasLogLine(logs string, parts ...string) bool {
	for line := range strings.Lines(logs) {
		found := true
		for _, p := range parts {
			found = found && strings.Contains(line, p)
		}
		if found {
			return true
		}
	}
	return false
}

func TestRunRedisUnreachable(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now
	h := newHarness(t)
	h.env["REDIS_URL"] = "redis://:hunter2-secret@" + addr + "/0"

	err = h.runOnce()

	if err == nil {
		t.Fatal("bot.Run started without its Redis store")
	}
	if !strings.Contains(err.Error(), addr) || !strings.Contains(err.Error(), "unreachable") {
		t.Errorf("error %q does not say that the Redis at %s is unreachable", err, addr)
	}
	if strings.Contains(err.Error(), "hunter2-secret") || strings.Contains(h.logs.String(), "hunter2-secret") {
		t.Error("the Redis password appears in the error or the log")
	}
}

func TestRedisOutageDuringReply(t *testing.T) {
	prefix := testredis.Prefix(t)
	server, err := url.Parse(testredis.URL())
	if err != nil {
		t.Fatalf("parse the test url: %v", err)
	}
	proxy := tcpproxy.Start(t, server.Host)
	viaProxy := *server
	viaProxy.Host = proxy.Addr()
	h := newHarness(t)
	h.env["REDIS_URL"] = viaProxy.String()
	h.env["REDIS_KEY_PREFIX"] = prefix
	h.startWithConfig(func(cfg bot.Config) bot.Config {
		return bot.WithStoreRetry(cfg, 20*time.Millisecond, 200*time.Millisecond, 500)
	})

	// The first delta waits until Redis is gone, so the turn has loaded its thread and
	// taken its lock, and stores the conversation during the outage.
	hold := make(chan struct{})
	h.tess.Queue(faketess.Script{Deltas: []string{"Answer during ", "the outage."}, Hold: hold, HoldAfter: 0})
	root := h.mention("question", "")
	h.waitExecutes(1)
	proxy.Stop()
	close(hold)

	h.waitReplyText(channelID, root, 0, "Answer during the outage.")
	h.waitLog("store thread failed", "root_id=")
	h.waitLog("shared chat.update budget failed")

	// While Redis is still down, the next turn continues the conversation kept in memory.
	h.mention("and then?", root)
	execs := h.waitExecutes(2)
	h.waitReplyText(channelID, root, 1, "and then?")
	if execs[1].RootID != execs[0].ExecutionID {
		t.Errorf("root_id of the turn during the outage = %d, want %d", execs[1].RootID, execs[0].ExecutionID)
	}

	if err := proxy.Restart(); err != nil {
		t.Fatalf("restart the proxy: %v", err)
	}
	store, err := threadstore.OpenRedis(context.Background(), testredis.URL(), threadstore.Options{KeyPrefix: prefix})
	if err != nil {
		t.Fatalf("open the store: %v", err)
	}
	defer store.Close()
	key := threadstore.ThreadKey{Channel: channelID, ThreadTS: root}
	var thread threadstore.Thread
	var pending []threadstore.Pending
	deadline := time.Now().Add(waitTimeout)
	for {
		ctx := context.Background()
		thread, _ = store.Thread(ctx, key)
		pending, _ = store.PendingReplies(ctx)
		if thread.RootID != 0 && len(pending) == 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if thread.RootID != execs[0].ExecutionID {
		t.Errorf("stored root_id after the outage = %d, want %d", thread.RootID, execs[0].ExecutionID)
	}
	if len(pending) != 0 {
		t.Errorf("pending replies after the outage = %+v, want none", pending)
	}
	if !hasLogLine(h.logs.String(), "store write recovered", "op=put_thread") {
		t.Error("the bot did not log the retried thread write")
	}
	if err := h.stop(); err != nil && !errors.Is(err, context.Canceled) {
		t.Errorf("bot.Run: %v", err)
	}
}
