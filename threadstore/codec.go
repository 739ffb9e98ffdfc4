package threadstore

import (
	"cmp"
	"encoding/json"
	"fmt"
	"slices"
	"time"
)

// The record types below fix the stored JSON of both backends, so that renaming a Go
// field does not make existing data unreadable.

type threadRecord struct {
	RootID    int64     `json:"root_id"`
	AgentID   string    `json:"agent_id"`
	UpdatedAt time.Time `json:"updated_at"`
}

type fileRecord struct {
	SlackID    string    `json:"slack_id"`
	TessID     int64     `json:"tess_id"`
	UploadedAt time.Time `json:"uploaded_at"`
}

type pendingRecord struct {
	Channel     string    `json:"channel"`
	ThreadTS    string    `json:"thread_ts"`
	MessageTS   string    `json:"message_ts"`
	ExecutionID int64     `json:"execution_id"`
	StartedAt   time.Time `json:"started_at"`
	PartTS      []string  `json:"part_ts,omitempty"`
}

// threadID returns the key of a thread within the threads bucket or key space.
func threadID(key ThreadKey) string {
	return key.Channel + ":" + key.ThreadTS
}

// pendingID returns the key of a reply in flight.
func pendingID(channel, messageTS string) string {
	return channel + ":" + messageTS
}

func encodeThread(t Thread) ([]byte, error) {
	return json.Marshal(threadRecord{RootID: t.RootID, AgentID: t.AgentID, UpdatedAt: t.UpdatedAt})
}

func decodeThread(data []byte) (Thread, error) {
	var r threadRecord
	if err := json.Unmarshal(data, &r); err != nil {
		return Thread{}, fmt.Errorf("decode thread: %w", err)
	}
	return Thread{RootID: r.RootID, AgentID: r.AgentID, UpdatedAt: r.UpdatedAt}, nil
}

func encodeFile(f File) ([]byte, error) {
	return json.Marshal(fileRecord{SlackID: f.SlackID, TessID: f.TessID, UploadedAt: f.UploadedAt})
}

func decodeFile(data []byte) (File, error) {
	var r fileRecord
	if err := json.Unmarshal(data, &r); err != nil {
		return File{}, fmt.Errorf("decode file: %w", err)
	}
	return File{SlackID: r.SlackID, TessID: r.TessID, UploadedAt: r.UploadedAt}, nil
}

func encodePending(p Pending) ([]byte, error) {
	return json.Marshal(pendingRecord(p))
}

func decodePending(data []byte) (Pending, error) {
	var r pendingRecord
	if err := json.Unmarshal(data, &r); err != nil {
		return Pending{}, fmt.Errorf("decode pending reply: %w", err)
	}
	return Pending(r), nil
}

// sortFiles orders files oldest first, and by Slack id when two share an upload time.
func sortFiles(files []File) {
	slices.SortFunc(files, func(a, b File) int {
		return cmp.Or(a.UploadedAt.Compare(b.UploadedAt), cmp.Compare(a.SlackID, b.SlackID))
	})
}

// sortPending orders replies in flight oldest first.
func sortPending(replies []Pending) {
	slices.SortFunc(replies, func(a, b Pending) int {
		return cmp.Or(
			a.StartedAt.Compare(b.StartedAt),
			cmp.Compare(a.Channel, b.Channel),
			cmp.Compare(a.MessageTS, b.MessageTS),
		)
	})
}
