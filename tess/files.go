package tess

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"path"
	"strconv"
	"strings"
	"sync"
	"time"
)

// fileJSON is a file object of the Tess API.
type fileJSON struct {
	ID       flexInt  `json:"id"`
	Filename flexText `json:"filename"`
	Bytes    flexInt  `json:"bytes"`
	Status   flexText `json:"status"`
}

func (f *fileJSON) file() *File {
	return &File{ID: int64(f.ID), Filename: string(f.Filename), Bytes: int64(f.Bytes), Status: string(f.Status)}
}

// UploadFile uploads body as name with process=true, waits until Tess has processed it,
// and returns the processed file.
//
// The body is streamed, so memory does not grow with the file. Its size is sent as
// Content-Length when body has a Len method or is an io.Seeker; otherwise the upload is
// chunked. Only a seekable body is retried after a 429, a 5xx or a connection error. A file
// that fails processing or outlasts Config.FileDeadline is deleted from Tess, and the error
// wraps ErrFileFailed or ErrTimeout. The caller closes body.
func (c *Client) UploadFile(ctx context.Context, name string, body io.Reader) (*File, error) {
	size := readerSize(body)
	if size > c.cfg.MaxFileBytes {
		return nil, fmt.Errorf("tess: upload %q: %d bytes over the %d byte limit: %w",
			name, size, c.cfg.MaxFileBytes, ErrFileTooLarge)
	}
	f, err := c.upload(ctx, name, body, size)
	if err != nil {
		return nil, err
	}
	if !isFileDone(f.Status) {
		f, err = c.waitFile(ctx, f)
	}
	if err == nil && isFileFailed(f.Status) {
		err = fmt.Errorf("tess: file %d (%q) ended with status %q: %w", f.ID, f.Filename, f.Status, ErrFileFailed)
	}
	if err != nil {
		c.deleteAbandoned(ctx, f.ID)
		return nil, err
	}
	return f, nil
}

// upload sends POST /files, retrying only when body can be read again.
func (c *Client) upload(ctx context.Context, name string, body io.Reader, size int64) (*File, error) {
	seeker, ok := body.(io.Seeker)
	if !ok {
		return c.uploadOnce(ctx, name, body, size)
	}
	start, err := seeker.Seek(0, io.SeekCurrent)
	if err != nil {
		return c.uploadOnce(ctx, name, body, size)
	}
	var f *File
	err = c.retry(ctx, "upload file", func() error {
		if _, err := seeker.Seek(start, io.SeekStart); err != nil {
			return fmt.Errorf("tess: upload %q: rewind: %w", name, err)
		}
		f, err = c.uploadOnce(ctx, name, body, size)
		return err
	})
	return f, err
}

// uploadOnce sends one multipart POST /files with the fields process=true and file. The
// multipart head and tail are built in memory and body is streamed between them.
func (c *Client) uploadOnce(ctx context.Context, name string, body io.Reader, size int64) (*File, error) {
	boundary, head, tail := multipartFrame(name)
	file := &bodyReader{r: body, limit: c.cfg.MaxFileBytes}
	req, err := c.newRequest(ctx, http.MethodPost, "/files",
		io.MultiReader(bytes.NewReader(head), file, bytes.NewReader(tail)))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "multipart/form-data; boundary="+boundary)
	if size >= 0 {
		req.ContentLength = int64(len(head)) + size + int64(len(tail))
	}

	resp, err := c.do(ctx, req)
	if err == nil {
		defer resp.Body.Close()
	}
	if file.detach() {
		return nil, fmt.Errorf("tess: upload %q: over the %d byte limit: %w",
			name, c.cfg.MaxFileBytes, ErrFileTooLarge)
	}
	if err != nil {
		return nil, err
	}

	var f fileJSON
	if err := c.decodeBody(req, resp, &f); err != nil {
		return nil, err
	}
	if f.ID == 0 {
		return nil, fmt.Errorf("tess: upload %q: response has no file id", name)
	}
	return f.file(), nil
}

// multipartFrame returns a boundary and the bytes before and after the file's content.
func multipartFrame(name string) (boundary string, head, tail []byte) {
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	_ = w.WriteField("process", "true")
	h := make(textproto.MIMEHeader)
	h.Set("Content-Disposition", `form-data; name="file"; filename="`+escapeFilename(name)+`"`)
	h.Set("Content-Type", contentType(name))
	_, _ = w.CreatePart(h)
	head = bytes.Clone(buf.Bytes())
	buf.Reset()
	_ = w.Close()
	return w.Boundary(), head, bytes.Clone(buf.Bytes())
}

// escapeFilename quotes name for a Content-Disposition header. Control characters, which
// could end the header, become underscores.
func escapeFilename(name string) string {
	if name == "" {
		name = "file"
	}
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return '_'
		}
		return r
	}, strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(name))
}

// contentType guesses the media type of name from its extension.
func contentType(name string) string {
	if t := mime.TypeByExtension(strings.ToLower(path.Ext(name))); t != "" {
		return t
	}
	return "application/octet-stream"
}

// readerSize returns the number of bytes left in r, or -1 when that cannot be known.
func readerSize(r io.Reader) int64 {
	if l, ok := r.(interface{ Len() int }); ok {
		return int64(l.Len())
	}
	s, ok := r.(io.Seeker)
	if !ok {
		return -1
	}
	cur, err := s.Seek(0, io.SeekCurrent)
	if err != nil {
		return -1
	}
	end, err := s.Seek(0, io.SeekEnd)
	if _, rerr := s.Seek(cur, io.SeekStart); err != nil || rerr != nil {
		return -1
	}
	return end - cur
}

// bodyReader hands the file to the transport, failing once more than limit bytes have
// been read. The transport may still read a request body after Do has returned, so
// detach makes later reads fail: the caller's reader is never read after uploadOnce
// returns, which keeps a retry's rewind from racing with the previous attempt.
type bodyReader struct {
	mu       sync.Mutex
	r        io.Reader
	limit    int64
	read     int64
	exceeded bool
	detached bool
}

var errBodyDetached = errors.New("upload body detached")

func (b *bodyReader) Read(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.detached {
		return 0, errBodyDetached
	}
	n, err := b.r.Read(p)
	b.read += int64(n)
	if b.read > b.limit {
		b.exceeded = true
		return n, ErrFileTooLarge
	}
	return n, err
}

// detach stops all later reads and reports whether the limit was exceeded.
func (b *bodyReader) detach() (exceeded bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.detached = true
	return b.exceeded
}

// waitFile polls GET /files/{id} until processing ends or Config.FileDeadline passes. A
// 429, a 5xx or a connection error is logged once and polling goes on.
func (c *Client) waitFile(ctx context.Context, f *File) (*File, error) {
	fctx, cancel := context.WithTimeout(ctx, c.cfg.FileDeadline)
	defer cancel()
	wait, interval := c.cfg.PollInterval, c.cfg.PollInterval
	failures := 0
	for {
		if err := sleep(fctx, jitter(wait, 0.1)); err != nil {
			return f, c.fileStopped(ctx, f)
		}
		wait, interval = interval, min(interval+interval/2, c.cfg.PollMaxInterval)

		var got fileJSON
		err := c.getJSON(fctx, "/files/"+strconv.FormatInt(f.ID, 10), &got)
		switch {
		case err == nil:
			f.Status = string(got.Status)
			if got.Bytes != 0 {
				f.Bytes = int64(got.Bytes)
			}
			if isFileDone(f.Status) || isFileFailed(f.Status) {
				return f, nil
			}
		case isRetryable(err) && fctx.Err() == nil:
			failures++
			if failures == 1 {
				c.log.Warn("tess file poll failed, still polling", "file_id", f.ID, "err", err)
			}
			wait = max(wait, c.rateLimitWait(err))
		case errors.Is(err, context.DeadlineExceeded) || fctx.Err() != nil:
			return f, c.fileStopped(ctx, f)
		default:
			return f, fmt.Errorf("tess: poll file %d: %w", f.ID, err)
		}
	}
}

// fileStopped returns ctx's error, or ErrTimeout when the file deadline passed first.
func (c *Client) fileStopped(ctx context.Context, f *File) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return fmt.Errorf("tess: file %d (%q) still %q after %s: %w",
		f.ID, f.Filename, f.Status, c.cfg.FileDeadline, ErrTimeout)
}

// isFileDone reports whether a file status means processed. "completed" is documented;
// the others are spellings other clients accept.
func isFileDone(status string) bool {
	switch strings.ToLower(status) {
	case "completed", "succeeded", "ready", "done", "processed":
		return true
	}
	return false
}

// isFileFailed reports whether a file status means processing failed.
func isFileFailed(status string) bool {
	switch strings.ToLower(status) {
	case "failed", "error", "canceled", "cancelled":
		return true
	}
	return false
}

// deleteAbandoned deletes a file that will not be used, so that it does not count against
// the Tess limit of stored files. It runs even when ctx has ended.
func (c *Client) deleteAbandoned(ctx context.Context, id int64) {
	dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	if err := c.DeleteFile(dctx, id); err != nil {
		c.log.Warn("tess could not delete an abandoned file", "file_id", id, "err", err)
	}
}

// DeleteFile deletes file id from Tess. A file that is already gone (404) counts as
// deleted.
func (c *Client) DeleteFile(ctx context.Context, id int64) error {
	err := c.retry(ctx, "delete file", func() error {
		req, err := c.newRequest(ctx, http.MethodDelete, "/files/"+strconv.FormatInt(id, 10), nil)
		if err != nil {
			return err
		}
		resp, err := c.do(ctx, req)
		if err != nil {
			return err
		}
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxErrorBody))
		return resp.Body.Close()
	})
	var apiErr *APIError
	if errors.As(err, &apiErr) && apiErr.StatusCode == http.StatusNotFound {
		return nil
	}
	return err
}
