package mrkdwn

import (
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"
)

// splitChecked splits in and fails the test when a part breaks an invariant or text of
// the input is missing.
func splitChecked(t *testing.T, in string, limit int) []string {
	t.Helper()
	parts := Split(in, limit)
	if msg := checkParts(parts, limit, true); msg != "" {
		t.Fatal(msg)
	}
	if msg := missingText(in, strings.Join(parts, "\n")); msg != "" {
		t.Fatal(msg)
	}
	return parts
}

// words returns n words of the form w0 w1 …, one line.
func words(n int) string {
	w := make([]string, n)
	for i := range w {
		w[i] = fmt.Sprintf("w%d", i)
	}
	return strings.Join(w, " ")
}

func TestSplitShortText(t *testing.T) {
	parts := splitChecked(t, "Hello *world*", DefaultLimit)
	if len(parts) != 1 || parts[0] != "Hello _world_" {
		t.Fatalf("Split = %q, want one part", parts)
	}
}

func TestSplitEmptyText(t *testing.T) {
	if parts := Split("  \n\n", DefaultLimit); len(parts) != 0 {
		t.Fatalf("Split of blank text = %q, want no part", parts)
	}
}

func TestSplitAtParagraphs(t *testing.T) {
	paragraphs := make([]string, 12)
	for i := range paragraphs {
		paragraphs[i] = fmt.Sprintf("Paragraph %d has a few words of text in it.", i)
	}
	parts := splitChecked(t, strings.Join(paragraphs, "\n\n"), 160)
	if len(parts) < 3 {
		t.Fatalf("got %d parts, want at least 3", len(parts))
	}
	for i, p := range parts {
		for _, para := range strings.Split(p, "\n\n") {
			if !strings.HasPrefix(para, "Paragraph ") || !strings.HasSuffix(para, "in it.") {
				t.Errorf("part %d contains a cut paragraph %q", i, para)
			}
		}
	}
}

func TestSplitAtLines(t *testing.T) {
	lines := make([]string, 30)
	for i := range lines {
		lines[i] = fmt.Sprintf("Line number %d of one long paragraph", i)
	}
	parts := splitChecked(t, strings.Join(lines, "\n"), 200)
	for i, p := range parts {
		for _, line := range strings.Split(p, "\n") {
			if !strings.HasPrefix(line, "Line number ") || !strings.HasSuffix(line, "paragraph") {
				t.Errorf("part %d contains a cut line %q", i, line)
			}
		}
	}
}

func TestSplitAtWords(t *testing.T) {
	in := words(200)
	parts := splitChecked(t, in, 100)
	if got := strings.Join(parts, " "); got != in {
		t.Fatalf("parts joined with spaces differ from the input:\n%s", got)
	}
}

func TestSplitLongWord(t *testing.T) {
	in := strings.Repeat("abcdefghij", 30)
	parts := splitChecked(t, in, MinLimit)
	if got := strings.Join(parts, ""); got != in {
		t.Fatalf("parts joined differ from the input: %q", got)
	}
}

func TestSplitKeepsEntities(t *testing.T) {
	splitChecked(t, strings.Repeat("x&y<z>", 100), MinLimit)
}

func TestSplitKeepsLinks(t *testing.T) {
	var b strings.Builder
	for i := range 40 {
		fmt.Fprintf(&b, "[label number %d](https://example.com/page/%d?q=1&r=2) ", i, i)
	}
	parts := splitChecked(t, b.String(), 150)
	if got := strings.Count(strings.Join(parts, ""), "<https://example.com/page/"); got != 40 {
		t.Fatalf("found %d links in the parts, want 40", got)
	}
}

func TestSplitLongLinkBecomesText(t *testing.T) {
	in := "[docs](https://example.com/" + strings.Repeat("a", 200) + ")"
	parts := splitChecked(t, in, 100)
	if strings.Contains(strings.Join(parts, ""), "<") {
		t.Fatalf("a link longer than half the limit stayed a link: %q", parts)
	}
}

func TestSplitReopensCodeBlock(t *testing.T) {
	lines := make([]string, 60)
	for i := range lines {
		lines[i] = fmt.Sprintf("x%02d := compute(%d) // step", i, i)
	}
	code := strings.Join(lines, "\n")
	parts := splitChecked(t, "```go\n"+code+"\n```", 300)
	if len(parts) < 2 {
		t.Fatalf("got %d parts, want the code block cut", len(parts))
	}
	var got []string
	for i, p := range parts {
		if !strings.HasPrefix(p, "```\n") || !strings.HasSuffix(p, "\n```") {
			t.Fatalf("part %d is not one code block: %q", i, p)
		}
		got = append(got, strings.TrimSuffix(strings.TrimPrefix(p, "```\n"), "\n```"))
	}
	if strings.Join(got, "\n") != code {
		t.Fatalf("code lines lost or changed across parts:\n%s", strings.Join(got, "\n"))
	}
}

func TestSplitReopensCodeInLongLine(t *testing.T) {
	parts := splitChecked(t, "```\n"+words(120)+"\n```", 120)
	for i, p := range parts {
		if !strings.HasPrefix(p, "```\n") || !strings.HasSuffix(p, "\n```") {
			t.Fatalf("part %d is not one code block: %q", i, p)
		}
	}
}

func TestSplitReopensEmphasis(t *testing.T) {
	parts := splitChecked(t, "**"+words(100)+"**", 100)
	for i, p := range parts {
		if !strings.HasPrefix(p, "*w") || !strings.HasSuffix(p, "*") {
			t.Fatalf("part %d lost its bold markers: %q", i, p)
		}
	}
}

func TestSplitContinuesQuote(t *testing.T) {
	parts := splitChecked(t, "> "+words(100), 100)
	for i, p := range parts {
		if !strings.HasPrefix(p, "> ") {
			t.Fatalf("part %d does not continue the quote: %q", i, p)
		}
	}
}

func TestSplitCountsUTF16(t *testing.T) {
	parts := splitChecked(t, strings.Repeat("😀", 100), MinLimit)
	for i, p := range parts {
		if n := utf8.RuneCountInString(p); n > MinLimit/2 {
			t.Fatalf("part %d has %d emoji, more than fit in %d UTF-16 units", i, n, MinLimit)
		}
	}
}

func TestSplitKeepsEmojiWhole(t *testing.T) {
	family := "👨‍👩‍👧‍👦"
	parts := splitChecked(t, strings.Repeat(family, 30), MinLimit)
	for i, p := range parts {
		if strings.ReplaceAll(p, family, "") != "" {
			t.Fatalf("part %d splits an emoji sequence: %q", i, p)
		}
	}
}

func TestSplitContinuesNumbering(t *testing.T) {
	var b strings.Builder
	for i := range 12 {
		fmt.Fprintf(&b, "1. Item %d with enough words to fill part of a message\n", i+1)
	}
	parts := splitChecked(t, b.String(), 200)
	if len(parts) < 3 {
		t.Fatalf("got %d parts, want the list cut", len(parts))
	}
	n := 0
	for _, line := range strings.Split(strings.Join(parts, "\n"), "\n") {
		n++
		want := fmt.Sprintf("%d. Item %d ", n, n)
		if !strings.HasPrefix(line, want) {
			t.Fatalf("line %q does not start with %q", line, want)
		}
	}
}

func TestSplitRepeatsTableHeader(t *testing.T) {
	var b strings.Builder
	b.WriteString("| Name | Value |\n|------|-------|\n")
	for i := range 30 {
		fmt.Fprintf(&b, "| row %d | %d |\n", i, i*i)
	}
	parts := splitChecked(t, b.String(), 200)
	if len(parts) < 3 {
		t.Fatalf("got %d parts, want the table cut", len(parts))
	}
	rows := 0
	for i, p := range parts {
		lines := strings.Split(p, "\n")
		if len(lines) < 3 || !strings.HasPrefix(lines[1], "Name ") || !strings.HasPrefix(lines[2], "---") {
			t.Fatalf("part %d does not start with the header: %q", i, p)
		}
		rows += strings.Count(p, "row ")
	}
	if rows != 30 {
		t.Fatalf("found %d rows in the parts, want 30", rows)
	}
}

func TestSplitCarriesReferences(t *testing.T) {
	in := "[r]: https://ref.example.com\n\n" + strings.Repeat("Filler paragraph of text.\n\n", 20) +
		"See [the guide][r]."
	parts := splitChecked(t, in, 200)
	last := parts[len(parts)-1]
	if !strings.Contains(last, "<https://ref.example.com|the guide>") {
		t.Fatalf("the reference link in the last part was not resolved: %q", last)
	}
}

// TestSplitLongCodeReply checks a reply that is one bash block of about 5,400 characters:
// every part must render as code.
func TestSplitLongCodeReply(t *testing.T) {
	var b strings.Builder
	b.WriteString("```bash\n")
	for i := 0; b.Len() < 5400; i++ {
		fmt.Fprintf(&b, "echo \"step %d\" && curl -fsS https://api.example.com/items/%d > out/%d.json\n", i, i, i)
	}
	b.WriteString("```\n")
	parts := splitChecked(t, b.String(), DefaultLimit)
	if len(parts) != 2 {
		t.Fatalf("got %d parts, want 2", len(parts))
	}
	for i, p := range parts {
		if !strings.HasPrefix(p, "```\n") || !strings.HasSuffix(p, "\n```") {
			t.Fatalf("part %d is not one code block", i)
		}
	}
}

func TestSplitLongAnswers(t *testing.T) {
	for _, size := range []int{4500, 45000} {
		t.Run(fmt.Sprint(size), func(t *testing.T) {
			var b strings.Builder
			for i := 0; b.Len() < size; i++ {
				fmt.Fprintf(&b, "Sentence %d of the answer, with **bold** and `code`. ", i)
				if i%7 == 6 {
					b.WriteString("\n\n")
				}
			}
			parts := splitChecked(t, b.String(), DefaultLimit)
			if want := size / DefaultLimit; len(parts) <= want {
				t.Fatalf("got %d parts, want more than %d", len(parts), want)
			}
		})
	}
}

func TestSplitMinLimit(t *testing.T) {
	parts := Split(words(100), 10)
	for i, p := range parts {
		if Length(p) > MinLimit {
			t.Fatalf("part %d is %d long, over MinLimit", i, Length(p))
		}
	}
}

func TestSplitDeterministic(t *testing.T) {
	in := strings.Repeat("# Head\n\nSome *text* with [a link](https://x.io).\n\n```\ncode\n```\n\n", 30)
	first := strings.Join(Split(in, 300), "\x00")
	for range 5 {
		if got := strings.Join(Split(in, 300), "\x00"); got != first {
			t.Fatal("Split returned different parts for the same input")
		}
	}
}

// TestSplitRenderedPrefersCoarseCut checks the choice between kinds of cut in rendered
// text: a paragraph break is taken when it fills at least half the part, else a later
// line break.
func TestSplitRenderedPrefersCoarseCut(t *testing.T) {
	a := func(n int) string { return strings.Repeat("a", n) }
	b := func(n int) string { return strings.Repeat("b", n) }
	c := func(n int) string { return strings.Repeat("c", n) }
	cases := []struct {
		name string
		text string
		want string
	}{
		{"paragraph past half", a(60) + "\n\n" + b(20) + "\n" + c(40), a(60)},
		{"line when paragraph is early", a(20) + "\n\n" + b(60) + "\n" + c(40), a(20) + "\n\n" + b(60)},
		{"space when no line", "aaaa " + b(80) + " " + c(40), "aaaa " + b(80)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			parts := splitRendered(rendered{text: tc.text}, 100)
			if len(parts) < 2 || parts[0] != tc.want {
				t.Fatalf("first part = %q, want %q", parts[0], tc.want)
			}
		})
	}
}
