package tess

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"runtime"
	"slices"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/tessbot/tessbot/internal/faketess"
)

// readAll returns the data of every event in r.
func readAll(r io.Reader) ([]string, error) {
	s := newSSEReader(r)
	var out []string
	for {
		data, err := s.Next()
		if err != nil {
			if err == io.EOF {
				err = nil
			}
			return out, err
		}
		out = append(out, string(data))
	}
}

// chunkReader returns its input in reads whose sizes cycle through sizes.
type chunkReader struct {
	data  []byte
	sizes []int
	i     int
}

func (c *chunkReader) Read(p []byte) (int, error) {
	if len(c.data) == 0 {
		return 0, io.EOF
	}
	n := 1
	if len(c.sizes) > 0 {
		n = max(1, c.sizes[c.i%len(c.sizes)])
		c.i++
	}
	n = min(n, len(p), len(c.data))
	copy(p, c.data[:n])
	c.data = c.data[n:]
	return n, nil
}

func TestSSEReaderEvents(t *testing.T) {
	big := strings.Repeat("x", 100<<10)
	tests := []struct {
		name  string
		input string
		want  []string
	}{
		{"one event", "data: {\"a\":1}\n\n", []string{`{"a":1}`}},
		{"two events", "data: a\n\ndata: b\n\n", []string{"a", "b"}},
		{"multi-line data", "data: a\ndata: b\ndata: c\n\n", []string{"a\nb\nc"}},
		{"crlf", "data: a\r\n\r\ndata: b\r\n\r\n", []string{"a", "b"}},
		{"cr only", "data: a\r\rdata: b\r\r", []string{"a", "b"}},
		{"mixed endings", "data: a\r\ndata: b\n\r\ndata: c\r\r", []string{"a\nb", "c"}},
		{"comments and keep-alives", ": ping\n\n:\ndata: a\n: keep-alive\n\n", []string{"a"}},
		{"no space after colon", "data:a\n\n", []string{"a"}},
		{"only one space removed", "data:  a \n\n", []string{" a "}},
		{"unknown fields ignored", "event: message\nid: 7\nretry: 10\nfoo: bar\ndata: a\n\n", []string{"a"}},
		{"field without colon", "data\ndata: a\n\n", []string{"\na"}},
		{"field name is exact", "datax: a\nData: b\ndata: c\n\n", []string{"c"}},
		{"empty data skipped", "data:\n\ndata: a\n\n", []string{"a"}},
		{"event without data skipped", "event: x\n\n", nil},
		{"done literal", "data: a\n\ndata: [DONE]\n\n", []string{"a", "[DONE]"}},
		{"bom skipped", "\xef\xbb\xbfdata: a\n\n", []string{"a"}},
		{"no final blank line", "data: a\n\ndata: b\n", []string{"a", "b"}},
		{"no final line ending", "data: a\n\ndata: b", []string{"a", "b"}},
		{"blank lines only", "\n\n\r\n", nil},
		{"empty stream", "", nil},
		{"event over 64 KiB", "data: " + big + "\n\ndata: b\n\n", []string{big, "b"}},
		{"data colon kept", "data: a: b\n\n", []string{"a: b"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			readers := map[string]io.Reader{
				"whole":    strings.NewReader(tt.input),
				"one byte": iotest.OneByteReader(strings.NewReader(tt.input)),
				"chunks":   &chunkReader{data: []byte(tt.input), sizes: []int{3, 1, 7, 2}},
			}
			for name, r := range readers {
				got, err := readAll(r)
				if err != nil {
					t.Fatalf("%s: err = %v", name, err)
				}
				if !slices.Equal(got, tt.want) {
					t.Errorf("%s: events = %.80q, want %.80q", name, got, tt.want)
				}
			}
		})
	}
}

func TestSSEReaderReadError(t *testing.T) {
	broken := errors.New("connection reset")
	input := "data: a\n\ndata: b\ndata: c"
	r := io.MultiReader(strings.NewReader(input), iotest.ErrReader(broken))
	got, err := readAll(r)
	if !errors.Is(err, broken) {
		t.Fatalf("err = %v, want %v", err, broken)
	}
	if !slices.Equal(got, []string{"a"}) {
		t.Errorf("events = %q, want only the complete event", got)
	}
}

func TestSSEReaderTooLarge(t *testing.T) {
	line := "data: " + strings.Repeat("x", maxEventBytes) + "\n\n"
	_, err := readAll(strings.NewReader(line))
	if !errors.Is(err, errEventTooLarge) {
		t.Fatalf("one long line: err = %v, want errEventTooLarge", err)
	}
	var many strings.Builder
	chunk := "data: " + strings.Repeat("y", 1<<20) + "\n"
	for range maxEventBytes/(1<<20) + 1 {
		many.WriteString(chunk)
	}
	_, err = readAll(strings.NewReader(many.String()))
	if !errors.Is(err, errEventTooLarge) {
		t.Fatalf("many data lines: err = %v, want errEventTooLarge", err)
	}
}

func TestSSEReaderLongEventSmallReads(t *testing.T) {
	big := strings.Repeat("y", 1<<20)
	input := ": keep-alive\r\ndata: " + big + "\r\ndata: z\r\n\r\ndata: after\r\n\r\n"
	got, err := readAll(iotest.OneByteReader(strings.NewReader(input)))
	if err != nil {
		t.Fatalf("err = %v", err)
	}
	if len(got) != 2 || got[0] != big+"\nz" || got[1] != "after" {
		t.Errorf("got %d events, want the 1 MiB event and the one after it", len(got))
	}
}

// referenceEvents parses a whole stream the plain way, as the specification words it.
func referenceEvents(input []byte) []string {
	input = bytes.TrimPrefix(input, []byte("\xef\xbb\xbf"))
	var lines []string
	start := 0
	for i := 0; i < len(input); i++ {
		switch input[i] {
		case '\r':
			lines = append(lines, string(input[start:i]))
			if i+1 < len(input) && input[i+1] == '\n' {
				i++
			}
			start = i + 1
		case '\n':
			lines = append(lines, string(input[start:i]))
			start = i + 1
		}
	}
	if start < len(input) {
		lines = append(lines, string(input[start:]))
	}
	lines = append(lines, "") // the end of the stream ends the last event
	var events []string
	var data []string
	for _, line := range lines {
		if line == "" {
			if joined := strings.Join(data, "\n"); len(data) > 0 && joined != "" {
				events = append(events, joined)
			}
			data = nil
			continue
		}
		if line[0] == ':' {
			continue
		}
		name, value, found := strings.Cut(line, ":")
		if found {
			value = strings.TrimPrefix(value, " ")
		}
		if name == "data" {
			data = append(data, value)
		}
	}
	return events
}

func FuzzSSEReader(f *testing.F) {
	f.Add([]byte("data: {\"id\":1,\"output\":\"hi\"}\n\n"), []byte{1})
	f.Add([]byte("data: a\r\ndata: b\r\n\r\n: ping\r\n"), []byte{2, 5})
	f.Add([]byte("\xef\xbb\xbfdata: a\r\rdata: [DONE]\r"), []byte{3})
	f.Add([]byte("event: x\nid\ndata\n\ndata:  b"), []byte{7, 1, 1})
	f.Fuzz(func(t *testing.T, input []byte, sizes []byte) {
		whole, err := readAll(bytes.NewReader(input))
		if err != nil {
			t.Fatalf("whole input: %v", err)
		}
		want := referenceEvents(input)
		if !slices.Equal(whole, want) {
			t.Fatalf("events = %q, reference = %q", whole, want)
		}
		steps := make([]int, len(sizes))
		for i, s := range sizes {
			steps[i] = int(s)
		}
		chunked, err := readAll(&chunkReader{data: input, sizes: steps})
		if err != nil {
			t.Fatalf("chunked input: %v", err)
		}
		if !slices.Equal(chunked, whole) {
			t.Fatalf("chunked events = %q, whole = %q", chunked, whole)
		}
	})
}

// benchStream returns a stream of n events shaped like Tess execution events.
func benchStream(n int) []byte {
	var b bytes.Buffer
	for i := range n {
		fmt.Fprintf(&b, `data: {"id":4773337,"status":"running",`+
			`"output":"token %d of the answer, a few words long","error":null,"credits":null,`+
			`"root_id":4773337,"template_id":8794,"created_at":"2025-01-05T22:26:27.000000Z",`+
			`"updated_at":"2025-01-05T22:26:27.000000Z"}`+"\n\n", i)
	}
	return b.Bytes()
}

// reportPerEvent adds allocs/event from the mallocs counted since before.
func reportPerEvent(b *testing.B, before *runtime.MemStats, events int) {
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	total := float64(b.N) * float64(events)
	b.ReportMetric(float64(after.Mallocs-before.Mallocs)/total, "allocs/event")
	b.ReportMetric(b.Elapsed().Seconds()*1e9/total, "ns/event")
}

// BenchmarkSSEReader measures the framing alone: lines, fields and events.
func BenchmarkSSEReader(b *testing.B) {
	const events = 20000
	stream := benchStream(events)
	b.SetBytes(int64(len(stream)))
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	b.ResetTimer()
	for b.Loop() {
		r := newSSEReader(bytes.NewReader(stream))
		n := 0
		for {
			if _, err := r.Next(); err != nil {
				break
			}
			n++
		}
		if n != events {
			b.Fatalf("read %d events, want %d", n, events)
		}
	}
	reportPerEvent(b, &before, events)
}

// BenchmarkSSEReaderLongEvent measures one 8 MiB event arriving in reads of the size of
// a TCP segment, where a reader that scanned the whole line again after each read would
// slow down with the square of its length.
func BenchmarkSSEReaderLongEvent(b *testing.B) {
	stream := []byte("data: " + strings.Repeat("x", 8<<20) + "\n\n")
	b.SetBytes(int64(len(stream)))
	for b.Loop() {
		s := newSSEReader(&chunkReader{data: stream, sizes: []int{1448}})
		if data, err := s.Next(); err != nil || len(data) != 8<<20 {
			b.Fatalf("err = %v after %d bytes", err, len(data))
		}
	}
}

// BenchmarkStreamDecode measures what Execute does per event: framing, JSON decoding of
// the execution and growing the transcript.
func BenchmarkStreamDecode(b *testing.B) {
	const events = 20000
	stream := benchStream(events)
	c := New(Config{})
	b.SetBytes(int64(len(stream)))
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	b.ResetTimer()
	for b.Loop() {
		st := &runState{}
		err := c.readEvents(newSSEReader(bytes.NewReader(stream)), st, func() {})
		if err != io.EOF || st.events != events {
			b.Fatalf("err = %v after %d events, want EOF after %d", err, st.events, events)
		}
	}
	reportPerEvent(b, &before, events)
}

// BenchmarkExecuteParallel runs whole executions against the fake server from many
// goroutines: request, ten streamed deltas, terminal event.
func BenchmarkExecuteParallel(b *testing.B) {
	srv := faketess.New(b, faketess.WithDefaultScript(func(faketess.ExecuteRecord) faketess.Script {
		return faketess.Script{Deltas: strings.Split("a few words streamed as ten small deltas here ok", " ")}
	}))
	c := New(Config{BaseURL: srv.URL, APIKey: srv.APIKey, RequestsPerSecond: math.Inf(1)})
	b.SetParallelism(8)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		ctx := context.Background()
		for pb.Next() {
			res, err := c.Execute(ctx, ExecuteRequest{AgentID: "7", Message: "hi"}, nil)
			if err != nil || res.Text == "" {
				b.Errorf("execute: %v", err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "executions/s")
}
