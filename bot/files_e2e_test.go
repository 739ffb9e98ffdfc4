package bot_test

import (
	"bytes"
	"crypto/rand"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync/atomic"
	"testing"

	"github.com/tessbot/tessbot/internal/fakeslack"
)

// noFilesText is the reply to a message with only files when none could be attached.
const noFilesText = "_I could not read the attached files, so I did not answer. " +
	"Share them again, or write your question as text._"

// addFile registers a file in the fake Slack with random content and returns both.
func (h *harness) addFile(name, mimetype string, size int) (fakeslack.File, []byte) {
	h.t.Helper()
	content := make([]byte, size)
	if _, err := rand.Read(content); err != nil {
		h.t.Fatal(err)
	}
	f := h.slack.AddFile(fakeslack.FileSpec{Name: name, Mimetype: mimetype, User: humanID, Content: content})
	return f, content
}

// externalHost starts a server on 127.0.0.1 that counts the requests it receives.
func externalHost(t *testing.T) (*httptest.Server, *atomic.Int32) {
	t.Helper()
	var requests atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		_, _ = w.Write([]byte("external content"))
	}))
	t.Cleanup(srv.Close)
	return srv, &requests
}

func TestMentionWithFileReachesTess(t *testing.T) {
	h := newHarness(t)
	h.start()
	f, content := h.addFile("report.pdf", "application/pdf", 200_000)

	ts := h.slack.NewTS()
	h.send(h.slack.Mention(channelID, humanID, "<@"+h.slack.BotUserID()+"> summarize", ts, "", f.JSON))
	h.waitReplyText(channelID, ts, 0, rendered("summarize")[0]+"\n\n_Attached: report.pdf._")

	uploads := h.tess.Uploads()
	if len(uploads) != 1 {
		t.Fatalf("uploads = %d, want 1", len(uploads))
	}
	if !bytes.Equal(uploads[0].Data, content) {
		t.Errorf("Tess received %d bytes, want the %d bytes of the Slack file", uploads[0].Size, len(content))
	}
	execs := h.waitExecutes(1)
	if want := []int64{uploads[0].FileID}; !slices.Equal(execs[0].FileIDs, want) {
		t.Errorf("execute file_ids = %v, want %v", execs[0].FileIDs, want)
	}
	downloads := h.slack.FileRequests(f.ID)
	if len(downloads) != 1 || downloads[0].Authorization != "Bearer "+h.slack.BotToken() {
		t.Errorf("downloads = %+v, want one with the bot token", downloads)
	}

	// The same file in a later mention of the thread is not uploaded again.
	h.send(h.slack.Mention(channelID, humanID, "<@"+h.slack.BotUserID()+"> and page 2?", h.slack.NewTS(), ts, f.JSON))
	h.waitReplyText(channelID, ts, 1, rendered("and page 2?")[0]+"\n\n_Attached: report.pdf._")
	execs = h.waitExecutes(2)
	if want := []int64{uploads[0].FileID}; !slices.Equal(execs[1].FileIDs, want) {
		t.Errorf("second execute file_ids = %v, want %v", execs[1].FileIDs, want)
	}
	if n := len(h.tess.Uploads()); n != 1 {
		t.Errorf("uploads after reuse = %d, want 1", n)
	}
}

func TestConnectStubFileReachesTess(t *testing.T) {
	h := newHarness(t)
	h.start()
	f, content := h.addFile("shared.csv", "text/csv", 3000)

	ts := h.slack.NewTS()
	h.send(h.slack.Mention(channelID, humanID, "<@"+h.slack.BotUserID()+"> totals?", ts, "",
		fakeslack.ConnectStub(f.ID)))
	h.waitReplyText(channelID, ts, 0, rendered("totals?")[0]+"\n\n_Attached: shared.csv._")

	if n := h.slack.Count("files.info").Calls; n != 1 {
		t.Errorf("files.info calls = %d, want 1", n)
	}
	uploads := h.tess.Uploads()
	if len(uploads) != 1 {
		t.Fatalf("uploads = %d, want 1", len(uploads))
	}
	if !bytes.Equal(uploads[0].Data, content) {
		t.Errorf("Tess received %d bytes, want the %d bytes of the Slack file", uploads[0].Size, len(content))
	}
}

func TestFileShareDirectMessageWithoutText(t *testing.T) {
	h := newHarness(t)
	h.start()
	f, content := h.addFile("chart.png", "image/png", 5000)

	ts := h.slack.NewTS()
	h.send(h.slack.DM(dmChannelID, humanID, "", ts, "", f.JSON))
	h.waitReplyText(dmChannelID, ts, 0, rendered("See the attached files.")[0]+"\n\n_Attached: chart.png._")

	execs := h.waitExecutes(1)
	if got := lastUserMessage(execs[0]); got != "See the attached files." {
		t.Errorf("message sent to Tess = %q, want the default file prompt", got)
	}
	uploads := h.tess.Uploads()
	if len(uploads) != 1 {
		t.Fatalf("uploads = %d, want 1", len(uploads))
	}
	if !bytes.Equal(uploads[0].Data, content) {
		t.Errorf("Tess received %d bytes, want the %d bytes of the Slack file", uploads[0].Size, len(content))
	}
	if want := []int64{uploads[0].FileID}; !slices.Equal(execs[0].FileIDs, want) {
		t.Errorf("execute file_ids = %v, want %v", execs[0].FileIDs, want)
	}
}

func TestFileShareThreadReplyWithoutText(t *testing.T) {
	h := newHarness(t)
	h.start()
	root := h.mention("let me send you a file", "")
	h.waitReplyText(channelID, root, 0, rendered("let me send you a file")[0])
	f, _ := h.addFile("notes.txt", "text/plain", 100)

	h.send(h.slack.ChannelMessage(channelID, humanID, "", h.slack.NewTS(), root, f.JSON))
	h.waitReplyText(channelID, root, 1, rendered("See the attached files.")[0]+"\n\n_Attached: notes.txt._")

	execs := h.waitExecutes(2)
	if len(execs[1].FileIDs) != 1 {
		t.Errorf("execute file_ids = %v, want one file", execs[1].FileIDs)
	}
}

func TestExternalFileNoteVisible(t *testing.T) {
	h := newHarness(t)
	h.start()
	ext, requests := externalHost(t)
	gdoc := h.slack.AddExternalFile("design.gdoc", ext.URL+"/d/abc")

	ts := h.slack.NewTS()
	h.send(h.slack.Mention(channelID, humanID, "<@"+h.slack.BotUserID()+"> review this", ts, "", gdoc.JSON))
	h.waitReplyText(channelID, ts, 0,
		rendered("review this")[0]+"\n\n_Skipped design.gdoc: external files are not downloaded._")

	// An external file in the thread does not break the turns after it.
	h.mention("unrelated question", ts)
	h.waitReplyText(channelID, ts, 1, rendered("unrelated question")[0])

	if n := requests.Load(); n != 0 {
		t.Errorf("external host received %d requests, want none", n)
	}
	for i, rec := range h.waitExecutes(2) {
		if len(rec.FileIDs) != 0 {
			t.Errorf("execute %d file_ids = %v, want none", i, rec.FileIDs)
		}
	}
	if n := len(h.tess.Uploads()); n != 0 {
		t.Errorf("uploads = %d, want none", n)
	}
}

func TestFilesOnlyAllSkippedShowsNote(t *testing.T) {
	h := newHarness(t)
	h.env["FILE_MAX_BYTES"] = "1024"
	h.start()
	big, _ := h.addFile("big.zip", "application/zip", 4096)

	ts := h.slack.NewTS()
	h.send(h.slack.DM(dmChannelID, humanID, "", ts, "", big.JSON))
	h.waitReplyText(dmChannelID, ts, 0, "_Skipped big.zip: larger than the 1 KB limit._\n\n"+noFilesText)

	if n := len(h.tess.Executes()); n != 0 {
		t.Errorf("executions = %d, want none", n)
	}
	if n := len(h.slack.FileRequests(big.ID)); n != 0 {
		t.Errorf("downloads = %d, want none for a file over the limit", n)
	}
}
