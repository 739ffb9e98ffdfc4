package mrkdwn

import (
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// fuzzSeeds are inputs aimed at the converter's edge cases.
var fuzzSeeds = []string{
	"",
	"**bold** _it_ ~~s~~ `c` [l](https://x.io) <https://a.b> www.c.de e@f.gh",
	"[docs](https://exa",
	"**bol",
	"```python\nprint(1)",
	"Trailing *",
	"<!channel> <@U1> <#C1|g> <!subteam^S1|x> &amp; &copy; \\* \\`",
	"- a\n  - b\n    1. c\n\n> q\n>> r\n> ```\n> x\n> ```\n",
	"| a | b |\n|:--|--:|\n| 1 | [x](https://y.z) |\n| <br> | `|` |",
	"````\n```\n````\n~~~\n~~~",
	"1. a\n1. b\n\n10. c\n11. d",
	"[x][r]\n\n[r]: https://r.io 'T'",
	"a  \nb\\\nc",
	"👨‍👩‍👧‍👦🇧🇷 ção\x00\xff",
	"***a** b*",
	"中文**粗体**中文 a**b**c x`y`z 「*斜体*」",
	"a<br>\nb <br> c",
	"<div>\n<b>x</b>\n</div>\n\n<!-- c -->",
	"Heading\n---\n\n* * *",
}

func addFuzzSeeds(f *testing.F, add func(string)) {
	for _, s := range fuzzSeeds {
		add(s)
	}
	files, _ := filepath.Glob(filepath.Join("testdata", "*.md"))
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		add(string(b))
	}
}

// FuzzRender checks Render on any input: valid UTF-8, balanced fences, only our own
// entities and links (so no mention), every letter and digit of the text kept in order,
// and the same output twice.
func FuzzRender(f *testing.F) {
	addFuzzSeeds(f, func(s string) { f.Add(s) })
	f.Fuzz(func(t *testing.T, markdown string) {
		out := Render(markdown)
		if msg := checkPart(out, len(out)*2+1); msg != "" {
			t.Fatalf("%s\ninput: %q", msg, markdown)
		}
		if msg := missingText(markdown, out); msg != "" {
			t.Fatalf("%s\ninput: %q\noutput: %q", msg, markdown, out)
		}
		if again := Render(markdown); again != out {
			t.Fatalf("Render is not deterministic for %q", markdown)
		}
	})
}

// fuzzLimit maps a fuzzed number to a limit small enough that inputs get cut.
func fuzzLimit(n uint16) int {
	return MinLimit + int(n%448)
}

// FuzzSplit checks Split: every part within the limit, with balanced fences and whole
// entities and links, and no text of the input lost.
func FuzzSplit(f *testing.F) {
	addFuzzSeeds(f, func(s string) { f.Add(s, uint16(100)) })
	f.Fuzz(func(t *testing.T, markdown string, n uint16) {
		limit := fuzzLimit(n)
		parts := Split(markdown, limit)
		if msg := checkParts(parts, limit, true); msg != "" {
			t.Fatalf("limit %d: %s\ninput: %q", limit, msg, markdown)
		}
		if msg := missingText(markdown, strings.Join(parts, "\n")); msg != "" {
			t.Fatalf("limit %d: %s\ninput: %q\nparts: %q", limit, msg, markdown, parts)
		}
	})
}

// FuzzStream feeds growing prefixes of the input to a Stream and checks every result:
// parts within the limit with balanced fences, frozen parts returned unchanged, and, at
// the end, no text of the input lost.
func FuzzStream(f *testing.F) {
	addFuzzSeeds(f, func(s string) { f.Add(s, uint64(1), uint16(100), uint8(20)) })
	f.Fuzz(func(t *testing.T, markdown string, seed uint64, n uint16, maxDelta uint8) {
		if len(markdown) > 8192 {
			t.Skip("long inputs make too many updates")
		}
		limit := fuzzLimit(n)
		s := NewStream(limit)
		rng := rand.New(rand.NewPCG(seed, 2))
		var prev []string
		for end := 0; end < len(markdown); {
			end = min(len(markdown), end+1+rng.IntN(int(maxDelta)+1))
			parts := s.Update(markdown[:end], false)
			if msg := checkUpdate(prev, parts, limit, false); msg != "" {
				t.Fatalf("limit %d, after %d bytes: %s\ninput: %q", limit, end, msg, markdown)
			}
			prev = parts
		}
		final := s.Update(markdown, true)
		if msg := checkUpdate(prev, final, limit, true); msg != "" {
			t.Fatalf("limit %d, final: %s\ninput: %q", limit, msg, markdown)
		}
		if msg := missingText(markdown, strings.Join(final, "\n")); msg != "" {
			t.Fatalf("limit %d, final: %s\ninput: %q\nparts: %q", limit, msg, markdown, final)
		}
	})
}
