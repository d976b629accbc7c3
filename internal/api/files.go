package api

import (
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/assistd/assistd/internal/blob"
	"github.com/assistd/assistd/internal/schema"
	"github.com/assistd/assistd/internal/store"
)

// multipartOverhead is what a multipart body may add around the file bytes.
const multipartOverhead = 1 << 20

// createFile streams the multipart "file" part straight to the blob store (no
// buffering of up to 512 MB in memory), then records the file. Parts may come
// in any order; a failure after the bytes are kept removes them again.
func (s *Server) createFile(w http.ResponseWriter, r *http.Request) (err error) {
	mediaType, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if mediaType != "multipart/form-data" {
		return badRequest("", "Invalid Content-Type: expected multipart/form-data with 'file' and 'purpose' fields.")
	}
	r.Body = http.MaxBytesReader(w, r.Body, s.cfg.MaxUploadBytes+multipartOverhead)
	mr, err := r.MultipartReader()
	if err != nil {
		return badRequest("", "Could not parse the multipart body: %v", err)
	}
	project := projectID(r)
	f := &schema.File{ID: schema.NewID(schema.PrefixFile), Object: "file", Status: "processed"}
	key := blob.FileKey(project, f.ID)
	stored := false
	defer func() {
		if err != nil && stored {
			s.cfg.Blobs.Delete(context.WithoutCancel(r.Context()), key)
		}
	}()
	var expires schema.FileExpiresAfter
	var hasExpires bool
	for {
		part, perr := mr.NextPart()
		if perr == io.EOF {
			break
		}
		if perr != nil {
			var maxErr *http.MaxBytesError
			if errors.As(perr, &maxErr) {
				return perr
			}
			return badRequest("", "Could not parse the multipart body: %v", perr)
		}
		name := part.FormName()
		if name == "file" {
			if stored {
				return badRequest("file", "Only one 'file' may be uploaded per request.")
			}
			f.Filename = path.Base(strings.ReplaceAll(part.FileName(), `\`, "/"))
			if f.Filename == "" || f.Filename == "." || f.Filename == "/" {
				return badRequest("file", "The 'file' field must be a file upload with a filename.")
			}
			n, perr := s.cfg.Blobs.Put(r.Context(), key, part, s.cfg.MaxUploadBytes)
			if perr != nil {
				if errors.Is(perr, blob.ErrTooLarge) {
					return &Error{Status: http.StatusRequestEntityTooLarge, Type: typeInvalidRequest, Param: "file",
						Message: "File is too large: the maximum size is " + strconv.FormatInt(s.cfg.MaxUploadBytes, 10) + " bytes."}
				}
				return perr
			}
			f.Bytes, stored = n, true
			continue
		}
		value, perr := io.ReadAll(io.LimitReader(part, 4096))
		if perr != nil {
			return badRequest(name, "Could not read field '%s'.", name)
		}
		v := string(value)
		switch name {
		case "purpose":
			f.Purpose = v
		case "expires_after[anchor]":
			expires.Anchor, hasExpires = v, true
		case "expires_after[seconds]":
			secs, perr := strconv.ParseInt(v, 10, 64)
			if perr != nil {
				return badRequest("expires_after[seconds]", "Invalid 'expires_after.seconds': expected an integer.")
			}
			expires.Seconds, hasExpires = secs, true
		default:
			return badRequest(name, "Unrecognized request argument supplied: %s", name)
		}
	}
	if f.Purpose == "" {
		return badRequest("purpose", "Missing required parameter: 'purpose'.")
	}
	if !schema.IsUploadPurpose(f.Purpose) {
		return badRequest("purpose", "Invalid value for 'purpose': '%s'. Supported values are: 'assistants', 'assistants_output', 'batch', 'fine-tune', 'user_data' and 'vision'.", f.Purpose)
	}
	if !stored {
		return badRequest("file", "Missing required parameter: 'file'.")
	}
	f.CreatedAt = s.cfg.Now().Unix()
	if hasExpires {
		if err := expires.Validate(); err != nil {
			return err
		}
		at := f.CreatedAt + expires.Seconds
		f.ExpiresAt = &at
	}
	if err := s.cfg.Store.FileCreate(r.Context(), project, f); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, f)
	return nil
}

func (s *Server) listFiles(w http.ResponseWriter, r *http.Request) error {
	// The spec gives /files its own limit range: 1–10,000, default 10,000.
	p, err := parseList(r, 10000, 10000)
	if err != nil {
		return err
	}
	page, err := s.cfg.Store.FileList(r.Context(), projectID(r), store.FileListParams{ListParams: p, Purpose: r.URL.Query().Get("purpose"), Now: s.cfg.Now()})
	if err != nil {
		return err
	}
	writeList(w, page, func(f *schema.File) *schema.File { return f }, func(f *schema.File) string { return f.ID })
	return nil
}

func (s *Server) fileFromPath(r *http.Request) (*schema.File, error) {
	id, err := pathID(r, "file_id", schema.PrefixFile)
	if err != nil {
		return nil, err
	}
	f, err := s.cfg.Store.FileGet(r.Context(), projectID(r), id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, notFound("file", id)
	}
	return f, err
}

func (s *Server) getFile(w http.ResponseWriter, r *http.Request) error {
	f, err := s.fileFromPath(r)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, f)
	return nil
}

func (s *Server) getFileContent(w http.ResponseWriter, r *http.Request) error {
	f, err := s.fileFromPath(r)
	if err != nil {
		return err
	}
	rc, err := s.cfg.Blobs.Open(r.Context(), blob.FileKey(projectID(r), f.ID))
	if errors.Is(err, blob.ErrNotFound) {
		return &Error{Status: http.StatusNotFound, Type: typeInvalidRequest,
			Message: fmt.Sprintf("The content of file '%s' is no longer available.", f.ID)}
	}
	if err != nil {
		return err
	}
	defer rc.Close()
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": f.Filename}))
	http.ServeContent(w, r, "", time.Unix(f.CreatedAt, 0), rc)
	return nil
}

func (s *Server) deleteFile(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "file_id", schema.PrefixFile)
	if err != nil {
		return err
	}
	project := projectID(r)
	err = s.cfg.Store.FileDelete(r.Context(), project, id)
	if errors.Is(err, store.ErrNotFound) {
		return notFound("file", id)
	}
	if err != nil {
		return err
	}
	// The row is gone, so the bytes are unreachable; a failed unlink only
	// leaks disk space and is logged.
	if err := s.cfg.Blobs.Delete(context.WithoutCancel(r.Context()), blob.FileKey(project, id)); err != nil {
		s.cfg.Logger.WarnContext(r.Context(), "deleting file bytes failed", "file_id", id, "error", err)
	}
	writeJSON(w, http.StatusOK, schema.DeletedObject{ID: id, Object: "file", Deleted: true})
	return nil
}
