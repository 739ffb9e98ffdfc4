package mrkdwn

import (
	"github.com/yuin/goldmark/ast"
	"github.com/yuin/goldmark/parser"
)

// Stream renders a growing answer as a sequence of Slack messages. Every part but the
// last is frozen: once Update has returned it as a non-last part, later calls return it
// unchanged.
//
// A part is frozen when the text after it no longer fits in the last part. The cut is
// made in the Markdown: between two top-level blocks, or, when a single block is too
// long, between the lines of a code block, the items of a list, the rows of a table, the
// children of a quote or the lines of a paragraph. The text after the cut is then
// rendered on its own; a code block or table cut in two is reopened with its fence line
// or header, and a numbered list continues its numbering. A block too long for a part
// with no such cut inside is split in its rendered form once it is complete; until then
// the last part shows as much of it as fits.
//
// The final parts are usually those that Split returns for the whole text. They can
// differ where a part was frozen before the text after it arrived, for example when a
// paragraph is later underlined into a heading; no text is lost either way.
//
// A Stream is not safe for concurrent use.
type Stream struct {
	limit  int
	parts  []string           // frozen parts
	off    int                // offset in the Markdown where the text not yet frozen starts
	reopen string             // Markdown put before the text at off, such as a fence line
	refs   []parser.Reference // link reference definitions in the frozen text
}

// NewStream returns a Stream whose parts are at most limit long, as Length measures it in
// UTF-16 code units, so a character outside the Basic Multilingual Plane, such as most
// emoji, counts as two. A limit of zero or less means
// DefaultLimit; a limit below MinLimit is raised to MinLimit.
func NewStream(limit int) *Stream {
	if limit <= 0 {
		limit = DefaultLimit
	}
	return &Stream{limit: max(limit, MinLimit)}
}

// Update takes the whole Markdown text so far, which extends the text of the previous
// call, and returns the mrkdwn of every part. When final is false the tail is incomplete:
// open code fences are closed and half-written emphasis or links are held back.
//
// While final is false, the last part may be empty: nothing after the frozen parts can
// be shown yet. The final call returns no empty part, and no part when the answer has no
// text. A text that does not extend the previous one is rendered from the offset where
// the frozen text ended.
func (s *Stream) Update(markdown string, final bool) []string {
	for {
		src, doc := s.unfrozen(markdown, final)
		view := render(src, doc, s.maxLink())
		if Length(view.text) <= s.limit {
			return s.result([]string{view.text}, final)
		}
		c, prefix, ok := s.pickCut(src, doc, view)
		if !ok {
			parts := splitRendered(view, s.limit)
			if !final {
				parts = parts[:1]
			}
			return s.result(parts, final)
		}
		s.freeze(c, prefix)
	}
}

// maxLink is the longest link markup kept as a link: longer ones become text, which a
// cut may split.
func (s *Stream) maxLink() int {
	return s.limit / 2
}

// unfrozen returns the Markdown not yet frozen, parsed. While the text is incomplete its
// unstable end is left out (see holdBack).
func (s *Stream) unfrozen(markdown string, final bool) ([]byte, ast.Node) {
	off := min(s.off, len(markdown))
	src := []byte(s.reopen + markdown[off:])
	doc := parse(src, s.refs)
	if final {
		return src, doc
	}
	// What is left can end in another unstable construct, such as table text before a
	// held-back delimiter row, so the check repeats until nothing more is left out.
	for {
		keep := holdBack(src, doc)
		if keep == len(src) {
			return src, doc
		}
		src = src[:keep]
		doc = parse(src, s.refs)
	}
}

// result returns the frozen parts followed by tail, the parts not frozen. The final
// result drops empty parts; an intermediate one always ends with the streaming part.
func (s *Stream) result(tail []string, final bool) []string {
	out := make([]string, 0, len(s.parts)+len(tail))
	out = append(out, s.parts...)
	for _, part := range tail {
		if part != "" || !final {
			out = append(out, part)
		}
	}
	if !final && len(tail) == 0 {
		out = append(out, "")
	}
	return out
}

// prefixView is the final rendering of the Markdown before a cut.
type prefixView struct {
	view rendered
	doc  ast.Node
}

// freeze moves the Markdown before c into frozen parts.
func (s *Stream) freeze(c cutPoint, prefix prefixView) {
	s.parts = append(s.parts, splitRendered(prefix.view, s.limit)...)
	s.refs = appendReferences(s.refs, prefix.doc)
	s.off += c.resume - len(s.reopen)
	s.reopen = c.reopen
}

// appendReferences appends the link reference definitions in doc, in document order.
func appendReferences(refs []parser.Reference, doc ast.Node) []parser.Reference {
	_ = ast.Walk(doc, func(n ast.Node, entering bool) (ast.WalkStatus, error) {
		if def, ok := n.(*ast.LinkReferenceDefinition); ok && entering {
			refs = append(refs, parser.NewReference(def.Label, def.Destination, def.Title))
		}
		return ast.WalkContinue, nil
	})
	return refs
}

// pickCut chooses where to freeze: the last top-level block boundary that fills at least
// half a part, else the last cut whose Markdown before it fits in one part, else the
// first cut, whose Markdown then fills several parts. It reports false when there is no
// cut at all. view is the rendering of src.
func (s *Stream) pickCut(src []byte, doc ast.Node, view rendered) (cutPoint, prefixView, bool) {
	cuts := cutPoints(src, doc, len(s.reopen))
	if len(cuts) == 0 {
		return cutPoint{}, prefixView{}, false
	}
	size := func(i int) int { return s.estimateSize(src, view, cuts[i]) }
	last := lastFitting(len(cuts), func(i int) bool { return size(i) <= s.limit })
	for i := last; i >= 0; i-- {
		if !cuts[i].inner {
			if i == last || size(i) >= s.limit/2 {
				last = i
			}
			break
		}
	}

	// The estimate can be low, for example when a reference link resolves only in the
	// whole text: step back until the real rendering fits.
	for i := last; i >= 0; i-- {
		prefix := s.renderPrefix(src[:cuts[i].at])
		if Length(prefix.view.text) <= s.limit {
			return cuts[i], prefix, true
		}
	}
	return cuts[0], s.renderPrefix(src[:cuts[0].at]), true
}

// estimateSize returns the length of the rendering of the Markdown before c, from the
// rendering of the top-level blocks before it and of the part of its block before it.
// Rendering only that part keeps a search over many cuts cheap.
func (s *Stream) estimateSize(src []byte, view rendered, c cutPoint) int {
	before := ""
	if c.top > 0 {
		before = view.text[:view.tops[c.top-1]]
	}
	if !c.inner {
		return Length(before)
	}
	start := lineStart(src, blockPos(c.block))
	part := s.renderPrefix(src[start:c.at]).view.text
	if before != "" && part != "" {
		before += "\n\n"
	}
	return Length(before) + Length(part)
}

// renderPrefix renders complete Markdown that comes after the frozen text.
func (s *Stream) renderPrefix(src []byte) prefixView {
	doc := parse(src, s.refs)
	return prefixView{view: render(src, doc, s.maxLink()), doc: doc}
}

// lastFitting returns the last index below n for which fits holds, or -1, assuming that
// fits holds up to some index and not after it. It searches with growing steps first, so
// that the cost follows the size of the answer, not the length of the text.
func lastFitting(n int, fits func(int) bool) int {
	lo, hi := -1, n
	for step := 1; lo+step < hi; step *= 2 {
		if !fits(lo + step) {
			hi = lo + step
			break
		}
		lo += step
	}
	for hi-lo > 1 {
		mid := (lo + hi) / 2
		if fits(mid) {
			lo = mid
		} else {
			hi = mid
		}
	}
	return lo
}
