package testpeer_test

import (
	"net/smtp"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/hanashi-chat/hanashi/internal/testpeer"
)

func sendMail(t *testing.T, smtpURL, to, subject, body string) {
	t.Helper()
	u, err := url.Parse(smtpURL)
	if err != nil {
		t.Fatal(err)
	}
	msg := "From: Hanashi <chat@example.com>\r\n" +
		"To: <" + to + ">\r\n" +
		"Subject: " + subject + "\r\n" +
		"MIME-Version: 1.0\r\n" +
		"Content-Type: text/plain; charset=utf-8\r\n" +
		"\r\n" + strings.ReplaceAll(body, "\n", "\r\n")
	if err := smtp.SendMail(u.Host, nil, "chat@example.com", []string{to}, []byte(msg)); err != nil {
		t.Fatalf("sending to %s: %v", u.Host, err)
	}
}

func testMailpit(t *testing.T, m *testpeer.Mailpit) {
	to := testpeer.Address()
	if got := m.Messages(t, to); len(got) != 0 {
		t.Fatalf("a new address already has mail: %v", got)
	}
	// Another address that contains this one must not be mistaken for it.
	sendMail(t, m.SMTPURL, "x"+to, "not yours", "no")
	sendMail(t, m.SMTPURL, to, "first", "Sign in: http://127.0.0.1/x?token=1\n")
	first := m.WaitMessage(t, to, 5*time.Second)
	if first.Subject != "first" || first.From != "chat@example.com" ||
		len(first.To) != 1 || first.To[0] != to ||
		!strings.Contains(first.Text, "http://127.0.0.1/x?token=1") || first.HTML != "" {
		t.Errorf("first message: %+v", first)
	}
	sendMail(t, m.SMTPURL, to, "second", "two\n")
	if second := m.WaitMessage(t, to, 5*time.Second); second.Subject != "second" {
		t.Errorf("second message: %+v", second)
	}
	if got := m.Messages(t, to); len(got) != 2 {
		t.Errorf("Messages returned %d messages, want 2", len(got))
	}
	if raw := string(m.Raw(t, first)); !strings.Contains(raw, "Subject: first\r\n") {
		t.Errorf("raw message:\n%s", raw)
	}
}

func TestMailpitShared(t *testing.T) {
	testMailpit(t, testpeer.MailpitFromEnv(t))
}

func TestMailpitPrivate(t *testing.T) {
	testMailpit(t, testpeer.StartMailpit(t))
}
