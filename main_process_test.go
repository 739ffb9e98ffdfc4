package main

import (
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tessbot/tessbot/internal/fakeslack"
	"github.com/tessbot/tessbot/internal/faketess"
	"github.com/tessbot/tessbot/internal/syncbuf"
	"github.com/tessbot/tessbot/mrkdwn"
)

// processTimeout bounds each wait of the tests that run the bot as child processes.
const processTimeout = 30 * time.Second

// botProcess is the bot running main in a child process of the test.
type botProcess struct {
	t      *testing.T
	name   string
	cmd    *exec.Cmd
	logs   *syncbuf.Buffer
	exited chan struct{}
	err    error // the result of Wait, set before exited is closed
}

// startBot starts main in a child process with env. The process is killed when the test
// ends, and its log is shown when the test failed.
func startBot(t *testing.T, name string, env map[string]string) *botProcess {
	t.Helper()
	cmd, _ := command(t, env)
	p := &botProcess{t: t, name: name, cmd: cmd, logs: &syncbuf.Buffer{}, exited: make(chan struct{})}
	cmd.Stderr = p.logs
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	go func() {
		p.err = cmd.Wait()
		close(p.exited)
	}()
	t.Cleanup(func() {
		p.kill()
		if t.Failed() {
			t.Logf("log of %s:\n%s", name, p.logs)
		}
	})
	return p
}

// kill sends SIGKILL, which gives the process no chance to clean up, and waits for it
// to end.
func (p *botProcess) kill() {
	select {
	case <-p.exited:
	default:
		_ = p.cmd.Process.Kill()
		<-p.exited
	}
}

// stop sends SIGTERM and checks that the process exits with status 0.
func (p *botProcess) stop() {
	p.t.Helper()
	select {
	case <-p.exited:
		p.t.Fatalf("%s exited before it was stopped: %v", p.name, p.err)
	default:
	}
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		p.t.Fatalf("send SIGTERM to %s: %v", p.name, err)
	}
	select {
	case <-p.exited:
	case <-time.After(processTimeout):
		p.t.Fatalf("%s did not exit after SIGTERM", p.name)
	}
	if code := exitCode(p.t, p.err); code != 0 {
		p.t.Errorf("%s exit code = %d, want 0", p.name, code)
	}
}

// logLines returns the number of log lines of the process that contain every one of parts.
func (p *botProcess) logLines(parts ...string) int {
	n := 0
	for line := range strings.Lines(p.logs.String()) {
		found := true
		for _, part := range parts {
			found = found && strings.Contains(line, part)
		}
		if found {
			n++
		}
	}
	return n
}

// waitUntil polls cond until it returns true, and fails the test after processTimeout.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(processTimeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not reached within %v", what, processTimeout)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// botEnv returns the environment of a bot on the fakes, keeping its store in dataDir.
func botEnv(slack *fakeslack.Server, tess *faketess.Server, dataDir string) map[string]string {
	return map[string]string{
		"SLACK_BOT_TOKEN":          slack.BotToken(),
		"SLACK_APP_TOKEN":          slack.AppToken(),
		"TESS_API_KEY":             tess.APIKey,
		"TESS_AGENT_ID":            "7",
		"SLACK_API_URL":            slack.APIURL(),
		"TESS_API_URL":             tess.URL,
		"DATA_DIR":                 dataDir,
		"LOG_LEVEL":                "debug",
		"EDIT_INTERVAL":            "20ms",
		"SLACK_UPDATES_PER_MINUTE": "6000",
		"TESS_REQUESTS_PER_SECOND": "100",
		"THREAD_CONTEXT_MESSAGES":  "0",
		"SHUTDOWN_GRACE":           "10s",
	}
}

// botReplies returns the bot's messages in the thread threadTS of channel, oldest first.
func botReplies(slack *fakeslack.Server, channel, threadTS string) []fakeslack.Message {
	var out []fakeslack.Message
	for _, m := range slack.Thread(channel, threadTS) {
		if m.User == slack.BotUserID() && m.TS != threadTS {
			out = append(out, m)
		}
	}
	return out
}

// waitReplies waits until the bot's messages in the thread show texts, in order.
func waitReplies(t *testing.T, slack *fakeslack.Server, channel, threadTS string, texts ...string) []fakeslack.Message {
	t.Helper()
	var got []fakeslack.Message
	slack.WaitFor(t, func(s *fakeslack.Server) bool {
		got = botReplies(s, channel, threadTS)
		if len(got) != len(texts) {
			return false
		}
		for i, text := range texts {
			if got[i].VisibleText() != text {
				return false
			}
		}
		return true
	}, processTimeout)
	return got
}

// final returns the mrkdwn parts that the final Markdown text renders to with limit.
func final(markdown string, limit int) []string {
	return mrkdwn.NewStream(limit).Update(markdown, true)
}
