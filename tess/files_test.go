package tess

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"io"
	"math/rand/v2"
	"runtime"
	"slices"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"github.com/tessbot/tessbot/internal/faketess"
)

// randomBytes returns n reproducible pseudo-random bytes.
func randomBytes(n int) []byte {
	b := make([]byte, n)
	r := rand.NewChaCha8([32]byte{1})
	_, _ = r.Read(b)
	return b
}

func TestUploadFile(t *testing.T) {
	data := randomBytes(300 << 10)
	tests := []struct {
		name       string
		body       func() io.Reader
		wantLength bool
	}{
		{"bytes reader", func() io.Reader { return bytes.NewReader(data) }, true},
		{"plain reader", func() io.Reader { return iotest.HalfReader(bytes.NewReader(data)) }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := faketess.New(t, faketess.WithWorkspaceID("42"))
			srv.QueueFileStatuses("queued", "processing", "completed")
			c, _ := newFakeClient(t, srv, nil)
			f, err := c.UploadFile(testContext(t), "report 2025.pdf", tt.body())
			if err != nil {
				t.Fatal(err)
			}
			if f.Status != "completed" || f.ID == 0 || f.Bytes != int64(len(data)) {
				t.Errorf("file = %+v, want completed with %d bytes", f, len(data))
			}
			ups := srv.Uploads()
			if len(ups) != 1 {
				t.Fatalf("uploads = %d, want 1", len(ups))
			}
			up := ups[0]
			if !bytes.Equal(up.Data, data) {
				t.Errorf("uploaded %d bytes that differ from the %d sent", len(up.Data), len(data))
			}
			if up.Filename != "report 2025.pdf" || up.Process != "true" || up.ContentType != "application/pdf" {
				t.Errorf("upload = %q process %q type %q", up.Filename, up.Process, up.ContentType)
			}
			if got := up.ContentLength > 0; got != tt.wantLength {
				t.Errorf("Content-Length = %d, want known %v", up.ContentLength, tt.wantLength)
			}
			if up.Header.Get("x-workspace-id") != "42" {
				t.Error("upload lacks x-workspace-id")
			}
			if n := srv.CallCount("GET", "/files/"); n != 3 {
				t.Errorf("file polls = %d, want 3", n)
			}
		})
	}
}

func TestUploadFileFailures(t *testing.T) {
	tests := []struct {
		name     string
		statuses []string
		deadline time.Duration
		want     error
	}{
		{"processing failed", []string{"processing", "failed"}, time.Minute, ErrFileFailed},
		{"processing error", []string{"error"}, time.Minute, ErrFileFailed},
		{"never finishes", []string{"processing"}, 30 * time.Millisecond, ErrTimeout},
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
			if f != nil {
				t.Errorf("file = %+v, want nil", f)
			}
			ups := srv.Uploads()
			if len(ups) != 1 || !slices.Equal(srv.Deleted(), []int64{ups[0].FileID}) {
				t.Errorf("deleted = %v, want the abandoned file deleted", srv.Deleted())
			}
		})
	}
}

func TestUploadFileTooLarge(t *testing.T) {
	data := randomBytes(4096)
	tests := []struct {
		name  string
		body  io.Reader
		calls int
	}{
		{"known size", bytes.NewReader(data), 0},
		{"unknown size", iotest.HalfReader(bytes.NewReader(data)), 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := faketess.New(t)
			c, _ := newFakeClient(t, srv, func(cfg *Config) { cfg.MaxFileBytes = 1000 })
			_, err := c.UploadFile(testContext(t), "big.bin", tt.body)
			if !errors.Is(err, ErrFileTooLarge) {
				t.Fatalf("err = %v, want ErrFileTooLarge", err)
			}
			if !strings.Contains(UserMessage(err), "too large") {
				t.Errorf("user message = %q", UserMessage(err))
			}
			if n := srv.CallCount("POST", "/files"); n > tt.calls {
				t.Errorf("calls = %d, want at most %d", n, tt.calls)
			}
			if n := len(srv.Uploads()); n != 0 {
				t.Errorf("server stored %d uploads", n)
			}
		})
	}
}

func TestUploadFileRejected(t *testing.T) {
	tests := []struct {
		name   string
		opts   []faketess.Option
		status int
		user   string
	}{
		{"413 from server", []faketess.Option{faketess.WithMaxFileBytes(10)}, 413, "too large"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := faketess.New(t, tt.opts...)
			c, _ := newFakeClient(t, srv, nil)
			_, err := c.UploadFile(testContext(t), "a.txt", strings.NewReader("more than ten bytes"))
			var apiErr *APIError
			if !errors.As(err, &apiErr) || apiErr.StatusCode != tt.status {
				t.Fatalf("err = %v, want *APIError %d", err, tt.status)
			}
			if !strings.Contains(UserMessage(err), tt.user) {
				t.Errorf("user message = %q, want %q", UserMessage(err), tt.user)
			}
		})
	}
}

func TestUploadFileStorageLimit(t *testing.T) {
	srv := faketess.New(t, faketess.WithMaxFiles(1))
	c, _ := newFakeClient(t, srv, nil)
	ctx := testContext(t)
	first, err := c.UploadFile(ctx, "a.txt", strings.NewReader("a"))
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.UploadFile(ctx, "b.txt", strings.NewReader("b"))
	var apiErr *APIError
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 400 {
		t.Fatalf("second upload err = %v, want *APIError 400", err)
	}
	if err := c.DeleteFile(ctx, first.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := c.UploadFile(ctx, "c.txt", strings.NewReader("c")); err != nil {
		t.Fatalf("upload after delete: %v", err)
	}
}

func TestUploadFileRetry(t *testing.T) {
	data := randomBytes(100 << 10)
	tests := []struct {
		name    string
		body    io.Reader
		wantErr bool
	}{
		{"seekable body retried", bytes.NewReader(data), false},
		{"stream not retried", iotest.HalfReader(bytes.NewReader(data)), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := faketess.New(t)
			srv.Inject(faketess.Fault{Method: "POST", Path: "/files", Status: 503})
			c, _ := newFakeClient(t, srv, nil)
			_, err := c.UploadFile(testContext(t), "a.bin", tt.body)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, want error %v", err, tt.wantErr)
			}
			if tt.wantErr {
				return
			}
			ups := srv.Uploads()
			if len(ups) != 1 || ups[0].SHA256 != sha256.Sum256(data) {
				t.Errorf("uploads = %d, want one with the whole file", len(ups))
			}
		})
	}
}

func TestUploadFileName(t *testing.T) {
	srv := faketess.New(t)
	c, _ := newFakeClient(t, srv, nil)
	_, err := c.UploadFile(testContext(t), "evil\"\r\nX-Injected: 1.txt", strings.NewReader("x"))
	if err != nil {
		t.Fatal(err)
	}
	up := srv.Uploads()[0]
	if up.Filename != `evil"__X-Injected: 1.txt` {
		t.Errorf("filename = %q, want quotes kept and line breaks replaced", up.Filename)
	}
	if up.Header.Get("X-Injected") != "" {
		t.Error("file name injected a header")
	}
}

func TestUploadFileMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("uploads 64 MiB")
	}
	const size = 64 << 20
	srv := faketess.New(t, faketess.WithUploadCapture(0))
	c, _ := newFakeClient(t, srv, nil)
	body := io.LimitReader(zeroReader{}, size)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	f, err := c.UploadFile(testContext(t), "zeros.bin", body)
	runtime.ReadMemStats(&after)
	if err != nil {
		t.Fatal(err)
	}
	if f.Bytes != size {
		t.Errorf("server got %d bytes, want %d", f.Bytes, size)
	}
	// Client and server together; buffering the file anywhere would allocate 64 MiB.
	if grew := after.TotalAlloc - before.TotalAlloc; grew > size/4 {
		t.Errorf("allocated %d MiB to upload %d MiB", grew>>20, size>>20)
	}
}

type zeroReader struct{}

func (zeroReader) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

func TestDeleteFile(t *testing.T) {
	srv := faketess.New(t)
	c, _ := newFakeClient(t, srv, nil)
	ctx := testContext(t)
	f, err := c.UploadFile(ctx, "a.txt", strings.NewReader("a"))
	if err != nil {
		t.Fatal(err)
	}
	srv.Inject(faketess.Fault{Method: "DELETE", Status: 502})
	if err := c.DeleteFile(ctx, f.ID); err != nil {
		t.Fatalf("delete after a 502: %v", err)
	}
	if !slices.Equal(srv.Deleted(), []int64{f.ID}) || srv.StoredFiles() != 0 {
		t.Errorf("deleted = %v, stored = %d", srv.Deleted(), srv.StoredFiles())
	}
	if err := c.DeleteFile(ctx, f.ID); err != nil {
		t.Errorf("deleting a deleted file: %v, want nil", err)
	}
	srv.Inject(faketess.Fault{Method: "DELETE", Status: 403})
	if err := c.DeleteFile(ctx, f.ID); err == nil {
		t.Error("403 on delete returned nil")
	}
}
