package fakeslack

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// FileSpec describes a file for AddFile.
type FileSpec struct {
	Name     string
	Title    string // Name when empty
	Mimetype string // application/octet-stream when empty
	Filetype string // "binary" when empty
	User     string
	Content  []byte
	// Size is the size the file object reports, len(Content) when zero. A larger value
	// lets a test check that the bot trusts the download, not the claim.
	Size int
	// NoAccess makes downloads redirect to the sign-in page even with the bot token, as
	// Slack does for a file the token cannot read.
	NoAccess bool
}

// File is a file registered in the fake.
type File struct {
	ID                 string
	URLPrivate         string
	URLPrivateDownload string
	// JSON is the file object as events, files.info and message history carry it.
	JSON json.RawMessage
}

// FileRequest is one recorded download request.
type FileRequest struct {
	FileID string
	Path   string
	// Authorization is the header as received, so tests can check which token was sent.
	Authorization string
	Status        int
	At            time.Time
}

type file struct {
	spec   File
	data   []byte
	mime   string
	deny   bool
	hosted bool // false for external files, which have no bytes here
}

// AddFile registers a hosted file whose url_private and url_private_download point at this
// server. Downloads need the bot token, and files.info returns the object.
func (s *Server) AddFile(spec FileSpec) File {
	id := fmt.Sprintf("F%09d", s.nextID())
	if spec.Title == "" {
		spec.Title = spec.Name
	}
	if spec.Mimetype == "" {
		spec.Mimetype = "application/octet-stream"
	}
	if spec.Filetype == "" {
		spec.Filetype = "binary"
	}
	if spec.Size == 0 {
		spec.Size = len(spec.Content)
	}

	base := s.srv.URL + "/files-pri/" + s.cfg.teamID + "-" + id + "/"
	name := url.PathEscape(spec.Name)
	f := File{ID: id, URLPrivate: base + name, URLPrivateDownload: base + "download/" + name}
	f.JSON = mustJSON(s.hostedFileObject(f, spec))
	s.addFile(&file{spec: f, data: spec.Content, mime: spec.Mimetype, deny: spec.NoAccess, hosted: true})
	return f
}

// hostedFileObject returns the file object of a hosted file with the fields slack.File reads.
func (s *Server) hostedFileObject(f File, spec FileSpec) object {
	now := time.Now().Unix()
	return object{
		"id":                   f.ID,
		"created":              now,
		"timestamp":            now,
		"name":                 spec.Name,
		"title":                spec.Title,
		"mimetype":             spec.Mimetype,
		"filetype":             spec.Filetype,
		"pretty_type":          spec.Filetype,
		"user":                 spec.User,
		"user_team":            s.cfg.teamID,
		"editable":             false,
		"size":                 spec.Size,
		"mode":                 "hosted",
		"is_external":          false,
		"external_type":        "",
		"is_public":            false,
		"public_url_shared":    false,
		"display_as_bot":       false,
		"username":             "",
		"url_private":          f.URLPrivate,
		"url_private_download": f.URLPrivateDownload,
		"file_access":          "visible",
		"permalink":            "https://fakeslack.slack.com/files/" + spec.User + "/" + f.ID + "/" + url.PathEscape(spec.Name),
		"has_rich_preview":     false,
	}
}

// AddExternalFile registers a file kept on another service, such as a Google Drive
// document: mode external, is_external true, and url_private pointing at externalURL.
// files.info returns it, but the fake serves no bytes for it.
func (s *Server) AddExternalFile(name, externalURL string) File {
	id := fmt.Sprintf("F%09d", s.nextID())
	now := time.Now().Unix()
	f := File{ID: id, URLPrivate: externalURL}
	f.JSON = mustJSON(object{
		"id": id, "created": now, "timestamp": now, "name": name, "title": name,
		"mimetype": "application/vnd.google-apps.document", "filetype": "gdoc",
		"pretty_type": "Google Docs", "user": "", "editable": false, "size": 0,
		"mode": "external", "is_external": true, "external_type": "gdrive",
		"external_id": id, "external_url": externalURL, "url_private": externalURL,
		"is_public": false, "file_access": "visible",
		"permalink": "https://fakeslack.slack.com/files/" + id,
	})
	s.addFile(&file{spec: f})
	return f
}

// ConnectStub returns the file object Slack puts in events from Slack Connect channels:
// only the id and file_access "check_file_info", so the app must call files.info.
func ConnectStub(id string) json.RawMessage {
	return mustJSON(object{"id": id, "mode": "file_access", "file_access": "check_file_info"})
}

func (s *Server) addFile(f *file) {
	s.mu.Lock()
	s.files[f.spec.ID] = f
	s.mu.Unlock()
}

// FileRequests returns the download requests for the file id, oldest first.
func (s *Server) FileRequests(id string) []FileRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []FileRequest
	for _, r := range s.fileReqs {
		if r.FileID == id {
			out = append(out, r)
		}
	}
	return out
}

func (s *Server) filesInfo(req *apiRequest) (object, string) {
	s.mu.Lock()
	f, ok := s.files[req.form.Get("file")]
	s.mu.Unlock()
	if !ok {
		return nil, "file_not_found"
	}
	return object{
		"file":     f.spec.JSON,
		"comments": []any{},
		"paging":   object{"count": 0, "total": 0, "page": 1, "pages": 0},
	}, ""
}

// serveFile serves /files-pri/{team}-{id}/[download/]{name}. Without the bot token, or for a
// NoAccess file, it redirects to the sign-in page with redir set to the path, as Slack does.
func (s *Server) serveFile(w http.ResponseWriter, r *http.Request) {
	key := r.PathValue("key")
	id := key[strings.LastIndexByte(key, '-')+1:]
	m := s.methods[MethodDownload]
	if !s.sleep(r, m.delay()) {
		return
	}
	s.mu.Lock()
	f, ok := s.files[id]
	s.mu.Unlock()

	status := s.writeFile(w, r, m, f, ok)
	s.mu.Lock()
	s.fileReqs = append(s.fileReqs, FileRequest{FileID: id, Path: r.URL.Path,
		Authorization: r.Header.Get("Authorization"), Status: status, At: time.Now()})
	s.notifyLocked()
	s.mu.Unlock()
}

// writeFile writes the response to one download and returns its HTTP status.
func (s *Server) writeFile(w http.ResponseWriter, r *http.Request, m *method, f *file, found bool) int {
	req := &apiRequest{method: MethodDownload, form: url.Values{"path": {r.URL.Path}}, at: time.Now()}
	if !found || !f.hosted {
		s.finishStatus(w, m, req, http.StatusNotFound)
		return http.StatusNotFound
	}
	if f.deny || bearerToken(r) != s.cfg.botToken {
		http.Redirect(w, r, "/?redir="+url.QueryEscape(r.URL.Path), http.StatusFound)
		s.recordCall(m, req, http.StatusFound, "")
		return http.StatusFound
	}
	fault, wait := m.admit(req.at)
	switch {
	case fault != nil:
		status := fault.Status
		if status == 0 {
			status = http.StatusInternalServerError
		}
		if fault.RetryAfter > 0 {
			w.Header().Set("Retry-After", strconv.Itoa(retryAfterSeconds(fault.RetryAfter)))
		}
		s.finishStatus(w, m, req, status)
		return status
	case wait > 0:
		w.Header().Set("Retry-After", strconv.Itoa(retryAfterSeconds(wait)))
		s.finishStatus(w, m, req, http.StatusTooManyRequests)
		return http.StatusTooManyRequests
	}
	w.Header().Set("Content-Type", f.mime)
	w.Header().Set("Content-Length", strconv.Itoa(len(f.data)))
	if strings.Contains(r.URL.Path, "/download/") {
		w.Header().Set("Content-Disposition", "attachment")
	}
	_, _ = w.Write(f.data)
	s.recordCall(m, req, http.StatusOK, "")
	return http.StatusOK
}

// serveSignIn serves the page that downloads without access are redirected to.
func (s *Server) serveSignIn(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_, _ = io.WriteString(w, "<!DOCTYPE html><html><body>Sign in to fakeslack</body></html>")
}
