package tess

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

const secretKey = "tess-secret-key-5f2c9a"

// echoServer is a TCP server on 127.0.0.1 that writes each request back as the response,
// as a misconfigured port or a debugging proxy might. It returns the base URL.
func echoServer(t *testing.T, respond func(conn net.Conn, request string)) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer conn.Close()
				_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
				var req strings.Builder
				r := bufio.NewReader(conn)
				for {
					line, err := r.ReadString('\n')
					req.WriteString(line)
					if err != nil || line == "\r\n" {
						break
					}
				}
				respond(conn, req.String())
			}()
		}
	}()
	return "http://" + ln.Addr().String()
}

// checkNoSecret fails when err, its user message or logs contain the key.
func checkNoSecret(t *testing.T, name string, err error, logs *logBuffer) {
	t.Helper()
	if err == nil {
		t.Errorf("%s: err = nil, want an error", name)
		return
	}
	if strings.Contains(err.Error(), secretKey) || strings.Contains(UserMessage(err), secretKey) {
		t.Errorf("%s: error contains the key: %v", name, err)
	}
	if strings.Contains(logs.String(), secretKey) {
		t.Errorf("%s: logs contain the key:\n%s", name, logs)
	}
}

// checkCallsHideKey calls Execute, Agent and Wait on c and checks that each one fails
// without the key in its error or in logs.
func checkCallsHideKey(t *testing.T, c *Client, logs *logBuffer) {
	t.Helper()
	ctx := testContext(t)
	_, err := c.Execute(ctx, ExecuteRequest{AgentID: "7", Message: "hi"}, nil)
	checkNoSecret(t, "execute", err, logs)
	_, err = c.Agent(ctx, "7")
	checkNoSecret(t, "agent", err, logs)
	_, err = c.Wait(ctx, 9, nil)
	checkNoSecret(t, "wait", err, logs)
}

func TestKeyNeverInTransportErrors(t *testing.T) {
	tests := []struct {
		name    string
		respond func(conn net.Conn, request string)
	}{
		{"request echoed as the response", func(conn net.Conn, req string) {
			_, _ = io.WriteString(conn, req)
		}},
		{"request echoed in the status line", func(conn net.Conn, req string) {
			_, _ = io.WriteString(conn, "HTTP/1.1 "+strings.ReplaceAll(req, "\r\n", " ")+"\r\n\r\n")
		}},
		{"request echoed in a header", func(conn net.Conn, req string) {
			_, _ = io.WriteString(conn, "HTTP/1.1 200 OK\r\nContent-Length: x"+
				strings.ReplaceAll(req, "\r\n", " ")+"\r\n\r\n")
		}},
		{"request echoed in a chunk size", func(conn net.Conn, req string) {
			_, _ = io.WriteString(conn, "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"+
				"Transfer-Encoding: chunked\r\n\r\n"+strings.ReplaceAll(req, "\r\n", " ")+"\r\n")
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			logs := &logBuffer{}
			cfg := fastConfig(echoServer(t, tt.respond), secretKey, logs)
			cfg.PollDeadline = 200 * time.Millisecond
			checkCallsHideKey(t, New(cfg), logs)
		})
	}
}

func TestKeyNeverInDecodeErrors(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		k := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
		if strings.HasSuffix(r.URL.Path, "/execute") {
			w.Header().Set("Content-Type", "text/event-stream")
			fmt.Fprintf(w, "data: {\"id\":%q,\"status\":\"running\",\"output\":\"a\"}\n\n", k)
			fmt.Fprintf(w, "data: {\"id\":9,\"credits\":%q,\"status\":\"running\",\"output\":\"b\"}\n\n", k)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"id":%q,"status":"running","output":"x","credits":%q}`, k, k)
	}))
	t.Cleanup(srv.Close)
	logs := &logBuffer{}
	cfg := fastConfig(srv.URL, secretKey, logs)
	cfg.PollDeadline = time.Second
	checkCallsHideKey(t, New(cfg), logs)
}

func TestKeyNeverInHeaderErrors(t *testing.T) {
	logs := &logBuffer{}
	key := secretKey + "\r\nX-Injected: 1"
	cfg := fastConfig("http://127.0.0.1:1", key, logs)
	_, err := New(cfg).Agent(testContext(t), "7")
	checkNoSecret(t, "agent", err, logs)
}

// TestKeyNeverCutInHalf covers an error body whose key straddles the length at which the
// message is shortened, so that shortening first would keep a part of the key.
func TestKeyNeverCutInHalf(t *testing.T) {
	for _, pad := range []int{185, 190, 199} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			k := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
			w.Header().Set("Content-Type", "text/plain")
			w.WriteHeader(http.StatusForbidden)
			fmt.Fprint(w, strings.Repeat("x", pad)+k+" was rejected")
		}))
		logs := &logBuffer{}
		_, err := New(fastConfig(srv.URL, secretKey, logs)).Agent(testContext(t), "7")
		srv.Close()
		if err == nil {
			t.Fatalf("pad %d: err = nil, want a 403", pad)
		}
		if part := secretKey[:8]; strings.Contains(err.Error(), part) {
			t.Errorf("pad %d: error contains the start of the key: %v", pad, err)
		}
	}
}
