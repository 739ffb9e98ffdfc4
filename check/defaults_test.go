package check

import (
	"strings"
	"testing"

	"github.com/tessbot/tessbot/tess"
)

var testAgent = &tess.Agent{
	ID:    7,
	Title: "Support",
	Type:  "chat",
	Questions: []tess.Question{
		{Name: "temperature", Type: "select", Options: []string{"0", "0.25", "0.5", "0.75", "1"}},
		{Name: "model", Type: "select", Options: []string{"tess-5", "Tess-6"}},
		{Name: "tools", Type: "select", Options: []string{"no-tools", "internet"}},
	},
}

var openAgent = &tess.Agent{
	ID:    8,
	Title: "Open",
	Type:  "chat",
	Questions: []tess.Question{
		{Name: "temperature", Type: "number"},
		{Name: "model", Type: "text"},
	},
}

func TestResolveDefaults(t *testing.T) {
	tests := []struct {
		name    string
		agent   *tess.Agent
		in      Defaults
		want    Defaults
		wantErr []string
	}{
		{"nothing set", testAgent, Defaults{}, Defaults{}, nil},
		{"exact options", testAgent, Defaults{Model: "tess-5", Tools: "internet", Temperature: "0.25"},
			Defaults{Model: "tess-5", Tools: "internet", Temperature: "0.25"}, nil},
		{"option spelling", testAgent, Defaults{Model: "TESS-6", Temperature: "0.50"},
			Defaults{Model: "Tess-6", Temperature: "0.5"}, nil},
		{"temperature one", testAgent, Defaults{Temperature: "1.0"}, Defaults{Temperature: "1"}, nil},
		{"unknown model", testAgent, Defaults{Model: "gpt-2"}, Defaults{},
			[]string{`invalid TESS_MODEL "gpt-2"`, "allowed values are tess-5, Tess-6"}},
		{"unknown tools", testAgent, Defaults{Tools: "web"}, Defaults{},
			[]string{`invalid TESS_TOOLS "web"`, "no-tools, internet"}},
		{"temperature not an option", testAgent, Defaults{Temperature: "0.3"}, Defaults{},
			[]string{`invalid TESS_TEMPERATURE "0.3"`, "0, 0.25, 0.5, 0.75, 1"}},
		{"every error listed", testAgent, Defaults{Model: "x", Tools: "y", Temperature: "z"}, Defaults{},
			[]string{"TESS_MODEL", "TESS_TOOLS", "TESS_TEMPERATURE"}},
		{"free model", openAgent, Defaults{Model: "anything", Temperature: "1.5"},
			Defaults{Model: "anything", Temperature: "1.5"}, nil},
		{"free temperature too high", openAgent, Defaults{Temperature: "2.5"}, Defaults{},
			[]string{"expected a number from 0 to 2"}},
		{"free temperature NaN", openAgent, Defaults{Temperature: "NaN"}, Defaults{},
			[]string{"expected a number from 0 to 2"}},
		{"no tools input", openAgent, Defaults{Tools: "internet"}, Defaults{},
			[]string{`agent 8 ("Open") has no tools input; leave TESS_TOOLS empty`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ResolveDefaults(tt.agent, tt.in)
			if len(tt.wantErr) == 0 {
				if err != nil {
					t.Fatalf("ResolveDefaults: %v", err)
				}
				if got != tt.want {
					t.Errorf("ResolveDefaults = %+v, want %+v", got, tt.want)
				}
				return
			}
			if err == nil {
				t.Fatalf("ResolveDefaults(%+v) = %+v, want an error", tt.in, got)
			}
			for _, w := range tt.wantErr {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
			if got != tt.in {
				t.Errorf("on error got %+v, want the input back", got)
			}
		})
	}
}

func TestDefaultsString(t *testing.T) {
	if got := (Defaults{}).String(); !strings.Contains(got, "none set") {
		t.Errorf("empty Defaults = %q", got)
	}
	if got := (Defaults{Model: "tess-5", Temperature: "0"}).String(); got != "model tess-5, temperature 0" {
		t.Errorf("Defaults = %q", got)
	}
}

func TestSecretRedactor(t *testing.T) {
	redact := secretRedactor("xoxb-1", "", "key-2")
	if got := redact("a xoxb-1 b key-2 c"); got != "a [redacted] b [redacted] c" {
		t.Errorf("redact = %q", got)
	}
	if got := secretRedactor("")("plain"); got != "plain" {
		t.Errorf("redact without secrets = %q", got)
	}
}
