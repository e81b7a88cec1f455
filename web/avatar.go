package web

import (
	"bytes"
	"context"
	"errors"
	"io"
	"mime"
	"net/http"
	"runtime"
	"strings"

	"github.com/hanashi-chat/hanashi"
	"github.com/hanashi-chat/hanashi/avatar"
)

// ProfileUpdater records a user's newly uploaded avatar: the name Dir.Save
// gave it, served at avatarPath(name). It returns the user as now stored.
type ProfileUpdater interface {
	SetAvatarUpload(ctx context.Context, user hanashi.UserID, name string) (hanashi.User, error)
}

// avatarPathPrefix is where uploaded avatars are served; see
// handleAvatarServe.
const avatarPathPrefix = "/api/v1/avatars/"

// avatarPath is the URL path of the uploaded avatar stored under name.
func avatarPath(name string) string { return avatarPathPrefix + name }

// maxUploadBody bounds an upload request body: the image and what
// multipart/form-data wraps around it.
const maxUploadBody = avatar.MaxUploadBytes + 64<<10

// handleAvatarUpload sets the signed-in user's avatar. The body is the
// image itself, or multipart/form-data with the image in the file field
// "avatar" (other fields are ignored; the client's file name and
// Content-Type are never used). The image goes through avatar.Process and
// is stored in files; profiles records it, and the user's previous upload,
// if any, is removed. The answer is {"avatar_url": "/api/v1/avatars/<name>"}.
//
// Guests cannot upload (403): an avatar belongs to an account. Errors: 413
// over 2 MiB or over the pixel limits, 415 for anything but a PNG, JPEG,
// GIF or WebP image, 400 for a malformed form.
//
// At most GOMAXPROCS uploads are decoded at once, each taking up to a few
// hundred megabytes and a second of CPU; the others wait, without holding
// memory beyond their 2 MiB body.
func (s *Server) handleAvatarUpload(files *avatar.Dir, profiles ProfileUpdater) http.Handler {
	slots := make(chan struct{}, runtime.GOMAXPROCS(0))
	return s.api(func(w http.ResponseWriter, r *http.Request) error {
		u := userFrom(r.Context())
		switch {
		case u.ID == "":
			return hanashi.Errorf(hanashi.EUNAUTHORIZED, "sign in to set an avatar")
		case u.Guest:
			return hanashi.Errorf(hanashi.EFORBIDDEN, "guests cannot set an avatar; sign in first")
		case r.ContentLength > maxUploadBody:
			return errUploadTooLarge
		}
		r.Body = http.MaxBytesReader(w, r.Body, maxUploadBody)
		img, err := readUpload(r)
		if err != nil {
			return err
		}

		select {
		case slots <- struct{}{}:
		case <-r.Context().Done():
			return hanashi.Errorf(hanashi.EUNAVAILABLE, "the request ended while waiting to process the image")
		}
		png, err := avatar.Process(bytes.NewReader(img))
		<-slots
		if err != nil {
			return err
		}

		name, err := files.Save(png)
		if err != nil {
			return err
		}
		if _, err := profiles.SetAvatarUpload(r.Context(), u.ID, name); err != nil {
			files.Remove(name)
			return err
		}
		// The previous upload is no longer anybody's: messages carry their
		// author's current avatar. Only a URL that is exactly one of ours
		// names a file to remove.
		if old := u.AvatarUpload; old != "" && old != name {
			if err := files.Remove(old); err != nil && hanashi.ErrorCode(err) != hanashi.ENOTFOUND {
				s.log.WarnContext(r.Context(), "removing a replaced avatar failed", "user", u.ID, "err", err)
			}
		}
		writeJSON(w, http.StatusOK, map[string]string{"avatar_url": s.basePath + avatarPath(name)})
		return nil
	})
}

var errUploadTooLarge = hanashi.Errorf(hanashi.ETOOLARGE, "the image is larger than %d MiB", avatar.MaxUploadBytes>>20)

// readUpload returns the image of an upload request, at most one byte over
// avatar.MaxUploadBytes so that Process can tell it is too large.
func readUpload(r *http.Request) ([]byte, error) {
	var body io.Reader = r.Body
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt == "multipart/form-data" {
		mr, err := r.MultipartReader()
		if err != nil {
			return nil, hanashi.Errorf(hanashi.EINVALID, "the form is malformed: %v", err)
		}
		for {
			p, err := mr.NextPart()
			if errors.Is(err, io.EOF) {
				return nil, hanashi.Errorf(hanashi.EINVALID, `the form has no file field "avatar"`)
			}
			if err != nil {
				return nil, uploadReadError(err)
			}
			if p.FormName() == "avatar" {
				body = p
				break
			}
		}
	}
	b, err := io.ReadAll(io.LimitReader(body, avatar.MaxUploadBytes+1))
	if err != nil {
		return nil, uploadReadError(err)
	}
	return b, nil
}

func uploadReadError(err error) error {
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		return errUploadTooLarge
	}
	return hanashi.Errorf(hanashi.EINVALID, "reading the upload failed: %v", err)
}

// handleAvatarServe serves the uploaded avatar {name} from files. Names are
// never reused, so the answer may be cached for good. The headers make sure
// a browser only ever treats it as an image: a fixed Content-Type that it
// must not second-guess, and a CSP that sandboxes it and allows nothing
// should it be opened as a page. Anything but a stored name is 404.
func (s *Server) handleAvatarServe(files *avatar.Dir) http.Handler {
	return s.api(func(w http.ResponseWriter, r *http.Request) error {
		name := r.PathValue("name")
		f, err := files.Open(name)
		if err != nil {
			return err
		}
		defer f.Close()
		fi, err := f.Stat()
		if err != nil {
			return err
		}
		h := w.Header()
		h.Set("Content-Type", "image/png")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Content-Security-Policy", "default-src 'none'; sandbox")
		h.Set("Cache-Control", "public, max-age=31536000, immutable")
		h.Set("ETag", `"`+strings.TrimSuffix(name, ".png")+`"`)
		http.ServeContent(w, r, "", fi.ModTime(), f)
		return nil
	})
}
