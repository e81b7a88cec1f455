// Package mail sends Hanashi's e-mail (sign-in links) over SMTP, with the
// standard library's net/smtp.
package mail

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"mime"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"net/smtp"
	"net/url"
	"strings"
	"time"
)

// Sender sends plain-text mail through one SMTP server. It is safe for
// concurrent use: every Send is its own SMTP session.
type Sender struct {
	addr      string // host:port
	host      string
	implicit  bool // smtps: TLS from the first byte
	auth      smtp.Auth
	from      *mail.Address
	tlsConfig *tls.Config
}

// New returns a Sender for an smtp:// or smtps:// URL, such as
// smtp://user:password@mail.example.com:587 (STARTTLS whenever the server
// offers it; credentials are only ever sent over TLS, or to loopback) or
// smtps://mail.example.com:465 (TLS from the start). from is the sender's
// address, "Hanashi <chat@example.com>".
func New(rawURL, from string) (*Sender, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, errors.New("mail: the SMTP URL does not parse")
	}
	s := &Sender{host: u.Hostname()}
	port := u.Port()
	switch u.Scheme {
	case "smtp":
		if port == "" {
			port = "25"
		}
	case "smtps":
		s.implicit = true
		if port == "" {
			port = "465"
		}
	default:
		return nil, fmt.Errorf("mail: SMTP URL scheme %q: want smtp or smtps", u.Scheme)
	}
	if s.host == "" {
		return nil, errors.New("mail: the SMTP URL has no host")
	}
	s.addr = net.JoinHostPort(s.host, port)
	s.tlsConfig = &tls.Config{ServerName: s.host, MinVersion: tls.VersionTLS12}
	if u.User != nil {
		pass, _ := u.User.Password()
		// PlainAuth refuses to send the password unless the connection is
		// TLS or goes to localhost.
		s.auth = smtp.PlainAuth("", u.User.Username(), pass, s.host)
	}
	if s.from, err = mail.ParseAddress(from); err != nil {
		return nil, fmt.Errorf("mail: sender address %q: %v", from, err)
	}
	return s, nil
}

// Send delivers one plain-text message to one address.
func (s *Sender) Send(ctx context.Context, to, subject, body string) error {
	rcpt, err := mail.ParseAddress(to)
	if err != nil || strings.ContainsAny(to, "\r\n") {
		return fmt.Errorf("mail: bad recipient address %q", to)
	}
	msg, err := s.compose(rcpt, subject, body)
	if err != nil {
		return err
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
	}
	if err := s.deliver(ctx, rcpt.Address, msg); err != nil {
		return fmt.Errorf("mail: sending to %s via %s: %w", rcpt.Address, s.addr, err)
	}
	return nil
}

func (s *Sender) deliver(ctx context.Context, rcpt string, msg []byte) error {
	var d net.Dialer
	nc, err := d.DialContext(ctx, "tcp", s.addr)
	if err != nil {
		return err
	}
	defer nc.Close()
	if deadline, ok := ctx.Deadline(); ok {
		nc.SetDeadline(deadline)
	}
	stop := context.AfterFunc(ctx, func() { nc.SetDeadline(time.Now()) })
	defer stop()
	if s.implicit {
		nc = tls.Client(nc, s.tlsConfig)
	}
	c, err := smtp.NewClient(nc, s.host)
	if err != nil {
		return err
	}
	defer c.Close()
	if err := c.Hello("localhost"); err != nil {
		return err
	}
	if ok, _ := c.Extension("STARTTLS"); ok && !s.implicit {
		if err := c.StartTLS(s.tlsConfig); err != nil {
			return err
		}
	}
	if s.auth != nil {
		if err := c.Auth(s.auth); err != nil {
			return err
		}
	}
	if err := c.Mail(s.from.Address); err != nil {
		return err
	}
	if err := c.Rcpt(rcpt); err != nil {
		return err
	}
	w, err := c.Data()
	if err != nil {
		return err
	}
	if _, err := w.Write(msg); err != nil {
		return err
	}
	if err := w.Close(); err != nil {
		return err
	}
	return c.Quit()
}

// compose builds the message: headers we write ourselves from checked
// values, and the body in quoted-printable UTF-8.
func (s *Sender) compose(to *mail.Address, subject, body string) ([]byte, error) {
	if strings.ContainsAny(subject, "\r\n") {
		return nil, errors.New("mail: the subject has a line break")
	}
	var id [12]byte
	rand.Read(id[:])
	var b bytes.Buffer
	header := func(k, v string) { fmt.Fprintf(&b, "%s: %s\r\n", k, v) }
	header("From", s.from.String())
	header("To", to.String())
	header("Subject", mime.QEncoding.Encode("utf-8", subject))
	header("Date", time.Now().Format(time.RFC1123Z))
	header("Message-ID", "<"+hex.EncodeToString(id[:])+"@"+messageIDHost(s.from.Address)+">")
	header("MIME-Version", "1.0")
	header("Content-Type", "text/plain; charset=utf-8")
	header("Content-Transfer-Encoding", "quoted-printable")
	header("Auto-Submitted", "auto-generated")
	b.WriteString("\r\n")
	qp := quotedprintable.NewWriter(&b)
	if _, err := qp.Write([]byte(strings.ReplaceAll(body, "\n", "\r\n"))); err != nil {
		return nil, err
	}
	if err := qp.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

func messageIDHost(addr string) string {
	if _, host, ok := strings.Cut(addr, "@"); ok && host != "" {
		return host
	}
	return "hanashi.invalid"
}
