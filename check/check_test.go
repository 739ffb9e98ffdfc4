package check_test

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/tessbot/tessbot/check"
	"github.com/tessbot/tessbot/internal/fakeslack"
	"github.com/tessbot/tessbot/internal/faketess"
)

// Names of the check lines, as Run reports them.
const (
	botTokenCheck = "slack bot token (auth.test)"
	appTokenCheck = "slack app token (apps.connections.open)"
	keyCheck      = "tess api key"
	wsCheck       = "tess workspace"
)

const workspaceID = "42"

// chatAgent is a chat agent with the documented questions.
var chatAgent = faketess.Agent{ID: 7, Title: "Support", Type: "chat", Questions: faketess.ChatQuestions}

// env is a fake Slack and a fake Tess with the options that point the checks at them.
type env struct {
	slack *fakeslack.Server
	tess  *faketess.Server
	opts  check.Options
}

func newEnv(t *testing.T, tessOpts ...faketess.Option) *env {
	t.Helper()
	tessOpts = append([]faketess.Option{faketess.WithWorkspaceID(workspaceID), faketess.WithAgent(chatAgent)}, tessOpts...)
	e := &env{slack: fakeslack.New(t), tess: faketess.New(t, tessOpts...)}
	e.opts = check.Options{
		SlackAPIURL:     e.slack.APIURL(),
		SlackBotToken:   e.slack.BotToken(),
		SlackAppToken:   e.slack.AppToken(),
		TessAPIURL:      e.tess.URL,
		TessAPIKey:      e.tess.APIKey,
		TessWorkspaceID: workspaceID,
		AgentIDs:        []string{"7"},
		Timeout:         10 * time.Second,
	}
	return e
}

// run runs the checks and returns the results by name and the printed output.
func (e *env) run(t *testing.T) (map[string]check.Result, string, error) {
	t.Helper()
	var out bytes.Buffer
	results := check.Run(context.Background(), e.opts)
	var err error
	if check.Print(&out, results) > 0 {
		err = check.ErrFailed
	}
	byName := map[string]check.Result{}
	for _, r := range results {
		byName[r.Name] = r
	}
	for _, secret := range []string{e.opts.SlackBotToken, e.opts.SlackAppToken, e.opts.TessAPIKey} {
		if secret != "" && strings.Contains(out.String(), secret) {
			t.Errorf("output contains the secret %q:\n%s", secret, out.String())
		}
	}
	return byName, out.String(), err
}

// expect checks the status of the named check and that its detail contains want.
func expect(t *testing.T, results map[string]check.Result, name string, status check.Status, want string) {
	t.Helper()
	r, ok := results[name]
	if !ok {
		t.Errorf("no result for %q", name)
		return
	}
	if r.Status != status {
		t.Errorf("%s: status %v, want %v (detail %q)", name, r.Status, status, r.Detail)
	}
	if !strings.Contains(r.Detail, want) {
		t.Errorf("%s: detail %q does not contain %q", name, r.Detail, want)
	}
}

func TestCheckAllWorking(t *testing.T) {
	e := newEnv(t)
	e.opts.Defaults = check.Defaults{Model: "tess-6", Tools: "internet", Temperature: "0.50"}
	results, out, err := e.run(t)
	if err != nil {
		t.Fatalf("Command: %v\n%s", err, out)
	}
	expect(t, results, botTokenCheck, check.OK, fakeslack.DefaultBotUserID)
	expect(t, results, appTokenCheck, check.OK, "not dialed")
	expect(t, results, keyCheck, check.OK, "accepted")
	expect(t, results, wsCheck, check.OK, workspaceID)
	expect(t, results, "tess agent 7", check.OK, `"Support" is a chat agent`)
	expect(t, results, "tess agent 7 defaults", check.OK, "model tess-6, tools internet, temperature 0.5")

	if lines := strings.Count(out, "\n"); lines != 6 {
		t.Errorf("output has %d lines, want 6:\n%s", lines, out)
	}
	if !strings.HasPrefix(out, "ok ") {
		t.Errorf("output does not start with ok:\n%s", out)
	}
	if n := e.slack.ConnectionCount(); n != 0 {
		t.Errorf("check opened %d Socket Mode connections, want 0", n)
	}
}

func TestCheckBrokenSlackTokens(t *testing.T) {
	tests := []struct {
		name    string
		setup   func(e *env)
		check   string
		wantMsg string
	}{
		{"wrong bot token", func(e *env) { e.opts.SlackBotToken = "xoxb-wrong-secret-1" },
			botTokenCheck, "invalid_auth: Slack rejected the token; copy SLACK_BOT_TOKEN"},
		{"wrong app token", func(e *env) { e.opts.SlackAppToken = "xapp-wrong-secret-2" },
			appTokenCheck, "invalid_auth: Slack rejected the token; copy SLACK_APP_TOKEN"},
		{"empty app token", func(e *env) { e.opts.SlackAppToken = "" },
			appTokenCheck, "not_authed"},
		{"bot token as app token", func(e *env) {
			e.slack.FailNext("apps.connections.open", 1, fakeslack.Fault{Error: "not_allowed_token_type"})
		}, appTokenCheck, "connections:write"},
		{"revoked bot token", func(e *env) {
			e.slack.FailNext("auth.test", 1, fakeslack.Fault{Error: "token_revoked"})
		}, botTokenCheck, "reinstall the app"},
		{"slack rate limit", func(e *env) {
			e.slack.FailNext("auth.test", 1, fakeslack.Fault{Status: 429, RetryAfter: 7 * time.Second})
		}, botTokenCheck, "retry after 7s"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			tt.setup(e)
			var out bytes.Buffer
			err := check.Command(context.Background(), e.opts, &out)
			if !errors.Is(err, check.ErrFailed) {
				t.Fatalf("Command error = %v, want ErrFailed", err)
			}
			if !strings.Contains(out.String(), "FAILED   "+tt.check+": ") {
				t.Errorf("no FAILED line for %s:\n%s", tt.check, out.String())
			}
			if !strings.Contains(out.String(), tt.wantMsg) {
				t.Errorf("output lacks %q:\n%s", tt.wantMsg, out.String())
			}
			for _, secret := range []string{"xoxb-wrong-secret-1", "xapp-wrong-secret-2", e.slack.BotToken(), e.slack.AppToken()} {
				if strings.Contains(out.String(), secret) {
					t.Errorf("output contains the secret %q", secret)
				}
			}
			if !strings.Contains(out.String(), "ok       "+keyCheck) {
				t.Errorf("a Slack failure stopped the Tess checks:\n%s", out.String())
			}
		})
	}
}

func TestCheckSlackUnreachable(t *testing.T) {
	e := newEnv(t)
	e.slack.Close()
	results, _, err := e.run(t)
	if !errors.Is(err, check.ErrFailed) {
		t.Fatalf("Command error = %v, want ErrFailed", err)
	}
	expect(t, results, botTokenCheck, check.Failed, "could not reach Slack")
	expect(t, results, appTokenCheck, check.Failed, "could not reach Slack")
}

func TestCheckBrokenTess(t *testing.T) {
	tests := []struct {
		name  string
		setup func(e *env)
		want  map[string]check.Status
		hint  string
	}{
		{"wrong key", func(e *env) { e.opts.TessAPIKey = "tess-wrong-secret-3" },
			map[string]check.Status{keyCheck: check.Failed, wsCheck: check.Skipped, "tess agent 7": check.Skipped},
			"API key was rejected"},
		{"wrong workspace", func(e *env) { e.opts.TessWorkspaceID = "43" },
			map[string]check.Status{keyCheck: check.OK, wsCheck: check.Failed, "tess agent 7": check.Skipped},
			"do not have access to this workspace"},
		{"missing workspace", func(e *env) { e.opts.TessWorkspaceID = "" },
			map[string]check.Status{keyCheck: check.OK, wsCheck: check.Failed},
			"x-workspace-id header is required"},
		{"unknown agent", func(e *env) { e.opts.AgentIDs = []string{"8"} },
			map[string]check.Status{keyCheck: check.OK, wsCheck: check.OK, "tess agent 8": check.Failed,
				"tess agent 8 defaults": check.Skipped},
			"not found: check the agent id"},
		{"tess failing", func(e *env) { e.tess.Inject(faketess.Fault{Status: 503, Times: 5}) },
			map[string]check.Status{keyCheck: check.Failed, wsCheck: check.Skipped},
			"could not check"},
		{"no agent", func(e *env) { e.opts.AgentIDs = nil },
			map[string]check.Status{keyCheck: check.Failed, wsCheck: check.Skipped},
			"set TESS_AGENT_ID"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			tt.setup(e)
			results, out, err := e.run(t)
			if !errors.Is(err, check.ErrFailed) {
				t.Fatalf("Command error = %v, want ErrFailed", err)
			}
			for name, status := range tt.want {
				expect(t, results, name, status, "")
			}
			if !strings.Contains(out, tt.hint) {
				t.Errorf("output lacks %q:\n%s", tt.hint, out)
			}
			if strings.Contains(out, "tess-wrong-secret-3") {
				t.Error("output contains the wrong key")
			}
		})
	}
}

func TestCheckNonChatAgent(t *testing.T) {
	e := newEnv(t, faketess.WithAgent(faketess.Agent{ID: 9, Title: "Pictures", Type: "image"}))
	e.opts.AgentIDs = []string{"7", "9"}
	results, _, err := e.run(t)
	if !errors.Is(err, check.ErrFailed) {
		t.Fatalf("Command error = %v, want ErrFailed", err)
	}
	expect(t, results, "tess agent 7", check.OK, "chat agent")
	expect(t, results, "tess agent 9", check.Failed, `type "image", not chat`)
}

func TestCheckInvalidDefaults(t *testing.T) {
	e := newEnv(t)
	e.opts.Defaults = check.Defaults{Model: "gpt-2", Temperature: "0.3"}
	results, out, err := e.run(t)
	if !errors.Is(err, check.ErrFailed) {
		t.Fatalf("Command error = %v, want ErrFailed", err)
	}
	expect(t, results, "tess agent 7", check.OK, "")
	expect(t, results, "tess agent 7 defaults", check.Failed,
		`invalid TESS_MODEL "gpt-2" for agent 7 ("Support"): allowed values are tess-5, tess-6`)
	expect(t, results, "tess agent 7 defaults", check.Failed,
		`invalid TESS_TEMPERATURE "0.3" for agent 7 ("Support"): allowed values are 0, 0.25, 0.5, 0.75, 1`)
	if strings.Count(out, "\n") != 6 {
		t.Errorf("a multi-line error broke the one-line-per-check output:\n%s", out)
	}
}

func TestCheckEachAgentOnce(t *testing.T) {
	e := newEnv(t, faketess.WithAgent(faketess.Agent{ID: 11, Title: "Sales", Type: "chat", Questions: faketess.ChatQuestions}))
	e.opts.AgentIDs = []string{"7", "11", "7", " 11 "}
	results, out, err := e.run(t)
	if err != nil {
		t.Fatalf("Command: %v\n%s", err, out)
	}
	expect(t, results, "tess agent 11", check.OK, `"Sales"`)
	if n := strings.Count(out, "tess agent 7:"); n != 1 {
		t.Errorf("agent 7 checked %d times, want 1:\n%s", n, out)
	}
}
