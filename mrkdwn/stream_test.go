package mrkdwn

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// streamChecked feeds in to a new Stream in deltas of up to maxDelta bytes, checking
// every result: parts within the limit, frozen parts unchanged, the number of parts never
// falling. It returns the final parts.
func streamChecked(t *testing.T, in string, limit, maxDelta int, seed uint64) []string {
	t.Helper()
	s := NewStream(limit)
	rng := rand.New(rand.NewPCG(seed, 1))
	var prev []string
	for end := 0; end < len(in); {
		end = min(len(in), end+1+rng.IntN(maxDelta))
		parts := s.Update(in[:end], false)
		if msg := checkUpdate(prev, parts, limit, false); msg != "" {
			t.Fatalf("after %d bytes: %s", end, msg)
		}
		prev = parts
	}
	final := s.Update(in, true)
	if msg := checkUpdate(prev, final, limit, true); msg != "" {
		t.Fatalf("final: %s", msg)
	}
	if msg := missingText(in, strings.Join(final, "\n")); msg != "" {
		t.Fatalf("final: %s", msg)
	}
	return final
}

// checkUpdate returns what is wrong with parts, the result of Update after prev, or "".
func checkUpdate(prev, parts []string, limit int, final bool) string {
	if msg := checkParts(parts, limit, final); msg != "" {
		return msg
	}
	frozen := max(len(prev)-1, 0)
	if len(parts) < frozen {
		return "fewer parts than were frozen"
	}
	for i := range frozen {
		if parts[i] != prev[i] {
			return "frozen part changed:\n" + prev[i] + "\n→\n" + parts[i]
		}
	}
	if shown(parts) < shown(prev) {
		return fmt.Sprintf("%d parts with words, fewer than the %d before", shown(parts), shown(prev))
	}
	return ""
}

// shown returns the number of parts with a letter or digit. Text shown in a part must
// not disappear later, because the bot does not delete a message it has posted. Text
// with no word may, such as a lone backtick that becomes an empty code span; graveAccent,
// which shows a backtick, is a letter in Unicode and is not counted.
func shown(parts []string) int {
	n := 0
	for _, p := range parts {
		if len(wordRunes(strings.ReplaceAll(p, graveAccent, ""))) > 0 {
			n++
		}
	}
	return n
}

func readTestdata(t testing.TB, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestNewStreamLimit(t *testing.T) {
	cases := []struct {
		name  string
		limit int
		want  int
	}{
		{"zero means default", 0, DefaultLimit},
		{"negative means default", -5, DefaultLimit},
		{"small raised to minimum", 10, MinLimit},
		{"kept", 1000, 1000},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := NewStream(tc.limit).limit; got != tc.want {
				t.Fatalf("NewStream(%d).limit = %d, want %d", tc.limit, got, tc.want)
			}
		})
	}
}

func TestStreamFrozenPartsStay(t *testing.T) {
	in := readTestdata(t, "long_report.md")
	for _, delta := range []int{3, 40, 400} {
		streamChecked(t, in, 1000, delta, uint64(delta))
	}
}

// TestStreamLongCodeAnswer streams a 10,000-character answer with a long code block:
// every edit stays within the limit, and the code arrives whole, in order and as code.
func TestStreamLongCodeAnswer(t *testing.T) {
	in := readTestdata(t, "long_code.md")
	if len(in) < 10000 {
		t.Fatalf("testdata/long_code.md has %d bytes, want at least 10,000", len(in))
	}
	start := strings.Index(in, "```go\n") + len("```go\n")
	code := in[start : start+strings.Index(in[start:], "\n```")]
	want := string(appendEscaped(nil, []byte(code), true))

	parts := streamChecked(t, in, DefaultLimit, 120, 7)
	if len(parts) < 3 {
		t.Fatalf("got %d parts, want at least 3", len(parts))
	}
	if got := codeOf(parts); !strings.Contains(got, want) {
		t.Fatalf("the code block did not arrive whole as code; parts:\n%s", strings.Join(parts, "\n=====\n"))
	}
}

// codeOf returns the contents of the code blocks in parts, joined by line breaks.
func codeOf(parts []string) string {
	var blocks []string
	for _, p := range parts {
		segments := strings.Split(p, "```")
		for i := 1; i < len(segments); i += 2 {
			blocks = append(blocks, strings.TrimSuffix(strings.TrimPrefix(segments[i], "\n"), "\n"))
		}
	}
	return strings.Join(blocks, "\n")
}

// TestStreamOneDeltaThenEnd is a reply of "OK." in one delta followed at once by the end
// of the stream: it must be one part, the same both times.
func TestStreamOneDeltaThenEnd(t *testing.T) {
	s := NewStream(DefaultLimit)
	first := s.Update("OK.", false)
	final := s.Update("OK.", true)
	if len(first) != 1 || first[0] != "OK." {
		t.Fatalf("intermediate parts = %q, want [\"OK.\"]", first)
	}
	if len(final) != 1 || final[0] != "OK." {
		t.Fatalf("final parts = %q, want [\"OK.\"]", final)
	}
}

func TestStreamEndsInsideFence(t *testing.T) {
	in := "Here:\n\n```python\nfor i in range(3):\n    print(i)"
	parts := streamChecked(t, in, DefaultLimit, 5, 1)
	want := "Here:\n\n```\nfor i in range(3):\n    print(i)\n```"
	if len(parts) != 1 || parts[0] != want {
		t.Fatalf("parts = %q, want [%q]", parts, want)
	}
}

func TestStreamEmptyText(t *testing.T) {
	s := NewStream(DefaultLimit)
	if got := s.Update("", false); len(got) != 1 || got[0] != "" {
		t.Fatalf("intermediate parts of empty text = %q, want one empty part", got)
	}
	if got := s.Update("", true); len(got) != 0 {
		t.Fatalf("final parts of empty text = %q, want none", got)
	}
}

// TestStreamHeldTailAfterFreeze checks that a construct held back after frozen parts is
// not shown until it closes, and that the final call shows it.
func TestStreamHeldTailAfterFreeze(t *testing.T) {
	head := strings.Repeat("A paragraph that fills the part.\n\n", 6)
	s := NewStream(MinLimit * 2)
	parts := s.Update(head+"Now **bo", false)
	if msg := checkParts(parts, MinLimit*2, false); msg != "" {
		t.Fatal(msg)
	}
	if len(parts) < 2 {
		t.Fatalf("got %d parts, want frozen parts before the last", len(parts))
	}
	if last := parts[len(parts)-1]; strings.Contains(last, "*") || !strings.HasSuffix(last, "Now") {
		t.Fatalf("last intermediate part = %q, want it to end with \"Now\" and no marker", last)
	}
	final := s.Update(head+"Now **bold**", true)
	if last := final[len(final)-1]; !strings.HasSuffix(last, "Now *bold*") {
		t.Fatalf("last final part = %q, want it to end with \"Now *bold*\"", last)
	}
}

// TestStreamGiantParagraph streams one paragraph line longer than the limit: the last
// part shows what fits until the paragraph ends, and the final call splits it.
func TestStreamGiantParagraph(t *testing.T) {
	in := words(600)
	parts := streamChecked(t, in, 500, 50, 3)
	if got := strings.Join(parts, " "); got != in {
		t.Fatalf("final parts joined differ from the input: %q", got)
	}
}

func TestStreamShorterText(t *testing.T) {
	s := NewStream(MinLimit)
	long := strings.Repeat("Some words in a paragraph.\n\n", 20)
	s.Update(long, false)
	parts := s.Update("Short.", false)
	if msg := checkParts(parts, MinLimit, false); msg != "" {
		t.Fatal(msg)
	}
}

// TestStreamFinalMatchesSplit checks that the parts of a streamed answer are those of
// the complete answer split at once, for any size of delta.
func TestStreamFinalMatchesSplit(t *testing.T) {
	in := readTestdata(t, "long_code.md") + "\n\n" + readTestdata(t, "deploy_steps.md")
	want := strings.Join(Split(in, 1500), "\n=====\n")
	for _, delta := range []int{1, 17, 300, 5000} {
		got := strings.Join(streamChecked(t, in, 1500, delta, 11), "\n=====\n")
		if got != want {
			t.Errorf("deltas up to %d: streamed parts differ from Split:\n%s\n\nwant:\n%s", delta, got, want)
		}
	}
}

// TestStreamTestdataSmallLimits streams every answer in testdata at small limits, where
// most blocks are cut, and checks every result.
func TestStreamTestdataSmallLimits(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "*.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range files {
		in := readTestdata(t, filepath.Base(name))
		for _, limit := range []int{MinLimit, 150, 400} {
			t.Run(fmt.Sprintf("%s at %d", filepath.Base(name), limit), func(t *testing.T) {
				streamChecked(t, in, limit, 90, uint64(limit))
			})
		}
	}
}

// TestStreamByteDeltas feeds short agent answers one byte at a time, so every delta edge
// falls inside some construct, and checks that no edit shows Markdown link or bold
// syntax that the final text does not contain.
func TestStreamByteDeltas(t *testing.T) {
	answers := []string{
		"Here is ***very*** important and **bold _it_** text, then _it **b**_ end.\n",
		"中文**粗体**中文，日本語の*強調*です。**Bold**, (*it*) and \"**q**\".\n",
		"See [a|b](https://x.io) and [wiki](https://en.wikipedia.org/wiki/Go_(language)).\n",
		"Use [the docs][d].\n\n[d]: https://docs.example.com/a?b=1&c=2\n",
		"Ping <!channel> and <@U123>, code `<!here>` and www.example.com/x?a=1&b=2.\n",
		"- [ ] todo\n- [x] done\n\n3. third\n4. fourth\n   - nested **b**\n",
		"| col | code |\n|---|---|\n| a | `x \\| y` |\n",
		"> Quote:\n> - a\n>\n> ```\n> code\n> ```\n\n````md\n```go\nx := 1\n```\n````\n",
		"## Title ##\r\n\r\nLine one  \r\nLine two<br>\r\nend\r\n",
	}
	for _, in := range answers {
		for _, limit := range []int{MinLimit, DefaultLimit} {
			final := strings.Join(Split(in, limit), "\n")
			s := NewStream(limit)
			var prev []string
			for end := 1; end <= len(in); end++ {
				parts := s.Update(in[:end], false)
				if msg := checkUpdate(prev, parts, limit, false); msg != "" {
					t.Fatalf("limit %d, %q: %s", limit, in[:end], msg)
				}
				for _, syntax := range []string{"](", "**", "\ufffd"} {
					shownText := strings.Join(parts, "\n")
					if strings.Contains(shownText, syntax) && !strings.Contains(final, syntax) {
						t.Fatalf("limit %d, %q: edit shows %q:\n%s", limit, in[:end], syntax, shownText)
					}
				}
				prev = parts
			}
		}
	}
}
