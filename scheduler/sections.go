package scheduler

import (
	"strings"
	"unicode/utf8"
)

// Markers of a code block that continues from one section to the next: the section
// that ends inside the block closes it, and the next section opens it again.
const (
	fence       = "```"
	fenceReopen = "```\n"

	// fenceMarkerUnits is the length of fenceReopen and of the longer closing marker,
	// "\n```", in UTF-16 code units.
	fenceMarkerUnits = 4
)

// minSectionLimit is the smallest section limit. splitSections raises a smaller limit to
// it, because below it a section may have no room to end outside an entity or a fence.
const minSectionLimit = 32

// Kinds of section cut, from the preferred to the last resort.
const (
	cutLine     = iota // after a line break outside a code block
	cutCodeLine        // after a line break inside a code block
	cutSpace           // after a space or a tab
	cutRune            // between any two characters
	cutKinds
)

// Levels of a byte offset, which tell whether a section may end there.
const (
	levelInside = iota // inside an entity such as &amp; or inside a run of backticks
	levelLink          // inside a <url|label>, where a cut breaks the link
	levelFree
)

// sectionPiece is the part of a text that one section shows: the bytes text[start:end],
// preceded by fenceReopen when reopen is set and followed by a closing fence when close
// is set, because a code block continues across the cut.
type sectionPiece struct {
	start, end int
	reopen     bool
	close      bool
}

// render returns the section text of p, a piece of text.
func (p sectionPiece) render(text string) string {
	body := text[p.start:p.end]
	var b strings.Builder
	if p.reopen {
		b.WriteString(fenceReopen)
	}
	b.WriteString(body)
	if p.close {
		b.WriteString(closingFence(body))
	}
	return b.String()
}

// closingFence returns the marker that closes a code block after body: the fence on a
// line of its own.
func closingFence(body string) string {
	if strings.HasSuffix(body, "\n") {
		return fence
	}
	return "\n" + fence
}

// splitSections cuts mrkdwn text into section texts of at most limit UTF-16 code units.
// A cut goes after a line break outside a code block, else after a line break inside
// one, else after a space, else between two characters, preferring the last such place
// in the second half of the section. A code block that continues across a cut is closed
// at the end of the section and reopened at the start of the next, so each section
// renders its code as code when the text closes all its code blocks. No cut goes inside
// a character, an entity or a fence, nor inside a <url|label> that fits in one section.
// A section of only white space is left out, so that no section block goes out without
// visible text.
func splitSections(text string, limit int) []string {
	var sections []string
	for _, p := range sectionPieces(text, limit) {
		if section := p.render(text); !isBlank(section) {
			sections = append(sections, section)
		}
	}
	return sections
}

// sectionPieces returns the pieces of splitSections, which cover text in order.
func sectionPieces(text string, limit int) []sectionPiece {
	limit = max(limit, minSectionLimit)
	scan := scanSections(text)
	var pieces []sectionPiece
	for pos := 0; pos < len(text); {
		end, last := scan.cut(pos, limit)
		pieces = append(pieces, sectionPiece{
			start:  pos,
			end:    end,
			reopen: scan.code[pos],
			close:  !last && scan.code[end],
		})
		pos = end
	}
	return pieces
}

// sectionScan is a text with the facts about each byte offset that choosing a cut needs.
type sectionScan struct {
	text  string
	code  []bool  // code[i] is whether offset i is inside a code block
	level []uint8 // level[i] is levelInside, levelLink or levelFree
}

// scanSections finds the code blocks, entities, links and backtick runs of text. Every
// "```" opens or closes a code block, counted from the left as strings.Count does. The
// mrkdwn package writes "```" only as code fences, because it replaces other backticks
// that Slack would read as code markers.
func scanSections(text string) *sectionScan {
	n := len(text)
	s := &sectionScan{text: text, code: make([]bool, n+1), level: make([]uint8, n+1)}
	for i := range s.level {
		s.level[i] = levelFree
	}
	inCode := false
	nextGT, linked := -1, 0 // the next '>' from the last '<', and the end of marked links
	for i := 0; i < n; {
		s.code[i] = inCode
		switch text[i] {
		case '`':
			run := len(text[i:]) - len(strings.TrimLeft(text[i:], "`"))
			for k := 1; k < run; k++ {
				s.code[i+k] = inCode != (k/3%2 == 1)
				if k%3 != 0 {
					s.level[i+k] = levelInside
				}
			}
			if run/3%2 == 1 {
				inCode = !inCode
			}
			i += run
			continue
		case '&':
			s.markEntity(i)
		case '<':
			if nextGT < i {
				nextGT = strings.IndexByte(text[i:], '>')
				if nextGT >= 0 {
					nextGT += i
				} else {
					nextGT = n // no link closes after i
				}
			}
			if nextGT < n {
				linked = s.markLink(max(i+1, linked), nextGT)
			}
		}
		i++
	}
	s.code[n] = inCode
	return s
}

// markEntity marks the inside of the entity that starts with the '&' at i, if any: a
// name or number of up to ten characters and a ';'.
func (s *sectionScan) markEntity(i int) {
	for j := i + 1; j < len(s.text) && j <= i+11; j++ {
		c := s.text[j]
		switch {
		case c == ';' && j > i+1:
			for k := i + 1; k <= j; k++ {
				s.level[k] = levelInside
			}
			return
		case c != '#' && !isASCIIAlnum(c):
			return
		}
	}
}

func isASCIIAlnum(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// markLink marks the offsets from from to gt, the '>' that closes a link, as inside the
// link, and returns the offset after the last one marked.
func (s *sectionScan) markLink(from, gt int) int {
	for k := from; k <= gt; k++ {
		s.level[k] = min(s.level[k], levelLink)
	}
	return max(from, gt+1)
}

// cut returns the end of the section that starts at pos, and whether that section is the
// last one, which it is when the rest of the text fits in limit.
func (s *sectionScan) cut(pos, limit int) (end int, last bool) {
	budget := limit // for the text of the section, its markers excluded
	if s.code[pos] {
		budget -= fenceMarkerUnits
	}
	cutBudget := budget - fenceMarkerUnits // leaves room for a closing fence

	var best, bestUnits [cutKinds]int
	var latest [levelFree + 1]int
	units := 0
	for i := pos; i < len(s.text); {
		r, size := utf8.DecodeRuneInString(s.text[i:])
		units += utf16Len(r)
		i += size
		if units > budget {
			break
		}
		if i == len(s.text) {
			return i, true
		}
		if units > cutBudget {
			continue
		}
		level := s.level[i]
		latest[level] = i
		if level == levelFree {
			kind := s.kind(i)
			best[kind], bestUnits[kind] = i, units
		}
	}
	return s.choose(pos, cutBudget, best, bestUnits, latest), false
}

// choose picks the cut of a section that starts at pos among the candidates found by
// cut: the preferred kind that still fills half of cutBudget, else the last free cut,
// else the last cut inside a link, else the last character boundary.
func (s *sectionScan) choose(pos, cutBudget int, best, bestUnits [cutKinds]int, latest [levelFree + 1]int) int {
	for kind := range cutKinds {
		if best[kind] > 0 && bestUnits[kind] >= cutBudget/2 {
			return best[kind]
		}
	}
	for level := levelFree; level >= levelInside; level-- {
		if latest[level] > 0 {
			return latest[level]
		}
	}
	// Not even one character fits: the section gets one anyway, so that the split ends.
	_, size := utf8.DecodeRuneInString(s.text[pos:])
	return pos + size
}

// kind classifies a cut at offset i.
func (s *sectionScan) kind(i int) int {
	switch s.text[i-1] {
	case '\n':
		if s.code[i] {
			return cutCodeLine
		}
		return cutLine
	case ' ', '\t':
		return cutSpace
	}
	return cutRune
}

// utf16Len returns the number of UTF-16 code units of r. The mrkdwn package measures
// text in these units, which are never fewer than the characters.
func utf16Len(r rune) int {
	if r > 0xFFFF {
		return 2
	}
	return 1
}
