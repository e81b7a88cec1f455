package mail

import (
	"bytes"
	"io"
	"mime"
	"mime/quotedprintable"
	"net/mail"
	"strings"
	"testing"
)

func TestNewRejectsBadURLs(t *testing.T) {
	for _, u := range []string{"", "http://mail.example.com", "smtp://", "smtp:///x", "%zz"} {
		if _, err := New(u, "chat@example.com"); err == nil {
			t.Errorf("New(%q) succeeded", u)
		}
	}
	if _, err := New("smtp://mail.example.com", "not an address"); err == nil {
		t.Error("New accepted a bad sender address")
	}
	s, err := New("smtps://u:p@mail.example.com", "Hanashi <chat@example.com>")
	if err != nil {
		t.Fatal(err)
	}
	if s.addr != "mail.example.com:465" || !s.implicit || s.auth == nil {
		t.Errorf("smtps URL: addr %q implicit %v auth %v", s.addr, s.implicit, s.auth != nil)
	}
}

func TestComposeIsAWellFormedMessage(t *testing.T) {
	s, err := New("smtp://127.0.0.1:2525", "Hanashi <chat@example.com>")
	if err != nil {
		t.Fatal(err)
	}
	to, _ := mail.ParseAddress("alice@example.com")
	body := "Sign in: https://chat.example.com/auth/email?token=abc\n\nこんにちは, a long line " + strings.Repeat("x", 100)
	raw, err := s.compose(to, "Sign in to Hanashi — 話", body)
	if err != nil {
		t.Fatal(err)
	}
	m, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("reading back: %v\n%s", err, raw)
	}
	dec := new(mime.WordDecoder)
	subject, err := dec.DecodeHeader(m.Header.Get("Subject"))
	if err != nil || subject != "Sign in to Hanashi — 話" {
		t.Errorf("Subject decodes to %q (%v)", subject, err)
	}
	if got := m.Header.Get("To"); got != "<alice@example.com>" {
		t.Errorf("To = %q", got)
	}
	text, err := io.ReadAll(quotedprintable.NewReader(m.Body))
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.ReplaceAll(string(text), "\r\n", "\n"); got != body {
		t.Errorf("body reads back as %q, want %q", got, body)
	}
}

func TestHeaderInjectionRefused(t *testing.T) {
	s, err := New("smtp://127.0.0.1:2525", "chat@example.com")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Send(t.Context(), "alice@example.com\r\nBcc: eve@example.com", "hi", "x"); err == nil {
		t.Error("a recipient with a line break was accepted")
	}
	to, _ := mail.ParseAddress("alice@example.com")
	if _, err := s.compose(to, "hi\r\nBcc: eve@example.com", "x"); err == nil {
		t.Error("a subject with a line break was accepted")
	}
}
