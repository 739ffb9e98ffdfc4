package scheduler

import (
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestSplitLimit(t *testing.T) {
	tests := []struct {
		name  string
		text  string
		limit int
		want  []string
	}{
		{"fits", "short", 10, []string{"short"}},
		{"no limit", "any length", 0, []string{"any length"}},
		{"empty", "", 10, nil},
		{"at newline", "line one\nline two", 12, []string{"line one\n", "line two"}},
		{"at space", "aaaa bbbb cccc", 10, []string{"aaaa bbbb ", "cccc"}},
		{"hard cut", "abcdefghij", 4, []string{"abcd", "efgh", "ij"}},
		{"newline too early", "a\nbcdefghij", 6, []string{"a\nbcde", "fghij"}},
		{"multibyte runes", "ééééé", 2, []string{"éé", "éé", "é"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := splitLimit(tt.text, tt.limit); !slices.Equal(got, tt.want) {
				t.Errorf("splitLimit(%q, %d) = %q, want %q", tt.text, tt.limit, got, tt.want)
			}
		})
	}
}

func FuzzSplitLimit(f *testing.F) {
	f.Add("line one\nline two and more", 7)
	f.Add("ééé ééé", 2)
	f.Add("", 1)
	f.Fuzz(func(t *testing.T, text string, limit int) {
		if limit < 1 || limit > 1000 || !utf8.ValidString(text) {
			return
		}
		pieces := splitLimit(text, limit)
		if got := strings.Join(pieces, ""); got != text {
			t.Fatalf("pieces joined = %q, want %q", got, text)
		}
		for _, p := range pieces {
			if p == "" {
				t.Fatal("empty piece")
			}
			if n := utf8.RuneCountInString(p); n > limit {
				t.Fatalf("piece of %d runes exceeds limit %d", n, limit)
			}
			if !utf8.ValidString(p) {
				t.Fatalf("piece %q cuts a UTF-8 sequence", p)
			}
		}
	})
}
