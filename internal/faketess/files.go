package faketess

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"time"
)

// Upload is one accepted POST /files.
type Upload struct {
	FileID        int64
	Filename      string // exactly as sent in the part's Content-Disposition
	ContentType   string // of the file part
	Process       string // value of the process field; "" when absent
	Size          int64
	SHA256        [32]byte
	Data          []byte // the bytes, unless Size is over the capture limit
	ContentLength int64  // of the request; -1 when it was chunked
	Header        http.Header
}

// storedFile is a file the server holds.
type storedFile struct {
	id       int64
	name     string
	size     int64
	process  bool
	statuses []string
	gets     int
	created  string
}

// QueueFileStatuses sets the statuses GET /files/{id} returns in turn for the next upload,
// repeating the last one. Without it, the first GET returns "completed". An upload sent
// without process=true stays "waiting", as the real API does not process it.
func (s *Server) QueueFileStatuses(statuses ...string) {
	s.mu.Lock()
	s.fileScripts = append(s.fileScripts, statuses)
	s.mu.Unlock()
}

// Uploads returns every accepted upload, in order.
func (s *Server) Uploads() []Upload {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Upload(nil), s.uploads...)
}

// Deleted returns the ids of the files deleted, in order.
func (s *Server) Deleted() []int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]int64(nil), s.deleted...)
}

// StoredFiles returns how many uploaded files have not been deleted.
func (s *Server) StoredFiles() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.files)
}

var errTooLarge = errors.New("file too large")

// badRequest is the message of a 400 response, in the API's own wording.
type badRequest string

func (e badRequest) Error() string { return string(e) }

func (s *Server) handleUpload(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	full := s.maxFiles > 0 && len(s.files) >= s.maxFiles
	s.mu.Unlock()
	if full {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("File storage limit reached (%d files).", s.maxFiles))
		return
	}
	up, err := s.readUpload(r)
	switch {
	case errors.Is(err, errTooLarge):
		writeError(w, http.StatusRequestEntityTooLarge, "The file is too large.")
		return
	case err != nil:
		writeValidation(w, "file", err.Error())
		return
	}
	f := s.store(up)
	writeJSON(w, http.StatusOK, f.object("waiting"))
}

// readUpload reads a multipart upload as a stream, hashing the file part.
func (s *Server) readUpload(r *http.Request) (*Upload, error) {
	mr, err := r.MultipartReader()
	if err != nil {
		return nil, badRequest(fmt.Sprintf("The request must be multipart/form-data: %v.", err))
	}
	up := &Upload{ContentLength: r.ContentLength, Header: r.Header.Clone(), Size: -1}
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, badRequest(fmt.Sprintf("The multipart body is invalid: %v.", err))
		}
		switch part.FormName() {
		case "process":
			v, _ := io.ReadAll(io.LimitReader(part, 64))
			up.Process = string(v)
		case "file":
			if err := s.readFilePart(part.Header.Get("Content-Disposition"), part, up); err != nil {
				return nil, err
			}
			up.ContentType = part.Header.Get("Content-Type")
		}
	}
	if up.Size < 0 {
		return nil, badRequest("The file field is required.")
	}
	return up, nil
}

// readFilePart reads the file part into up.
func (s *Server) readFilePart(disposition string, part io.Reader, up *Upload) error {
	_, params, _ := mime.ParseMediaType(disposition)
	up.Filename = params["filename"]
	h := sha256.New()
	capture := &limitedBuffer{max: s.captureBytes}
	limit := s.maxFileBytes
	if limit <= 0 {
		limit = 1 << 62
	}
	n, err := io.Copy(io.MultiWriter(h, capture), io.LimitReader(part, limit+1))
	if err != nil {
		return badRequest(fmt.Sprintf("The file could not be read: %v.", err))
	}
	if n > limit {
		return errTooLarge
	}
	up.Size = n
	copy(up.SHA256[:], h.Sum(nil))
	if !capture.over {
		up.Data = capture.buf
	}
	return nil
}

// limitedBuffer keeps written bytes until max is passed, then drops them.
type limitedBuffer struct {
	buf  []byte
	max  int64
	over bool
}

func (b *limitedBuffer) Write(p []byte) (int, error) {
	if !b.over && int64(len(b.buf)+len(p)) > b.max {
		b.over, b.buf = true, nil
	}
	if !b.over {
		b.buf = append(b.buf, p...)
	}
	return len(p), nil
}

// store keeps the uploaded file and records the upload.
func (s *Server) store(up *Upload) *storedFile {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.nextFileID++
	f := &storedFile{
		id:       s.nextFileID,
		name:     up.Filename,
		size:     up.Size,
		process:  up.Process == "true" || up.Process == "1",
		statuses: []string{"completed"},
		created:  time.Now().UTC().Format("2006-01-02T15:04:05+00:00"),
	}
	if len(s.fileScripts) > 0 {
		f.statuses = s.fileScripts[0]
		s.fileScripts = s.fileScripts[1:]
	}
	s.files[f.id] = f
	up.FileID = f.id
	s.uploads = append(s.uploads, *up)
	return f
}

// object returns the API's file object with status.
func (f *storedFile) object(status string) map[string]any {
	return map[string]any{
		"id":         f.id,
		"object":     "file",
		"bytes":      f.size,
		"created_at": f.created,
		"filename":   f.name,
		"credits":    0,
		"status":     status,
	}
}

func (s *Server) handleFile(w http.ResponseWriter, r *http.Request) {
	id, _ := strconv.ParseInt(r.PathValue("id"), 10, 64)
	s.mu.Lock()
	f := s.files[id]
	status := "waiting"
	if f != nil && f.process && len(f.statuses) > 0 {
		status = f.statuses[min(f.gets, len(f.statuses)-1)]
	}
	if f != nil {
		f.gets++
	}
	s.mu.Unlock()
	if f == nil {
		writeError(w, http.StatusNotFound, "File not found")
		return
	}
	writeJSON(w, http.StatusOK, f.object(status))
}

func (s *Server) handleDeleteFile(w http.ResponseWriter, r *http.Request) {
	id, _ := strconv.ParseInt(r.PathValue("id"), 10, 64)
	s.mu.Lock()
	f := s.files[id]
	if f != nil {
		delete(s.files, id)
		s.deleted = append(s.deleted, id)
	}
	s.mu.Unlock()
	if f == nil {
		writeError(w, http.StatusNotFound, "File not found")
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"id": id, "object": "file", "deleted": true})
}
