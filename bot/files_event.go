package bot

import (
	"context"
	"encoding/json"
	"errors"
	"strings"

	"github.com/slack-go/slack"

	"github.com/tessbot/tessbot/metrics"
)

// defaultFilePrompt is the message sent to the agent for files shared without text.
const defaultFilePrompt = "See the attached files."

// eventFile is the part of a file object in an event that the attacher reads. Decoding
// only these fields keeps a field of an unexpected type elsewhere from losing the file.
type eventFile struct {
	ID                 string `json:"id"`
	Name               string `json:"name"`
	Title              string `json:"title"`
	Mimetype           string `json:"mimetype"`
	Filetype           string `json:"filetype"`
	Mode               string `json:"mode"`
	IsExternal         bool   `json:"is_external"`
	Size               int    `json:"size"`
	URLPrivate         string `json:"url_private"`
	URLPrivateDownload string `json:"url_private_download"`
	FileAccess         string `json:"file_access"`
}

// decodeFiles reads the files array of a message event. An entry that does not decode
// but has an id becomes a stub, which the attacher reads with files.info. Entries
// without an id are dropped.
func decodeFiles(raw []json.RawMessage) []slack.File {
	files := make([]slack.File, 0, len(raw))
	for _, r := range raw {
		var f eventFile
		if err := json.Unmarshal(r, &f); err != nil {
			var idOnly struct {
				ID string `json:"id"`
			}
			_ = json.Unmarshal(r, &idOnly)
			f = eventFile{ID: idOnly.ID, FileAccess: "check_file_info"}
		}
		if f.ID == "" {
			continue
		}
		files = append(files, slack.File{
			ID:                 f.ID,
			Name:               f.Name,
			Title:              f.Title,
			Mimetype:           f.Mimetype,
			Filetype:           f.Filetype,
			Mode:               f.Mode,
			IsExternal:         f.IsExternal,
			Size:               f.Size,
			URLPrivate:         f.URLPrivate,
			URLPrivateDownload: f.URLPrivateDownload,
			FileAccess:         f.FileAccess,
		})
	}
	return files
}

// fileNotesText returns the attacher's notes as one mrkdwn line, or "" when there are
// none. File names are escaped, so that a name cannot mention anyone or form a link.
func fileNotesText(notes []string) string {
	if len(notes) == 0 {
		return ""
	}
	return "_" + escapeMrkdwn(strings.Join(notes, " ")) + "_"
}

// attachFiles brings the message's files to Tess for the turn and returns the prompt to
// send: prompt, or defaultFilePrompt for files shared without text. When there is
// nothing to send, it finishes the reply with a note and returns false.
func (t *turn) attachFiles(prompt string, files []slack.File) (string, bool) {
	if len(files) > 0 && t.b.files != nil {
		t.reply.Set(t.keepCount([]string{readingFilesText}))
		ids, notes, err := t.b.files.attach(t.ctx, t.key, files)
		if err != nil {
			t.stopAttaching(err)
			return "", false
		}
		t.fileIDs, t.fileNote = ids, fileNotesText(notes)
	}

	switch {
	case prompt != "":
		return prompt, true
	case len(t.fileIDs) > 0:
		return defaultFilePrompt, true
	}
	note := noFilesNote
	if t.fileNote != "" {
		note = t.fileNote + "\n\n" + noFilesNote
	}
	t.finishWithNote(note)
	return "", false
}

// stopAttaching ends a turn whose files were still being attached when its context
// ended: at shutdown, or when the requester pressed Stop.
func (t *turn) stopAttaching(err error) {
	t.log.Warn("attaching files stopped", "err", err)
	if errors.Is(context.Cause(t.ctx), errStoppedByUser) {
		t.finishWithNote(stoppedNote)
		t.outcome = metrics.Stopped
		return
	}
	t.finishWithNote(shutdownNote)
	t.outcome = metrics.Failed
}
