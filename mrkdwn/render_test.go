package mrkdwn

import (
	"sync"
	"testing"
)

type renderCase struct {
	name string
	in   string
	want string
}

func runRenderCases(t *testing.T, cases []renderCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := Render(tc.in); got != tc.want {
				t.Errorf("Render(%q)\n got: %q\nwant: %q", tc.in, got, tc.want)
			}
		})
	}
}

func TestRenderInline(t *testing.T) {
	runRenderCases(t, []renderCase{
		{"bold stars", "a **b** c", "a *b* c"},
		{"bold underscores", "a __b__ c", "a *b* c"},
		{"italic star", "a *b* c", "a _b_ c"},
		{"italic underscore", "a _b_ c", "a _b_ c"},
		{"bold italic", "***b***", "_*b*_"},
		{"italic inside bold", "**a _b_ c**", "*a _b_ c*"},
		{"bold inside bold", "**a **b** c**", "*a b c*"},
		{"strikethrough", "~~gone~~ now", "~gone~ now"},
		{"inline code", "run `go test`", "run `go test`"},
		{"inline code escaped", "`a < b && c`", "`a &lt; b &amp;&amp; c`"},
		{"inline code with backtick", "`` a`b ``", "`a" + graveAccent + "b`"},
		{"inline code of spaces", "a `  ` b", "a  b"},
		{"bold across soft break", "**a\nb**", "*a*\n*b*"},
		{"hard break", "a  \nb", "a\nb"},
		{"backslash hard break", "a\\\nb", "a\nb"},
		{"html break", "a<br>b<br/>c", "a\nb\nc"},
		{"html break at line end", "a<br>\nb", "a\nb"},
		{"html break between spaces", "a <br> b", "a \nb"},
		{"bold inside word", "a**b**c", "a" + zeroWidthSpace + "*b*" + zeroWidthSpace + "c"},
		{"italic inside word", "un*real*ly", "un" + zeroWidthSpace + "_real_" + zeroWidthSpace + "ly"},
		{"bold between CJK", "中文**粗体**中文", "中文" + zeroWidthSpace + "*粗体*" + zeroWidthSpace + "中文"},
		{"bold before CJK punctuation", "「**粗体**」。", "「" + zeroWidthSpace + "*粗体*" + zeroWidthSpace + "」。"},
		{"code inside word", "a`b`c", "a" + zeroWidthSpace + "`b`" + zeroWidthSpace + "c"},
		{"bold beside punctuation", "(**a**), \"*b*\"", "(*a*), \"_b_\""},
		{"nested bold italic inside word", "x***y***z", "x" + zeroWidthSpace + "_*y*_" + zeroWidthSpace + "z"},
	})
}

func TestRenderLinks(t *testing.T) {
	runRenderCases(t, []renderCase{
		{"link", "[docs](https://example.com/a)", "<https://example.com/a|docs>"},
		{"link label equal to url", "[https://go.dev](https://go.dev)", "<https://go.dev>"},
		{"link with empty label", "[](https://go.dev)", "<https://go.dev>"},
		{"link label pipe and angle", "[a | b > c](https://x.io)", "<https://x.io|a ¦ b &gt; c>"},
		{"link label formatting dropped", "[**bold** `x`](https://x.io)", "<https://x.io|bold x>"},
		{"link url ampersand and pipe", "[x](https://x.io/?a=1&b=2|3)", "<https://x.io/?a=1&amp;b=2%7C3|x>"},
		{"link url with space", "[x](<https://x.io/a b>)", "<https://x.io/a%20b|x>"},
		{"link title dropped", `[x](https://x.io "Title")`, "<https://x.io|x>"},
		{"link inside bold", "**see [x](https://x.io)**", "*see <https://x.io|x>*"},
		{"relative link", "[guide](./guide.md)", "guide (./guide.md)"},
		{"anchor link", "[top](#top)", "top (#top)"},
		{"javascript link", "[x](javascript:alert(1))", "x (javascript:alert(1))"},
		{"mailto link", "[mail](mailto:a@b.co)", "<mailto:a@b.co|mail>"},
		{"autolink", "<https://go.dev/doc>", "<https://go.dev/doc>"},
		{"autolink email", "<ops@example.com>", "<mailto:ops@example.com|ops@example.com>"},
		{"bare url", "see https://go.dev/doc now", "see <https://go.dev/doc> now"},
		{"bare url with underscores", "https://x.io/a_b_c", "<https://x.io/a_b_c>"},
		{"bare www", "www.example.com", "<http://www.example.com|www.example.com>"},
		{"bare email", "mail a@b.co", "mail <mailto:a@b.co|a@b.co>"},
		{"reference link", "[x][r]\n\n[r]: https://x.io", "<https://x.io|x>"},
		{"collapsed reference link", "[r][]\n\n[r]: https://x.io", "<https://x.io|r>"},
		{"undefined reference", "[x][nope]", "[x][nope]"},
		{"image", "![chart](https://x.io/c.png)", "<https://x.io/c.png|chart>"},
		{"image without alt", "![](https://x.io/c.png)", "<https://x.io/c.png>"},
		{"image inside link", "[![logo](https://x.io/l.png)](https://x.io)", "<https://x.io|logo>"},
	})
}

func TestRenderEscaping(t *testing.T) {
	runRenderCases(t, []renderCase{
		{"ampersand and angles", "a & b < c > d", "a &amp; b &lt; c &gt; d"},
		{"channel broadcast", "<!channel> now", "&lt;!channel&gt; now"},
		{"here broadcast with label", "<!here|here>", "&lt;!here|here&gt;"},
		{"user mention", "ask <@U024BE7LH>", "ask &lt;@U024BE7LH&gt;"},
		{"channel link", "in <#C123|general>", "in &lt;#C123|general&gt;"},
		{"user group", "<!subteam^S1|oncall>", "&lt;!subteam^S1|oncall&gt;"},
		{"inline html", "<b>x</b>", "&lt;b&gt;x&lt;/b&gt;"},
		{"html comment dropped", "a <!-- note --> b", "a  b"},
		{"html block", "<div>\nx & y\n</div>", "&lt;div&gt;\nx &amp; y\n&lt;/div&gt;"},
		{"html comment block dropped", "a\n\n<!-- note -->\n\nb", "a\n\nb"},
		{"named entity", "&copy; 2024", "© 2024"},
		{"numeric entity", "&#65;&#x42;", "AB"},
		{"escaped entity", "&amp;lt;", "&amp;lt;"},
		{"backslash escape", "1\\. not a list", "1. not a list"},
		{"escaped ampersand", "\\&amp;", "&amp;amp;"},
		{"literal backtick", "a \\` b", "a " + graveAccent + " b"},
		{"nul byte", "a\x00b", "a\ufffdb"},
		{"invalid utf8", "a\xffb", "a\ufffdb"},
		{"empty", "", ""},
	})
}

func TestRenderBlocks(t *testing.T) {
	runRenderCases(t, []renderCase{
		{"paragraphs", "a\n\nb", "a\n\nb"},
		{"atx heading", "# Title", "*Title*"},
		{"heading with bold", "## **Setup** guide", "*Setup guide*"},
		{"heading with italic", "### The _real_ fix", "*The _real_ fix*"},
		{"setext heading", "Title\n=====\n\ntext", "*Title*\n\ntext"},
		{"empty heading", "#\n\ntext", "text"},
		{"thematic break", "a\n\n---\n\nb", "a\n\n──────────\n\nb"},
		{"quote", "> a\n> b", "> a\n> b"},
		{"quote paragraphs", "> a\n>\n> b", "> a\n> b"},
		{"nested quote flattened", "> a\n>> b", "> a\n> b"},
		{"quote with list", "> - a\n> - b", "> • a\n> • b"},
		{"quote with code", "> x\n> ```\n> y\n> ```\n> z", "> x\n```\ny\n```\n> z"},
		{"fenced code drops language", "```go\nx := 1\n```", "```\nx := 1\n```"},
		{"tilde fence", "~~~\nx\n~~~", "```\nx\n```"},
		{"indented code", "    x\n    y", "```\nx\ny\n```"},
		{"code escaped", "```\na < b && c > d\n```", "```\na &lt; b &amp;&amp; c &gt; d\n```"},
		{"code keeps short backtick runs", "```\n`x` ``y``\n```", "```\n`x` ``y``\n```"},
		{"code breaks fences inside", "````\n```\n````", "```\nˋˋˋ\n```"},
		{"code keeps indentation", "```\n\tif x {\n\t\ty()\n\t}\n```", "```\n\tif x {\n\t\ty()\n\t}\n```"},
		{"empty code block", "```\n```", ""},
		{"unclosed fence", "```python\nprint(1)", "```\nprint(1)\n```"},
	})
}

func TestRenderLists(t *testing.T) {
	runRenderCases(t, []renderCase{
		{"bullets", "- a\n- b", "• a\n• b"},
		{"star bullets", "* a\n* b", "• a\n• b"},
		{"nested bullets", "- a\n  - b\n    - c\n      - d",
			"• a\n    ◦ b\n        ▪ c\n            • d"},
		{"loose list", "- a\n\n- b", "• a\n• b"},
		{"numbered", "1. a\n2. b", "1. a\n2. b"},
		{"numbered from start", "3. a\n4. b", "3. a\n4. b"},
		{"numbered all ones", "1. a\n1. b\n1. c", "1. a\n2. b\n3. c"},
		{"numbered paren", "1) a\n2) b", "1) a\n2) b"},
		{"bullets in numbered", "1. a\n   - b\n2. c", "1. a\n    ◦ b\n2. c"},
		{"item with paragraphs", "- a\n\n  b", "• a\n    b"},
		{"item with soft break", "- a\n  b", "• a\n    b"},
		{"item with code", "- step\n\n  ```\n  run\n  ```", "• step\n```\nrun\n```"},
		{"item starting with code", "- ```\n  run\n  ```", "•\n```\nrun\n```"},
		{"empty item", "- a\n-\n- c", "• a\n•\n• c"},
		{"task list", "- [x] done\n- [ ] todo", "• ☑ done\n• ☐ todo"},
		{"list after paragraph", "Steps:\n\n1. a", "Steps:\n\n1. a"},
		{"nested list first in item", "- - a", "•\n    ◦ a"},
	})
}

func TestRenderTables(t *testing.T) {
	runRenderCases(t, []renderCase{
		{"aligned columns",
			"| Name | Age |\n|---|---|\n| Alice | 30 |\n| Bob | 4 |",
			"```\nName  | Age\n------|----\nAlice | 30\nBob   | 4\n```"},
		{"alignment",
			"| L | R | C |\n|:--|--:|:-:|\n| a | 1 | x |\n| bbbb | 100 | yyyyy |",
			"```\nL    |   R |   C\n-----|-----|------\na    |   1 |   x\nbbbb | 100 | yyyyy\n```"},
		{"formatting and links",
			"| a | b |\n|---|---|\n| **x** `y` | [site](https://s.io) |",
			"```\na   | b\n----|--------------------\nx y | site (https://s.io)\n```"},
		{"escaped pipe and break",
			"| a |\n|---|\n| x \\| y<br>z |",
			"```\na\n-------\nx | y z\n```"},
		{"missing cells",
			"| a | b |\n|---|---|\n| x |",
			"```\na | b\n--|--\nx\n```"},
		{"wide characters",
			"| k | v |\n|---|---|\n| 日本 | ✓ |\n| ab | c |",
			"```\nk    | v\n-----|--\n日本 | ✓\nab   | c\n```"},
		{"escaped cells", "| a |\n|---|\n| <b> & |", "```\na\n-----\n&lt;b&gt; &amp;\n```"},
		{"table after text", "Results:\n| a |\n|---|\n| 1 |", "Results:\n\n```\na\n-\n1\n```"},
	})
}

func TestRenderConcurrent(t *testing.T) {
	in := readTestdata(t, "links_mentions.md")
	want := Render(in)
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for range 20 {
				if got := Render(in); got != want {
					t.Errorf("concurrent Render differs:\n%q", got)
					return
				}
			}
		})
	}
	wg.Wait()
}

func TestRenderDeterministic(t *testing.T) {
	in := "# T\n\n- a **b** [c](https://c.io)\n\n| x | y |\n|---|---|\n| 1 | 2 |\n"
	first := Render(in)
	for range 20 {
		if got := Render(in); got != first {
			t.Fatalf("Render changed between calls:\n%q\n%q", first, got)
		}
	}
}
