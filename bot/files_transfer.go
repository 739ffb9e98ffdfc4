package bot

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/slack-go/slack"

	"github.com/tessbot/tessbot/tess"
)

var (
	errFileTooLarge    = errors.New("file larger than the size limit")
	errSignInPage      = errors.New("download returned an html page for a file that is not html")
	errNotSlackHost    = errors.New("download url is not on a slack file host")
	errUploadEnded     = errors.New("upload ended before the download")
	errDownloadStalled = errors.New("download from slack stalled")
)

// downloadError is a failure on the Slack side of a transfer.
type downloadError struct{ err error }

func (e *downloadError) Error() string { return "download from slack: " + e.err.Error() }
func (e *downloadError) Unwrap() error { return e.err }

// transfer streams f from Slack into a Tess upload through a pipe, so that memory does
// not grow with the file, and returns the file once Tess has processed it. A failed
// download is returned as a *downloadError.
func (a *attacher) transfer(ctx context.Context, f slack.File, log *slog.Logger) (*tess.File, error) {
	pr, pw := io.Pipe()
	downloaded := make(chan error, 1)
	go func() {
		err := a.download(ctx, f, pw)
		pw.CloseWithError(err) // a nil err ends the upload's body normally
		downloaded <- err
	}()

	uploaded, uploadErr := a.tess.UploadFile(ctx, fileName(f), pr)
	// Tess may respond before it has read the whole body. Closing the pipe then ends the
	// download instead of leaving it blocked on a write.
	pr.CloseWithError(errUploadEnded)
	downloadErr := <-downloaded

	if downloadErr != nil && !errors.Is(downloadErr, errUploadEnded) {
		if uploaded != nil {
			a.deleteUnused(ctx, uploaded.ID, log)
		}
		return nil, &downloadError{downloadErr}
	}
	if uploadErr != nil {
		return nil, uploadErr
	}
	return uploaded, nil
}

// download writes the content of f to w. Only Slack's file hosts and the Slack API host
// receive the bot token, and slack-go's GetFileContext checks the host once more. A
// download that waits on Slack for longer than a.idleTimeout fails with
// errDownloadStalled.
func (a *attacher) download(ctx context.Context, f slack.File, w io.Writer) error {
	link := downloadURL(f)
	if !a.mayReceiveToken(link) {
		return errNotSlackHost
	}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	idle := time.AfterFunc(a.idleTimeout, func() { cancel(errDownloadStalled) })
	defer idle.Stop()

	guard := &downloadGuard{w: w, limit: a.limits.MaxBytes, allowHTML: isHTMLFile(f),
		idle: idle, idleTimeout: a.idleTimeout}
	if err := a.slack.GetFileContext(ctx, link, guard); err != nil {
		if errors.Is(context.Cause(ctx), errDownloadStalled) {
			return errDownloadStalled
		}
		return err
	}
	return guard.flush()
}

// deleteUnused deletes an uploaded file whose content turned out to be wrong. It runs
// even when ctx has ended.
func (a *attacher) deleteUnused(ctx context.Context, id int64, log *slog.Logger) {
	dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	if err := a.tess.DeleteFile(dctx, id); err != nil {
		log.Warn("delete unused tess file failed", "tess_file_id", id, "err", err)
	}
}

// mayReceiveToken reports whether the bot token may be sent to link: an https URL on
// slack.com, slack-gov.com or their subdomains, or a URL with the scheme and host of the
// configured Slack API URL.
func (a *attacher) mayReceiveToken(link string) bool {
	u, err := url.Parse(link)
	if err != nil || u.Host == "" || u.User != nil {
		return false
	}
	if u.Scheme == "https" && isSlackHost(u.Hostname()) {
		return true
	}
	return a.apiURL.Host != "" && u.Scheme == a.apiURL.Scheme && strings.EqualFold(u.Host, a.apiURL.Host)
}

func isSlackHost(host string) bool {
	host = strings.ToLower(host)
	for _, domain := range []string{"slack.com", "slack-gov.com"} {
		if host == domain || strings.HasSuffix(host, "."+domain) {
			return true
		}
	}
	return false
}

// downloadURL returns the link that downloads f, or "" when f has none.
func downloadURL(f slack.File) string {
	if f.URLPrivateDownload != "" {
		return f.URLPrivateDownload
	}
	return f.URLPrivate
}

// isHTMLFile reports whether f is an HTML page, which may legitimately start like one.
func isHTMLFile(f slack.File) bool {
	mime := strings.ToLower(f.Mimetype)
	return strings.HasPrefix(mime, "text/html") || strings.HasPrefix(mime, "application/xhtml") ||
		strings.EqualFold(f.Filetype, "html")
}

// sniffLen is how many bytes downloadGuard holds back before deciding whether a download
// is an HTML page.
const sniffLen = 512

// downloadGuard passes a download to w. It fails with errFileTooLarge once more than
// limit bytes arrive, and with errSignInPage when a file that is not HTML starts like an
// HTML page, as Slack's sign-in page does. It holds back the first sniffLen bytes until it
// has decided, so that nothing of such a page reaches w.
type downloadGuard struct {
	w         io.Writer
	limit     int64
	allowHTML bool
	written   int64
	head      []byte
	checked   bool

	// idle, when set, is stopped while w takes a write, because only the time spent
	// waiting on Slack counts against idleTimeout.
	idle        *time.Timer
	idleTimeout time.Duration
}

func (g *downloadGuard) Write(p []byte) (int, error) {
	if g.idle != nil {
		g.idle.Stop()
		defer g.idle.Reset(g.idleTimeout)
	}
	g.written += int64(len(p))
	if g.written > g.limit {
		return 0, errFileTooLarge
	}
	if g.checked {
		return g.w.Write(p)
	}
	g.head = append(g.head, p...)
	if len(g.head) < sniffLen {
		return len(p), nil
	}
	if err := g.flush(); err != nil {
		return 0, err
	}
	return len(p), nil
}

// flush checks and writes the bytes held back. The download calls it once more at the
// end, for a file shorter than sniffLen.
func (g *downloadGuard) flush() error {
	if g.checked {
		return nil
	}
	g.checked = true
	if !g.allowHTML && looksLikeHTML(g.head) {
		return errSignInPage
	}
	_, err := g.w.Write(g.head)
	g.head = nil
	return err
}

// looksLikeHTML reports whether data starts an HTML document.
func looksLikeHTML(data []byte) bool {
	data = bytes.TrimLeft(bytes.TrimPrefix(data, []byte("\xef\xbb\xbf")), " \t\r\n")
	prefix := strings.ToLower(string(data[:min(len(data), 14)]))
	return strings.HasPrefix(prefix, "<!doctype html") || strings.HasPrefix(prefix, "<html")
}

// reportError adds the note for a file that could not be attached because of err.
func (a *attacher) reportError(report *fileReport, name string, err error) {
	var rateLimited *slack.RateLimitedError
	var status slack.StatusCodeError
	var apiErr *tess.APIError
	switch {
	case errors.Is(err, errFileTooLarge):
		report.skip(name, "larger than the "+formatBytes(a.limits.MaxBytes)+" limit")
	case errors.Is(err, errNotSlackHost):
		report.skip(name, "external files are not downloaded")
	case errors.Is(err, errSignInPage) || isSignInRedirect(err):
		report.fail(name, "Slack sent a sign-in page instead of the file, so the bot may lack access to it")
	case errors.Is(err, errDownloadStalled):
		report.fail(name, "the download from Slack stalled")
	case errors.As(err, &rateLimited):
		report.fail(name, "Slack is limiting downloads, try again in a minute")
	case errors.As(err, &status) && (status.Code == http.StatusForbidden || status.Code == http.StatusNotFound):
		report.fail(name, "Slack did not let the bot download it")
	case errors.As(err, new(*downloadError)):
		report.fail(name, "the download from Slack failed")
	case errors.Is(err, tess.ErrFileFailed):
		report.fail(name, "Tess failed to process it")
	case errors.Is(err, tess.ErrTimeout):
		report.fail(name, "Tess did not finish processing it in time")
	case errors.As(err, &apiErr):
		report.problems = append(report.problems, fmt.Sprintf("Could not attach %s. %s", name, apiErr.UserMessage()))
	default:
		report.fail(name, "the upload to Tess failed")
	}
}

// isSignInRedirect reports whether err is slack-go's error for a download redirected to
// the workspace sign-in page. slack-go v0.36.0 returns it as plain text.
func isSignInRedirect(err error) bool {
	return strings.Contains(err.Error(), "redirected to the sign-in page")
}
