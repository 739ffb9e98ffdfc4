package bot

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"time"

	"github.com/slack-go/slack"

	"github.com/tessbot/tessbot/tess"
	"github.com/tessbot/tessbot/threadstore"
)

// Defaults of the file limits. Tess accepts files up to 200 MB, takes at most 5 files per
// execution and keeps about 30 files per account.
const (
	defaultFileMaxBytes = 50 << 20
	defaultFileMaxCount = 5
	defaultTessFileCap  = 20
)

// downloadIdleTimeout is how long a download may wait for Slack to send more bytes.
const downloadIdleTimeout = time.Minute

// fileLockTTL is how long the lock on one Slack file outlives a process that died holding
// it. The store renews the lock while the upload runs.
const fileLockTTL = time.Minute

// evictLock is the name of the store lock taken while deleting files past the cap.
const evictLock = "tess-files:evict"

// fileLimits are the limits on the files of one message and on the files kept in Tess.
type fileLimits struct {
	MaxBytes int64 // max size of one file, in bytes
	MaxCount int   // max files attached to one message
	Cap      int   // max files the bot keeps in Tess; past it the oldest are deleted
}

// attacher brings the files of a Slack message to Tess: it downloads each file from
// Slack, uploads it to Tess for processing and returns the Tess file ids for the
// execution. It is safe for concurrent use.
type attacher struct {
	slack  *slack.Client
	apiURL *url.URL // the Slack Web API URL; its scheme and host may receive the bot token
	tess   *tess.Client
	store  threadstore.Store
	limits fileLimits
	log    *slog.Logger

	// The fields below are changed by tests.
	now         func() time.Time
	idleTimeout time.Duration // see downloadIdleTimeout
}

// newAttacher returns an attacher. apiURL is the Slack Web API URL the client uses.
func newAttacher(api *slack.Client, apiURL string, tc *tess.Client, store threadstore.Store,
	limits fileLimits, logger *slog.Logger) (*attacher, error) {
	u, err := url.Parse(apiURL)
	if err != nil {
		return nil, fmt.Errorf("parse slack api url: %w", err)
	}
	return &attacher{
		slack:  api,
		apiURL: u,
		tess:   tc,
		store:  store,
		limits: limits,
		log:    logger,

		now:         time.Now,
		idleTimeout: downloadIdleTimeout,
	}, nil
}

// fileReport collects what happened to the files of one message.
type fileReport struct {
	ids      []int64
	attached []string // names of the attached files
	problems []string // one sentence per file that was skipped or failed
}

func (r *fileReport) skip(name, reason string) {
	r.problems = append(r.problems, fmt.Sprintf("Skipped %s: %s.", name, reason))
}

func (r *fileReport) fail(name, reason string) {
	r.problems = append(r.problems, fmt.Sprintf("Could not attach %s: %s.", name, reason))
}

// notes returns the sentences shown to the user: the attached files first, then every
// file that was skipped or failed, in message order.
func (r *fileReport) notes() []string {
	var notes []string
	if len(r.attached) > 0 {
		notes = append(notes, "Attached: "+strings.Join(r.attached, ", ")+".")
	}
	return append(notes, r.problems...)
}

// attach brings files to Tess and returns the ids of the Tess files to pass to the
// execution, with notes for the user about every file. A file that cannot be attached
// gets a note and never stops the others. The error is non-nil only when ctx ends.
func (a *attacher) attach(ctx context.Context, thread threadstore.ThreadKey,
	files []slack.File) (fileIDs []int64, notes []string, err error) {
	log := a.log.With("channel", thread.Channel, "thread_ts", thread.ThreadTS)
	files = uniqueFiles(files)
	inUse := make(map[string]bool, len(files))
	for _, f := range files {
		inUse[f.ID] = true
	}

	var report fileReport
	slots := a.limits.MaxCount
	for _, f := range files {
		if err := ctx.Err(); err != nil {
			return nil, nil, err
		}
		f, ok := a.check(ctx, f, &report, log)
		if !ok {
			continue
		}
		if slots == 0 {
			report.skip(fileName(f), fmt.Sprintf("only %d files can be attached to one message", a.limits.MaxCount))
			continue
		}
		slots--
		a.attachOne(ctx, f, inUse, &report, log.With("file_id", f.ID))
	}
	if err := ctx.Err(); err != nil {
		return nil, nil, err
	}
	return report.ids, report.notes(), nil
}

// uniqueFiles drops files whose id came earlier in the list.
func uniqueFiles(files []slack.File) []slack.File {
	seen := make(map[string]bool, len(files))
	out := make([]slack.File, 0, len(files))
	for _, f := range files {
		if f.ID == "" || seen[f.ID] {
			continue
		}
		seen[f.ID] = true
		out = append(out, f)
	}
	return out
}

// check resolves a Slack Connect stub and applies the checks that need no download. It
// returns false, after adding a note to report, when f is not attached.
func (a *attacher) check(ctx context.Context, f slack.File, report *fileReport, log *slog.Logger) (slack.File, bool) {
	if isStub(f) {
		full, _, _, err := a.slack.GetFileInfoContext(ctx, f.ID, 0, 0)
		if err != nil {
			if ctx.Err() == nil {
				log.Warn("slack files.info failed", "file_id", f.ID, "err", err)
				report.fail(fileName(f), "Slack did not return its details")
			}
			return f, false
		}
		f = *full
	}

	name := fileName(f)
	switch {
	case f.Mode == "tombstone":
		report.skip(name, "the file was deleted")
	case f.Mode == "hidden_by_limit":
		report.skip(name, "Slack hides it on this workspace's plan")
	case isExternal(f) || !a.mayReceiveToken(downloadURL(f)):
		log.Info("external file skipped", "file_id", f.ID, "mode", f.Mode)
		report.skip(name, "external files are not downloaded")
	case int64(f.Size) > a.limits.MaxBytes:
		report.skip(name, "larger than the "+formatBytes(a.limits.MaxBytes)+" limit")
	default:
		return f, true
	}
	return f, false
}

// attachOne attaches f: it reuses the Tess file uploaded for it before, or uploads it
// after deleting the oldest files past the cap. The lock on the Slack file makes a turn
// that shares it wait, then reuse the upload.
func (a *attacher) attachOne(ctx context.Context, f slack.File, inUse map[string]bool,
	report *fileReport, log *slog.Logger) {
	unlock := a.lock(ctx, "file:"+f.ID, log)
	defer unlock()

	name := fileName(f)
	if id, ok := a.reuse(ctx, f, log); ok {
		report.ids = append(report.ids, id)
		report.attached = append(report.attached, name)
		return
	}

	a.evict(ctx, a.limits.Cap-1, inUse, log)
	uploaded, err := a.transfer(ctx, f, log)
	if err != nil {
		if ctx.Err() == nil {
			log.Warn("attach file failed", "err", err)
			a.reportError(report, name, err)
		}
		return
	}
	log.Info("file attached", "tess_file_id", uploaded.ID, "bytes", uploaded.Bytes)
	report.ids = append(report.ids, uploaded.ID)
	report.attached = append(report.attached, name)

	record := threadstore.File{SlackID: f.ID, TessID: uploaded.ID, UploadedAt: a.now()}
	if err := a.store.PutFile(ctx, record); err != nil {
		log.Error("store uploaded file failed", "tess_file_id", uploaded.ID, "err", err)
		return
	}
	// Another turn may have uploaded in the meantime, so the cap is checked again.
	a.evict(ctx, a.limits.Cap, inUse, log)
}

// reuse returns the Tess file that f was uploaded as before. It sets the record's
// UploadedAt to now, so that the cap deletes the least recently used files first.
//
// NOTE: a Tess file deleted outside the bot still has its record, and the execution
// that names it fails.
func (a *attacher) reuse(ctx context.Context, f slack.File, log *slog.Logger) (int64, bool) {
	stored, err := a.store.File(ctx, f.ID)
	switch {
	case errors.Is(err, threadstore.ErrNotFound):
		return 0, false
	case err != nil:
		log.Error("read uploaded file failed; uploading again", "err", err)
		return 0, false
	}
	stored.UploadedAt = a.now()
	if err := a.store.PutFile(ctx, stored); err != nil {
		log.Warn("refresh uploaded file failed", "tess_file_id", stored.TessID, "err", err)
	}
	log.Info("file reused", "tess_file_id", stored.TessID)
	return stored.TessID, true
}

// evict deletes the oldest files the bot uploaded, from Tess and from the store, until at
// most keep remain. Files of the current message (inUse) are kept. It stops at the first
// failure, so that a file Tess still holds is never forgotten.
//
// NOTE: turns in other threads that upload at the same time can each make room for one
// file, so the count can pass the cap by their number until the next upload.
func (a *attacher) evict(ctx context.Context, keep int, inUse map[string]bool, log *slog.Logger) {
	unlock := a.lock(ctx, evictLock, log)
	defer unlock()
	files, err := a.store.Files(ctx)
	if err != nil {
		log.Error("list uploaded files failed", "err", err)
		return
	}
	excess := len(files) - keep
	for _, old := range files {
		if excess <= 0 || ctx.Err() != nil {
			return
		}
		if inUse[old.SlackID] {
			continue
		}
		if err := a.tess.DeleteFile(ctx, old.TessID); err != nil {
			log.Warn("delete tess file past the cap failed", "tess_file_id", old.TessID, "err", err)
			return
		}
		if err := a.store.DeleteFile(ctx, old.SlackID); err != nil {
			log.Error("forget deleted tess file failed", "tess_file_id", old.TessID, "err", err)
			return
		}
		log.Info("tess file deleted past the cap",
			"deleted_file_id", old.SlackID,
			"tess_file_id", old.TessID,
			"cap", a.limits.Cap)
		excess--
	}
}

// lock takes the store lock called name. When the store fails, the work goes on without
// it, because the locks only prevent duplicate work.
func (a *attacher) lock(ctx context.Context, name string, log *slog.Logger) (unlock func()) {
	unlock, err := a.store.Lock(ctx, name, fileLockTTL)
	if err != nil {
		if ctx.Err() == nil {
			log.Warn("lock failed; continuing without it", "lock", name, "err", err)
		}
		return func() {}
	}
	return unlock
}

// isStub reports whether f is a Slack Connect stub, which has to be read with files.info.
func isStub(f slack.File) bool {
	return f.FileAccess == "check_file_info" || (downloadURL(f) == "" && !isExternal(f))
}

// isExternal reports whether f is kept on another service, such as Google Drive.
func isExternal(f slack.File) bool {
	return f.Mode == "external" || f.IsExternal
}

// fileName returns the name shown to the user: the file name, its title or its id.
func fileName(f slack.File) string {
	for _, s := range []string{f.Name, f.Title, f.ID} {
		if s = strings.TrimSpace(s); s != "" {
			return s
		}
	}
	return "a file"
}

// formatBytes writes n for a user, in MB of 2^20 bytes from 1 MB up.
func formatBytes(n int64) string {
	const mb, kb = 1 << 20, 1 << 10
	switch {
	case n >= mb && n%mb == 0:
		return fmt.Sprintf("%d MB", n/mb)
	case n >= mb:
		return fmt.Sprintf("%.1f MB", float64(n)/mb)
	case n >= kb:
		return fmt.Sprintf("%d KB", n/kb)
	}
	return fmt.Sprintf("%d bytes", n)
}
