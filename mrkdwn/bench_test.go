package mrkdwn

import (
	"testing"
	"time"
)

// BenchmarkRender20KB renders a 20 KB answer (a report and a long code answer from
// testdata) in one call.
func BenchmarkRender20KB(b *testing.B) {
	in := readTestdata(b, "long_report.md") + "\n\n" + readTestdata(b, "long_code.md")
	b.SetBytes(int64(len(in)))
	b.ReportAllocs()
	for b.Loop() {
		Render(in)
	}
}

// BenchmarkParse20KB only parses the same answer with goldmark, the share of Render that
// this package does not control.
func BenchmarkParse20KB(b *testing.B) {
	in := []byte(readTestdata(b, "long_report.md") + "\n\n" + readTestdata(b, "long_code.md"))
	b.SetBytes(int64(len(in)))
	b.ReportAllocs()
	for b.Loop() {
		parse(in, nil)
	}
}

// BenchmarkSplit20KB renders the same answer as parts of at most DefaultLimit.
func BenchmarkSplit20KB(b *testing.B) {
	in := readTestdata(b, "long_report.md") + "\n\n" + readTestdata(b, "long_code.md")
	b.SetBytes(int64(len(in)))
	b.ReportAllocs()
	for b.Loop() {
		Split(in, DefaultLimit)
	}
}

// BenchmarkUpdateGrowing10K streams the 10,000-character code answer in deltas of 40
// bytes, one Update per delta and a final one; it also reports the mean time per Update.
func BenchmarkUpdateGrowing10K(b *testing.B) {
	in := readTestdata(b, "long_code.md")
	const delta = 40
	updates := 0
	start := time.Now()
	for b.Loop() {
		s := NewStream(DefaultLimit)
		for end := delta; end < len(in); end += delta {
			s.Update(in[:end], false)
			updates++
		}
		s.Update(in, true)
		updates++
	}
	b.ReportMetric(float64(time.Since(start).Nanoseconds())/float64(updates), "ns/update")
}
