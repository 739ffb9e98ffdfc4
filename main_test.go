package main

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tessbot/tessbot/bot"
	"github.com/tessbot/tessbot/internal/fakeslack"
	"github.com/tessbot/tessbot/internal/faketess"
)

// runMainEnv makes the test binary run main instead of the tests, so that a test can
// watch the real process: its exit code, its stderr and its signal handling.
const runMainEnv = "TESSBOT_TEST_RUN_MAIN"

func TestMain(m *testing.M) {
	if os.Getenv(runMainEnv) == "1" {
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// command returns the test binary set up to run main with env and none of the bot's
// variables from the test's own environment.
func command(t *testing.T, env map[string]string) (*exec.Cmd, *bytes.Buffer) {
	t.Helper()
	names := map[string]bool{}
	for _, v := range bot.Variables() {
		names[v.Name] = true
	}
	cmd := exec.Command(os.Args[0])
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		if !names[name] {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, runMainEnv+"=1")
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	return cmd, &stderr
}

func exitCode(t *testing.T, err error) int {
	t.Helper()
	var exitErr *exec.ExitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &exitErr):
		return exitErr.ExitCode()
	}
	t.Fatalf("run main: %v", err)
	return -1
}

func TestMainInvalidConfigExitsWithError(t *testing.T) {
	const appToken = "xapp-1-secret-value-in-env"
	cmd, stderr := command(t, map[string]string{
		"SLACK_APP_TOKEN": appToken,
		"TESS_API_KEY":    "tess-secret-value-in-env",
		"TESS_AGENT_ID":   "7",
		"EDIT_INTERVAL":   "soon",
	})
	code := exitCode(t, cmd.Run())

	if code != 1 {
		t.Errorf("exit code = %d, want 1", code)
	}
	out := stderr.String()
	if !strings.Contains(out, "SLACK_BOT_TOKEN is missing") {
		t.Errorf("stderr %q does not name the missing SLACK_BOT_TOKEN", out)
	}
	for _, secret := range []string{appToken, "tess-secret-value-in-env"} {
		if strings.Contains(out, secret) {
			t.Errorf("stderr contains the secret %q", secret)
		}
	}
}

func TestMainStopsOnSIGTERM(t *testing.T) {
	slack := fakeslack.New(t)
	tess := faketess.New(t)
	cmd, stderr := command(t, map[string]string{
		"SLACK_BOT_TOKEN": slack.BotToken(),
		"SLACK_APP_TOKEN": slack.AppToken(),
		"TESS_API_KEY":    tess.APIKey,
		"TESS_AGENT_ID":   "7",
		"SLACK_API_URL":   slack.APIURL(),
		"TESS_API_URL":    tess.URL,
		"DATA_DIR":        t.TempDir(),
	})
	if err := cmd.Start(); err != nil {
		t.Fatalf("start main: %v", err)
	}
	var waitErr error
	exited := make(chan struct{})
	go func() {
		waitErr = cmd.Wait()
		close(exited)
	}()
	t.Cleanup(func() {
		select {
		case <-exited:
		default:
			_ = cmd.Process.Kill()
			<-exited
		}
	})

	slack.WaitConnections(t, 1, 20*time.Second)
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatalf("send SIGTERM: %v", err)
	}
	select {
	case <-exited:
	case <-time.After(20 * time.Second):
		t.Fatal("main did not exit after SIGTERM")
	}

	if code := exitCode(t, waitErr); code != 0 {
		t.Errorf("exit code = %d, want 0; stderr:\n%s", code, stderr)
	}
	if !strings.Contains(stderr.String(), "bot stopped") {
		t.Errorf("stderr does not log the stop:\n%s", stderr)
	}
}
