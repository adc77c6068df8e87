package sendertest

import (
	"bytes"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"strconv"
	"time"
)

type storedMedia struct {
	data        []byte
	contentType string
	filename    string
}

// Media returns the bytes, content type and file name of an uploaded
// media file.
func (s *Server) Media(mediaID string) (data []byte, contentType, filename string, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m, ok := s.media[mediaID]
	return m.data, m.contentType, m.filename, ok
}

// AddMedia stores a media file, as if a user had sent it, and returns its
// media id.
func (s *Server) AddMedia(data []byte, contentType string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.addMedia(storedMedia{data: bytes.Clone(data), contentType: contentType})
}

// addMedia stores m; s.mu is held.
func (s *Server) addMedia(m storedMedia) string {
	s.nextMedia++
	id := "sendertest-media-" + strconv.Itoa(s.nextMedia)
	s.media[id] = m
	return id
}

func (s *Server) hasMedia(id string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.media[id]
	return ok
}

func (s *Server) handleMediaUpload(w http.ResponseWriter, r *http.Request, body []byte) {
	if r.URL.Query().Get("type") != "image" {
		writeError(w, 40004, "")
		return
	}
	_, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || params["boundary"] == "" {
		writeError(w, 41005, "")
		return
	}
	mr := multipart.NewReader(bytes.NewReader(body), params["boundary"])
	for {
		part, err := mr.NextPart()
		if err != nil {
			writeError(w, 41005, "")
			return
		}
		if part.FormName() != "media" || part.FileName() == "" {
			continue
		}
		data, err := io.ReadAll(part)
		if err != nil || len(data) == 0 {
			writeError(w, 41005, "")
			return
		}
		ct := part.Header.Get("Content-Type")
		if ct == "" || ct == "application/octet-stream" {
			ct = http.DetectContentType(data)
		}
		s.mu.Lock()
		id := s.addMedia(storedMedia{data: data, contentType: ct, filename: part.FileName()})
		s.mu.Unlock()
		writeJSON(w, struct {
			errorAnswer
			Type      string `json:"type"`
			MediaID   string `json:"media_id"`
			CreatedAt int64  `json:"created_at"`
		}{errorAnswer{0, "ok"}, "image", id, time.Now().Unix()})
		return
	}
}

func (s *Server) handleMediaGet(w http.ResponseWriter, r *http.Request, _ []byte) {
	s.mu.Lock()
	m, ok := s.media[r.URL.Query().Get("media_id")]
	s.mu.Unlock()
	if !ok {
		writeError(w, 40007, "")
		return
	}
	w.Header().Set("Content-Type", m.contentType)
	w.Header().Set("Content-Length", strconv.Itoa(len(m.data)))
	_, _ = w.Write(m.data)
}
