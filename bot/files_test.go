package bot

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"log/slog"
	"math"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/slack-go/slack"

	"github.com/tessbot/tessbot/internal/fakeslack"
	"github.com/tessbot/tessbot/internal/faketess"
	"github.com/tessbot/tessbot/tess"
	"github.com/tessbot/tessbot/threadstore"
)

var (
	fileThread      = threadstore.ThreadKey{Channel: "C0FILES", ThreadTS: "1700000000.000100"}
	otherFileThread = threadstore.ThreadKey{Channel: "C0OTHER", ThreadTS: "1700000000.000200"}
)

// fileEnv runs an attacher against a fake Slack, a fake Tess and a bbolt store.
type fileEnv struct {
	slack *fakeslack.Server
	tess  *faketess.Server
	store threadstore.Store
	att   *attacher
	logs  *lockedBuffer
}

func newFileEnv(t testing.TB, limits fileLimits, tessOpts ...faketess.Option) *fileEnv {
	t.Helper()
	env := &fileEnv{slack: fakeslack.New(t), tess: faketess.New(t, tessOpts...), logs: &lockedBuffer{}}
	store, err := threadstore.OpenBolt(filepath.Join(t.TempDir(), "files.db"), threadstore.Options{})
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() { _ = store.Close() })
	env.store = store

	api := slack.New(env.slack.BotToken(), slack.OptionAPIURL(env.slack.APIURL()))
	tc := tess.New(tess.Config{
		BaseURL:           env.tess.URL,
		APIKey:            env.tess.APIKey,
		RequestsPerSecond: math.Inf(1),
		PollInterval:      5 * time.Millisecond,
		PollMaxInterval:   20 * time.Millisecond,
		RetryBackoff:      5 * time.Millisecond,
	})
	logger := slog.New(slog.NewTextHandler(env.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	env.att, err = newAttacher(api, env.slack.APIURL(), tc, store, limits, logger)
	if err != nil {
		t.Fatalf("new attacher: %v", err)
	}
	t.Cleanup(func() {
		for _, secret := range []string{env.slack.BotToken(), env.tess.APIKey} {
			if strings.Contains(env.logs.String(), secret) {
				t.Errorf("attacher log contains the secret %q", secret)
			}
		}
		if t.Failed() {
			t.Logf("attacher log:\n%s", env.logs.String())
		}
	})
	return env
}

var defaultLimits = fileLimits{MaxBytes: defaultFileMaxBytes, MaxCount: defaultFileMaxCount, Cap: defaultTessFileCap}

// add registers a hosted file with content and returns it as an event carries it.
func (env *fileEnv) add(t testing.TB, name, mimetype string, content []byte) slack.File {
	t.Helper()
	f := env.slack.AddFile(fakeslack.FileSpec{Name: name, Mimetype: mimetype, User: "U0HUMAN", Content: content})
	return decodeFile(t, f.JSON)
}

func (env *fileEnv) attach(t testing.TB, thread threadstore.ThreadKey, files ...slack.File) ([]int64, []string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	ids, notes, err := env.att.attach(ctx, thread, files)
	if err != nil {
		t.Fatalf("attach: %v", err)
	}
	return ids, notes
}

// uploadOf returns the upload that Tess recorded as file id.
func (env *fileEnv) uploadOf(t *testing.T, id int64) faketess.Upload {
	t.Helper()
	for _, up := range env.tess.Uploads() {
		if up.FileID == id {
			return up
		}
	}
	t.Fatalf("no upload recorded as Tess file %d; uploads: %d", id, len(env.tess.Uploads()))
	return faketess.Upload{}
}

func decodeFile(t testing.TB, raw json.RawMessage) slack.File {
	t.Helper()
	var f slack.File
	if err := json.Unmarshal(raw, &f); err != nil {
		t.Fatalf("decode file: %v", err)
	}
	return f
}

func randomBytes(t testing.TB, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

func assertNotes(t *testing.T, got []string, want ...string) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Errorf("notes = %q, want %q", got, want)
	}
}

type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func TestAttachUploadsExactBytes(t *testing.T) {
	env := newFileEnv(t, defaultLimits)
	pdf := randomBytes(t, 300_000)
	csv := []byte("a,b\n1,2\n")
	files := []slack.File{
		env.add(t, "report.pdf", "application/pdf", pdf),
		env.add(t, "data.csv", "text/csv", csv),
	}

	ids, notes := env.attach(t, fileThread, files...)

	assertNotes(t, notes, "Attached: report.pdf, data.csv.")
	if len(ids) != 2 {
		t.Fatalf("ids = %v, want 2 ids", ids)
	}
	for i, want := range []struct {
		name string
		data []byte
	}{{"report.pdf", pdf}, {"data.csv", csv}} {
		up := env.uploadOf(t, ids[i])
		if !bytes.Equal(up.Data, want.data) {
			t.Errorf("%s: Tess received %d bytes, want the %d bytes of the Slack file", want.name, up.Size, len(want.data))
		}
		if up.Filename != want.name {
			t.Errorf("upload filename = %q, want %q", up.Filename, want.name)
		}
		if up.Process != "true" {
			t.Errorf("%s: process = %q, want true", want.name, up.Process)
		}
		stored, err := env.store.File(context.Background(), files[i].ID)
		if err != nil || stored.TessID != ids[i] {
			t.Errorf("store maps %s to %+v (err %v), want Tess file %d", files[i].ID, stored, err, ids[i])
		}
	}
	for _, f := range files {
		reqs := env.slack.FileRequests(f.ID)
		if len(reqs) != 1 || reqs[0].Authorization != "Bearer "+env.slack.BotToken() {
			t.Errorf("downloads of %s = %+v, want one with the bot token", f.ID, reqs)
		}
	}
}

func TestAttachResolvesConnectStub(t *testing.T) {
	env := newFileEnv(t, defaultLimits)
	content := randomBytes(t, 4096)
	full := env.add(t, "shared.xlsx", "application/vnd.ms-excel", content)
	stub := decodeFile(t, fakeslack.ConnectStub(full.ID))

	ids, notes := env.attach(t, fileThread, stub)

	assertNotes(t, notes, "Attached: shared.xlsx.")
	if got := len(env.slack.Calls("files.info")); got != 1 {
		t.Errorf("files.info calls = %d, want 1", got)
	}
	if len(ids) != 1 {
		t.Fatalf("ids = %v, want 1 id", ids)
	}
	if up := env.uploadOf(t, ids[0]); !bytes.Equal(up.Data, content) {
		t.Errorf("Tess received %d bytes, want the %d bytes of the Slack file", up.Size, len(content))
	}
}

func TestAttachReportsUnknownStub(t *testing.T) {
	env := newFileEnv(t, defaultLimits)
	ids, notes := env.attach(t, fileThread, decodeFile(t, fakeslack.ConnectStub("F0GONE")))
	assertNotes(t, notes, "Could not attach F0GONE: Slack did not return its details.")
	if len(ids) != 0 {
		t.Errorf("ids = %v, want none", ids)
	}
}

func TestAttachNeverFetchesExternalFiles(t *testing.T) {
	env := newFileEnv(t, defaultLimits)
	var requests atomic.Int32
	var authorization atomic.Value
	external := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		authorization.Store(r.Header.Get("Authorization"))
		_, _ = w.Write([]byte("external content"))
	}))
	defer external.Close()

	gdoc := decodeFile(t, env.slack.AddExternalFile("design.gdoc", external.URL+"/d/abc").JSON)
	// A file that claims to be hosted but links elsewhere.
	elsewhere := env.add(t, "notes.txt", "text/plain", []byte("notes"))
	elsewhere.URLPrivate = external.URL + "/files/notes.txt"
	elsewhere.URLPrivateDownload = external.URL + "/files/notes.txt?download=1"
	// The Slack API host over another scheme is not trusted either.
	otherScheme := env.add(t, "plain.txt", "text/plain", []byte("plain"))
	otherScheme.URLPrivateDownload = strings.Replace(otherScheme.URLPrivateDownload, "http://", "https://", 1)
	good := env.add(t, "ok.txt", "text/plain", []byte("ok"))

	ids, notes := env.attach(t, fileThread, gdoc, elsewhere, otherScheme, good)

	assertNotes(t, notes,
		"Attached: ok.txt.",
		"Skipped design.gdoc: external files are not downloaded.",
		"Skipped notes.txt: external files are not downloaded.",
		"Skipped plain.txt: external files are not downloaded.")
	if n := requests.Load(); n != 0 {
		t.Errorf("external host received %d requests (Authorization %q), want none", n, authorization.Load())
	}
	if got := env.slack.FileRequests(otherScheme.ID); len(got) != 0 {
		t.Errorf("https download from the http API host = %+v, want none", got)
	}
	if len(ids) != 1 || len(env.tess.Uploads()) != 1 {
		t.Errorf("ids = %v, uploads = %d; want only ok.txt", ids, len(env.tess.Uploads()))
	}
}

func TestAttachSkipsFileOverSizeLimit(t *testing.T) {
	limits := defaultLimits
	limits.MaxBytes = 1 << 10
	env := newFileEnv(t, limits)
	claimed := env.slack.AddFile(fakeslack.FileSpec{Name: "big.zip", Content: randomBytes(t, 2000)})
	// Size understates the content, so only the streaming limit catches it.
	understated := env.slack.AddFile(fakeslack.FileSpec{Name: "liar.bin", Size: 100, Content: randomBytes(t, 64<<10)})
	atLimit := env.add(t, "exact.bin", "", randomBytes(t, 1<<10))

	ids, notes := env.attach(t, fileThread,
		decodeFile(t, claimed.JSON), decodeFile(t, understated.JSON), atLimit)

	assertNotes(t, notes,
		"Attached: exact.bin.",
		"Skipped big.zip: larger than the 1 KB limit.",
		"Skipped liar.bin: larger than the 1 KB limit.")
	if got := env.slack.FileRequests(claimed.ID); len(got) != 0 {
		t.Errorf("downloads of a file whose size is over the limit = %d, want 0", len(got))
	}
	if len(ids) != 1 || len(env.tess.Uploads()) != 1 || env.tess.StoredFiles() != 1 {
		t.Errorf("ids = %v, uploads = %d, stored = %d; want only exact.bin",
			ids, len(env.tess.Uploads()), env.tess.StoredFiles())
	}
}

func TestAttachSkipsFilesOverCount(t *testing.T) {
	limits := defaultLimits
	limits.MaxCount = 2
	env := newFileEnv(t, limits)
	var files []slack.File
	for _, name := range []string{"a.txt", "b.txt", "c.txt", "d.txt"} {
		files = append(files, env.add(t, name, "text/plain", []byte(name)))
	}
	files = append(files, files[0]) // a file listed twice counts once

	ids, notes := env.attach(t, fileThread, files...)

	assertNotes(t, notes,
		"Attached: a.txt, b.txt.",
		"Skipped c.txt: only 2 files can be attached to one message.",
		"Skipped d.txt: only 2 files can be attached to one message.")
	if len(ids) != 2 || len(env.tess.Uploads()) != 2 {
		t.Errorf("ids = %v, uploads = %d; want 2", ids, len(env.tess.Uploads()))
	}
	if got := env.slack.FileRequests(files[2].ID); len(got) != 0 {
		t.Errorf("downloads of a file over the count = %d, want 0", len(got))
	}
}

func TestAttachReportsProcessingFailure(t *testing.T) {
	env := newFileEnv(t, defaultLimits)
	env.tess.QueueFileStatuses("processing", "failed")
	scan := env.add(t, "scan.pdf", "application/pdf", randomBytes(t, 2048))
	good := env.add(t, "good.txt", "text/plain", []byte("fine"))

	ids, notes := env.attach(t, fileThread, scan, good)

	assertNotes(t, notes, "Attached: good.txt.", "Could not attach scan.pdf: Tess failed to process it.")
	uploads := env.tess.Uploads()
	if len(uploads) != 2 {
		t.Fatalf("uploads = %d, want 2", len(uploads))
	}
	if len(ids) != 1 || ids[0] != uploads[1].FileID {
		t.Errorf("ids = %v, want only good.txt's %d", ids, uploads[1].FileID)
	}
	if deleted := env.tess.Deleted(); !slices.Equal(deleted, []int64{uploads[0].FileID}) {
		t.Errorf("deleted = %v, want the failed file %d", deleted, uploads[0].FileID)
	}
	if _, err := env.store.File(context.Background(), scan.ID); !errors.Is(err, threadstore.ErrNotFound) {
		t.Errorf("store lookup of the failed file: err = %v, want ErrNotFound", err)
	}
}

func TestAttachRejectsSignInPage(t *testing.T) {
	env := newFileEnv(t, defaultLimits)
	denied := env.slack.AddFile(fakeslack.FileSpec{Name: "secret.pdf", Content: []byte("%PDF-1.7"), NoAccess: true})
	page := []byte("\n<!DOCTYPE html><html><body>Sign in</body></html>")
	disguised := env.add(t, "report.pdf", "application/pdf", page)
	html := env.add(t, "page.html", "text/html", page)

	ids, notes := env.attach(t, fileThread, decodeFile(t, denied.JSON), disguised, html)

	const signInReason = ": Slack sent a sign-in page instead of the file, so the bot may lack access to it."
	assertNotes(t, notes, "Attached: page.html.", "Could not attach secret.pdf"+signInReason, "Could not attach report.pdf"+signInReason)
	if len(ids) != 1 || len(env.tess.Uploads()) != 1 {
		t.Errorf("ids = %v, uploads = %d; want only page.html", ids, len(env.tess.Uploads()))
	}
	if env.tess.StoredFiles() != 1 {
		t.Errorf("Tess stores %d files, want 1", env.tess.StoredFiles())
	}
}

func TestAttachAbortsStalledDownload(t *testing.T) {
	env := newFileEnv(t, defaultLimits)
	env.att.idleTimeout = 50 * time.Millisecond
	env.slack.SetLatency(fakeslack.MethodDownload, time.Minute)
	slow := env.add(t, "slow.pdf", "application/pdf", []byte("%PDF-1.7"))

	ids, notes := env.attach(t, fileThread, slow)

	assertNotes(t, notes, "Could not attach slow.pdf: the download from Slack stalled.")
	if len(ids) != 0 || env.tess.StoredFiles() != 0 {
		t.Errorf("ids = %v, Tess stores %d files; want none", ids, env.tess.StoredFiles())
	}
}

func TestAttachReusesUploadedFile(t *testing.T) {
	env := newFileEnv(t, defaultLimits)
	f := env.add(t, "notes.md", "text/markdown", []byte("# notes"))

	first, _ := env.attach(t, fileThread, f)
	again, notes := env.attach(t, fileThread, f)
	elsewhere, _ := env.attach(t, otherFileThread, f)

	assertNotes(t, notes, "Attached: notes.md.")
	if len(first) != 1 || !slices.Equal(again, first) || !slices.Equal(elsewhere, first) {
		t.Errorf("ids = %v, %v, %v; want the same id each time", first, again, elsewhere)
	}
	if n := len(env.tess.Uploads()); n != 1 {
		t.Errorf("uploads = %d, want 1", n)
	}
	if n := len(env.slack.FileRequests(f.ID)); n != 1 {
		t.Errorf("downloads = %d, want 1", n)
	}
}

func TestAttachUploadsSharedFileOnce(t *testing.T) {
	env := newFileEnv(t, defaultLimits)
	env.tess.QueueFileStatuses("processing", "processing", "completed")
	f := env.add(t, "shared.txt", "text/plain", []byte("shared"))

	var wg sync.WaitGroup
	results := make([][]int64, 2)
	for i, thread := range []threadstore.ThreadKey{fileThread, otherFileThread} {
		wg.Go(func() { results[i], _ = env.attach(t, thread, f) })
	}
	wg.Wait()

	if n := len(env.tess.Uploads()); n != 1 {
		t.Errorf("uploads = %d, want 1", n)
	}
	if len(results[0]) != 1 || !slices.Equal(results[0], results[1]) {
		t.Errorf("ids = %v and %v, want the same single id", results[0], results[1])
	}
}

func TestAttachDeletesOldestPastCap(t *testing.T) {
	limits := defaultLimits
	limits.Cap = 3
	// Tess rejects uploads beyond the cap, so the bot must make room before uploading.
	env := newFileEnv(t, limits, faketess.WithMaxFiles(3))
	var files []slack.File
	var ids []int64
	for _, name := range []string{"1.txt", "2.txt", "3.txt", "4.txt", "5.txt"} {
		f := env.add(t, name, "text/plain", []byte(name))
		got, notes := env.attach(t, fileThread, f)
		assertNotes(t, notes, "Attached: "+name+".")
		files = append(files, f)
		ids = append(ids, got...)
	}

	if len(ids) != 5 {
		t.Fatalf("ids = %v, want 5", ids)
	}
	if deleted := env.tess.Deleted(); !slices.Equal(deleted, ids[:2]) {
		t.Errorf("deleted = %v, want the two oldest %v", deleted, ids[:2])
	}
	if n := env.tess.StoredFiles(); n != 3 {
		t.Errorf("Tess stores %d files, want 3", n)
	}
	tracked, err := env.store.Files(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var trackedIDs []string
	for _, f := range tracked {
		trackedIDs = append(trackedIDs, f.SlackID)
	}
	want := []string{files[2].ID, files[3].ID, files[4].ID}
	if !slices.Equal(trackedIDs, want) {
		t.Errorf("store tracks %v, want %v", trackedIDs, want)
	}
}

func TestAttachKeepsFilesInUseAtCap(t *testing.T) {
	limits := defaultLimits
	limits.Cap = 2
	env := newFileEnv(t, limits, faketess.WithMaxFiles(2))
	a := env.add(t, "a.txt", "text/plain", []byte("a"))
	b := env.add(t, "b.txt", "text/plain", []byte("b"))
	c := env.add(t, "c.txt", "text/plain", []byte("c"))
	idsA, _ := env.attach(t, fileThread, a)
	idsB, _ := env.attach(t, fileThread, b)

	// a is the oldest, but this message uses it again after c, so b makes room for c.
	ids, notes := env.attach(t, fileThread, c, a)

	assertNotes(t, notes, "Attached: c.txt, a.txt.")
	if len(ids) != 2 || ids[1] != idsA[0] {
		t.Errorf("ids = %v, want a.txt's %d second", ids, idsA[0])
	}
	if deleted := env.tess.Deleted(); !slices.Equal(deleted, idsB) {
		t.Errorf("deleted = %v, want b.txt's %v", deleted, idsB)
	}
}

func TestAttachReturnsContextError(t *testing.T) {
	env := newFileEnv(t, defaultLimits)
	f := env.add(t, "late.txt", "text/plain", []byte("late"))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()

	ids, notes, err := env.att.attach(ctx, fileThread, []slack.File{f})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want context.Canceled", err)
	}
	if ids != nil || notes != nil {
		t.Errorf("ids = %v, notes = %q; want none", ids, notes)
	}
}

func TestAttachSkipsDeletedAndHiddenFiles(t *testing.T) {
	env := newFileEnv(t, defaultLimits)
	tombstone := slack.File{ID: "F0DEAD", Name: "old.txt", Mode: "tombstone", URLPrivate: env.slack.URL() + "/x"}
	hidden := slack.File{ID: "F0HIDE", Name: "hidden.txt", Mode: "hidden_by_limit", URLPrivate: env.slack.URL() + "/y"}

	_, notes := env.attach(t, fileThread, tombstone, hidden)

	assertNotes(t, notes,
		"Skipped old.txt: the file was deleted.",
		"Skipped hidden.txt: Slack hides it on this workspace's plan.")
}

func TestAttachStreamsLargeFile(t *testing.T) {
	const size = 32 << 20
	env := newFileEnv(t, defaultLimits, faketess.WithUploadCapture(0))
	content := randomBytes(t, size)
	f := env.add(t, "large.bin", "", content)

	var stats runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&stats)
	before := stats.TotalAlloc
	ids, notes := env.attach(t, fileThread, f)
	runtime.ReadMemStats(&stats)
	allocated := stats.TotalAlloc - before

	assertNotes(t, notes, "Attached: large.bin.")
	if len(ids) != 1 || env.uploadOf(t, ids[0]).SHA256 != sha256.Sum256(content) {
		t.Errorf("ids = %v; want one upload with the file's SHA-256", ids)
	}
	// The fakes allocate in this process too; a buffered copy would allocate the whole
	// file at least once.
	if allocated > size/4 {
		t.Errorf("attaching a %s file allocated %s, want under a quarter of the file",
			formatBytes(size), formatBytes(int64(allocated)))
	}
}

// BenchmarkAttachStreaming reports the heap bytes allocated per byte of file while a file
// moves from the fake Slack to the fake Tess. The fakes run in the same process, so their
// allocations count too. A flat figure across sizes means memory does not grow with the file.
func BenchmarkAttachStreaming(b *testing.B) {
	for _, size := range []int{1 << 20, 16 << 20} {
		b.Run(formatBytes(int64(size)), func(b *testing.B) {
			limits := defaultLimits
			limits.Cap = 2
			env := newFileEnv(b, limits, faketess.WithUploadCapture(0))
			content := randomBytes(b, size)
			var stats runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&stats)
			before := stats.TotalAlloc
			b.SetBytes(int64(size))
			b.ResetTimer()
			for b.Loop() {
				f := env.add(b, "big.bin", "", content)
				if ids, notes := env.attach(b, fileThread, f); len(ids) != 1 {
					b.Fatalf("notes = %q", notes)
				}
			}
			b.StopTimer()
			runtime.ReadMemStats(&stats)
			b.ReportMetric(float64(stats.TotalAlloc-before)/float64(b.N)/float64(size), "alloc-bytes/file-byte")
		})
	}
}
