package fakeslack

import (
	"strings"
	"testing"
)

func TestCheckBlocks(t *testing.T) {
	tests := []struct {
		name string
		raw  string
		want string
	}{
		{"valid section", `[{"type":"section","text":{"type":"mrkdwn","text":"hi"}}]`, ""},
		{"not json", `[{`, "invalid_blocks_format"},
		{"missing type", `[{"text":"x"}]`, "invalid_blocks"},
		{"long section", `[{"type":"section","text":{"type":"mrkdwn","text":"` + strings.Repeat("a", 3001) + `"}}]`, "invalid_blocks"},
		{"long header", `[{"type":"header","text":{"type":"plain_text","text":"` + strings.Repeat("a", 151) + `"}}]`, "invalid_blocks"},
		{"markdown at limit", `[{"type":"markdown","text":"` + strings.Repeat("a", 12000) + `"}]`, ""},
		{"markdown over limit", `[{"type":"markdown","text":"` + strings.Repeat("a", 6001) + `"},` +
			`{"type":"markdown","text":"` + strings.Repeat("a", 6000) + `"}]`, "msg_blocks_too_long"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := checkBlocks(tt.raw); got != tt.want {
				t.Errorf("checkBlocks = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestVisibleText(t *testing.T) {
	tests := []struct {
		name string
		msg  Message
		want string
	}{
		{"text only", Message{Text: "plain"}, "plain"},
		{"markdown text wins", Message{Text: "fallback", MarkdownText: "**md**"}, "**md**"},
		{"blocks over text", Message{Text: "fallback",
			Blocks: `[{"type":"header","text":{"type":"plain_text","text":"H"}},{"type":"divider"},{"type":"markdown","text":"body"}]`},
			"H\nbody"},
		{"blocks without text", Message{Text: "fallback", Blocks: `[{"type":"divider"}]`}, "fallback"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.msg.VisibleText(); got != tt.want {
				t.Errorf("VisibleText = %q, want %q", got, tt.want)
			}
		})
	}
}
