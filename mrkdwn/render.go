package mrkdwn

import (
	"strconv"
	"strings"

	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/ast"
	"github.com/yuin/goldmark/extension"
	east "github.com/yuin/goldmark/extension/ast"
	"github.com/yuin/goldmark/parser"
	"github.com/yuin/goldmark/text"
)

// markdown parses CommonMark with the GitHub extensions: tables, strikethrough, task
// lists and bare links. It is shared: goldmark (v1.8.7) sets its parser up once under a
// sync.Once and keeps the state of each parse in a context of its own.
var markdown = goldmark.New(goldmark.WithExtensions(extension.GFM))

// parse parses src, resolving reference links also against refs, the definitions found
// in text that came before src.
func parse(src []byte, refs []parser.Reference) ast.Node {
	ctx := parser.NewContext()
	for _, ref := range refs {
		ctx.AddReference(ref)
	}
	return markdown.Parser().Parse(text.NewReader(src), parser.WithContext(ctx))
}

// bullets are the markers of the list levels, from the outermost.
var bullets = [...]string{"•", "◦", "▪"}

// listIndent is the indentation of each list level.
const listIndent = "    "

// ruleLine renders a thematic break.
const ruleLine = "──────────"

// Code fences as written around a code block's content.
const (
	fenceOpen  = "```\n"
	fenceClose = "\n```"
)

// span is a formatted range of the output that a cut must close and reopen: inline
// emphasis and code, and code blocks.
type span struct {
	start, end  int    // the content, markers excluded
	open, close string // the markers written before and after the content
	block       bool   // a code block, which a cut at a line boundary also closes
}

// rendered is a document as mrkdwn, with its formatted spans in the order they close.
type rendered struct {
	text  string
	spans []span
	tops  []int // offset in text after each top-level block
}

// blockCtx is the context of a block being written: the prefixes of its lines and its
// nesting.
type blockCtx struct {
	first string // written before the block's first line, such as a list marker
	rest  string // written before each later line
	depth int    // number of enclosing lists
	quote bool   // inside a block quote
}

// hasMarker reports whether the first line carries a list marker that the later lines
// do not.
func (c blockCtx) hasMarker() bool {
	return c.first != c.rest
}

// mark is an inline marker written and not yet closed.
type mark struct {
	open, close string
	at          int  // offset of the open marker in the output
	spaced      bool // a zeroWidthSpace is written before the open marker
}

// renderer writes mrkdwn for one parsed document.
type renderer struct {
	src     []byte
	out     []byte
	spans   []span
	marks   []mark
	tops    []int
	prefix  string // written after each line break inside the current block
	maxLink int    // links whose markup is longer render as text; 0 means no maximum
	closed  int    // offset just after the last closing marker written, or -1
	heading bool
	scratch []byte
}

// render converts the document doc, parsed from src, to mrkdwn.
func render(src []byte, doc ast.Node, maxLink int) rendered {
	r := renderer{src: src, maxLink: maxLink, closed: -1, out: make([]byte, 0, len(src)+len(src)/8+16)}
	r.blocks(doc, blockCtx{}, "\n\n")
	return rendered{text: string(r.out), spans: r.spans, tops: r.tops}
}

// blocks writes the children of parent separated by sep and reports whether any of them
// wrote something. A child that writes nothing leaves no separator behind.
func (r *renderer) blocks(parent ast.Node, c blockCtx, sep string) bool {
	wrote := false
	for n := parent.FirstChild(); n != nil; n = n.NextSibling() {
		outMark, spanMark := len(r.out), len(r.spans)
		cc := c
		if wrote {
			r.out = append(r.out, sep...)
			cc.first = c.rest
		}
		if r.block(n, cc) {
			wrote = true
		} else {
			r.out, r.spans = r.out[:outMark], r.spans[:spanMark]
		}
		if parent.Kind() == ast.KindDocument {
			r.tops = append(r.tops, len(r.out))
		}
	}
	return wrote
}

// block writes one block and reports whether it wrote something.
func (r *renderer) block(n ast.Node, c blockCtx) bool {
	switch n := n.(type) {
	case *ast.Paragraph, *ast.TextBlock:
		return r.paragraph(n, c)
	case *ast.Heading:
		return r.headingBlock(n, c)
	case *ast.ThematicBreak:
		r.out = append(r.out, c.first...)
		r.out = append(r.out, ruleLine...)
		return true
	case *ast.FencedCodeBlock, *ast.CodeBlock:
		return r.codeBlock(n, c)
	case *ast.HTMLBlock:
		if n.HTMLBlockType == ast.HTMLBlockType2 {
			return false // a comment, invisible in rendered Markdown
		}
		return r.htmlBlock(n, c)
	case *ast.Blockquote:
		r.markerLine(c)
		return r.blocks(n, blockCtx{first: "> ", rest: "> ", depth: c.depth, quote: true}, "\n")
	case *ast.List:
		return r.list(n, c)
	case *east.Table:
		return r.table(n, c)
	case *ast.LinkReferenceDefinition:
		return false
	}
	if n.HasChildren() && n.FirstChild().Type() == ast.TypeBlock {
		return r.blocks(n, c, "\n")
	}
	return r.paragraph(n, c)
}

// markerLine writes the list marker of c on a line of its own, for blocks that cannot
// start on the marker's line: code blocks, tables, quotes and nested lists.
func (r *renderer) markerLine(c blockCtx) {
	if c.hasMarker() {
		r.out = append(r.out, strings.TrimRight(c.first, " ")...)
		r.out = append(r.out, '\n')
	}
}

func (r *renderer) paragraph(n ast.Node, c blockCtx) bool {
	r.out = append(r.out, c.first...)
	start := len(r.out)
	r.prefix = c.rest
	r.inlines(n)
	return len(r.out) > start
}

// headingBlock writes a heading as a bold line; Slack has no headings.
func (r *renderer) headingBlock(n *ast.Heading, c blockCtx) bool {
	r.out = append(r.out, c.first...)
	start := len(r.out)
	r.prefix = c.rest
	r.heading = true
	r.pushMark("*", "*")
	r.inlines(n)
	r.popMark()
	r.heading = false
	return len(r.out) > start
}

// codeBlock writes a fenced or indented code block between ``` fences at the start of a
// line, without the language tag, which Slack does not use.
func (r *renderer) codeBlock(n ast.Node, c blockCtx) bool {
	lines := n.Lines()
	r.scratch = r.scratch[:0]
	for i := range lines.Len() {
		seg := lines.At(i)
		r.scratch = append(r.scratch, seg.Value(r.src)...)
	}
	content := trimFinalNewline(r.scratch)
	return r.codeContent(content, c)
}

// codeContent writes content as a code block, escaped for Slack.
func (r *renderer) codeContent(content []byte, c blockCtx) bool {
	if len(content) == 0 {
		if c.hasMarker() {
			r.out = append(r.out, strings.TrimRight(c.first, " ")...)
			return true
		}
		return false
	}
	r.markerLine(c)
	r.out = append(r.out, fenceOpen...)
	start := len(r.out)
	r.out = appendEscaped(r.out, content, true)
	code := span{start: start, end: len(r.out), open: fenceOpen, close: fenceClose, block: true}
	r.spans = append(r.spans, code)
	r.out = append(r.out, fenceClose...)
	return true
}

func trimFinalNewline(b []byte) []byte {
	if n := len(b); n > 0 && b[n-1] == '\n' {
		b = b[:n-1]
		if n := len(b); n > 0 && b[n-1] == '\r' {
			b = b[:n-1]
		}
	}
	return b
}

// htmlBlock writes raw HTML as the escaped text it is: Slack renders no HTML.
func (r *renderer) htmlBlock(n *ast.HTMLBlock, c blockCtx) bool {
	r.out = append(r.out, c.first...)
	start := len(r.out)
	lines := n.Lines()
	for i := range lines.Len() {
		seg := lines.At(i)
		r.htmlLine(seg.Value(r.src), c, start)
	}
	if n.HasClosure() {
		r.htmlLine(n.ClosureLine.Value(r.src), c, start)
	}
	return len(r.out) > start
}

func (r *renderer) htmlLine(line []byte, c blockCtx, start int) {
	line = trimFinalNewline(line)
	if len(r.out) > start {
		r.out = append(r.out, '\n')
		r.out = append(r.out, c.rest...)
	}
	r.out = appendEscaped(r.out, line, false)
}

// list writes each item on its own line: a bullet by depth or the item's number, and the
// item's later lines indented under it.
func (r *renderer) list(n *ast.List, c blockCtx) bool {
	r.markerLine(c)
	lead := ""
	if c.quote {
		lead = "> "
	}
	indent := strings.Repeat(listIndent, c.depth)
	number := n.Start
	for item := n.FirstChild(); item != nil; item = item.NextSibling() {
		if item != n.FirstChild() {
			r.out = append(r.out, '\n')
		}
		marker := bullets[c.depth%len(bullets)]
		if n.IsOrdered() {
			marker = strconv.Itoa(number) + string(n.Marker)
		}
		ic := blockCtx{
			first: lead + indent + marker + " ",
			rest:  lead + indent + listIndent,
			depth: c.depth + 1,
			quote: c.quote,
		}
		if !r.blocks(item, ic, "\n") {
			r.out = append(r.out, strings.TrimRight(ic.first, " ")...)
		}
		number++
	}
	return true
}
