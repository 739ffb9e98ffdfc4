package fakeslack

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/slack-go/slack"
)

// seedThread stores a root and n replies from users and returns the root ts.
func seedThread(fake *Server, channel string, n int) string {
	root := fake.Seed(Msg{Channel: channel, User: "U1", Text: "root"})
	for i := range n {
		fake.Seed(Msg{Channel: channel, User: "U2", Text: fmt.Sprintf("reply %d", i), ThreadTS: root})
	}
	return root
}

func readThread(t *testing.T, api *slack.Client, channel, ts string, limit int) ([]slack.Message, int) {
	t.Helper()
	var all []slack.Message
	cursor, pages := "", 0
	for {
		msgs, hasMore, next, err := api.GetConversationReplies(&slack.GetConversationRepliesParameters{
			ChannelID: channel, Timestamp: ts, Limit: limit, Cursor: cursor,
		})
		if err != nil {
			t.Fatal(err)
		}
		all, pages = append(all, msgs...), pages+1
		if !hasMore {
			return all, pages
		}
		if next == "" {
			t.Fatal("has_more without next_cursor")
		}
		cursor = next
	}
}

func TestRepliesPagesThroughThread(t *testing.T) {
	fake := New(t)
	api := newClient(fake)
	root := seedThread(fake, "C1", 4)
	if _, _, err := api.PostMessage("C1", slack.MsgOptionText("bot answer", false), slack.MsgOptionTS(root)); err != nil {
		t.Fatal(err)
	}
	fake.Seed(Msg{Channel: "C1", User: "U1", Text: "other thread"})

	msgs, pages := readThread(t, api, "C1", root, 2)
	if len(msgs) != 6 || pages != 3 {
		t.Fatalf("read %d messages in %d pages, want 6 in 3", len(msgs), pages)
	}
	if msgs[0].Text != "root" || msgs[0].ReplyCount != 5 {
		t.Errorf("first message %q reply_count %d, want root with 5", msgs[0].Text, msgs[0].ReplyCount)
	}
	last := msgs[5]
	if last.Text != "bot answer" || last.BotID != fake.BotID() || last.User != fake.BotUserID() {
		t.Errorf("last message = %q bot_id %q user %q", last.Text, last.BotID, last.User)
	}
	for i := 1; i < len(msgs); i++ {
		if compareTS(msgs[i-1].Timestamp, msgs[i].Timestamp) >= 0 {
			t.Errorf("messages %d and %d out of order", i-1, i)
		}
	}
	if got := len(fake.Thread("C1", root)); got != 6 {
		t.Errorf("Thread returned %d messages, want 6", got)
	}
	if got := fake.BotMessages("C1"); len(got) != 1 || got[0].Text != "bot answer" {
		t.Errorf("BotMessages = %+v, want the one bot answer", got)
	}
}

func TestRepliesLimitCapsPages(t *testing.T) {
	fake := New(t, WithRepliesLimit(15))
	root := seedThread(fake, "C1", 39)
	_, pages := readThread(t, newClient(fake), "C1", root, 100)
	if pages != 3 {
		t.Errorf("pages = %d, want 3 for 40 messages at 15 a page", pages)
	}
}

func TestRepliesErrors(t *testing.T) {
	fake := New(t)
	api := newClient(fake)
	root := seedThread(fake, "C1", 1)
	tests := []struct {
		name   string
		params slack.GetConversationRepliesParameters
		want   string
	}{
		{"unknown channel", slack.GetConversationRepliesParameters{ChannelID: "C404", Timestamp: root}, "channel_not_found"},
		{"unknown thread", slack.GetConversationRepliesParameters{ChannelID: "C1", Timestamp: "1.000001"}, "thread_not_found"},
		{"bad cursor", slack.GetConversationRepliesParameters{ChannelID: "C1", Timestamp: root, Cursor: "%%"}, "invalid_cursor"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, _, err := api.GetConversationReplies(&tt.params)
			if got := slackErrorCode(t, err); got != tt.want {
				t.Errorf("error = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestRepliesRateLimited(t *testing.T) {
	fake := New(t)
	root := seedThread(fake, "C1", 1)
	fake.FailNext("conversations.replies", 1, Fault{Status: 429, RetryAfter: 60 * time.Second})
	_, _, _, err := newClient(fake).GetConversationReplies(&slack.GetConversationRepliesParameters{ChannelID: "C1", Timestamp: root})
	var rl *slack.RateLimitedError
	if !errors.As(err, &rl) || rl.RetryAfter != time.Minute {
		t.Errorf("error = %v, want RateLimitedError of 1m", err)
	}
}

func TestRepliesFromReplyTS(t *testing.T) {
	fake := New(t)
	root := fake.Seed(Msg{Channel: "C1", User: "U1", Text: "root"})
	reply := fake.Seed(Msg{Channel: "C1", User: "U2", Text: "child", ThreadTS: root})
	msgs, _ := readThread(t, newClient(fake), "C1", reply, 0)
	if len(msgs) != 2 || msgs[0].Timestamp != root {
		t.Errorf("thread from reply ts = %d messages, first %q", len(msgs), msgs[0].Timestamp)
	}
}

func TestRepliesOldestInclusive(t *testing.T) {
	fake := New(t)
	root := fake.Seed(Msg{Channel: "C1", User: "U1", Text: "root"})
	second := fake.Seed(Msg{Channel: "C1", User: "U2", Text: "a", ThreadTS: root})
	fake.Seed(Msg{Channel: "C1", User: "U2", Text: "b", ThreadTS: root})
	tests := []struct {
		name      string
		inclusive bool
		want      int
	}{
		{"exclusive", false, 1},
		{"inclusive", true, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			msgs, _, _, err := newClient(fake).GetConversationReplies(&slack.GetConversationRepliesParameters{
				ChannelID: "C1", Timestamp: root, Oldest: second, Inclusive: tt.inclusive})
			if err != nil {
				t.Fatal(err)
			}
			if len(msgs) != tt.want {
				t.Errorf("got %d messages, want %d", len(msgs), tt.want)
			}
		})
	}
}

func TestSeedOutOfOrder(t *testing.T) {
	fake := New(t)
	fake.Seed(Msg{Channel: "C1", User: "U1", Text: "later", TS: "1700000002.000000"})
	fake.Seed(Msg{Channel: "C1", User: "U1", Text: "earlier", TS: "1700000001.5"})
	msgs := fake.Messages("C1")
	if len(msgs) != 2 || msgs[0].Text != "earlier" {
		t.Errorf("messages = %+v, want earlier first", msgs)
	}
	future := "9000000000.000001"
	fake.Seed(Msg{Channel: "C2", User: "U1", Text: "from the future", TS: future})
	if compareTS(fake.NewTS(), future) <= 0 {
		t.Error("NewTS is not after the latest stored ts")
	}
}
