package tess

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"github.com/tessbot/tessbot/internal/faketess"
)

func TestUploadEmptyFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "empty.txt")
	if err := os.WriteFile(path, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		body func(t *testing.T) io.Reader
	}{
		{"bytes reader", func(*testing.T) io.Reader { return bytes.NewReader(nil) }},
		{"plain reader", func(*testing.T) io.Reader { return iotest.HalfReader(strings.NewReader("")) }},
		{"os file", func(t *testing.T) io.Reader {
			f, err := os.Open(path)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { f.Close() })
			return f
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := faketess.New(t)
			c, _ := newFakeClient(t, srv, nil)
			f, err := c.UploadFile(testContext(t), "empty.txt", tt.body(t))
			if err != nil {
				t.Fatalf("err = %v", err)
			}
			if f.Bytes != 0 || f.Status != "completed" {
				t.Errorf("file = %+v, want a completed file of 0 bytes", f)
			}
			ups := srv.Uploads()
			if len(ups) != 1 || ups[0].Size != 0 || ups[0].Filename != "empty.txt" {
				t.Errorf("uploads = %+v, want one empty file", ups)
			}
		})
	}
}

func TestUploadFileNames(t *testing.T) {
	tests := []struct {
		name string
		want string
	}{
		{`say "hi".txt`, `say "hi".txt`},
		{`back\slash.txt`, `back\slash.txt`},
		{"two\nlines.txt", "two_lines.txt"},
		{"tab\there.txt", "tab_here.txt"},
		{"relatório ✓ 日本.pdf", "relatório ✓ 日本.pdf"},
		{`"`, `"`},
		{`\`, `\`},
		{"", "file"},
		{"semi;colon=x.txt", "semi;colon=x.txt"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			srv := faketess.New(t)
			c, _ := newFakeClient(t, srv, nil)
			if _, err := c.UploadFile(testContext(t), tt.name, strings.NewReader("x")); err != nil {
				t.Fatalf("err = %v", err)
			}
			ups := srv.Uploads()
			if len(ups) != 1 {
				t.Fatalf("uploads = %d, want 1", len(ups))
			}
			if ups[0].Filename != tt.want {
				t.Errorf("filename = %q, want %q", ups[0].Filename, tt.want)
			}
			if ups[0].Process != "true" || ups[0].Size != 1 {
				t.Errorf("upload = %+v, want one byte with process=true", ups[0])
			}
		})
	}
}

func TestUploadFileStatusEdges(t *testing.T) {
	tests := []struct {
		name     string
		statuses []string
		deadline time.Duration
		want     error
		deleted  bool
	}{
		{"status in capitals", []string{"PROCESSING", "COMPLETED"}, time.Minute, nil, false},
		{"waiting forever", []string{"waiting"}, 100 * time.Millisecond, ErrTimeout, true},
		{"failed in capitals", []string{"FAILED"}, time.Minute, ErrFileFailed, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := faketess.New(t)
			srv.QueueFileStatuses(tt.statuses...)
			c, _ := newFakeClient(t, srv, func(cfg *Config) { cfg.FileDeadline = tt.deadline })
			f, err := c.UploadFile(testContext(t), "a.txt", strings.NewReader("abc"))
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			if tt.want == nil && (f == nil || !strings.EqualFold(f.Status, "completed")) {
				t.Errorf("file = %+v, want completed", f)
			}
			ups := srv.Uploads()
			if len(ups) != 1 {
				t.Fatalf("uploads = %d, want 1", len(ups))
			}
			deleted := slices.Equal(srv.Deleted(), []int64{ups[0].FileID})
			if deleted != tt.deleted {
				t.Errorf("deleted = %v, want the upload deleted %v", srv.Deleted(), tt.deleted)
			}
		})
	}
}

func TestDeleteFileNotFound(t *testing.T) {
	srv := faketess.New(t)
	c, logs := newFakeClient(t, srv, nil)
	if err := c.DeleteFile(testContext(t), 424242); err != nil {
		t.Fatalf("delete of an unknown file: %v, want nil", err)
	}
	if n := srv.CallCount("DELETE", "/files/"); n != 1 {
		t.Errorf("delete requests = %d, want 1 without retries", n)
	}
	if strings.Contains(logs.String(), "retrying") {
		t.Errorf("a 404 was retried:\n%s", logs)
	}
}
