package fakeslack

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/slack-go/slack"
)

func TestFileDownloadWithToken(t *testing.T) {
	fake := New(t)
	f := fake.AddFile(FileSpec{Name: "notes v2.txt", Mimetype: "text/plain", Filetype: "text", Content: []byte("hello file")})
	for _, link := range []string{f.URLPrivate, f.URLPrivateDownload} {
		var buf bytes.Buffer
		if err := newClient(fake).GetFileContext(context.Background(), link, &buf); err != nil {
			t.Fatalf("download %s: %v", link, err)
		}
		if buf.String() != "hello file" {
			t.Errorf("content = %q", buf.String())
		}
	}
	reqs := fake.FileRequests(f.ID)
	if len(reqs) != 2 {
		t.Fatalf("recorded %d requests, want 2", len(reqs))
	}
	if reqs[0].Authorization != "Bearer "+fake.BotToken() || reqs[0].Status != http.StatusOK {
		t.Errorf("first request status %d, authorization is the bot token: %v", reqs[0].Status,
			reqs[0].Authorization == "Bearer "+fake.BotToken())
	}
}

func TestFileDownloadDenied(t *testing.T) {
	fake := New(t)
	open := fake.AddFile(FileSpec{Name: "a.txt", Content: []byte("a")})
	closed := fake.AddFile(FileSpec{Name: "b.txt", Content: []byte("b"), NoAccess: true})
	tests := []struct {
		name   string
		client *slack.Client
		url    string
		id     string
	}{
		{"wrong token", slack.New("xoxb-other", slack.OptionAPIURL(fake.APIURL())), open.URLPrivateDownload, open.ID},
		{"no access", newClient(fake), closed.URLPrivateDownload, closed.ID},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			err := tt.client.GetFileContext(context.Background(), tt.url, &buf)
			if err == nil || !strings.Contains(err.Error(), "sign-in") {
				t.Errorf("error = %v, want the sign-in redirect", err)
			}
			if buf.Len() != 0 {
				t.Errorf("wrote %q for a denied download", buf.String())
			}
			if reqs := fake.FileRequests(tt.id); len(reqs) != 1 || reqs[0].Status != http.StatusFound {
				t.Errorf("requests = %+v, want one redirected", reqs)
			}
		})
	}
}

func TestFileDownloadFault(t *testing.T) {
	fake := New(t)
	f := fake.AddFile(FileSpec{Name: "a.bin", Content: []byte{1, 2, 3}})
	fake.FailNext(MethodDownload, 1, Fault{Status: http.StatusTooManyRequests, RetryAfter: 1})
	var buf bytes.Buffer
	err := newClient(fake).GetFileContext(context.Background(), f.URLPrivate, &buf)
	var rl *slack.RateLimitedError
	if !errors.As(err, &rl) {
		t.Errorf("error = %v, want RateLimitedError", err)
	}
	if got := fake.Count(MethodDownload); got.Faults != 1 || got.Calls != 1 {
		t.Errorf("download counter = %+v", got)
	}
}

func TestFilesInfo(t *testing.T) {
	fake := New(t)
	hosted := fake.AddFile(FileSpec{Name: "photo.png", Mimetype: "image/png", Filetype: "png", Content: []byte("png"), Size: 1 << 20})
	external := fake.AddExternalFile("Plan", "https://docs.example.com/d/abc")
	api := newClient(fake)

	got, _, _, err := api.GetFileInfo(hosted.ID, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	if got.URLPrivateDownload != hosted.URLPrivateDownload || got.Size != 1<<20 || got.Mimetype != "image/png" {
		t.Errorf("files.info = url %q size %d mimetype %q", got.URLPrivateDownload, got.Size, got.Mimetype)
	}
	ext, _, _, err := api.GetFileInfo(external.ID, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	if !ext.IsExternal || ext.Mode != "external" || ext.URLPrivate != "https://docs.example.com/d/abc" {
		t.Errorf("external file = is_external %v mode %q url %q", ext.IsExternal, ext.Mode, ext.URLPrivate)
	}
	if _, _, _, err := api.GetFileInfo("F404", 0, 0); slackErrorCode(t, err) != "file_not_found" {
		t.Errorf("unknown file: %v", err)
	}
}

func TestConnectStubShape(t *testing.T) {
	var f slack.File
	if err := json.Unmarshal(ConnectStub("F1"), &f); err != nil {
		t.Fatal(err)
	}
	if f.ID != "F1" || f.FileAccess != "check_file_info" || f.URLPrivate != "" {
		t.Errorf("stub = id %q file_access %q url %q", f.ID, f.FileAccess, f.URLPrivate)
	}
}
