// Package mrkdwn renders the Markdown that agents write as Slack mrkdwn, and splits long
// answers into messages that fit Slack's size limit.
//
// The conversion walks the syntax tree that goldmark builds with its GitHub extensions.
// Bold, italic and strikethrough become *x*, _x_ and ~x~; links and images become
// <url|label>, and a marker inside a word gets a zero-width space beside it so that Slack
// still formats it; headings become bold lines; lists keep their numbers and get •, ◦ and ▪
// by depth, with four spaces of indentation per level; quotes become "> " lines; code
// blocks lose their language tag; tables become aligned columns in a code block; rules
// become a line. In all text, code included, &, < and > become entities, so an agent that
// writes <!channel> or <@U123> mentions no one. Backticks that Slack would read as code
// markers become U+02CB, which looks alike.
//
// Long answers are cut at a paragraph, else a line, else a word boundary, never inside a
// character or an entity; a code block or formatting cut in two is closed at the end of
// one part and reopened at the start of the next. Stream does this for an answer that is
// still growing, keeping every part but the last unchanged once returned.
//
// Lengths are measured by Length: UTF-16 code units of the text as sent, entities and
// link markup included.
package mrkdwn

// DefaultLimit is the maximum length of one message's text. Slack's chat.postMessage and
// chat.update reject text near 4,000 characters with msg_too_long.
const DefaultLimit = 4000

// MinLimit is the smallest limit a Stream accepts. Every part needs room for the markers
// that close and reopen a code block or formatting cut in two.
const MinLimit = 64

// Render converts a complete Markdown document to mrkdwn, as one text of any length.
func Render(markdown string) string {
	src := []byte(markdown)
	return render(src, parse(src, nil), 0).text
}

// Split converts a complete Markdown document to mrkdwn parts of at most limit (see
// Length), as the final Update of a Stream does.
func Split(markdown string, limit int) []string {
	return NewStream(limit).Update(markdown, true)
}
