package fakeslack

import (
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/slack-go/slack"
)

// benchClient is a slack-go client whose transport keeps enough idle connections for
// hundreds of concurrent callers, as a bot under load would configure it.
func benchClient(fake *Server) *slack.Client {
	transport := http.DefaultTransport.(*http.Transport).Clone()
	transport.MaxIdleConnsPerHost = 1024
	return slack.New(fake.BotToken(), slack.OptionAPIURL(fake.APIURL()),
		slack.OptionHTTPClient(&http.Client{Transport: transport}))
}

// BenchmarkChatUpdateParallel runs 250 goroutines per CPU, each posting one message and
// then editing it, through slack-go. The limited case gives chat.update a bucket so that
// most calls take the 429 path.
func BenchmarkChatUpdateParallel(b *testing.B) {
	cases := []struct {
		name string
		opts []Option
	}{
		{"unlimited", []Option{WithoutCallLog()}},
		{"limited", []Option{WithoutCallLog(), WithRateLimit("chat.update", 50, 5)}},
	}
	for _, bc := range cases {
		b.Run(bc.name, func(b *testing.B) {
			fake := New(b, bc.opts...)
			api := benchClient(fake)
			var rejected atomic.Int64
			b.SetParallelism(250)
			b.ResetTimer()
			start := time.Now()
			b.RunParallel(func(pb *testing.PB) {
				_, ts, err := api.PostMessage("C1", slack.MsgOptionText("placeholder", false))
				if err != nil {
					b.Error(err)
					return
				}
				for pb.Next() {
					if _, _, _, err := api.UpdateMessage("C1", ts, slack.MsgOptionText("partial answer text", false)); err != nil {
						rejected.Add(1)
					}
				}
			})
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "calls/s")
			b.ReportMetric(float64(rejected.Load())/float64(b.N), "rejected/op")
		})
	}
}

// BenchmarkSendEnvelope measures envelopes written to one Socket Mode connection and read
// by a plain WebSocket client.
func BenchmarkSendEnvelope(b *testing.B) {
	fake := New(b)
	_, wsURL, err := slack.New(fake.BotToken(), slack.OptionAppLevelToken(fake.AppToken()),
		slack.OptionAPIURL(fake.APIURL())).StartSocketModeContext(b.Context())
	if err != nil {
		b.Fatal(err)
	}
	ws, _, err := websocket.DefaultDialer.Dial(wsURL, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer ws.Close()

	var read atomic.Int64
	go func() {
		for {
			if _, _, err := ws.ReadMessage(); err != nil {
				return
			}
			read.Add(1)
		}
	}()

	env := fake.DM("D1", "U1", "hello", "", "")
	sent := int64(1) // the hello
	for b.Loop() {
		env.EnvelopeID = ""
		fake.Send(env)
		sent++
	}

	// Poll with a deadline: the reader goroutine offers no channel to wait on per frame.
	deadline := time.Now().Add(waitTimeout)
	for read.Load() < sent {
		if time.Now().After(deadline) {
			b.Fatalf("read %d of %d frames", read.Load(), sent)
		}
		time.Sleep(time.Millisecond)
	}
}
