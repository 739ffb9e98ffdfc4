package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/tessbot/tessbot/internal/fakeslack"
	"github.com/tessbot/tessbot/internal/faketess"
)

func TestMainCheck(t *testing.T) {
	tests := []struct {
		name     string
		tessKey  func(*faketess.Server) string
		wantCode int
		wantLine string
	}{
		{"working credentials", func(s *faketess.Server) string { return s.APIKey }, 0, "ok       tess agent 7:"},
		{"rejected tess key", func(*faketess.Server) string { return "tess-wrong-key-value" }, 1, "FAILED   tess api key:"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			slack := fakeslack.New(t)
			tess := faketess.New(t)
			cmd, stderr := command(t, map[string]string{
				"SLACK_BOT_TOKEN": slack.BotToken(),
				"SLACK_APP_TOKEN": slack.AppToken(),
				"TESS_API_KEY":    tt.tessKey(tess),
				"TESS_AGENT_ID":   "7",
				"SLACK_API_URL":   slack.APIURL(),
				"TESS_API_URL":    tess.URL,
				"DATA_DIR":        t.TempDir(),
			})
			cmd.Args = append(cmd.Args, "check")
			var stdout bytes.Buffer
			cmd.Stdout = &stdout

			if code := exitCode(t, cmd.Run()); code != tt.wantCode {
				t.Errorf("exit code = %d, want %d; stderr:\n%s", code, tt.wantCode, stderr)
			}
			if !strings.Contains(stdout.String(), tt.wantLine) {
				t.Errorf("stdout lacks %q:\n%s", tt.wantLine, stdout.String())
			}
			if n := slack.ConnectionCount(); n != 0 {
				t.Errorf("check opened %d Socket Mode connections, want 0", n)
			}
			if strings.Contains(stdout.String()+stderr.String(), "tess-wrong-key-value") {
				t.Error("output contains the Tess key")
			}
		})
	}
}

func TestMainUnknownArgument(t *testing.T) {
	cmd, stderr := command(t, nil)
	cmd.Args = append(cmd.Args, "serve")
	if code := exitCode(t, cmd.Run()); code != 2 {
		t.Errorf("exit code = %d, want 2", code)
	}
	if !strings.Contains(stderr.String(), "usage: tessbot [check]") {
		t.Errorf("stderr lacks the usage: %q", stderr.String())
	}
}
