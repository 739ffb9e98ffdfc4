package scheduler

import (
	"slices"
	"strings"
	"testing"
	"unicode/utf16"
	"unicode/utf8"
)

func TestSplitSections(t *testing.T) {
	tests := []struct {
		name string
		text string
		want []string
	}{
		{"fits", "short text", []string{"short text"}},
		{
			"at a line",
			"aaaaaaaaaa\nbbbbbbbbbb\ncccccccccc\n",
			[]string{"aaaaaaaaaa\nbbbbbbbbbb\n", "cccccccccc\n"},
		},
		{
			"code block reopened",
			"```\nline 1\nline 2\nline 3\nline 4\nline 5\nline 6\n```",
			[]string{"```\nline 1\nline 2\nline 3\n```", "```\nline 4\nline 5\nline 6\n```"},
		},
		{
			"line before code preferred",
			"intro text here\n```\nline 1\nline 2\nline 3\n```",
			[]string{"intro text here\n", "```\nline 1\nline 2\nline 3\n```"},
		},
		{
			"code line when no other",
			"intro\n```\nline 1\nline 2\nline 3\nline 4\n```\nafter",
			[]string{"intro\n```\nline 1\nline 2\n```", "```\nline 3\nline 4\n```\nafter"},
		},
		{
			"long code line",
			"```\nabcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyz\n```",
			[]string{
				"```\nabcdefghijklmnopqrstuvwx\n```",
				"```\nyzabcdefghijklmnopqrstuv\n```",
				"```\nwxyz\n```",
			},
		},
		{
			"link kept whole",
			"see the docs at <https://ex.co|docs> now",
			[]string{"see the docs at ", "<https://ex.co|docs> now"},
		},
		{
			"entity kept whole",
			"aaaaaaaaaaaaaaaaaaaaaaaaaaa&amp;bbbbbbbbbb",
			[]string{"aaaaaaaaaaaaaaaaaaaaaaaaaaa", "&amp;bbbbbbbbbb"},
		},
		{
			"emoji count twice",
			strings.Repeat("😀", 18),
			[]string{strings.Repeat("😀", 14), strings.Repeat("😀", 4)},
		},
		{
			"blank section dropped",
			strings.Repeat("a", 20) + "\n" + strings.Repeat(" ", 40),
			[]string{strings.Repeat("a", 20) + "\n"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := splitSections(tt.text, minSectionLimit)
			if !slices.Equal(got, tt.want) {
				t.Errorf("splitSections(%q) =\n%q\nwant\n%q", tt.text, got, tt.want)
			}
		})
	}
}

func TestSplitSectionsCodeAnswer(t *testing.T) {
	var code strings.Builder
	code.WriteString("Here is the script:\n\n```\n")
	for code.Len() < 3800 {
		code.WriteString("echo \"line of the script\" &gt;&gt; out.log\n")
	}
	code.WriteString("```\n\nRun it twice.")
	text := code.String()

	sections := splitSections(text, maxSectionChars)
	if len(sections) != 2 {
		t.Fatalf("got %d sections, want 2", len(sections))
	}
	for i, s := range sections {
		if n := strings.Count(s, fence); n != 2 {
			t.Errorf("section %d has %d fences, want 2:\n%s", i, n, s)
		}
		if n := utf16Length(s); n > maxSectionChars {
			t.Errorf("section %d is %d long, over %d", i, n, maxSectionChars)
		}
	}
	if !strings.HasSuffix(sections[0], "&gt;&gt; out.log\n```") {
		t.Errorf("first section does not end after a whole line of code: %q", tail(sections[0]))
	}
	if !strings.HasPrefix(sections[1], "```\necho ") {
		t.Errorf("second section does not reopen the code block: %.20q", sections[1])
	}
}

func FuzzSplitSections(f *testing.F) {
	f.Add("intro\n```\nline 1\nline 2\nline 3\nline 4\n```\nafter", uint16(0))
	f.Add("see <https://ex.co|docs> &amp; ``````` ```x``` 😀\n\n", uint16(8))
	f.Add(strings.Repeat("`", 100), uint16(0))
	f.Add(strings.Repeat("&amp;x&#123;", 40)+"<https://ex.co/"+strings.Repeat("a", 40)+">", uint16(1))
	f.Add(strings.Repeat("a &lt; ", 450), uint16(maxSectionChars-minSectionLimit))
	f.Fuzz(func(t *testing.T, text string, n uint16) {
		if !utf8.ValidString(text) {
			return
		}
		limit := minSectionLimit + int(n)%(maxSectionChars-minSectionLimit+1)
		pieces := sectionPieces(text, limit)
		checkPieces(t, text, limit, pieces)

		var want []string
		for _, p := range pieces {
			if s := p.render(text); !isBlank(s) {
				want = append(want, s)
			}
		}
		sections := splitSections(text, limit)
		if !slices.Equal(sections, want) {
			t.Fatalf("splitSections = %q, want the rendered pieces %q", sections, want)
		}
		balanced := strings.Count(text, fence)%2 == 0
		for i, s := range sections {
			if n := strings.Count(s, fence); n%2 != 0 && (balanced || i < len(sections)-1) {
				t.Fatalf("section %d of %d has %d fences: %q", i, len(sections), n, s)
			}
		}
	})
}

// checkPieces checks that pieces cover text in order, that each renders within limit
// with only fence markers added, and that no cut splits a character, an entity, a fence
// or a link that fits in a section.
func checkPieces(t *testing.T, text string, limit int, pieces []sectionPiece) {
	t.Helper()
	var joined strings.Builder
	pos := 0
	for i, p := range pieces {
		if p.start != pos || p.end <= p.start {
			t.Fatalf("piece %d covers [%d, %d), want it to start at %d and not be empty", i, p.start, p.end, pos)
		}
		pos = p.end
		s := p.render(text)
		if n := utf16Length(s); n > limit {
			t.Fatalf("piece %d is %d long, over %d: %q", i, n, limit, s)
		}
		joined.WriteString(stripMarkers(t, s, p))
		if p.end == len(text) {
			continue
		}
		if !utf8.RuneStart(text[p.end]) {
			t.Fatalf("cut at %d splits a character", p.end)
		}
		if insideEntity(text, p.end) {
			t.Fatalf("cut at %d splits an entity: %q", p.end, around(text, p.end))
		}
		if text[p.end-1] == '`' && text[p.end] == '`' && backticksBefore(text, p.end)%3 != 0 {
			t.Fatalf("cut at %d splits a fence: %q", p.end, around(text, p.end))
		}
		if start, end, ok := linkAround(text, p.end); ok && utf16Length(text[start:end]) <= limit-2*fenceMarkerUnits {
			t.Fatalf("cut at %d splits a link that fits a section: %q", p.end, text[start:end])
		}
	}
	if pos != len(text) {
		t.Fatalf("pieces end at %d of %d", pos, len(text))
	}
	if joined.String() != text {
		t.Fatalf("pieces without their markers = %q, want %q", joined.String(), text)
	}
}

// stripMarkers returns the rendered piece s without the markers that p added, failing
// when they are missing.
func stripMarkers(t *testing.T, s string, p sectionPiece) string {
	t.Helper()
	if p.reopen {
		rest, ok := strings.CutPrefix(s, fenceReopen)
		if !ok {
			t.Fatalf("reopened piece %q does not start with a fence", s)
		}
		s = rest
	}
	if p.close {
		rest, ok := strings.CutSuffix(s, fence)
		if !ok {
			t.Fatalf("closed piece %q does not end with a fence", s)
		}
		s = rest
		if !strings.HasSuffix(s, "\n") {
			t.Fatalf("closing fence of %q is not on its own line", s)
		}
		if len(s) == p.end-p.start+1 {
			s = s[:len(s)-1] // the line break added before the fence
		}
	}
	return s
}

// insideEntity reports whether offset i of text falls after the '&' and before the end
// of an entity such as &amp; or &#123;.
func insideEntity(text string, i int) bool {
	amp := strings.LastIndexByte(text[:i], '&')
	if amp < 0 || i-amp > 11 {
		return false
	}
	semi := strings.IndexByte(text[amp:], ';')
	if semi < 2 || semi > 11 || amp+semi < i {
		return false
	}
	for _, c := range []byte(text[amp+1 : amp+semi]) {
		if c != '#' && !isASCIIAlnum(c) {
			return false
		}
	}
	return true
}

// backticksBefore returns the number of backticks right before offset i.
func backticksBefore(text string, i int) int {
	return len(text[:i]) - len(strings.TrimRight(text[:i], "`"))
}

// linkAround returns the link from a '<' to the next '>' that contains offset i, with
// each link starting at the first '<' after the previous one ended.
func linkAround(text string, i int) (start, end int, ok bool) {
	for pos := 0; pos < len(text); {
		lt := strings.IndexByte(text[pos:], '<')
		if lt < 0 {
			return 0, 0, false
		}
		lt += pos
		gt := strings.IndexByte(text[lt:], '>')
		if gt < 0 || lt >= i {
			return 0, 0, false
		}
		gt += lt
		if i <= gt {
			return lt, gt + 1, true
		}
		pos = gt + 1
	}
	return 0, 0, false
}

func utf16Length(s string) int {
	return len(utf16.Encode([]rune(s)))
}

func around(text string, i int) string {
	return text[max(i-12, 0):min(i+12, len(text))]
}

func tail(s string) string {
	return s[max(len(s)-40, 0):]
}
