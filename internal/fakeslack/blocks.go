package fakeslack

import (
	"encoding/json"
	"strings"
	"unicode/utf8"
)

// Block Kit limits that Slack documents: 50 blocks a message, 3,000 characters of section
// text, 150 of header text and 12,000 across all markdown blocks.
const (
	maxBlocks         = 50
	maxSectionText    = 3000
	maxHeaderText     = 150
	maxMarkdownBlocks = 12000
)

// block is the part of a Block Kit block that the fake checks and renders.
type block struct {
	Type string          `json:"type"`
	Text json.RawMessage `json:"text"`
}

// blockText returns the text of a block: a markdown block carries a string, section and
// header blocks a text object.
func (b block) blockText() string {
	if len(b.Text) == 0 {
		return ""
	}
	var text string
	if b.Type == "markdown" {
		_ = json.Unmarshal(b.Text, &text)
		return text
	}
	var textObject struct {
		Text string `json:"text"`
	}
	_ = json.Unmarshal(b.Text, &textObject)
	return textObject.Text
}

func parseBlocks(raw string) ([]block, error) {
	var blocks []block
	err := json.Unmarshal([]byte(raw), &blocks)
	return blocks, err
}

// checkBlocks returns the Slack error code for blocks that break a limit, or "".
func checkBlocks(raw string) string {
	blocks, err := parseBlocks(raw)
	if err != nil {
		return "invalid_blocks_format"
	}
	if len(blocks) > maxBlocks {
		return "invalid_blocks"
	}
	markdown := 0
	for _, b := range blocks {
		n := utf8.RuneCountInString(b.blockText())
		switch b.Type {
		case "markdown":
			markdown += n
		case "section":
			if n > maxSectionText {
				return "invalid_blocks"
			}
		case "header":
			if n > maxHeaderText {
				return "invalid_blocks"
			}
		case "":
			return "invalid_blocks"
		}
	}
	if markdown > maxMarkdownBlocks {
		return "msg_blocks_too_long"
	}
	return ""
}

// blocksText joins the text of the markdown, section and header blocks in raw.
func blocksText(raw string) string {
	if raw == "" {
		return ""
	}
	blocks, err := parseBlocks(raw)
	if err != nil {
		return ""
	}
	var parts []string
	for _, b := range blocks {
		switch b.Type {
		case "markdown", "section", "header":
			if text := b.blockText(); text != "" {
				parts = append(parts, text)
			}
		}
	}
	return strings.Join(parts, "\n")
}

// hasBlocks reports whether raw is a non-empty block array.
func hasBlocks(raw string) bool {
	blocks, err := parseBlocks(raw)
	return err == nil && len(blocks) > 0
}
