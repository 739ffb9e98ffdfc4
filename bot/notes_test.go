package bot

import (
	"strings"
	"testing"

	"github.com/tessbot/tessbot/mrkdwn"
	"github.com/tessbot/tessbot/threadstore"
)

func TestWithNoteMeasuresLikeMrkdwn(t *testing.T) {
	const limit = 100
	// 48 emoji are 48 runes but 96 UTF-16 code units, the unit mrkdwn measures parts in.
	parts := []string{strings.Repeat("😀", 48)}

	got := withNote(parts, "_note_", limit)

	for i, part := range got {
		if n := mrkdwn.Length(part); n > limit {
			t.Errorf("part %d has length %d, over the limit %d", i, n, limit)
		}
	}
	if len(got) != 2 {
		t.Errorf("withNote = %q, want the note as a new part", got)
	}
}

func TestThreadQueuesForgetIdleThreads(t *testing.T) {
	ran := make(chan string, 100)
	q := newThreadQueues(func(m message) { ran <- m.TS })
	for i := range 100 {
		key := threadstore.ThreadKey{Channel: "C1", ThreadTS: strings.Repeat("1", i+1)}
		q.push(key, message{TS: key.ThreadTS})
	}
	q.wait()

	if n := len(ran); n != 100 {
		t.Errorf("turns run = %d, want 100", n)
	}
	if n := q.active(); n != 0 {
		t.Errorf("threads still tracked after every turn ended = %d, want 0", n)
	}
}
