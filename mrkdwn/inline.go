package mrkdwn

import (
	"bytes"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/yuin/goldmark/ast"
	east "github.com/yuin/goldmark/extension/ast"
	"github.com/yuin/goldmark/util"
)

// Task list check boxes.
const (
	checkedBox   = "☑ "
	uncheckedBox = "☐ "
)

// labelPipe replaces | in link labels, where Slack would read it as the separator.
const labelPipe = "¦"

// zeroWidthSpace separates a formatting marker from a letter, digit or non-ASCII
// punctuation mark next to it. Slack formats *x*, _x_, ~x~ and `x` only at a word
// boundary, so a marker inside a word, as in a**b**c or in Chinese and Japanese text
// without spaces, would show as a character.
// NOTE: which neighbours stop Slack from formatting is an estimate from reports of
// Japanese text; ASCII punctuation such as (*x*) formats without help.
const zeroWidthSpace = "\u200b"

// needsBoundary reports whether a formatting marker next to r needs a zeroWidthSpace.
func needsBoundary(r rune) bool {
	return isWordRune(r) || r >= utf8.RuneSelf && unicode.IsPunct(r)
}

func (r *renderer) inlines(parent ast.Node) {
	for n := parent.FirstChild(); n != nil; n = n.NextSibling() {
		r.inline(n)
	}
}

func (r *renderer) inline(n ast.Node) {
	switch n := n.(type) {
	case *ast.Text:
		value := n.Segment.Value(r.src)
		if afterBreakTag(n, r.src) {
			// The <br> already ended the line, so the spaces and the line break after it
			// would only indent the next line or leave a blank one.
			value = bytes.TrimLeft(value, " \t")
			if len(value) == 0 && n.SoftLineBreak() {
				return
			}
		}
		r.text(value, n.IsRaw())
		if n.HardLineBreak() || n.SoftLineBreak() {
			r.lineBreak()
		}
	case *ast.String:
		r.text(n.Value, n.IsRaw() || n.IsCode())
	case *ast.CodeSpan:
		r.codeSpan(n)
	case *ast.Emphasis:
		marker := "_"
		if n.Level >= 2 {
			marker = "*"
		}
		r.emphasis(n, marker)
	case *east.Strikethrough:
		r.emphasis(n, "~")
	case *ast.Link:
		r.link(n.Destination, n)
	case *ast.Image:
		r.link(n.Destination, n)
	case *ast.AutoLink:
		r.autoLink(n)
	case *ast.RawHTML:
		raw := n.Segments.Value(r.src)
		switch {
		case isBreakTag(raw):
			r.lineBreak()
		case !bytes.HasPrefix(raw, []byte("<!--")): // comments are invisible
			r.text(raw, true)
		}
	case *east.TaskCheckBox:
		r.out = append(r.out, checkBox(n.IsChecked)...)
	default:
		r.inlines(n)
	}
}

// text writes a text segment. Raw text has no backslash escapes or entities to decode.
// NOTE: a literal *, _ or ~ (such as \* in the Markdown) is written as it is, because
// mrkdwn has no escape for them. A pair of them can still format in Slack.
func (r *renderer) text(value []byte, raw bool) {
	if !raw && (bytes.IndexByte(value, '\\') >= 0 || bytes.IndexByte(value, '&') >= 0) {
		r.scratch = appendUnescaped(r.scratch[:0], value)
		value = r.scratch
	}
	if first, _ := utf8.DecodeRune(value); len(r.out) == r.closed && needsBoundary(first) {
		r.out = append(r.out, zeroWidthSpace...)
	}
	r.out = appendEscaped(r.out, value, false)
}

// emphasis writes the children of n between marker, unless the same marker is already
// open: Slack does not nest a format in itself, and a heading is bold already.
func (r *renderer) emphasis(n ast.Node, marker string) {
	if r.heading && marker == "*" || r.isOpen(marker) {
		r.inlines(n)
		return
	}
	r.pushMark(marker, marker)
	r.inlines(n)
	r.popMark()
}

func (r *renderer) isOpen(marker string) bool {
	for _, m := range r.marks {
		if m.open == marker {
			return true
		}
	}
	return false
}

// pushMark opens a mark, after a zeroWidthSpace when the text before it needs one.
func (r *renderer) pushMark(open, close string) {
	last, _ := utf8.DecodeLastRune(r.out)
	spaced := len(r.out) > 0 && needsBoundary(last)
	if spaced {
		r.out = append(r.out, zeroWidthSpace...)
	}
	r.marks = append(r.marks, mark{open: open, close: close, at: len(r.out), spaced: spaced})
	r.out = append(r.out, open...)
}

// popMark closes the innermost mark. A mark around nothing is removed. Trailing spaces
// move outside the closing marker, because Slack ends no formatting after a space.
func (r *renderer) popMark() {
	m := r.marks[len(r.marks)-1]
	r.marks = r.marks[:len(r.marks)-1]
	r.closeMark(m)
}

func (r *renderer) closeMark(m mark) {
	start := m.at + len(m.open)
	end := len(r.out)
	for end > start && r.out[end-1] == ' ' {
		end--
	}
	if end == start {
		at := m.at
		if m.spaced {
			at -= len(zeroWidthSpace)
		}
		r.out = append(r.out[:at], r.out[start:]...)
		return
	}
	spaces := len(r.out) - end
	r.out = append(r.out[:end], m.close...)
	r.closed = len(r.out)
	r.out = append(r.out, strings.Repeat(" ", spaces)...)
	r.spans = append(r.spans, span{start: start, end: end, open: m.open, close: m.close})
}

// lineBreak ends the line. The open marks are closed before the break and opened again
// after the next line's prefix, so that each line is formatted on its own, as Slack
// formats a span within one line.
func (r *renderer) lineBreak() {
	for i := len(r.marks) - 1; i >= 0; i-- {
		r.closeMark(r.marks[i])
	}
	r.out = append(r.out, '\n')
	r.out = append(r.out, r.prefix...)
	for i := range r.marks {
		r.marks[i].at, r.marks[i].spaced = len(r.out), false
		r.out = append(r.out, r.marks[i].open...)
	}
}

// codeSpan writes inline code. Slack code spans cannot contain a backtick, so backticks
// in the code become graveAccent.
func (r *renderer) codeSpan(n *ast.CodeSpan) {
	r.scratch = r.scratch[:0]
	for c := n.FirstChild(); c != nil; c = c.NextSibling() {
		if t, ok := c.(*ast.Text); ok {
			r.scratch = append(r.scratch, t.Segment.Value(r.src)...)
		}
	}
	for i, b := range r.scratch {
		if b == '\n' || b == '\r' {
			r.scratch[i] = ' '
		}
	}
	if len(bytes.TrimSpace(r.scratch)) == 0 {
		return
	}
	r.pushMark("`", "`")
	r.out = appendEscaped(r.out, r.scratch, false)
	r.popMark()
}

// link writes a link or image as <url|label>, Slack's link syntax.
func (r *renderer) link(destination []byte, n ast.Node) {
	label := plainText(r.src, n, false)
	url := string(util.URLEscape(destination, true))
	shown := string(appendUnescaped(nil, destination))
	r.writeLink(url, label, shown)
}

func (r *renderer) autoLink(n *ast.AutoLink) {
	url := n.URL(r.src)
	if n.AutoLinkType == ast.AutoLinkEmail && !bytes.HasPrefix(bytes.ToLower(url), []byte("mailto:")) {
		url = append([]byte("mailto:"), url...)
	}
	label := string(n.Label(r.src))
	r.writeLink(string(util.URLEscape(url, false)), label, label)
}

// writeLink writes <url|label>, or <url> when the label adds nothing. A destination that
// Slack cannot open (a relative path, an anchor, a scheme such as javascript:) and a link
// longer than maxLink, which no cut may split, become the label and destination as text.
func (r *renderer) writeLink(url, label, shown string) {
	if !linkable(url) {
		r.plainLink(label, shown)
		return
	}
	start := len(r.out)
	r.out = append(r.out, '<')
	r.out = appendEscaped(r.out, []byte(url), false)
	if label != "" && label != url {
		r.out = append(r.out, '|')
		r.appendLabel(label)
	}
	r.out = append(r.out, '>')
	if r.maxLink > 0 && Length(string(r.out[start:])) > r.maxLink {
		r.out = r.out[:start]
		r.plainLink(label, shown)
	}
}

func (r *renderer) plainLink(label, destination string) {
	r.out = appendEscaped(r.out, []byte(label), false)
	if destination == "" || destination == label {
		return
	}
	if label != "" {
		r.out = append(r.out, " ("...)
	}
	r.out = appendEscaped(r.out, []byte(destination), false)
	if label != "" {
		r.out = append(r.out, ')')
	}
}

// appendLabel writes a link label, which must not contain | or >; escaping removes >.
func (r *renderer) appendLabel(label string) {
	start := len(r.out)
	r.out = appendEscaped(r.out, []byte(label), false)
	if bytes.IndexByte(r.out[start:], '|') >= 0 {
		replaced := bytes.ReplaceAll(r.out[start:], []byte("|"), []byte(labelPipe))
		r.out = append(r.out[:start], replaced...)
	}
}

// linkSchemes are the URI schemes written as Slack links.
var linkSchemes = []string{"http:", "https:", "mailto:", "ftp:", "tel:", "slack:"}

// linkable reports whether url has a scheme in linkSchemes and something after it.
func linkable(url string) bool {
	lower := strings.ToLower(url[:min(len(url), 8)])
	for _, scheme := range linkSchemes {
		if strings.HasPrefix(lower, scheme) && len(url) > len(scheme) {
			return true
		}
	}
	return false
}

// afterBreakTag reports whether the node before n is an HTML line break.
func afterBreakTag(n ast.Node, src []byte) bool {
	raw, ok := n.PreviousSibling().(*ast.RawHTML)
	return ok && isBreakTag(raw.Segments.Value(src))
}

// isBreakTag reports whether raw is an HTML line break such as <br> or <br />, which
// agents put in table cells.
func isBreakTag(raw []byte) bool {
	s := strings.ToLower(strings.ReplaceAll(string(raw), " ", ""))
	return s == "<br>" || s == "<br/>"
}

// oneLine replaces line breaks with spaces.
var oneLine = strings.NewReplacer("\r\n", " ", "\n", " ", "\r", " ")

// plainText returns the text of the inline children of n without formatting, on one
// line. In a table (withURL true) a link also shows its destination.
func plainText(src []byte, n ast.Node, withURL bool) string {
	b := appendPlain(nil, src, n, withURL)
	return strings.TrimSpace(oneLine.Replace(string(b)))
}

func appendPlain(b, src []byte, parent ast.Node, withURL bool) []byte {
	for n := parent.FirstChild(); n != nil; n = n.NextSibling() {
		switch n := n.(type) {
		case *ast.Text:
			b = appendTextValue(b, n.Segment.Value(src), n.IsRaw())
			if n.HardLineBreak() || n.SoftLineBreak() {
				b = append(b, ' ')
			}
		case *ast.String:
			b = appendTextValue(b, n.Value, n.IsRaw() || n.IsCode())
		case *ast.CodeSpan:
			b = appendPlain(b, src, n, withURL)
		case *ast.Link:
			b = appendPlainLink(b, src, n, n.Destination, withURL)
		case *ast.Image:
			b = appendPlainLink(b, src, n, n.Destination, withURL)
		case *ast.AutoLink:
			b = append(b, n.Label(src)...)
		case *ast.RawHTML:
			b = appendRawHTML(b, n.Segments.Value(src))
		case *east.TaskCheckBox:
			b = append(b, checkBox(n.IsChecked)...)
		default:
			b = appendPlain(b, src, n, withURL)
		}
	}
	return b
}

func checkBox(checked bool) string {
	if checked {
		return checkedBox
	}
	return uncheckedBox
}

func appendTextValue(b, value []byte, raw bool) []byte {
	if raw {
		return append(b, value...)
	}
	return appendUnescaped(b, value)
}

func appendRawHTML(b, raw []byte) []byte {
	switch {
	case isBreakTag(raw):
		return append(b, ' ')
	case bytes.HasPrefix(raw, []byte("<!--")):
		return b
	}
	return append(b, raw...)
}

func appendPlainLink(b, src []byte, n ast.Node, destination []byte, withURL bool) []byte {
	start := len(b)
	b = appendPlain(b, src, n, withURL)
	if !withURL || len(destination) == 0 {
		return b
	}
	url := appendUnescaped(nil, destination)
	if bytes.Equal(bytes.TrimSpace(b[start:]), url) {
		return b
	}
	if len(bytes.TrimSpace(b[start:])) == 0 {
		return append(b[:start], url...)
	}
	b = append(b, " ("...)
	b = append(b, url...)
	return append(b, ')')
}
