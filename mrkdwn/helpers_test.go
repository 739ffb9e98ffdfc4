package mrkdwn

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/ast"
	"github.com/yuin/goldmark/extension"
	"github.com/yuin/goldmark/text"
	"github.com/yuin/goldmark/util"
)

// checkParts returns a description of the first part that breaks an invariant every
// part must keep, or "". Only the last part of an intermediate result may be empty.
func checkParts(parts []string, limit int, final bool) string {
	for i, p := range parts {
		if p == "" && (final || i < len(parts)-1) {
			return fmt.Sprintf("part %d of %d is empty", i, len(parts))
		}
		if msg := checkPart(p, limit); msg != "" {
			return fmt.Sprintf("part %d of %d: %s\n%q", i, len(parts), msg, p)
		}
	}
	return ""
}

// checkPart returns what is wrong with one part, or "".
func checkPart(p string, limit int) string {
	switch {
	case !utf8.ValidString(p):
		return "invalid UTF-8"
	case Length(p) > limit:
		return fmt.Sprintf("length %d over the limit %d", Length(p), limit)
	case utf8.RuneCountInString(p) > limit:
		return fmt.Sprintf("%d runes, over the limit %d", utf8.RuneCountInString(p), limit)
	case strings.Count(p, "```")%2 != 0:
		return "unbalanced code fences"
	}
	if msg := checkEscapes(p); msg != "" {
		return msg
	}
	return ""
}

// checkEscapes returns what is wrong with the entities and links of p, or "": every &
// starts an entity the renderer writes, and every < starts a <url> or <url|label> that
// closes in the same part and is no mention or broadcast.
func checkEscapes(p string) string {
	for i := 0; i < len(p); i++ {
		switch p[i] {
		case '&':
			rest := p[i:]
			if !strings.HasPrefix(rest, "&amp;") && !strings.HasPrefix(rest, "&lt;") &&
				!strings.HasPrefix(rest, "&gt;") {
				return fmt.Sprintf("broken entity at %d: %q", i, rest[:min(len(rest), 8)])
			}
		case '<':
			end := strings.IndexByte(p[i:], '>')
			if end < 0 || strings.IndexByte(p[i+1:i+end], '<') >= 0 {
				return fmt.Sprintf("link not closed at %d", i)
			}
			if !linkable(p[i+1 : i+end]) {
				return fmt.Sprintf("< not followed by a URL at %d: %q", i, p[i:i+end+1])
			}
		}
	}
	return ""
}

// gfm parses like the package does, for checks that must not reuse its code.
var gfm = goldmark.New(goldmark.WithExtensions(extension.GFM))

// sourceText returns the visible text of markdown in document order: the text of
// paragraphs, headings, cells, link labels and code, without markup, link destinations,
// fence info strings or comments.
func sourceText(markdown string) string {
	src := []byte(markdown)
	doc := gfm.Parser().Parse(text.NewReader(src))
	var b bytes.Buffer
	_ = ast.Walk(doc, func(n ast.Node, entering bool) (ast.WalkStatus, error) {
		if !entering {
			return ast.WalkContinue, nil
		}
		switch n := n.(type) {
		case *ast.Text:
			v := n.Segment.Value(src)
			if !n.IsRaw() {
				v = util.ResolveEntityNames(util.ResolveNumericReferences(util.UnescapePunctuations(v)))
			}
			b.Write(v)
		case *ast.AutoLink:
			b.Write(n.Label(src))
		case *ast.RawHTML:
			if v := n.Segments.Value(src); !bytes.HasPrefix(v, []byte("<!--")) && !isBreakTag(v) {
				b.Write(v)
			}
		case *ast.FencedCodeBlock, *ast.CodeBlock:
			b.Write(n.Lines().Value(src))
		case *ast.HTMLBlock:
			if n.HTMLBlockType != ast.HTMLBlockType2 {
				b.Write(n.Lines().Value(src))
			}
		}
		b.WriteByte(' ')
		return ast.WalkContinue, nil
	})
	return b.String()
}

// wordRunes returns the letters and digits of s.
func wordRunes(s string) []rune {
	var runes []rune
	for _, r := range s {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			runes = append(runes, r)
		}
	}
	return runes
}

// missingText returns a description of the first letter or digit of the input's text
// that the output lacks, or "". Letters and digits must appear in the output in the
// same order; the output may hold more, such as link destinations.
func missingText(markdown, output string) string {
	want, got := wordRunes(sourceText(markdown)), wordRunes(output)
	j := 0
	for i, r := range want {
		for j < len(got) && got[j] != r {
			j++
		}
		if j == len(got) {
			missing := string(want[i:min(len(want), i+20)])
			return fmt.Sprintf("input text from %q on is missing from the output", missing)
		}
		j++
	}
	return ""
}

// lastPart returns the streaming part of an intermediate result.
func lastPart(t *testing.T, parts []string) string {
	t.Helper()
	if len(parts) == 0 {
		t.Fatal("Update returned no part")
	}
	return parts[len(parts)-1]
}
