package mrkdwn

import (
	"bytes"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/yuin/goldmark/ast"
	east "github.com/yuin/goldmark/extension/ast"
)

// holdBack returns how much of src, the incomplete end of an answer, to show now. It
// leaves out what the next delta could still turn into something else, so that no edit
// shows Markdown half-converted:
//   - a last line of marker characters only ("-", "1.", "---" or part of a code fence),
//     which may become a list item, a fence, a rule or a heading underline;
//   - trailing lines that start with |, which may become a table once the delimiter row
//     arrives;
//   - in the last line of a paragraph or heading, everything from the first construct
//     that is not closed yet: emphasis, a code span, a link or image such as
//     [docs](https://exa, an autolink or HTML tag, an entity, or a bare URL;
//   - the unfinished row of a table, or the unfinished first line of an HTML block;
//   - a paragraph that starts like a link reference definition ("[id]: "), which renders
//     as nothing once complete;
//   - an incomplete UTF-8 sequence at the end, which would show as U+FFFD.
//
// Code blocks are shown as they grow, except for such a marker line, and the renderer
// closes their fence.
func holdBack(src []byte, doc ast.Node) int {
	end := len(src)
	if complete := completeRunes(src); complete < end {
		return complete
	}
	last := lineStart(src, end)
	leaf := lastLeaf(doc)
	hold := end
	if last < end && isMarkerLine(src[last:]) {
		hold = last
	}
	if p, ok := leaf.(*ast.Paragraph); ok {
		if start := pipeLines(src, p); start >= 0 {
			hold = min(hold, start)
		}
	}
	if start := definitionStart(src, leaf); start >= 0 {
		hold = min(hold, start)
	}
	if hold < end || last == end {
		return hold
	}

	switch leaf := leaf.(type) {
	case *east.TableCell, *east.TableRow, *east.TableHeader:
		return last
	case *ast.HTMLBlock:
		// The first line decides whether this is an HTML block at all: "<div" is one,
		// "<div0" is text.
		if leaf.Pos() >= 0 && lineStart(src, leaf.Pos()) == last {
			return last
		}
	case *ast.Paragraph, *ast.TextBlock, *ast.Heading:
		lines := leaf.Lines()
		if lines.Len() == 0 {
			return end
		}
		from := max(lines.At(lines.Len()-1).Start, last)
		return from + openConstruct(src[from:end], true)
	}
	return end
}

// completeRunes returns the length of src without the incomplete UTF-8 sequence at its
// end, if any.
func completeRunes(src []byte) int {
	for i := len(src) - 1; i >= 0 && i >= len(src)-utf8.UTFMax; i-- {
		if utf8.RuneStart(src[i]) {
			if !utf8.FullRune(src[i:]) {
				return i
			}
			break
		}
	}
	return len(src)
}

// lastLeaf returns the block that contains the end of the document.
func lastLeaf(doc ast.Node) ast.Node {
	n := doc
	for {
		c := n.LastChild()
		if c == nil || c.Type() != ast.TypeBlock {
			return n
		}
		n = c
	}
}

// isMarkerLine reports whether line contains only Markdown marker characters and spaces,
// after an optional list number such as "12." or "3)".
func isMarkerLine(line []byte) bool {
	line = bytes.TrimSpace(line)
	if len(line) == 0 {
		return false
	}
	digits := 0
	for digits < len(line) && line[digits] >= '0' && line[digits] <= '9' {
		digits++
	}
	rest := line[digits:]
	if digits > 0 && len(rest) > 0 {
		if rest[0] != '.' && rest[0] != ')' {
			return false
		}
		rest = rest[1:]
	}
	return len(bytes.Trim(rest, "-*_=+#>|`~: \t")) == 0
}

// pipeLines returns the offset of the trailing lines of p that start with |, or -1.
func pipeLines(src []byte, p *ast.Paragraph) int {
	lines := p.Lines()
	start := -1
	for i := lines.Len() - 1; i >= 0; i-- {
		seg := lines.At(i)
		if seg.Start >= len(src) || src[seg.Start] != '|' {
			break
		}
		start = lineStart(src, seg.Start)
	}
	return start
}

// definitionStart returns the offset of leaf when it is a paragraph that starts like a
// link reference definition, or -1.
func definitionStart(src []byte, leaf ast.Node) int {
	switch leaf.(type) {
	case *ast.Paragraph, *ast.TextBlock:
	default:
		return -1
	}
	lines := leaf.Lines()
	if lines.Len() == 0 {
		return -1
	}
	start := lines.At(0).Start
	line := src[start:]
	if newline := bytes.IndexByte(line, '\n'); newline >= 0 {
		line = line[:newline]
	}
	end := bytes.IndexByte(line, ']')
	if len(line) == 0 || line[0] != '[' || end < 0 || end+1 >= len(line) || line[end+1] != ':' {
		return -1
	}
	return lineStart(src, start)
}

// openConstruct returns the offset in line of the first inline construct that is not
// closed by the end of the line, or len(line). At the edge of a growing text (edge true)
// a construct that the next delta could still change counts as open too: a trailing run
// of delimiters, a half entity, a bare URL.
func openConstruct(line []byte, edge bool) int {
	s := inlineScan{line: line, edge: edge}
	hold := s.run()
	if len(s.brackets) > 0 {
		hold = min(hold, s.brackets[0])
	}
	if len(s.delims) > 0 {
		hold = min(hold, s.delims[0])
	}
	if edge {
		hold = min(hold, trailingURL(line))
	}
	return hold
}

// inlineScan follows the inline constructs of one line far enough to tell which ones
// are still open at its end.
type inlineScan struct {
	line     []byte
	edge     bool
	brackets []int // offsets of the [ and ![ not closed yet
	delims   []int // offsets of the emphasis delimiter runs not closed yet
}

// run scans the line and returns the offset of a construct that cannot close within it,
// such as a code span without its closing backticks, or len(line).
func (s *inlineScan) run() int {
	for i := 0; i < len(s.line); {
		next, hold := s.step(i)
		if hold >= 0 {
			return hold
		}
		i = next
	}
	return len(s.line)
}

// step reads the construct at offset i and returns the offset after it, and the offset
// of a construct that cannot close within the line or -1.
func (s *inlineScan) step(i int) (next, hold int) {
	line := s.line
	c := line[i]
	switch {
	case c == '\\':
		return i + 2, -1
	case c == '`':
		n := runLength(line, i, '`')
		if end := closingRun(line, i+n, n); end >= 0 {
			return end + n, -1
		}
		return len(line), i
	case c == '<' && (i+1 == len(line) || isTagStart(line[i+1])):
		closer := []byte(">")
		if bytes.HasPrefix(line[i:], []byte("<!--")) || bytes.HasPrefix([]byte("<!--"), line[i:]) {
			closer = []byte("-->") // a comment, which renders as nothing once closed
		}
		if j := bytes.Index(line[i+1:], closer); j >= 0 {
			return i + 1 + j + len(closer), -1
		}
		return len(line), i
	case c == '[', c == '!' && i+1 < len(line) && line[i+1] == '[':
		s.brackets = append(s.brackets, i)
		return i + 1 + boolInt(c == '!'), -1
	case c == ']' && len(s.brackets) > 0:
		open := s.brackets[len(s.brackets)-1]
		s.brackets = s.brackets[:len(s.brackets)-1]
		end, closed := linkEnd(line, i+1)
		if !closed && s.edge {
			return len(line), open
		}
		return end, -1
	case c == '*', c == '_', c == '~':
		n := runLength(line, i, c)
		if i+n == len(line) && s.edge {
			return len(line), i
		}
		s.delims = matchDelimiter(s.delims, line, i, n)
		return i + n, -1
	case c == '&' && s.edge && entityEnd(line, i+1) == len(line):
		return len(line), i
	}
	return i + 1, -1
}

func isTagStart(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '/' || c == '!' || c == '?'
}

// closingRun returns the offset of the next run of exactly n backticks from i, or -1.
func closingRun(line []byte, i, n int) int {
	for i < len(line) {
		j := bytes.IndexByte(line[i:], '`')
		if j < 0 {
			return -1
		}
		i += j
		run := runLength(line, i, '`')
		if run == n {
			return i
		}
		i += run
	}
	return -1
}

// linkEnd looks at what follows the ] at i-1: a destination in parentheses or a
// reference in brackets. It returns where the link ends and false when the line ends
// before the link can be known complete.
func linkEnd(line []byte, i int) (int, bool) {
	if i == len(line) {
		return i, false
	}
	switch line[i] {
	case '(':
		depth := 0
		for j := i; j < len(line); j++ {
			switch line[j] {
			case '\\':
				j++
			case '(':
				depth++
			case ')':
				depth--
				if depth == 0 {
					return j + 1, true
				}
			}
		}
		return i, false
	case '[':
		j := bytes.IndexByte(line[i:], ']')
		if j < 0 {
			return i, false
		}
		return i + j + 1, true
	}
	return i, true
}

// matchDelimiter updates delims, the offsets of the emphasis delimiter runs still open,
// with the run of n delimiters at i, following CommonMark's flanking rules.
func matchDelimiter(delims []int, line []byte, i, n int) []int {
	c := line[i]
	if c == '~' && n > 2 {
		return delims
	}
	prev, next := runeBefore(line, i), runeAt(line, i+n)
	left := !isSpace(next) && (!isPunct(next) || isSpace(prev) || isPunct(prev))
	right := !isSpace(prev) && (!isPunct(prev) || isSpace(next) || isPunct(next))
	canOpen, canClose := left, right
	if c == '_' {
		canOpen = left && (!right || isPunct(prev))
		canClose = right && (!left || isPunct(next))
	}
	if canClose {
		for k := len(delims) - 1; k >= 0; k-- {
			if line[delims[k]] == c {
				return delims[:k]
			}
		}
	}
	if canOpen {
		delims = append(delims, i)
	}
	return delims
}

func runeBefore(line []byte, i int) rune {
	if i == 0 {
		return ' '
	}
	r, _ := utf8.DecodeLastRune(line[:i])
	return r
}

func runeAt(line []byte, i int) rune {
	if i >= len(line) {
		return ' '
	}
	r, _ := utf8.DecodeRune(line[i:])
	return r
}

func isSpace(r rune) bool {
	return unicode.IsSpace(r)
}

func isPunct(r rune) bool {
	return unicode.IsPunct(r) || unicode.IsSymbol(r)
}

// entityEnd returns the offset after the name of an entity reference that starts before
// i, stopping at the first character that cannot be in one.
func entityEnd(line []byte, i int) int {
	for i < len(line) && (line[i] == '#' || line[i] < utf8.RuneSelf && isWordRune(rune(line[i]))) {
		i++
	}
	return i
}

// trailingURL returns the offset of the last word of line when it starts a bare URL that
// the Linkify extension links, or may grow into one ("htt", "www"), or len(line). A word
// that can no longer become a URL is never held, so no shown text is hidden again.
func trailingURL(line []byte) int {
	start := bytes.LastIndexAny(line, " \t") + 1
	start += len(line[start:]) - len(bytes.TrimLeft(line[start:], "(*_~"))
	word := strings.ToLower(string(line[start:]))
	if word == "" {
		return len(line)
	}
	for _, prefix := range []string{"https://", "http://", "ftp://", "www."} {
		if strings.HasPrefix(word, prefix) || strings.HasPrefix(prefix, word) {
			return start
		}
	}
	return len(line)
}
