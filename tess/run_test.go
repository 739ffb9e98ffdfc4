package tess

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestClassify(t *testing.T) {
	tests := []struct {
		status string
		want   statusKind
	}{
		{"completed", statusSucceeded},
		{"succeeded", statusSucceeded},
		{" Succeeded ", statusSucceeded},
		{"failed", statusFailed},
		{"error", statusFailed},
		{"canceled", statusFailed},
		{"cancelled", statusFailed},
		{"starting", statusRunning},
		{"running", statusRunning},
		{"queued", statusRunning},
		{"", statusRunning},
	}
	for _, tt := range tests {
		if got := classify(tt.status); got != tt.want {
			t.Errorf("classify(%q) = %d, want %d", tt.status, got, tt.want)
		}
	}
}

func TestTranscriptAdd(t *testing.T) {
	tests := []struct {
		name      string
		outputs   []string
		want      string
		ambiguous bool // the outputs also read another way
	}{
		{"deltas", []string{"Hel", "lo", " world"}, "Hello world", false},
		{"one output", []string{"Hello"}, "Hello", false},
		{"cumulative", []string{"Hel", "Hello", "Hello world"}, "Hello world", true},
		{"cumulative repeated", []string{"Hel", "Hel", "Hello"}, "Hello", true},
		{"empty outputs", []string{"", "a", "", "b", ""}, "ab", false},
		{"cumulative then deltas", []string{"a", "ab", "c"}, "abc", true},
		{"final repeats whole text", []string{"Hi", " there", "Hi there"}, "Hi there", true},
		{"delta that is a prefix", []string{"abc", "ab"}, "abcab", true},
		{"delta inside the text", []string{"abc", "b"}, "abcb", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var tr transcript
			for _, out := range tt.outputs {
				tr.add(out)
			}
			if tr.text != tt.want {
				t.Errorf("text = %q, want %q", tr.text, tt.want)
			}
			if tr.ambiguous != tt.ambiguous {
				t.Errorf("ambiguous = %v, want %v", tr.ambiguous, tt.ambiguous)
			}
		})
	}
}

func TestTranscriptKeepsEarlierStrings(t *testing.T) {
	var tr transcript
	tr.add("first")
	earlier := tr.text
	for range 100 {
		tr.add(strings.Repeat("x", 37))
	}
	if earlier != "first" {
		t.Errorf("earlier text changed to %.20q", earlier)
	}
}

func TestTranscriptSetFull(t *testing.T) {
	tests := []struct {
		name    string
		start   string
		out     string
		final   bool
		want    string
		changed bool
	}{
		{"extends", "ab", "abc", false, "abc", true},
		{"same", "ab", "ab", true, "ab", false},
		{"empty", "ab", "", true, "ab", false},
		{"shorter while running", "abc", "ab", false, "abc", false},
		{"differs while running", "abc", "xyz", false, "abc", false},
		{"differs at the end", "abc", "xyz", true, "xyz", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var tr transcript
			tr.add(tt.start)
			changed := tr.setFull(tt.out, tt.final)
			if tr.text != tt.want || changed != tt.changed {
				t.Errorf("text = %q changed %v, want %q %v", tr.text, changed, tt.want, tt.changed)
			}
		})
	}
}

func TestDecodeExecution(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want execution
	}{
		{"numbers", `{"id":12,"status":"running","output":"a","error":null,"credits":null,"root_id":10}`,
			execution{ID: 12, Status: "running", Output: "a", RootID: 10}},
		{"strings", `{"id":"12","status":"failed","error":"boom","credits":"0.25","root_id":"10"}`,
			execution{ID: 12, Status: "failed", Error: "boom", Credits: 0.25, RootID: 10}},
		{"float id", `{"id":12.0,"credits":3}`, execution{ID: 12, Credits: 3}},
		{"output number", `{"id":1,"output":42}`, execution{ID: 1, Output: "42"}},
		{"status null", `{"id":1,"status":null}`, execution{ID: 1}},
		{"error object", `{"error":{"message":"bad"}}`, execution{Error: "bad"}},
		{"unknown fields", `{"id":1,"template_id":"8794","generated_files":[{"x":1}]}`, execution{ID: 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got execution
			if err := decodeExecution([]byte(tt.in), &got); err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("decoded %+v, want %+v", got, tt.want)
			}
		})
	}
	var ev execution
	if err := decodeExecution([]byte(`{"id":"abc"}`), &ev); err == nil {
		t.Error(`id "abc" decoded without error`)
	}
}

func TestUnwrapEnvelope(t *testing.T) {
	tests := []struct{ in, want string }{
		{`{"id":1}`, `{"id":1}`},
		{`{"data":{"id":2}}`, `{"id":2}`},
		{`{"responses":[{"id":3},{"id":4}]}`, `{"id":3}`},
		{`{"data":[1,2]}`, `{"data":[1,2]}`},
		{`not json`, `not json`},
	}
	for _, tt := range tests {
		if got := string(unwrapEnvelope([]byte(tt.in))); got != tt.want {
			t.Errorf("unwrapEnvelope(%s) = %s, want %s", tt.in, got, tt.want)
		}
	}
}

func TestFlexBool(t *testing.T) {
	for in, want := range map[string]bool{`true`: true, `1`: true, `"1"`: true, `"true"`: true,
		`false`: false, `0`: false, `null`: false, `"no"`: false} {
		var b flexBool
		if err := json.Unmarshal([]byte(in), &b); err != nil || bool(b) != want {
			t.Errorf("flexBool(%s) = %v, %v; want %v", in, b, err, want)
		}
	}
}

func FuzzDecodeExecution(f *testing.F) {
	f.Add([]byte(`{"id":12,"status":"running","output":"a","error":null,"credits":null,"root_id":10}`))
	f.Add([]byte(`{"id":"12","output":{"x":[1,2]},"error":{"message":"m"},"credits":"1e3"}`))
	f.Add([]byte(`{"id":-1,"output":"\ud83d\ude00\n"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var ev execution
		if err := decodeExecution(data, &ev); err != nil {
			return
		}
		var plain struct {
			Output *string `json:"output"`
		}
		if json.Unmarshal(data, &plain) == nil && plain.Output != nil && ev.Output != *plain.Output {
			t.Fatalf("output = %q, encoding/json reads %q", ev.Output, *plain.Output)
		}
		var tr transcript
		tr.add(ev.Output)
		if tr.text != ev.Output {
			t.Fatalf("transcript = %q, want %q", tr.text, ev.Output)
		}
	})
}
