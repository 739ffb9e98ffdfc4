package mrkdwn

import (
	"bytes"
	"strconv"
	"unicode"
	"unicode/utf8"

	"github.com/yuin/goldmark/util"
)

// graveAccent replaces backticks that Slack would read as code markers: U+02CB MODIFIER
// LETTER GRAVE ACCENT looks like a backtick but formats nothing.
const graveAccent = "\u02cb"

// replacementChar is written for NUL and for bytes that are not valid UTF-8.
const replacementChar = "\ufffd"

// appendEscaped appends s to dst as Slack text: &, < and > become entities, so that the
// text can contain no link, mention or broadcast such as <!channel>. A backtick becomes
// graveAccent, except inside a code block (code true), where only runs of three or more
// are replaced because only those can end the block.
func appendEscaped(dst, s []byte, code bool) []byte {
	for i := 0; i < len(s); {
		// Copy the run of bytes that need no change in one go.
		j := i
		for j < len(s) && plainByte[s[j]] {
			j++
		}
		dst = append(dst, s[i:j]...)
		if i = j; i == len(s) {
			break
		}
		c := s[i]
		if c >= utf8.RuneSelf {
			r, size := utf8.DecodeRune(s[i:])
			if r == utf8.RuneError && size == 1 {
				dst = append(dst, replacementChar...)
			} else {
				dst = append(dst, s[i:i+size]...)
			}
			i += size
			continue
		}
		switch c {
		case '&':
			dst = append(dst, "&amp;"...)
		case '<':
			dst = append(dst, "&lt;"...)
		case '>':
			dst = append(dst, "&gt;"...)
		case 0:
			dst = append(dst, replacementChar...)
		case '`':
			n := runLength(s, i, '`')
			if code && n < 3 {
				dst = append(dst, s[i:i+n]...)
			} else {
				for range n {
					dst = append(dst, graveAccent...)
				}
			}
			i += n
			continue
		}
		i++
	}
	return dst
}

// plainByte marks the ASCII bytes that appendEscaped copies unchanged.
var plainByte = func() (t [256]bool) {
	for c := 1; c < utf8.RuneSelf; c++ {
		t[c] = true
	}
	for _, c := range "&<>`" {
		t[c] = false
	}
	return t
}()

// runLength returns how many times c repeats in s from i on.
func runLength(s []byte, i int, c byte) int {
	n := 0
	for i+n < len(s) && s[i+n] == c {
		n++
	}
	return n
}

// appendUnescaped appends the text of a Markdown text segment to dst: backslash escapes
// are removed and entity and numeric character references are decoded, in one pass as
// CommonMark requires (so `\&amp;` stays the five characters &amp;).
func appendUnescaped(dst, s []byte) []byte {
	if bytes.IndexByte(s, '\\') < 0 && bytes.IndexByte(s, '&') < 0 {
		return append(dst, s...)
	}
	for i := 0; i < len(s); {
		c := s[i]
		if c == '\\' && i+1 < len(s) && util.IsPunct(s[i+1]) {
			dst = append(dst, s[i+1])
			i += 2
			continue
		}
		if c == '&' {
			if decoded, n := decodeReference(s[i:]); n > 0 {
				dst = append(dst, decoded...)
				i += n
				continue
			}
		}
		dst = append(dst, c)
		i++
	}
	return dst
}

// decodeReference decodes the entity or numeric character reference at the start of s
// and returns its characters and length, or a zero length when s starts with none.
func decodeReference(s []byte) ([]byte, int) {
	end := 1
	for end < len(s) && end < 40 && s[end] != ';' {
		end++
	}
	if end >= len(s) || s[end] != ';' || end == 1 {
		return nil, 0
	}
	body := string(s[1:end])
	if body[0] != '#' {
		entity, ok := util.LookUpHTML5EntityByName(body)
		if !ok {
			return nil, 0
		}
		return entity.Characters, end + 1
	}
	digits, base := body[1:], 10
	if len(digits) > 0 && (digits[0] == 'x' || digits[0] == 'X') {
		digits, base = digits[1:], 16
	}
	if len(digits) == 0 || len(digits) > 7 {
		return nil, 0
	}
	v, err := strconv.ParseUint(digits, base, 32)
	if err != nil {
		return nil, 0
	}
	return utf8.AppendRune(nil, util.ToValidRune(rune(v))), end + 1
}

// Length returns the length of text as this package measures it against a limit: the
// number of UTF-16 code units, entities and link markup included. Slack documents its
// 4,000 limit in "characters" without naming the unit. A UTF-16 count is never below the
// rune count, so text within a limit by this measure is within it by either.
func Length(text string) int {
	n := 0
	for i := 0; i < len(text); {
		c := text[i]
		if c < utf8.RuneSelf {
			n++
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(text[i:])
		if r > 0xFFFF {
			n += 2
		} else {
			n++
		}
		i += size
	}
	return n
}

// displayWidth returns the number of monospace columns s takes: East Asian wide
// characters and most emoji take two, combining marks and joiners none.
// NOTE: the wide ranges are an estimate; Slack's font and the reader's platform decide.
func displayWidth(s string) int {
	w := 0
	for _, r := range s {
		if r < utf8.RuneSelf {
			w++
		} else {
			w += runeWidth(r)
		}
	}
	return w
}

func runeWidth(r rune) int {
	switch {
	case isJoining(r):
		return 0
	case r >= 0x1100 && r <= 0x115F, r >= 0x2E80 && r <= 0x303E, r >= 0x3041 && r <= 0x33FF,
		r >= 0x3400 && r <= 0x4DBF, r >= 0x4E00 && r <= 0x9FFF, r >= 0xA000 && r <= 0xA4CF,
		r >= 0xAC00 && r <= 0xD7A3, r >= 0xF900 && r <= 0xFAFF, r >= 0xFE30 && r <= 0xFE4F,
		r >= 0xFF00 && r <= 0xFF60, r >= 0xFFE0 && r <= 0xFFE6, r >= 0x1F300 && r <= 0x1F64F,
		r >= 0x1F680 && r <= 0x1F6FF, r >= 0x1F900 && r <= 0x1FAFF, r >= 0x20000 && r <= 0x3FFFD:
		return 2
	}
	return 1
}

// isJoining reports whether r attaches to the rune before it: a combining mark, a
// variation selector, an emoji skin tone or a zero-width joiner. No cut goes before one.
func isJoining(r rune) bool {
	switch {
	case r == 0x200D, r >= 0xFE00 && r <= 0xFE0F, r >= 0x1F3FB && r <= 0x1F3FF,
		r >= 0xE0100 && r <= 0xE01EF, r >= 0xE0020 && r <= 0xE007F:
		return true
	}
	return r >= 0x300 && unicode.In(r, unicode.Mn, unicode.Me, unicode.Mc)
}
