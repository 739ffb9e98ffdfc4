package main

import (
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/tessbot/tessbot/bot"
	"go.yaml.in/yaml/v3"
)

// TestReadmeListsEveryVariable keeps the README's configuration table in step with
// bot.Config: every variable is listed once with its default.
func TestReadmeListsEveryVariable(t *testing.T) {
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	rows := map[string]string{}
	row := regexp.MustCompile("(?m)^\\| `([A-Z0-9_]+)` \\| ([^|]*) \\|")
	for _, m := range row.FindAllStringSubmatch(string(readme), -1) {
		rows[m[1]] = strings.TrimSpace(m[2])
	}

	for _, v := range bot.Variables() {
		got, ok := rows[v.Name]
		if !ok {
			t.Errorf("README lacks a row for %s", v.Name)
			continue
		}
		want := "`" + v.Default + "`"
		switch {
		case v.Required:
			want = "required"
		case v.Default == "":
			want = ""
		}
		if got != want {
			t.Errorf("README default of %s = %q, want %q", v.Name, got, want)
		}
		delete(rows, v.Name)
	}
	for name := range rows {
		t.Errorf("README lists %s, which bot.Config does not read", name)
	}
}

// TestManifestSubscribesToHandledEvents checks that manifest.yaml parses and asks for the
// scopes and events the bot relies on.
func TestManifestSubscribesToHandledEvents(t *testing.T) {
	data, err := os.ReadFile("manifest.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var manifest struct {
		OAuthConfig struct {
			Scopes struct {
				Bot []string `yaml:"bot"`
			} `yaml:"scopes"`
		} `yaml:"oauth_config"`
		Settings struct {
			EventSubscriptions struct {
				BotEvents []string `yaml:"bot_events"`
			} `yaml:"event_subscriptions"`
			Interactivity struct {
				IsEnabled bool `yaml:"is_enabled"`
			} `yaml:"interactivity"`
			SocketModeEnabled bool `yaml:"socket_mode_enabled"`
		} `yaml:"settings"`
	}
	if err := yaml.Unmarshal(data, &manifest); err != nil {
		t.Fatalf("manifest.yaml is not valid YAML: %v", err)
	}

	if !manifest.Settings.SocketModeEnabled {
		t.Error("socket_mode_enabled is not true")
	}
	if !manifest.Settings.Interactivity.IsEnabled {
		t.Error("interactivity is off, so the Stop button cannot work")
	}
	scopes := manifest.OAuthConfig.Scopes.Bot
	for _, want := range []string{
		"app_mentions:read", "channels:history", "groups:history", "im:history",
		"mpim:history", "chat:write", "files:read",
	} {
		if !slices.Contains(scopes, want) {
			t.Errorf("bot scopes lack %s", want)
		}
	}
	events := manifest.Settings.EventSubscriptions.BotEvents
	for _, want := range []string{
		"app_mention", "message.channels", "message.groups", "message.im", "message.mpim",
	} {
		if !slices.Contains(events, want) {
			t.Errorf("bot events lack %s", want)
		}
	}
}
