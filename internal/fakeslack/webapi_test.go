package fakeslack

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/slack-go/slack"
)

func slackErrorCode(t *testing.T, err error) string {
	t.Helper()
	var resp slack.SlackErrorResponse
	if !errors.As(err, &resp) {
		t.Fatalf("error %v (%T) is not a slack.SlackErrorResponse", err, err)
	}
	return resp.Err
}

func TestAuthTestIdentity(t *testing.T) {
	fake := New(t, WithIdentity("T1", "U1", "B1", "A1"))
	resp, err := newClient(fake).AuthTest()
	if err != nil {
		t.Fatal(err)
	}
	if resp.TeamID != "T1" || resp.UserID != "U1" || resp.BotID != "B1" {
		t.Errorf("auth.test = team %q user %q bot %q, want T1 U1 B1", resp.TeamID, resp.UserID, resp.BotID)
	}
}

func TestTokenChecks(t *testing.T) {
	fake := New(t)
	tests := []struct {
		name     string
		client   *slack.Client
		call     func(*slack.Client) error
		wantCode string
	}{
		{"wrong bot token", slack.New("xoxb-wrong", slack.OptionAPIURL(fake.APIURL())),
			func(c *slack.Client) error { _, err := c.AuthTest(); return err }, "invalid_auth"},
		{"app token on bot method", slack.New(fake.AppToken(), slack.OptionAPIURL(fake.APIURL())),
			func(c *slack.Client) error {
				_, _, err := c.PostMessage("C1", slack.MsgOptionText("x", false))
				return err
			},
			"invalid_auth"},
		{"bot token on connections open",
			slack.New(fake.BotToken(), slack.OptionAppLevelToken(fake.BotToken()), slack.OptionAPIURL(fake.APIURL())),
			func(c *slack.Client) error { _, _, err := c.StartSocketModeContext(context.Background()); return err }, "invalid_auth"},
		{"missing token", slack.New("", slack.OptionAPIURL(fake.APIURL())),
			func(c *slack.Client) error { _, err := c.AuthTest(); return err }, "not_authed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.call(tt.client)
			if got := slackErrorCode(t, err); got != tt.wantCode {
				t.Errorf("error code = %q, want %q", got, tt.wantCode)
			}
		})
	}
	if got := fake.Count("chat.postMessage").Errors; got != 1 {
		t.Errorf("chat.postMessage errors = %d, want 1", got)
	}
}

func TestPostMessageStores(t *testing.T) {
	fake := New(t)
	api := newClient(fake)
	channel, ts, err := api.PostMessage("C1", slack.MsgOptionText("hello", false), slack.MsgOptionTS("1700000000.000100"))
	if err != nil {
		t.Fatal(err)
	}
	if channel != "C1" {
		t.Errorf("channel = %q, want C1", channel)
	}
	m, ok := fake.Message("C1", ts)
	if !ok {
		t.Fatalf("message %s not stored", ts)
	}
	if m.Text != "hello" || m.ThreadTS != "1700000000.000100" {
		t.Errorf("stored text %q thread_ts %q", m.Text, m.ThreadTS)
	}
	if m.User != fake.BotUserID() || m.BotID != fake.BotID() {
		t.Errorf("stored user %q bot_id %q, want the bot's", m.User, m.BotID)
	}
	calls := fake.Calls("chat.postMessage")
	if len(calls) != 1 || calls[0].Form.Has("token") {
		t.Errorf("calls = %+v, want one without token", calls)
	}
}

func TestPostMessageTimestampsIncrease(t *testing.T) {
	fake := New(t)
	api := newClient(fake)
	seen := map[string]bool{}
	last := ""
	for range 20 {
		_, ts, err := api.PostMessage("C1", slack.MsgOptionText("x", false))
		if err != nil {
			t.Fatal(err)
		}
		if seen[ts] {
			t.Fatalf("ts %s issued twice", ts)
		}
		if last != "" && compareTS(last, ts) >= 0 {
			t.Fatalf("ts %s not after %s", ts, last)
		}
		seen[ts], last = true, ts
	}
	if got := len(fake.Messages("C1")); got != 20 {
		t.Errorf("stored %d messages, want 20", got)
	}
}

func TestUpdateMessageVersions(t *testing.T) {
	fake := New(t)
	api := newClient(fake)
	_, ts, err := api.PostMessage("C1", slack.MsgOptionText("v1", false))
	if err != nil {
		t.Fatal(err)
	}
	for _, text := range []string{"v2", "v3"} {
		if _, _, gotText, err := api.UpdateMessage("C1", ts, slack.MsgOptionText(text, false)); err != nil || gotText != text {
			t.Fatalf("update to %q: text %q err %v", text, gotText, err)
		}
	}
	m, _ := fake.Message("C1", ts)
	if m.Text != "v3" || m.VisibleText() != "v3" {
		t.Errorf("text = %q visible %q, want v3", m.Text, m.VisibleText())
	}
	if m.Edits() != 2 || m.Versions[0].Text != "v1" || m.Versions[1].Text != "v2" {
		t.Errorf("versions = %+v", m.Versions)
	}
}

func TestUpdateMessageErrors(t *testing.T) {
	fake := New(t, WithUpdateTextLimit(10))
	api := newClient(fake)
	_, ts, err := api.PostMessage("C1", slack.MsgOptionText("hi", false))
	if err != nil {
		t.Fatal(err)
	}
	human := fake.Seed(Msg{Channel: "C1", User: "U1", Text: "mine"})
	tests := []struct {
		name    string
		ts      string
		options []slack.MsgOption
		want    string
	}{
		{"unknown ts", "1.000001", []slack.MsgOption{slack.MsgOptionText("x", false)}, "message_not_found"},
		{"text over limit", ts, []slack.MsgOption{slack.MsgOptionText("ééééééééééé", false)}, "msg_too_long"},
		{"message of a user", human, []slack.MsgOption{slack.MsgOptionText("x", false)}, "cant_update_message"},
		{"markdown with text", ts, []slack.MsgOption{slack.MsgOptionText("x", false), slack.MsgOptionMarkdownText("y")},
			"markdown_text_conflict"},
		{"no content", ts, []slack.MsgOption{slack.MsgOptionText("", false)}, "no_text"},
		{"too many blocks", ts, []slack.MsgOption{slack.MsgOptionBlocks(manyBlocks(51)...)}, "invalid_blocks"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, _, err := api.UpdateMessage("C1", tt.ts, tt.options...)
			if got := slackErrorCode(t, err); got != tt.want {
				t.Errorf("error = %q, want %q", got, tt.want)
			}
		})
	}
	if _, _, _, err := api.UpdateMessage("C1", ts, slack.MsgOptionText("ten runes!", false)); err != nil {
		t.Errorf("text at the limit: %v", err)
	}
}

func manyBlocks(n int) []slack.Block {
	blocks := make([]slack.Block, n)
	for i := range blocks {
		blocks[i] = slack.NewDividerBlock()
	}
	return blocks
}

func TestMarkdownTextVisible(t *testing.T) {
	fake := New(t)
	api := newClient(fake)
	_, ts, err := api.PostMessage("C1", slack.MsgOptionMarkdownText("**bold**"))
	if err != nil {
		t.Fatal(err)
	}
	block := slack.NewSectionBlock(slack.NewTextBlockObject("mrkdwn", "*section*", false, false), nil, nil)
	if _, _, _, err := api.UpdateMessage("C1", ts, slack.MsgOptionBlocks(block)); err != nil {
		t.Fatal(err)
	}
	m, _ := fake.Message("C1", ts)
	if m.Versions[0].MarkdownText != "**bold**" {
		t.Errorf("first version markdown_text = %q", m.Versions[0].MarkdownText)
	}
	if m.MarkdownText != "" || m.VisibleText() != "*section*" {
		t.Errorf("after blocks update markdown %q visible %q", m.MarkdownText, m.VisibleText())
	}
}

func TestDeleteAndEphemeral(t *testing.T) {
	fake := New(t)
	api := newClient(fake)
	_, ts, _ := api.PostMessage("C1", slack.MsgOptionText("bye", false))
	if _, _, err := api.DeleteMessage("C1", ts); err != nil {
		t.Fatal(err)
	}
	if got := len(fake.Messages("C1")); got != 0 {
		t.Errorf("visible messages after delete = %d, want 0", got)
	}
	if m, ok := fake.Message("C1", ts); !ok || !m.Deleted {
		t.Errorf("deleted message = %+v, %v", m, ok)
	}
	if _, _, err := api.DeleteMessage("C1", ts); slackErrorCode(t, err) != "message_not_found" {
		t.Errorf("second delete: %v", err)
	}
	if _, err := api.PostEphemeral("C1", "U1", slack.MsgOptionText("only you", false)); err != nil {
		t.Fatal(err)
	}
	eph := fake.Ephemerals("C1")
	if len(eph) != 1 || eph[0].User != "U1" || eph[0].Text != "only you" {
		t.Errorf("ephemerals = %+v", eph)
	}
}

func TestSetStatusRecorded(t *testing.T) {
	fake := New(t)
	err := newClient(fake).SetAssistantThreadsStatusContext(context.Background(), slack.AssistantThreadsSetStatusParameters{
		ChannelID: "C1", ThreadTS: "1.000001", Status: "is thinking…",
	})
	if err != nil {
		t.Fatal(err)
	}
	got := fake.Statuses("C1", "1.000001")
	if len(got) != 1 || got[0].Status != "is thinking…" {
		t.Errorf("statuses = %+v", got)
	}
}

func TestJSONBodyWithBearer(t *testing.T) {
	fake := New(t)
	body := `{"channel":"C9","text":"from json","unfurl_links":false,"blocks":null}`
	req, _ := http.NewRequest(http.MethodPost, fake.APIURL()+"chat.postMessage", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	req.Header.Set("Authorization", "Bearer "+fake.BotToken())
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	data, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(data), `"ok":true`) {
		t.Fatalf("answer %s", data)
	}
	msgs := fake.Messages("C9")
	if len(msgs) != 1 || msgs[0].Text != "from json" {
		t.Errorf("messages = %+v", msgs)
	}
	if got := fake.Calls("chat.postMessage")[0].Form.Get("unfurl_links"); got != "false" {
		t.Errorf("unfurl_links recorded as %q, want false", got)
	}
}

func TestUnknownMethodRecorded(t *testing.T) {
	fake := New(t)
	_, _, err := newClient(fake).StartStreamContext(context.Background(), "C1", slack.MsgOptionMarkdownText("x"))
	var status slack.StatusCodeError
	if !errors.As(err, &status) || status.Code != http.StatusNotFound {
		t.Errorf("error = %v, want status 404", err)
	}
	if got := fake.UnknownMethods(); len(got) != 1 || got[0] != "chat.startStream" {
		t.Errorf("unknown methods = %v", got)
	}
	if got := fake.Count("chat.startStream"); got.Calls != 1 || got.Errors != 1 {
		t.Errorf("counter of an unserved method = %+v, want 1 call, 1 error", got)
	}
	if got := fake.Calls("chat.startStream"); got != nil {
		t.Errorf("calls of an unserved method = %v, want none", got)
	}
}
