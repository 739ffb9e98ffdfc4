package bot

import (
	"encoding/json"
	"testing"

	"github.com/slack-go/slack"
)

func TestDecodeFiles(t *testing.T) {
	raw := []json.RawMessage{
		json.RawMessage(`{"id":"F1","name":"a.pdf","mimetype":"application/pdf","size":12,"mode":"hosted",` +
			`"url_private":"https://files.slack.com/a","url_private_download":"https://files.slack.com/a/download",` +
			`"shares":"not an object"}`),
		json.RawMessage(`{"id":"F2","mode":"file_access","file_access":"check_file_info"}`),
		json.RawMessage(`{"id":"F3","name":"d.gdoc","mode":"external","is_external":true,"url_private":"https://docs.example.com/d"}`),
		json.RawMessage(`{"id":"F4","size":"twelve"}`),
		json.RawMessage(`{"name":"no id"}`),
		json.RawMessage(`not json`),
	}
	want := []slack.File{
		{ID: "F1", Name: "a.pdf", Mimetype: "application/pdf", Size: 12, Mode: "hosted",
			URLPrivate: "https://files.slack.com/a", URLPrivateDownload: "https://files.slack.com/a/download"},
		{ID: "F2", Mode: "file_access", FileAccess: "check_file_info"},
		{ID: "F3", Name: "d.gdoc", Mode: "external", IsExternal: true, URLPrivate: "https://docs.example.com/d"},
		{ID: "F4", FileAccess: "check_file_info"},
	}

	got := decodeFiles(raw)

	if len(got) != len(want) {
		t.Fatalf("decoded %d files, want %d: %+v", len(got), len(want), got)
	}
	for i := range want {
		g, w := got[i], want[i]
		if g.ID != w.ID || g.Name != w.Name || g.Mimetype != w.Mimetype || g.Size != w.Size || g.Mode != w.Mode ||
			g.IsExternal != w.IsExternal || g.URLPrivate != w.URLPrivate ||
			g.URLPrivateDownload != w.URLPrivateDownload || g.FileAccess != w.FileAccess {
			t.Errorf("file %d = %+v, want %+v", i, g, w)
		}
	}
}

func TestFileNotesText(t *testing.T) {
	tests := []struct {
		name  string
		notes []string
		want  string
	}{
		{"none", nil, ""},
		{"one", []string{"Attached: a.pdf."}, "_Attached: a.pdf._"},
		{"joined", []string{"Attached: a.pdf.", "Skipped b.zip: larger than the 50 MB limit."},
			"_Attached: a.pdf. Skipped b.zip: larger than the 50 MB limit._"},
		{"escaped name", []string{"Attached: <!channel>.txt."}, "_Attached: &lt;!channel&gt;.txt._"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := fileNotesText(tt.notes); got != tt.want {
				t.Errorf("fileNotesText(%q) = %q, want %q", tt.notes, got, tt.want)
			}
		})
	}
}

func FuzzDecodeFiles(f *testing.F) {
	f.Add([]byte(`[{"id":"F1","name":"a.pdf","size":3}]`))
	f.Add([]byte(`[{"id":"F2","file_access":"check_file_info"},{"id":7}]`))
	f.Add([]byte(`[null, "x", {"id":""}]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var raw []json.RawMessage
		if json.Unmarshal(data, &raw) != nil {
			return
		}
		files := decodeFiles(raw)
		if len(files) > len(raw) {
			t.Fatalf("decoded %d files from %d entries", len(files), len(raw))
		}
		for _, f := range files {
			if f.ID == "" {
				t.Fatalf("decoded a file without an id: %+v", f)
			}
		}
	})
}
