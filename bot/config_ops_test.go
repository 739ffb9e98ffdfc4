package bot

import (
	"slices"
	"strings"
	"testing"

	"github.com/tessbot/tessbot/threadstore"
)

func TestLoadConfigOperationsDefaults(t *testing.T) {
	setEnv(t, nil)
	cfg, err := LoadConfig()
	if err != nil {
		t.Fatalf("LoadConfig: %v", err)
	}
	checks := []struct {
		name string
		got  any
		want any
	}{
		{"METRICS_ADDR", cfg.MetricsAddr, ""},
		{"ALLOWED_CHANNELS", cfg.AllowedChannels, ""},
		{"ALLOWED_USERS", cfg.AllowedUsers, ""},
		{"CHANNEL_AGENTS", cfg.ChannelAgents, ""},
		{"TESS_MODEL", cfg.TessModel, ""},
		{"TESS_TOOLS", cfg.TessTools, ""},
		{"TESS_TEMPERATURE", cfg.TessTemperature, ""},
		{"THREAD_CONTEXT_MESSAGES", cfg.ThreadContextMessages, 50},
		{"STOP_BUTTON", cfg.StopButton, true},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}
}

func TestLoadConfigOperationsValues(t *testing.T) {
	setEnv(t, map[string]string{
		"METRICS_ADDR":            "127.0.0.1:9090",
		"ALLOWED_CHANNELS":        "C1, G2",
		"ALLOWED_USERS":           "U1",
		"CHANNEL_AGENTS":          "C1:43,G2:44",
		"TESS_MODEL":              "tess-5",
		"TESS_TOOLS":              "no-tools",
		"TESS_TEMPERATURE":        "0.25",
		"THREAD_CONTEXT_MESSAGES": "15",
		"STOP_BUTTON":             "false",
	})
	cfg, err := LoadConfig()
	if err != nil {
		t.Fatalf("LoadConfig: %v", err)
	}
	if cfg.MetricsAddr != "127.0.0.1:9090" || cfg.ThreadContextMessages != 15 || cfg.StopButton {
		t.Errorf("METRICS_ADDR %q, THREAD_CONTEXT_MESSAGES %d, STOP_BUTTON %v",
			cfg.MetricsAddr, cfg.ThreadContextMessages, cfg.StopButton)
	}
	if got, want := cfg.agentIDs(), []string{"42", "43", "44"}; !slices.Equal(got, want) {
		t.Errorf("agentIDs = %v, want %v", got, want)
	}
	opts := cfg.CheckOptions()
	if !slices.Equal(opts.AgentIDs, []string{"42", "43", "44"}) || opts.Defaults.Temperature != "0.25" {
		t.Errorf("CheckOptions agents %v defaults %+v", opts.AgentIDs, opts.Defaults)
	}
	if opts.SlackBotToken != testBotToken || !strings.HasSuffix(opts.SlackAPIURL, "/") {
		t.Errorf("CheckOptions Slack settings not copied: %q", opts.SlackAPIURL)
	}
}

func TestLoadConfigOperationsInvalid(t *testing.T) {
	tests := []struct {
		name  string
		value string
		want  string
	}{
		{"METRICS_ADDR", "9090", `invalid METRICS_ADDR: expected host:port such as :9090`},
		{"METRICS_ADDR", ":http", `invalid METRICS_ADDR: expected a port from 0 to 65535, got "http"`},
		{"ALLOWED_CHANNELS", "#general", `invalid ALLOWED_CHANNELS: expected a Slack channel id`},
		{"ALLOWED_USERS", "alice", `invalid ALLOWED_USERS: expected a Slack user id`},
		{"CHANNEL_AGENTS", "C1=43", `invalid CHANNEL_AGENTS: expected channel:agent pairs`},
		{"CHANNEL_AGENTS", "C1:43,C1:44", `invalid CHANNEL_AGENTS: channel C1 is listed twice`},
		{"TESS_TEMPERATURE", "hot", `invalid TESS_TEMPERATURE: expected a number from 0 to 2, got "hot"`},
		{"TESS_TEMPERATURE", "2.5", `invalid TESS_TEMPERATURE: expected a number from 0 to 2`},
		{"THREAD_CONTEXT_MESSAGES", "-1", `invalid THREAD_CONTEXT_MESSAGES: expected an integer from 0 to 1000`},
		{"THREAD_CONTEXT_MESSAGES", "5000", `invalid THREAD_CONTEXT_MESSAGES`},
		{"STOP_BUTTON", "maybe", `invalid STOP_BUTTON: expected true or false`},
	}
	for _, tt := range tests {
		t.Run(tt.name+" "+tt.value, func(t *testing.T) {
			setEnv(t, map[string]string{tt.name: tt.value})
			_, err := LoadConfig()
			if err == nil {
				t.Fatalf("LoadConfig accepted %s=%q", tt.name, tt.value)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not contain %q", err, tt.want)
			}
			assertNoSecret(t, err.Error())
		})
	}
}

func TestHealth(t *testing.T) {
	tests := []struct {
		name     string
		socketUp bool
		readErr  error
		want     string
	}{
		{"healthy", true, threadstore.ErrNotFound, ""},
		{"socket down", false, threadstore.ErrNotFound, "socket mode is not connected"},
		{"store down", true, errStoreDown, "store is not responding"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := &bot{store: brokenStore{readErr: tt.readErr}}
			b.socketUp.Store(tt.socketUp)
			err := b.health()
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("health = %v, want nil", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Errorf("health = %v, want an error containing %q", err, tt.want)
			}
		})
	}
}
