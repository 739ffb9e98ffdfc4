package mrkdwn

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// TestGolden renders each answer in testdata/*.md with Split at DefaultLimit and
// compares the parts with testdata/*.golden. Run go test -update to rewrite them after a
// deliberate change, then read the diff.
func TestGolden(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "*.md"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 8 {
		t.Fatalf("found %d answers in testdata, want at least 8", len(files))
	}
	for _, name := range files {
		t.Run(filepath.Base(name), func(t *testing.T) {
			in := readTestdata(t, filepath.Base(name))
			parts := Split(in, DefaultLimit)
			if msg := checkParts(parts, DefaultLimit, true); msg != "" {
				t.Fatal(msg)
			}
			if msg := missingText(in, strings.Join(parts, "\n")); msg != "" {
				t.Fatal(msg)
			}
			got := formatParts(parts)

			golden := strings.TrimSuffix(name, ".md") + ".golden"
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			if got != string(want) {
				t.Errorf("output differs from %s (run go test -update and read the diff):\n%s", golden, got)
			}
		})
	}
}

// formatParts writes parts one after the other, each under a header line with its
// number and length.
func formatParts(parts []string) string {
	var b strings.Builder
	for i, p := range parts {
		fmt.Fprintf(&b, "===== part %d of %d, length %d =====\n%s\n", i+1, len(parts), Length(p), p)
	}
	return b.String()
}

// TestGoldenStreamed streams each answer in deltas and checks that the final parts are
// those of the golden files, so an answer arrives the same however its deltas fell.
func TestGoldenStreamed(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "*.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range files {
		t.Run(filepath.Base(name), func(t *testing.T) {
			in := readTestdata(t, filepath.Base(name))
			want := formatParts(Split(in, DefaultLimit))
			for _, delta := range []int{7, 64, 900} {
				got := formatParts(streamChecked(t, in, DefaultLimit, delta, uint64(delta)))
				if got != want {
					t.Errorf("deltas up to %d: streamed parts differ from Split:\n%s", delta, got)
				}
			}
		})
	}
}
