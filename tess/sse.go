package tess

import (
	"bytes"
	"errors"
	"io"
)

const (
	// sseReadSize is the first size of the read buffer; it grows for longer lines. Tess
	// events are a few hundred bytes, and every reply in flight holds one buffer, so it
	// starts small.
	sseReadSize = 4 << 10
	// maxEventBytes bounds one line and the data of one event, so that a broken stream
	// cannot take all memory.
	maxEventBytes = 16 << 20
)

var errEventTooLarge = errors.New("tess: server-sent event larger than 16 MiB")

// sseReader splits a text/event-stream body into the data of its events, following the
// parsing rules of the WHATWG HTML standard. Lines end in LF, CR or CRLF, even when split
// across reads. A line that starts with a colon is a comment. The values of "data" lines
// are joined with LF, and an empty line ends an event. The event, id and retry fields and
// unknown fields are ignored, and a leading UTF-8 BOM is skipped.
// At a clean end of stream, a last line without its line ending and the data of an event
// without its closing empty line are still delivered, so that a server that omits the
// final blank line loses nothing.
type sseReader struct {
	r          io.Reader
	buf        []byte
	start, end int    // unread bytes are buf[start:end]
	data       []byte // data of the event being read, each line followed by LF
	pending    bool   // a data line was seen since the last event
	skipLF     bool   // the last line ended in CR, so a following LF belongs to it
	bomChecked bool
	err        error // read error, io.EOF at the end; returned once buf is drained
	emptyReads int

	// scanned counts the bytes at buf[start:] that contain no line ending, so that a
	// line arriving in many reads is scanned once.
	scanned int
}

func newSSEReader(r io.Reader) *sseReader {
	return &sseReader{r: r, buf: make([]byte, sseReadSize)}
}

// Next returns the data of the next event that has any. The slice is valid until the
// following call. At the end it returns io.EOF, or the error that stopped reading.
func (s *sseReader) Next() ([]byte, error) {
	for {
		line, err := s.line()
		switch {
		case err != nil && (err != io.EOF || !s.pending):
			s.data, s.pending = s.data[:0], false
			return nil, err
		case err != nil || len(line) == 0:
			// An empty line, or a clean end of stream, ends the event.
			if !s.pending {
				continue
			}
			if data := s.dispatch(); len(data) > 0 {
				return data, nil
			}
		default:
			if err := s.field(line); err != nil {
				s.err, s.start, s.end, s.scanned = err, 0, 0, 0
				s.data, s.pending = s.data[:0], false
				return nil, err
			}
		}
	}
}

// dispatch ends the current event and returns its data without the final LF.
func (s *sseReader) dispatch() []byte {
	data := s.data[:len(s.data)-1]
	s.data = s.data[:0]
	s.pending = false
	return data
}

// field handles one non-empty line.
func (s *sseReader) field(line []byte) error {
	if line[0] == ':' {
		return nil
	}
	name, value := line, line[len(line):]
	if i := bytes.IndexByte(line, ':'); i >= 0 {
		name, value = line[:i], line[i+1:]
		if len(value) > 0 && value[0] == ' ' {
			value = value[1:]
		}
	}
	if string(name) != "data" {
		return nil
	}
	if len(s.data)+len(value)+1 > maxEventBytes {
		return errEventTooLarge
	}
	s.data = append(s.data, value...)
	s.data = append(s.data, '\n')
	s.pending = true
	return nil
}

// line returns the next line without its line ending. The slice is valid until the
// following call.
func (s *sseReader) line() ([]byte, error) {
	for {
		if !s.bomChecked && (s.end-s.start >= 3 || s.err != nil) {
			if bytes.HasPrefix(s.buf[s.start:s.end], []byte("\xef\xbb\xbf")) {
				s.start += 3
			}
			s.bomChecked = true
		}
		if s.skipLF && s.start < s.end {
			if s.buf[s.start] == '\n' {
				s.start++
			}
			s.skipLF = false
		}
		b := s.buf[s.start:s.end]
		if s.bomChecked {
			if i := lineEnd(b[s.scanned:]); i >= 0 {
				i += s.scanned
				s.skipLF = b[i] == '\r'
				s.start += i + 1
				s.scanned = 0
				return b[:i], nil
			}
			s.scanned = len(b)
		}
		if s.err != nil {
			s.start, s.scanned = s.end, 0
			if s.err == io.EOF && len(b) > 0 {
				return b, nil
			}
			return nil, s.err
		}
		s.fill()
	}
}

// lineEnd returns the index of the first CR or LF in b, or -1.
func lineEnd(b []byte) int {
	lf := bytes.IndexByte(b, '\n')
	head := b
	if lf >= 0 {
		head = b[:lf]
	}
	if cr := bytes.IndexByte(head, '\r'); cr >= 0 {
		return cr
	}
	return lf
}

// fill reads more bytes, first moving the unread ones to the front of buf or growing it.
func (s *sseReader) fill() {
	if s.start > 0 {
		n := copy(s.buf, s.buf[s.start:s.end])
		s.start, s.end = 0, n
	}
	if s.end == len(s.buf) {
		if len(s.buf) >= maxEventBytes {
			s.err = errEventTooLarge
			return
		}
		bigger := make([]byte, min(2*len(s.buf), maxEventBytes))
		copy(bigger, s.buf[:s.end])
		s.buf = bigger
	}
	n, err := s.r.Read(s.buf[s.end:])
	s.end += n
	switch {
	case err != nil:
		s.err = err
	case n == 0:
		s.emptyReads++
		if s.emptyReads > 100 {
			s.err = io.ErrNoProgress
		}
	default:
		s.emptyReads = 0
	}
}
