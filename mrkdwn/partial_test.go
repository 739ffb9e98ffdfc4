package mrkdwn

import (
	"strings"
	"testing"
)

// TestUpdatePartialTail checks what an intermediate edit shows of text cut off by a
// delta edge.
func TestUpdatePartialTail(t *testing.T) {
	cases := []struct {
		name string
		in   string
		want string
	}{
		{"half link", "See [docs](https://exa", "See"},
		{"half link alone", "[docs](https://exa", ""},
		{"link label only", "See [docs", "See"},
		{"link label closed", "See [docs]", "See"},
		{"link without destination yet", "See [docs](", "See"},
		{"half reference link", "See [docs][r", "See"},
		{"brackets that are no link", "Use a[0] here", "Use a[0] here"},
		{"half image", "Chart: ![cpu](https://grafana", "Chart:"},
		{"complete link", "See [docs](https://x.io) now", "See <https://x.io|docs> now"},
		{"half bold", "Some **bol", "Some"},
		{"half bold alone", "**bol", ""},
		{"half italic", "Some _ital", "Some"},
		{"half strikethrough", "Some ~~gon", "Some"},
		{"trailing star", "Trailing *", "Trailing"},
		{"trailing double star", "Trailing **", "Trailing"},
		{"bold closing in progress", "Some **bold*", "Some"},
		{"closed bold", "Some **bold** and", "Some *bold* and"},
		{"bold then half italic", "**done** and _more", "*done* and"},
		{"star between spaces", "2 * 3 = 6", "2 * 3 = 6"},
		{"snake case", "call my_func_name now", "call my_func_name now"},
		{"half code span", "Run `go te", "Run"},
		{"closed code span", "Run `go test` now", "Run `go test` now"},
		{"half autolink", "Go to <https://go.d", "Go to"},
		{"less than sign", "if a < b then", "if a &lt; b then"},
		{"half bare url", "Visit https://exa", "Visit"},
		{"bare url done", "Visit https://x.io now", "Visit <https://x.io> now"},
		{"half entity", "AT&am", "AT"},
		{"half heading emphasis", "## Setup **gu", "*Setup*"},
		{"list marker only", "- a\n-", "• a"},
		{"number marker only", "1. a\n2.", "1. a"},
		{"half bold in item", "- a\n- **b", "• a"},
		{"half rule", "a\n\n--", "a"},
		{"open fence", "```python\nprint(1)", "```\nprint(1)\n```"},
		{"open fence line", "Code:\n\n```pyt", "Code:"},
		{"half closing fence", "```python\nprint(1)\n``", "```\nprint(1)\n```"},
		{"code is not held", "```\nx = [a](b\n", "```\nx = [a](b\n```"},
		{"bold before complete line", "**a** b\nc", "*a* b\nc"},
		{"table header alone", "| a | b |\n", ""},
		{"table text before header", "Results:\n| a | b |", "Results:"},
		{"table half row", "| a | b |\n|---|---|\n| 1 | 2 |\n| 3 |", "```\na | b\n--|--\n1 | 2\n```"},
		{"quote half bold", "> quote **x", "> quote"},
		{"half reference definition", "Text.\n\n[r]: https://x.io/do", "Text."},
		{"reference definition title", "Text.\n\n[r]: https://x.io \"T", "Text."},
		{"half url word", "Visit htt", "Visit"},
		{"half html comment", "a <!-- note ->", "a"},
		{"word like url start", "What the h", "What the"},
		{"half character", "Olá, mundo \xe4\xb8", "Olá, mundo"},
		{"half character after bold", "中文**\xe7\xb2", "中文"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := lastPart(t, NewStream(DefaultLimit).Update(tc.in, false))
			if got != tc.want {
				t.Errorf("Update(%q, false)\n got: %q\nwant: %q", tc.in, got, tc.want)
			}
		})
	}
}

// TestUpdateFinalShowsTail checks that the final call shows what intermediate calls held
// back, even when it never closed.
func TestUpdateFinalShowsTail(t *testing.T) {
	cases := []struct {
		in   string
		want string
	}{
		{"Some **bol", "Some **bol"},
		{"See [docs](https://exa", "See [docs](https://exa"},
		{"Trailing *", "Trailing *"},
		{"- a\n-", "• a\n•"},
		{"```python\nprint(1)", "```\nprint(1)\n```"},
		{"| a | b |", "| a | b |"},
	}
	for _, tc := range cases {
		t.Run(tc.in, func(t *testing.T) {
			got := NewStream(DefaultLimit).Update(tc.in, true)
			if len(got) != 1 || got[0] != tc.want {
				t.Errorf("Update(%q, true) = %q, want [%q]", tc.in, got, tc.want)
			}
		})
	}
}

// TestUpdatePartialNoFlicker checks that, as a text grows byte by byte, no intermediate
// edit shows Markdown markers that the final text renders as formatting.
func TestUpdatePartialNoFlicker(t *testing.T) {
	in := "Use **bold**, _italic_, `code`, ~~old~~ and [docs](https://x.io/a?b=1) here."
	for i := 1; i < len(in); i++ {
		got := lastPart(t, NewStream(DefaultLimit).Update(in[:i], false))
		for _, marker := range []string{"**", "[", "](", "~~"} {
			if strings.Contains(got, marker) {
				t.Fatalf("Update(%q) shows %q: %q", in[:i], marker, got)
			}
		}
	}
}
