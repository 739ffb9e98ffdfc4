package faketess

import (
	"bytes"
	"io"
	"net/http"
	"strconv"
	"strings"
	"unicode/utf8"
)

// sseWriter writes Server-Sent Events and flushes each one.
type sseWriter struct {
	w         io.Writer
	flusher   http.Flusher
	eol       string
	keepAlive bool
	multiLine bool
	buf       []byte
}

// event writes one event whose data is obj and reports whether the write succeeded.
func (sw *sseWriter) event(obj []byte) bool {
	sw.buf = sw.buf[:0]
	if sw.keepAlive {
		sw.buf = append(sw.buf, ": keep-alive"...)
		sw.buf = append(sw.buf, sw.eol...)
	}
	if i := bytes.IndexByte(obj, ','); sw.multiLine && i >= 0 {
		sw.appendData(obj[:i+1])
		sw.appendData(obj[i+1:])
	} else {
		sw.appendData(obj)
	}
	sw.buf = append(sw.buf, sw.eol...)
	_, err := sw.w.Write(sw.buf)
	sw.flush()
	return err == nil
}

func (sw *sseWriter) appendData(data []byte) {
	sw.buf = append(sw.buf, "data: "...)
	sw.buf = append(sw.buf, data...)
	sw.buf = append(sw.buf, sw.eol...)
}

// line writes one raw line.
func (sw *sseWriter) line(s string) {
	_, _ = io.WriteString(sw.w, s+sw.eol)
}

func (sw *sseWriter) flush() {
	sw.flusher.Flush()
}

// object returns the JSON execution object the real API sends in events and polls.
// Credits and the error text appear only when final.
func (ex *execution) object(status, output string, final bool) []byte {
	b := make([]byte, 0, 200+len(output))
	b = append(b, `{"id":`...)
	b = ex.appendID(b, ex.id)
	b = append(b, `,"status":`...)
	b = appendString(b, status)
	b = append(b, `,"output":`...)
	b = appendString(b, output)

	b = append(b, `,"error":`...)
	if final && isFailure(status) {
		b = appendString(b, ex.script.Error)
	} else {
		b = append(b, "null"...)
	}
	b = append(b, `,"credits":`...)
	if final {
		b = strconv.AppendFloat(b, ex.script.Credits, 'f', -1, 64)
	} else {
		b = append(b, "null"...)
	}

	b = append(b, `,"root_id":`...)
	b = ex.appendID(b, ex.root)
	b = append(b, `,"template_id":`...)
	if n, err := strconv.ParseInt(ex.agentID, 10, 64); err == nil {
		b = strconv.AppendInt(b, n, 10)
	} else {
		b = appendString(b, ex.agentID)
	}
	b = append(b, `,"created_at":"`...)
	b = append(b, ex.created...)
	b = append(b, `","updated_at":"`...)
	b = append(b, ex.created...)
	return append(b, `"}`...)
}

// appendID appends id as a number, or as a string when the script sets StringIDs.
func (ex *execution) appendID(b []byte, id int64) []byte {
	if ex.script.StringIDs {
		b = append(b, '"')
		b = strconv.AppendInt(b, id, 10)
		return append(b, '"')
	}
	return strconv.AppendInt(b, id, 10)
}

// isFailure reports whether status is a failed terminal status, in any letter case.
func isFailure(status string) bool {
	switch strings.ToLower(status) {
	case "failed", "error", "canceled", "cancelled":
		return true
	}
	return false
}

// appendString appends s as a JSON string. Invalid UTF-8 becomes U+FFFD.
func appendString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' && c < utf8.RuneSelf {
			i++
			continue
		}
		if c >= utf8.RuneSelf {
			r, size := utf8.DecodeRuneInString(s[i:])
			if r != utf8.RuneError || size != 1 {
				i += size
				continue
			}
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i++
			start = i
			continue
		}
		b = append(b, s[start:i]...)
		switch c {
		case '"', '\\':
			b = append(b, '\\', c)
		case '\n':
			b = append(b, '\\', 'n')
		case '\r':
			b = append(b, '\\', 'r')
		case '\t':
			b = append(b, '\\', 't')
		default:
			b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
		}
		i++
		start = i
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
