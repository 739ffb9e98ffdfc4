package bot

import (
	"slices"
	"strings"
	"testing"
)

func TestParseChannelAgents(t *testing.T) {
	tests := []struct {
		name  string
		value string
		want  channelAgents
	}{
		{"empty", "", channelAgents{}},
		{"two pairs", "C123:456,C789:1011", channelAgents{"C123": "456", "C789": "1011"}},
		{"spaces and blanks", " C1 : 7 , , G2:8 ", channelAgents{"C1": "7", "G2": "8"}},
		{"dm channel", "D1:9", channelAgents{"D1": "9"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseChannelAgents(tt.value)
			if err != nil {
				t.Fatalf("parseChannelAgents(%q): %v", tt.value, err)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("got %v, want %v", got, tt.want)
			}
			for ch, agent := range tt.want {
				if got[ch] != agent {
					t.Errorf("agent of %s = %q, want %q", ch, got[ch], agent)
				}
			}
		})
	}
}

func TestParseChannelAgentsInvalid(t *testing.T) {
	tests := []struct {
		name  string
		value string
		want  string
	}{
		{"no colon", "C123=456", `expected channel:agent pairs such as C0123ABCD:456, got "C123=456"`},
		{"bad channel", "general:456", `entry "general:456": expected a Slack channel id`},
		{"user id", "U1:456", "expected a Slack channel id"},
		{"bad agent", "C1:abc", `entry "C1:abc": agent id: expected a positive integer, got "abc"`},
		{"zero agent", "C1:0", "expected a positive integer"},
		{"empty agent", "C1:", "expected a positive integer"},
		{"duplicate channel", "C1:4,C1:5", "channel C1 is listed twice"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parseChannelAgents(tt.value)
			if err == nil {
				t.Fatalf("parseChannelAgents(%q) returned no error", tt.value)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not contain %q", err, tt.want)
			}
		})
	}
}

func TestChannelAgentsAgentFor(t *testing.T) {
	agents := channelAgents{"C1": "8"}
	if got := agents.agentFor("C1", "7"); got != "8" {
		t.Errorf("listed channel: agent %q, want 8", got)
	}
	if got := agents.agentFor("C2", "7"); got != "7" {
		t.Errorf("other channel: agent %q, want the default 7", got)
	}
}

func TestChannelAgentsAll(t *testing.T) {
	agents := channelAgents{"C1": "12", "C2": "9", "C3": "7", "C4": "12", "C5": "100"}
	want := []string{"7", "9", "12", "100"}
	if got := agents.all("7"); !slices.Equal(got, want) {
		t.Errorf("all = %v, want %v", got, want)
	}
	if got := (channelAgents{}).all("7"); !slices.Equal(got, []string{"7"}) {
		t.Errorf("all without channel agents = %v, want [7]", got)
	}
}

func FuzzParseChannelAgents(f *testing.F) {
	for _, seed := range []string{"", "C123:456,C789:1011", "C1:4,C1:5", "::", "C1:-1", " D9 : 3 ,"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, value string) {
		agents, err := parseChannelAgents(value)
		if err != nil {
			return
		}
		for ch, agent := range agents {
			if checkSlackID(ch, "CGD", "a channel id") != nil {
				t.Fatalf("accepted invalid channel %q", ch)
			}
			if checkID(agent, false) != nil {
				t.Fatalf("accepted invalid agent %q", agent)
			}
		}
	})
}
