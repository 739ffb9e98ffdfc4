package bot

import (
	"bytes"
	"errors"
	"net/url"
	"strings"
	"testing"

	"github.com/slack-go/slack"
)

func TestMayReceiveToken(t *testing.T) {
	api, _ := url.Parse("http://127.0.0.1:4040/api/")
	a := &attacher{apiURL: api}
	tests := []struct {
		name string
		link string
		want bool
	}{
		{"slack file host", "https://files.slack.com/files-pri/T1-F1/a.pdf", true},
		{"slack subdomain", "https://acme.enterprise.slack.com/files/a.pdf", true},
		{"slack gov host", "https://files.slack-gov.com/files-pri/T1-F1/a.pdf", true},
		{"slack domain uppercase", "https://FILES.SLACK.COM/a.pdf", true},
		{"api host", "http://127.0.0.1:4040/files-pri/T1-F1/a.pdf", true},
		{"slack over http", "http://files.slack.com/a.pdf", false},
		{"suffix trick", "https://files.slack.com.example.net/a.pdf", false},
		{"name ending in slack", "https://notslack.com/a.pdf", false},
		{"user info", "https://user@files.slack.com/a.pdf", false},
		{"api host other port", "http://127.0.0.1:4041/a.pdf", false},
		{"api host other scheme", "https://127.0.0.1:4040/a.pdf", false},
		{"drive", "https://docs.google.com/document/d/abc", false},
		{"relative", "/files-pri/T1-F1/a.pdf", false},
		{"empty", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := a.mayReceiveToken(tt.link); got != tt.want {
				t.Errorf("mayReceiveToken(%q) = %v, want %v", tt.link, got, tt.want)
			}
		})
	}
}

func TestLooksLikeHTML(t *testing.T) {
	tests := []struct {
		name string
		data string
		want bool
	}{
		{"doctype", "<!DOCTYPE html><html>", true},
		{"html tag", "<html lang=en>", true},
		{"leading space and bom", "\xef\xbb\xbf \n<!doctype HTML>", true},
		{"pdf", "%PDF-1.7", false},
		{"xml", "<?xml version=\"1.0\"?>", false},
		{"markdown with tag", "<b>bold</b> text", false},
		{"empty", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := looksLikeHTML([]byte(tt.data)); got != tt.want {
				t.Errorf("looksLikeHTML(%q) = %v, want %v", tt.data, got, tt.want)
			}
		})
	}
}

func TestDownloadGuard(t *testing.T) {
	tests := []struct {
		name      string
		chunks    []string
		limit     int64
		allowHTML bool
		wantErr   error
		want      string
	}{
		{"short file", []string{"abc"}, 10, false, nil, "abc"},
		{"exactly the limit", []string{"abcde", "fghij"}, 10, false, nil, "abcdefghij"},
		{"one byte over", []string{"abcde", "fghijk"}, 10, false, errFileTooLarge, ""},
		{"long file", []string{strings.Repeat("x", 600), "tail"}, 1000, false, nil, strings.Repeat("x", 600) + "tail"},
		{"sign-in page", []string{"<!DOCTYPE html>", "<body>"}, 100, false, errSignInPage, ""},
		{"html file", []string{"<!DOCTYPE html>", "<body>"}, 100, true, nil, "<!DOCTYPE html><body>"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			g := &downloadGuard{w: &out, limit: tt.limit, allowHTML: tt.allowHTML}
			var err error
			for _, c := range tt.chunks {
				if _, err = g.Write([]byte(c)); err != nil {
					break
				}
			}
			if err == nil {
				err = g.flush()
			}
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if tt.wantErr == nil && out.String() != tt.want {
				t.Errorf("written %q, want %q", out.String(), tt.want)
			}
			if tt.wantErr != nil && out.Len() > 0 && errors.Is(tt.wantErr, errSignInPage) {
				t.Errorf("a sign-in page reached the upload: %q", out.String())
			}
		})
	}
}

func TestIsStub(t *testing.T) {
	tests := []struct {
		name string
		file slack.File
		want bool
	}{
		{"connect stub", slack.File{ID: "F1", Mode: "file_access", FileAccess: "check_file_info"}, true},
		{"no urls", slack.File{ID: "F1", Mode: "hosted"}, true},
		{"hosted", slack.File{ID: "F1", Mode: "hosted", URLPrivate: "https://files.slack.com/a"}, false},
		{"external without url", slack.File{ID: "F1", Mode: "external", IsExternal: true}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := isStub(tt.file); got != tt.want {
				t.Errorf("isStub(%+v) = %v, want %v", tt.file, got, tt.want)
			}
		})
	}
}

func TestFormatBytes(t *testing.T) {
	tests := []struct {
		n    int64
		want string
	}{
		{50 << 20, "50 MB"},
		{200 << 20, "200 MB"},
		{3<<20 + 1<<19, "3.5 MB"},
		{1 << 10, "1 KB"},
		{1536, "1 KB"},
		{999, "999 bytes"},
	}
	for _, tt := range tests {
		if got := formatBytes(tt.n); got != tt.want {
			t.Errorf("formatBytes(%d) = %q, want %q", tt.n, got, tt.want)
		}
	}
}

func TestFileName(t *testing.T) {
	tests := []struct {
		file slack.File
		want string
	}{
		{slack.File{ID: "F1", Name: "a.pdf", Title: "A"}, "a.pdf"},
		{slack.File{ID: "F1", Title: "A"}, "A"},
		{slack.File{ID: "F1"}, "F1"},
		{slack.File{}, "a file"},
	}
	for _, tt := range tests {
		if got := fileName(tt.file); got != tt.want {
			t.Errorf("fileName(%+v) = %q, want %q", tt.file, got, tt.want)
		}
	}
}

func FuzzMayReceiveToken(f *testing.F) {
	for _, seed := range []string{
		"https://files.slack.com/files-pri/T1-F1/a.pdf",
		"http://127.0.0.1:4040/files-pri/T1-F1/a.pdf",
		"https://files.slack.com.example.net/a.pdf",
		"https://user@files.slack.com/a.pdf",
		"HTTPS://Files.Slack-Gov.com:443/x",
		"//files.slack.com/a",
	} {
		f.Add(seed)
	}
	api, _ := url.Parse("http://127.0.0.1:4040/api/")
	a := &attacher{apiURL: api}
	f.Fuzz(func(t *testing.T, link string) {
		if !a.mayReceiveToken(link) {
			return
		}
		u, err := url.Parse(link)
		if err != nil {
			t.Fatalf("accepted %q, which does not parse: %v", link, err)
		}
		host := strings.ToLower(u.Hostname())
		slackHost := u.Scheme == "https" && (host == "slack.com" || strings.HasSuffix(host, ".slack.com") ||
			host == "slack-gov.com" || strings.HasSuffix(host, ".slack-gov.com"))
		apiHost := u.Scheme == "http" && strings.EqualFold(u.Host, api.Host)
		if !slackHost && !apiHost {
			t.Fatalf("accepted %q: scheme %q, host %q", link, u.Scheme, u.Host)
		}
	})
}

func FuzzDownloadGuard(f *testing.F) {
	f.Add([]byte("%PDF-1.7 content"), uint16(100), uint8(3), false)
	f.Add([]byte("<!DOCTYPE html><html>"), uint16(100), uint8(7), false)
	f.Add([]byte(strings.Repeat("x", 700)), uint16(600), uint8(200), true)
	f.Add([]byte("<html>"+strings.Repeat("x", 700)), uint16(600), uint8(100), false)
	f.Fuzz(func(t *testing.T, data []byte, limit uint16, chunk uint8, allowHTML bool) {
		var out bytes.Buffer
		g := &downloadGuard{w: &out, limit: int64(limit), allowHTML: allowHTML}
		step := max(int(chunk), 1)
		var err error
		for rest := data; len(rest) > 0 && err == nil; rest = rest[min(step, len(rest)):] {
			_, err = g.Write(rest[:min(step, len(rest))])
		}
		if err == nil {
			err = g.flush()
		}

		tooLarge := len(data) > int(limit)
		page := !allowHTML && looksLikeHTML(data[:min(len(data), sniffLen)])
		switch {
		case tooLarge && page:
			// Whichever check trips first wins, but no byte of the page is written.
			if !errors.Is(err, errFileTooLarge) && !errors.Is(err, errSignInPage) || out.Len() > 0 {
				t.Fatalf("html page over the limit: err = %v, %d bytes written", err, out.Len())
			}
		case tooLarge:
			if !errors.Is(err, errFileTooLarge) {
				t.Fatalf("%d bytes over the %d limit: err = %v", len(data), limit, err)
			}
		case page:
			if !errors.Is(err, errSignInPage) || out.Len() > 0 {
				t.Fatalf("html page: err = %v, %d bytes written", err, out.Len())
			}
		case err != nil || !bytes.Equal(out.Bytes(), data):
			t.Fatalf("err = %v, written %d of %d bytes", err, out.Len(), len(data))
		}
	})
}
