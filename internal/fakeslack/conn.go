package fakeslack

import (
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

// conn is one Socket Mode connection. Only writeLoop writes data frames, which serialises
// them. Other goroutines queue frames with enqueue, which never blocks. closeWithFrame
// writes a control frame, which gorilla/websocket allows next to other writes.
type conn struct {
	id       int
	ws       *websocket.Conn
	draining bool // set once a disconnect was sent, guarded by Server.mu

	wake chan struct{} // signals writeLoop that the queue has frames
	done chan struct{} // closed by shutdown

	mu     sync.Mutex
	queue  [][]byte
	closed bool
	stop   sync.Once
}

func newConn(ws *websocket.Conn) *conn {
	return &conn{ws: ws, wake: make(chan struct{}, 1), done: make(chan struct{})}
}

// enqueue adds a frame for writeLoop and reports false when the connection is closed.
func (c *conn) enqueue(frame []byte) bool {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return false
	}
	c.queue = append(c.queue, frame)
	c.mu.Unlock()
	select {
	case c.wake <- struct{}{}:
	default:
	}
	return true
}

func (c *conn) take() [][]byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	frames := c.queue
	c.queue = nil
	return frames
}

func (c *conn) isClosed() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.closed
}

// active reports whether envelopes may go to c. The caller holds Server.mu.
func (c *conn) active() bool { return !c.draining && !c.isClosed() }

// writeLoop writes queued frames in order and a WebSocket ping every interval, until the
// connection ends or a write fails.
func (c *conn) writeLoop(interval time.Duration) {
	ticker := time.NewTicker(interval)
	defer ticker.Stop()
	for {
		select {
		case <-c.done:
			return
		case <-ticker.C:
			deadline := time.Now().Add(defaultSocketWriteWindow)
			if err := c.ws.WriteControl(websocket.PingMessage, []byte("fakeslack"), deadline); err != nil {
				c.shutdown()
				return
			}
		case <-c.wake:
			for _, frame := range c.take() {
				_ = c.ws.SetWriteDeadline(time.Now().Add(defaultSocketWriteWindow))
				if err := c.ws.WriteMessage(websocket.TextMessage, frame); err != nil {
					c.shutdown()
					return
				}
			}
		}
	}
}

// shutdown closes the network connection without a close frame. Queued frames are dropped.
func (c *conn) shutdown() {
	c.stop.Do(func() {
		c.mu.Lock()
		c.closed = true
		c.queue = nil
		c.mu.Unlock()
		close(c.done)
		_ = c.ws.Close()
	})
}

// closeWithFrame sends a going-away close frame, then closes the connection.
func (c *conn) closeWithFrame() {
	msg := websocket.FormatCloseMessage(websocket.CloseGoingAway, "server closing")
	_ = c.ws.WriteControl(websocket.CloseMessage, msg, time.Now().Add(time.Second))
	c.shutdown()
}
