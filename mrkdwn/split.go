package mrkdwn

import (
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Kinds of cut, from the preferred to the last resort.
const (
	cutParagraph = iota // at a blank line
	cutLine             // at a line break
	cutSpace            // after a space
	cutWord             // at a boundary between a word and punctuation
	cutRune             // between any two characters
)

// cut is a place to end one part and start the next.
type cut struct {
	at    int // offset in the text; the part ends before it
	kind  int
	units int // Length of the text from the part's start to at
}

// splitter cuts rendered mrkdwn into parts of at most limit units.
type splitter struct {
	text  string
	spans []span // sorted by start
	limit int
}

// splitRendered cuts doc into parts of at most limit units (see Length). Each cut is at
// a blank line, else a line break, else a space, else a boundary between a word and
// punctuation, else between two characters. No cut goes inside an entity or a character,
// nor inside a <url|label> unless the link alone is longer than a part. Formatting open
// at a cut, a code block included, is closed at the end of the part and opened again at
// the start of the next.
func splitRendered(doc rendered, limit int) []string {
	if Length(doc.text) <= limit {
		return appendPart(nil, doc.text)
	}
	s := splitter{text: doc.text, spans: append([]span(nil), doc.spans...), limit: limit}
	sort.SliceStable(s.spans, func(i, j int) bool { return s.spans[i].start < s.spans[j].start })

	var parts []string
	pos, reopen := 0, ""
	for pos < len(s.text) {
		budget := limit - Length(reopen)
		cuts, fits := s.scan(pos, budget)
		if fits {
			parts = appendPart(parts, reopen+s.text[pos:])
			break
		}
		c := s.choose(pos, reopen, cuts)
		part, next, opened := s.cutAt(pos, c.at)
		parts = appendPart(parts, reopen+part)
		pos, reopen = next, opened
	}
	return parts
}

func appendPart(parts []string, part string) []string {
	if strings.TrimSpace(part) == "" {
		return parts
	}
	return append(parts, part)
}

// scan walks the text from pos while it fits in budget units and returns the places
// where a part may end. fits is true when the rest of the text fits.
func (s *splitter) scan(pos, budget int) (cuts []cut, fits bool) {
	forbidden := s.forbidden(pos, 4*max(budget, 0)+4)
	units := 0
	inEntity, inLink := false, false
	prev := rune(-1)
	for i := pos; i < len(s.text); {
		r, size := utf8.DecodeRuneInString(s.text[i:])
		if i > pos && !inEntity && !inLink && !forbidden[i-pos] && !joins(prev, r) {
			cuts = append(cuts, cut{at: i, kind: s.kind(i, prev, r), units: units})
		}
		units++
		if r > 0xFFFF {
			units++
		}
		if units > budget {
			return cuts, false
		}
		switch r {
		case '&':
			inEntity = true
		case ';':
			inEntity = false
		case '<':
			inLink = true
		case '>':
			inLink = false
		}
		prev = r
		i += size
	}
	return cuts, true
}

// joins reports whether a cut between a and b would split a character as the reader
// sees it, such as an emoji with a skin tone or a flag.
func joins(a, b rune) bool {
	if a == 0x200D || isJoining(b) {
		return true
	}
	return isRegionalIndicator(a) && isRegionalIndicator(b)
}

func isRegionalIndicator(r rune) bool {
	return r >= 0x1F1E6 && r <= 0x1F1FF
}

// kind classifies a cut at i, between the runes a and b.
func (s *splitter) kind(i int, a, b rune) int {
	switch {
	case a == '\n' && i >= 2 && s.text[i-2] == '\n' && s.codeAt(i) == nil:
		return cutParagraph
	case a == '\n':
		return cutLine
	case a == ' ' || a == '\t':
		return cutSpace
	case isWordRune(a) != isWordRune(b):
		return cutWord
	}
	return cutRune
}

func isWordRune(r rune) bool {
	return unicode.IsLetter(r) || unicode.IsDigit(r)
}

// forbidden marks the offsets from pos to pos+n where no cut may go: inside the markers
// of a span and at the edges of a span's content, where a cut would leave the part with
// empty formatting.
func (s *splitter) forbidden(pos, n int) []bool {
	n = min(n, len(s.text)-pos)
	marks := make([]bool, n+1)
	block := func(lo, hi int) {
		for i := max(lo, pos); i <= min(hi, pos+n); i++ {
			marks[i-pos] = true
		}
	}
	for _, sp := range s.spans {
		if sp.start-len(sp.open) > pos+n {
			break
		}
		block(sp.start-len(sp.open)+1, sp.start)
		block(sp.end, sp.end+len(sp.close)-1)
	}
	return marks
}

// codeAt returns the code block whose content contains offset i, or nil.
func (s *splitter) codeAt(i int) *span {
	for k := range s.spans {
		sp := &s.spans[k]
		if sp.start >= i {
			break
		}
		if sp.block && i < sp.end {
			return sp
		}
	}
	return nil
}

// openAt returns the spans whose content contains offset i, outermost first.
func (s *splitter) openAt(i int) []span {
	var open []span
	for _, sp := range s.spans {
		if sp.start >= i {
			break
		}
		if i < sp.end {
			open = append(open, sp)
		}
	}
	return open
}

// choose picks the cut for the part that starts at pos: the coarsest kind of cut that
// still fills at least half the limit, else the cut that fills the part most.
func (s *splitter) choose(pos int, reopen string, cuts []cut) cut {
	reopenUnits := Length(reopen)
	for kind := cutParagraph; kind <= cutRune; kind++ {
		for j := len(cuts) - 1; j >= 0; j-- {
			c := cuts[j]
			if reopenUnits+c.units < s.limit/2 {
				break
			}
			if c.kind <= kind && s.fits(pos, reopen, c) {
				return c
			}
		}
	}
	for j := len(cuts) - 1; j >= 0; j-- {
		if s.fits(pos, reopen, cuts[j]) {
			return cuts[j]
		}
	}
	return s.forced(pos, Length(reopen))
}

// fits reports whether the part ending at c, its closing markers included, is within
// the limit.
func (s *splitter) fits(pos int, reopen string, c cut) bool {
	part, _, _ := s.cutAt(pos, c.at)
	return Length(reopen)+Length(part) <= s.limit
}

// forced returns the last character boundary that fits, for text where no cut is
// allowed, such as a link longer than the limit. It still avoids entities when it can.
func (s *splitter) forced(pos, reopenUnits int) cut {
	budget := s.limit - reopenUnits
	best, bestOutside := 0, 0
	units, inEntity := 0, false
	for i := pos; i < len(s.text); {
		r, size := utf8.DecodeRuneInString(s.text[i:])
		units += 1 + boolInt(r > 0xFFFF)
		if units > budget && best > 0 {
			break
		}
		i += size
		inEntity = r == '&' || inEntity && r != ';'
		best = i
		if !inEntity {
			bestOutside = i
		}
	}
	if bestOutside > 0 {
		best = bestOutside
	}
	return cut{at: best, kind: cutRune}
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// cutAt ends the part that starts at pos at offset at. It returns the part with the
// closing markers of the spans open at the cut, the offset where the next part's text
// starts, and the markers that reopen those spans there.
func (s *splitter) cutAt(pos, at int) (part string, next int, reopen string) {
	open := s.openAt(at)
	if markerUnits(open) > s.limit/4 {
		open = blockSpans(open)
	}
	// A code block contains no other span, so it is open alone or not at all.
	code := len(open) > 0 && open[0].block
	end := s.trimEnd(pos, at, code)
	next = s.skipStart(at, code)

	closeHere := make([]bool, len(open))
	reopenNext := make([]bool, len(open))
	for i := len(open) - 1; i >= 0; i-- {
		sp := open[i]
		switch {
		case end <= sp.start:
			// Nothing of the span is left before the cut: its marker moves to the next part.
			end = s.trimEnd(pos, min(end, sp.start-len(sp.open)), code)
			reopenNext[i] = true
		case next >= sp.end:
			// Nothing of the span is left after the cut: it ends in this part.
			closeHere[i] = true
			next = s.skipStart(sp.end+len(sp.close), code)
		default:
			closeHere[i], reopenNext[i] = true, true
		}
	}

	var b strings.Builder
	b.WriteString(s.text[pos:max(end, pos)])
	for i := len(open) - 1; i >= 0; i-- {
		if closeHere[i] {
			b.WriteString(open[i].close)
		}
	}
	var openers strings.Builder
	if !code && next > 0 && next < len(s.text) && s.text[next-1] != '\n' && s.quoteLine(next) {
		openers.WriteString("> ")
	}
	for i, sp := range open {
		if reopenNext[i] {
			openers.WriteString(sp.open)
		}
	}
	return b.String(), next, openers.String()
}

// trimEnd returns where the text of a part cut at offset at ends: before the spaces and
// line breaks at the cut, or in a code block before the line break only.
func (s *splitter) trimEnd(pos, at int, code bool) int {
	if code {
		if at > pos && s.text[at-1] == '\n' {
			return at - 1
		}
		return at
	}
	return pos + len(strings.TrimRight(s.text[pos:max(at, pos)], " \t\n"))
}

// skipStart returns where the text of the part after a cut at offset at starts: after
// the spaces and line breaks at the cut, but at the start of a line when there is one.
// That way an indented list line keeps its indentation.
func (s *splitter) skipStart(at int, code bool) int {
	if code {
		return at
	}
	next := at + len(s.text[at:]) - len(strings.TrimLeft(s.text[at:], " \t\n"))
	if line := strings.LastIndexByte(s.text[:next], '\n') + 1; line >= at {
		return line
	}
	return next
}

// quoteLine reports whether the line holding offset i is a block quote line.
func (s *splitter) quoteLine(i int) bool {
	start := strings.LastIndexByte(s.text[:i], '\n') + 1
	return strings.HasPrefix(s.text[start:], "> ")
}

func markerUnits(spans []span) int {
	n := 0
	for _, sp := range spans {
		n += Length(sp.open) + Length(sp.close)
	}
	return n
}

func blockSpans(spans []span) []span {
	var blocks []span
	for _, sp := range spans {
		if sp.block {
			blocks = append(blocks, sp)
		}
	}
	return blocks
}
