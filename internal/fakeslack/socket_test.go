package fakeslack

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/slack-go/slack"
	"github.com/slack-go/slack/slackevents"
	"github.com/slack-go/slack/socketmode"
)

func TestSocketModeHelloAndMention(t *testing.T) {
	fake := New(t)
	bot := startBot(t, fake, true)
	hello := bot.next(t, socketmode.EventTypeHello)
	if hello.Request.NumConnections != 1 || hello.Request.ConnectionInfo.AppID != fake.AppID() {
		t.Errorf("hello = %+v", hello.Request)
	}

	file := fake.AddFile(FileSpec{Name: "a.txt", Content: []byte("a")})
	env := fake.Mention("C1", "U1", "<@"+fake.BotUserID()+"> hi", "", "1700000000.000100", file.JSON)
	id := fake.Send(env)
	evt := bot.next(t, socketmode.EventTypeEventsAPI)
	if evt.Request.EnvelopeID != id {
		t.Errorf("envelope id = %q, want %q", evt.Request.EnvelopeID, id)
	}
	outer := evt.Data.(slackevents.EventsAPIEvent)
	cb := outer.Data.(*slackevents.EventsAPICallbackEvent)
	if cb.EventID != env.EventID || outer.TeamID != fake.TeamID() || cb.APIAppID != fake.AppID() {
		t.Errorf("callback event_id %q team %q app %q", cb.EventID, outer.TeamID, cb.APIAppID)
	}
	mention, ok := outer.InnerEvent.Data.(*slackevents.AppMentionEvent)
	if !ok {
		t.Fatalf("inner event %T, want *AppMentionEvent", outer.InnerEvent.Data)
	}
	if mention.User != "U1" || mention.Channel != "C1" || mention.ThreadTimeStamp != "1700000000.000100" {
		t.Errorf("mention = %+v", mention)
	}
	if len(mention.Files) != 1 || mention.Files[0].URLPrivateDownload != file.URLPrivateDownload {
		t.Errorf("mention files = %+v", mention.Files)
	}
	ack := fake.WaitAck(t, id, waitTimeout)
	if ack.Conn != fake.ConnectionIDs()[0] || ack.Payload != nil {
		t.Errorf("ack = %+v", ack)
	}
	if _, ok := fake.Message("C1", mention.TimeStamp); !ok {
		t.Error("the mention was not stored for the thread history")
	}
}

func TestSocketModeMessageEvents(t *testing.T) {
	fake := New(t)
	bot := startBot(t, fake, true)
	file := fake.AddFile(FileSpec{Name: "p.png", Content: []byte("p")})
	tests := []struct {
		name  string
		env   Envelope
		check func(*testing.T, *slackevents.MessageEvent)
	}{
		{"dm", fake.DM("D1", "U1", "hi", "", ""), func(t *testing.T, m *slackevents.MessageEvent) {
			if !m.IsIM() || m.User != "U1" || m.Text != "hi" || m.SubType != "" {
				t.Errorf("dm = %+v", m)
			}
		}},
		{"file share", fake.ChannelMessage("C1", "U1", "", "", "", file.JSON), func(t *testing.T, m *slackevents.MessageEvent) {
			if !m.IsChannel() || m.SubType != "file_share" || len(m.Message.Files) != 1 {
				t.Errorf("file share = %+v", m)
			}
		}},
		{"bot message", fake.BotMessage("C1", "B9", "otherbot", "beep", "", ""), func(t *testing.T, m *slackevents.MessageEvent) {
			if m.SubType != "bot_message" || m.BotID != "B9" || m.User != "" {
				t.Errorf("bot message = %+v", m)
			}
		}},
		{"changed by bot", fake.MessageChanged("C1",
			Msg{User: fake.BotUserID(), BotID: fake.BotID(), Text: "new", TS: "1700000000.000200"},
			Msg{User: fake.BotUserID(), BotID: fake.BotID(), Text: "old", TS: "1700000000.000200"}),
			func(t *testing.T, m *slackevents.MessageEvent) {
				if m.SubType != "message_changed" || m.Message.BotID != fake.BotID() || m.PreviousMessage.Text != "old" {
					t.Errorf("changed = %+v message %+v", m, m.Message)
				}
			}},
		{"deleted", fake.MessageDeleted("C1", "1700000000.000300", Msg{User: "U1", Text: "gone"}),
			func(t *testing.T, m *slackevents.MessageEvent) {
				if m.SubType != "message_deleted" || m.DeletedTimeStamp != "1700000000.000300" {
					t.Errorf("deleted = %+v", m)
				}
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake.Send(tt.env)
			evt := bot.next(t, socketmode.EventTypeEventsAPI)
			msg, ok := evt.Data.(slackevents.EventsAPIEvent).InnerEvent.Data.(*slackevents.MessageEvent)
			if !ok {
				t.Fatalf("inner event %T, want *MessageEvent", evt.Data.(slackevents.EventsAPIEvent).InnerEvent.Data)
			}
			tt.check(t, msg)
		})
	}
}

func TestRedeliverKeepsEventID(t *testing.T) {
	fake := New(t)
	bot := startBot(t, fake, false)
	env := fake.DM("D1", "U1", "hi", "", "")
	first := fake.Send(env)
	second := fake.Redeliver(env, 1)
	if first == second {
		t.Fatal("redelivery reused the envelope id")
	}
	var got []*socketmode.Request
	for range 2 {
		got = append(got, bot.next(t, socketmode.EventTypeEventsAPI).Request)
	}
	if got[1].RetryAttempt != 1 || got[1].RetryReason == "" || got[0].RetryAttempt != 0 {
		t.Errorf("retry fields = %d %q then %d %q", got[0].RetryAttempt, got[0].RetryReason,
			got[1].RetryAttempt, got[1].RetryReason)
	}
	if eventID(t, got[0].Payload) != eventID(t, got[1].Payload) {
		t.Error("redelivery changed the event_id")
	}
	if len(fake.Acks()) != 0 {
		t.Errorf("acks = %v from a bot that does not ack", fake.Acks())
	}
}

func eventID(t *testing.T, payload json.RawMessage) string {
	t.Helper()
	var p struct {
		EventID string `json:"event_id"`
	}
	if err := json.Unmarshal(payload, &p); err != nil || p.EventID == "" {
		t.Fatalf("payload without event_id: %s", payload)
	}
	return p.EventID
}

func TestEchoOfBotWrites(t *testing.T) {
	fake := New(t, WithEcho())
	bot := startBot(t, fake, true)
	fake.WaitConnections(t, 1, waitTimeout)
	_, ts, err := bot.api.PostMessage("C1", slack.MsgOptionText("answer", false), slack.MsgOptionTS("1700000000.000100"))
	if err != nil {
		t.Fatal(err)
	}
	posted := nextMessage(t, bot)
	if posted.User != fake.BotUserID() || posted.BotID != fake.BotID() || posted.TimeStamp != ts || posted.Text != "answer" {
		t.Errorf("echo of post = %+v", posted)
	}
	if _, _, _, err := bot.api.UpdateMessage("C1", ts, slack.MsgOptionText("answer, edited", false)); err != nil {
		t.Fatal(err)
	}
	changed := nextMessage(t, bot)
	if changed.SubType != "message_changed" || changed.Message.BotID != fake.BotID() ||
		changed.Message.Text != "answer, edited" || changed.PreviousMessage.Text != "answer" {
		t.Errorf("echo of update = %+v message %+v", changed, changed.Message)
	}
	if _, _, err := bot.api.DeleteMessage("C1", ts); err != nil {
		t.Fatal(err)
	}
	if deleted := nextMessage(t, bot); deleted.SubType != "message_deleted" || deleted.DeletedTimeStamp != ts {
		t.Errorf("echo of delete = %+v", deleted)
	}
}

func nextMessage(t *testing.T, bot *testBot) *slackevents.MessageEvent {
	t.Helper()
	evt := bot.next(t, socketmode.EventTypeEventsAPI)
	msg, ok := evt.Data.(slackevents.EventsAPIEvent).InnerEvent.Data.(*slackevents.MessageEvent)
	if !ok {
		t.Fatalf("inner event %T, want *MessageEvent", evt.Data.(slackevents.EventsAPIEvent).InnerEvent.Data)
	}
	return msg
}

func TestDisconnectReconnects(t *testing.T) {
	fake := New(t)
	startBot(t, fake, true)
	fake.WaitConnections(t, 1, waitTimeout)
	first := fake.ConnectionIDs()[0]
	fake.Disconnect("refresh_requested")
	fake.WaitFor(t, func(s *Server) bool {
		ids := s.ConnectionIDs()
		return s.Count("apps.connections.open").Calls == 2 && len(ids) == 1 && ids[0] != first
	}, waitTimeout)

	id := fake.Send(fake.DM("D1", "U1", "after reconnect", "", ""))
	fake.WaitAck(t, id, waitTimeout)
	if d := fake.Deliveries(); d[len(d)-1].Conn == first {
		t.Error("an envelope went to the disconnected connection")
	}
}

func TestDropConnectionReconnects(t *testing.T) {
	fake := New(t)
	startBot(t, fake, true)
	fake.WaitConnections(t, 1, waitTimeout)
	if err := fake.DropConnection(fake.ConnectionIDs()[0]); err != nil {
		t.Fatal(err)
	}
	fake.WaitFor(t, func(s *Server) bool {
		return s.Count("apps.connections.open").Calls == 2 && s.ConnectionCount() == 1
	}, waitTimeout)
}

func TestEnvelopesSplitAcrossReplicas(t *testing.T) {
	fake := New(t)
	startBot(t, fake, true)
	startBot(t, fake, true)
	fake.WaitConnections(t, 2, waitTimeout)

	ids := map[string]bool{}
	for i := range 10 {
		ids[fake.Send(fake.ChannelMessage("C1", "U1", strings.Repeat("x", i+1), "", ""))] = true
	}
	fake.WaitFor(t, func(s *Server) bool { return len(s.Acks()) >= 10 }, waitTimeout)

	perConn := map[int]int{}
	for _, d := range fake.Deliveries() {
		perConn[d.Conn]++
	}
	if len(perConn) != 2 || perConn[1] != 5 || perConn[2] != 5 {
		t.Errorf("deliveries per connection = %v, want 5 and 5", perConn)
	}
	acked := map[string]int{}
	for _, a := range fake.Acks() {
		acked[a.EnvelopeID]++
	}
	for id := range ids {
		if acked[id] != 1 {
			t.Errorf("envelope %s acked %d times, want once", id, acked[id])
		}
	}
}

func TestSendToChosenConnection(t *testing.T) {
	fake := New(t)
	startBot(t, fake, true)
	startBot(t, fake, true)
	fake.WaitConnections(t, 2, waitTimeout)
	target := fake.ConnectionIDs()[1]
	id, err := fake.SendTo(target, fake.DM("D1", "U1", "for you", "", ""))
	if err != nil {
		t.Fatal(err)
	}
	if ack := fake.WaitAck(t, id, waitTimeout); ack.Conn != target {
		t.Errorf("ack on connection %d, want %d", ack.Conn, target)
	}
	if _, err := fake.SendTo(99, fake.DM("D1", "U1", "x", "", "")); err == nil {
		t.Error("SendTo an unknown connection succeeded")
	}
}

func TestPendingUntilConnect(t *testing.T) {
	fake := New(t)
	id := fake.Send(fake.DM("D1", "U1", "early", "", ""))
	if fake.PendingCount() != 1 {
		t.Fatalf("pending = %d, want 1", fake.PendingCount())
	}
	startBot(t, fake, true)
	fake.WaitAck(t, id, waitTimeout)
	if fake.PendingCount() != 0 {
		t.Errorf("pending after connect = %d", fake.PendingCount())
	}
}

func TestBlockActionInteractive(t *testing.T) {
	fake := New(t)
	bot := startBot(t, fake, true)
	_, ts, err := bot.api.PostMessage("C1", slack.MsgOptionText("streaming…", false), slack.MsgOptionTS("1700000000.000100"))
	if err != nil {
		t.Fatal(err)
	}
	id := fake.Send(fake.BlockAction("U1", "stop", "reply-7", "C1", ts))
	evt := bot.next(t, socketmode.EventTypeInteractive)
	cb := evt.Data.(slack.InteractionCallback)
	if cb.Type != slack.InteractionTypeBlockActions || cb.User.ID != "U1" || cb.Channel.ID != "C1" {
		t.Errorf("callback type %q user %q channel %q", cb.Type, cb.User.ID, cb.Channel.ID)
	}
	if len(cb.ActionCallback.BlockActions) != 1 {
		t.Fatalf("block actions = %+v", cb.ActionCallback)
	}
	action := cb.ActionCallback.BlockActions[0]
	if action.ActionID != "stop" || action.Value != "reply-7" {
		t.Errorf("action = %q %q", action.ActionID, action.Value)
	}
	if cb.Message.Timestamp != ts || cb.Container.MessageTs != ts || cb.Container.ThreadTs != "1700000000.000100" {
		t.Errorf("message ts %q container %+v", cb.Message.Timestamp, cb.Container)
	}
	fake.WaitAck(t, id, waitTimeout)
}

func TestServerSendsPings(t *testing.T) {
	fake := New(t, WithPingInterval(20*time.Millisecond))
	ws, _ := dialSocket(t, fake)
	pings := make(chan struct{}, 10)
	ws.SetPingHandler(func(string) error {
		select {
		case pings <- struct{}{}:
		default:
		}
		return nil
	})
	go func() {
		for {
			if _, _, err := ws.ReadMessage(); err != nil {
				return
			}
		}
	}()
	for i := range 2 {
		select {
		case <-pings:
		case <-time.After(waitTimeout):
			t.Fatalf("ping %d not received within %v", i+1, waitTimeout)
		}
	}
}

func TestTicketSingleUse(t *testing.T) {
	fake := New(t)
	_, wsURL := dialSocket(t, fake)
	if _, _, err := websocket.DefaultDialer.Dial(wsURL, nil); err == nil {
		t.Error("a used ticket was accepted again")
	}
}

func TestBadFrameCounted(t *testing.T) {
	fake := New(t)
	ws, _ := dialSocket(t, fake)
	_ = ws.WriteMessage(websocket.TextMessage, []byte(`{"payload":{}}`))
	_ = ws.WriteMessage(websocket.TextMessage, []byte(`{"envelope_id":"e1","payload":{"text":"ok"}}`))
	fake.WaitFor(t, func(s *Server) bool { return len(s.Acks()) == 1 }, waitTimeout)
	if fake.BadFrames() != 1 {
		t.Errorf("bad frames = %d, want 1", fake.BadFrames())
	}
	if ack, _ := fake.AckFor("e1"); string(ack.Payload) != `{"text":"ok"}` {
		t.Errorf("ack payload = %s", ack.Payload)
	}
}
