package mrkdwn

import (
	"bytes"
	"sort"
	"strconv"
	"unicode"
	"unicode/utf8"

	"github.com/yuin/goldmark/ast"
	east "github.com/yuin/goldmark/extension/ast"
	"github.com/yuin/goldmark/text"
)

// cutPoint is a place in Markdown where a Stream can freeze the text before it: the text
// before it is complete, and the text after it renders the same on its own, given
// reopen.
type cutPoint struct {
	at     int    // the frozen Markdown is src[:at]
	resume int    // the Markdown not frozen continues at src[resume:]
	reopen string // Markdown put before src[resume:]
	inner  bool   // inside a top-level block, not between two
	top    int    // index of the top-level block that the cut is before or inside
	block  ast.Node
}

// cutPoints returns the cut points of the parsed src after offset start, in order. Only
// top-level blocks are cut, because the text of a nested block is indented or prefixed
// by its container.
func cutPoints(src []byte, doc ast.Node, start int) []cutPoint {
	var cuts []cutPoint
	top := 0
	for n := doc.FirstChild(); n != nil; n, top = n.NextSibling(), top+1 {
		// A heading stays with the block after it.
		if prev := n.PreviousSibling(); prev != nil && prev.Kind() != ast.KindHeading {
			if pos := blockPos(n); pos >= 0 {
				at := lineStart(src, pos)
				cuts = append(cuts, cutPoint{at: at, resume: at, top: top, block: n})
			}
		}
		first := len(cuts)
		cuts = appendInnerCuts(cuts, src, n)
		for i := first; i < len(cuts); i++ {
			cuts[i].top, cuts[i].block = top, n
		}
	}

	sort.SliceStable(cuts, func(i, j int) bool { return cuts[i].at < cuts[j].at })
	unique := cuts[:0]
	for _, c := range cuts {
		if c.at <= start || len(bytes.TrimSpace(src[start:c.at])) == 0 {
			continue
		}
		if len(unique) > 0 && unique[len(unique)-1].at == c.at {
			continue
		}
		unique = append(unique, c)
	}
	return unique
}

// blockPos returns the offset of the first line of a block, or -1. A table's position is
// that of the paragraph it was made from, which may hold text before the header row.
func blockPos(n ast.Node) int {
	if t, ok := n.(*east.Table); ok && t.FirstChild() != nil {
		return t.FirstChild().Pos()
	}
	return n.Pos()
}

func lineStart(src []byte, i int) int {
	return bytes.LastIndexByte(src[:i], '\n') + 1
}

// appendInnerCuts appends the cut points inside the top-level block n.
func appendInnerCuts(cuts []cutPoint, src []byte, n ast.Node) []cutPoint {
	switch n := n.(type) {
	case *ast.FencedCodeBlock:
		return appendCodeCuts(cuts, src, n)
	case *ast.CodeBlock:
		return appendLineCuts(cuts, src, n.Lines(), "")
	case *ast.Paragraph:
		return appendParagraphCuts(cuts, src, n)
	case *ast.List:
		return appendItemCuts(cuts, src, n)
	case *ast.Blockquote:
		return appendQuoteCuts(cuts, src, n)
	case *east.Table:
		return appendRowCuts(cuts, src, n)
	}
	return cuts
}

// appendLineCuts appends a cut before each line of a code block but the first.
func appendLineCuts(cuts []cutPoint, src []byte, lines *text.Segments, reopen string) []cutPoint {
	for i := 1; i < lines.Len(); i++ {
		seg := lines.At(i)
		at := lineStart(src, seg.Start)
		cuts = append(cuts, cutPoint{at: at, resume: at, reopen: reopen, inner: true})
	}
	return cuts
}

// appendParagraphCuts appends a cut before each line of a paragraph but the first where
// the paragraph can be cut without changing what either half renders: the line starts
// with a letter (a line such as "2. x" or "===" could be read as another block on its
// own), the line before does not end in a backslash (a hard line break), and no
// emphasis, code span or link is open across the cut.
func appendParagraphCuts(cuts []cutPoint, src []byte, n *ast.Paragraph) []cutPoint {
	lines := n.Lines()
	if lines.Len() < 2 {
		return cuts
	}
	start := lines.At(0).Start
	for i := 1; i < lines.Len(); i++ {
		seg := lines.At(i)
		before := bytes.TrimRight(src[start:lineStart(src, seg.Start)], "\n")
		r, _ := utf8.DecodeRune(seg.Value(src))
		if !unicode.IsLetter(r) || bytes.HasSuffix(before, []byte("\\")) ||
			openConstruct(before, false) < len(before) {
			continue
		}
		at := lineStart(src, seg.Start)
		cuts = append(cuts, cutPoint{at: at, resume: at, inner: true})
	}
	return cuts
}

// appendCodeCuts appends a cut before each content line of a fenced code block but the
// first. The text after such a cut reopens the block with its fence line.
func appendCodeCuts(cuts []cutPoint, src []byte, n *ast.FencedCodeBlock) []cutPoint {
	if n.Pos() < 0 {
		return cuts
	}
	open := lineStart(src, n.Pos())
	end := bytes.IndexByte(src[open:], '\n')
	if end < 0 {
		return cuts
	}
	return appendLineCuts(cuts, src, n.Lines(), string(src[open:open+end+1]))
}

// appendItemCuts appends a cut before each item of a list but the first. The item after
// a cut in a numbered list gets its number in the list, because agents often number
// every item 1.
func appendItemCuts(cuts []cutPoint, src []byte, n *ast.List) []cutPoint {
	number := n.Start
	for item := n.FirstChild(); item != nil; item = item.NextSibling() {
		pos := item.Pos()
		if item == n.FirstChild() || pos < 0 {
			number++
			continue
		}
		c := cutPoint{at: lineStart(src, pos), resume: pos, inner: true}
		if n.IsOrdered() {
			digits := pos
			for digits < len(src) && src[digits] >= '0' && src[digits] <= '9' {
				digits++
			}
			c.resume, c.reopen = digits, strconv.Itoa(number)
		}
		cuts = append(cuts, c)
		number++
	}
	return cuts
}

// appendQuoteCuts appends a cut before each block of a quote but the first, when its
// line starts with the quote marker.
func appendQuoteCuts(cuts []cutPoint, src []byte, n *ast.Blockquote) []cutPoint {
	for child := n.FirstChild(); child != nil; child = child.NextSibling() {
		pos := blockPos(child)
		if child == n.FirstChild() || pos < 0 {
			continue
		}
		at := lineStart(src, pos)
		if line := bytes.TrimLeft(src[at:], " "); len(line) > 0 && line[0] == '>' {
			cuts = append(cuts, cutPoint{at: at, resume: at, inner: true})
		}
	}
	return cuts
}

// appendRowCuts appends a cut before each body row of a table but the first. The text
// after such a cut repeats the header row and the delimiter row.
func appendRowCuts(cuts []cutPoint, src []byte, n *east.Table) []cutPoint {
	header := n.FirstChild()
	if header == nil || header.Pos() < 0 {
		return cuts
	}
	start := lineStart(src, header.Pos())
	end := start
	for range 2 {
		i := bytes.IndexByte(src[end:], '\n')
		if i < 0 {
			return cuts
		}
		end += i + 1
	}
	reopen := string(src[start:end])
	for row := header.NextSibling(); row != nil; row = row.NextSibling() {
		if row == header.NextSibling() || row.Pos() < 0 {
			continue
		}
		at := lineStart(src, row.Pos())
		cuts = append(cuts, cutPoint{at: at, resume: at, reopen: reopen, inner: true})
	}
	return cuts
}
