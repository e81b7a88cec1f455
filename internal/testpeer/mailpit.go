package testpeer

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hanashi-chat/hanashi/internal/testutil"
)

// Mailpit is an SMTP server that keeps the mail it receives for tests to
// read through its HTTP API. A *Mailpit is safe for concurrent use.
//
// Several tests, in several packages at once, share the server that
// ./scripts/test starts: a test reads only mail sent to addresses of its
// own, made with Address.
type Mailpit struct {
	// SMTPURL is the SMTP server, smtp://127.0.0.1:PORT: no TLS, and any
	// user name and password (or none) is accepted.
	SMTPURL string
	// APIURL is the web UI and API, http://127.0.0.1:PORT.
	APIURL string

	mu   sync.Mutex
	seen map[string]bool // IDs of messages WaitMessage has returned
}

// Message is a message Mailpit received.
type Message struct {
	ID      string // Mailpit's id
	From    string // the From address, without name
	To      []string
	Subject string // decoded
	Text    string // the text/plain part
	HTML    string // the text/html part
}

// MailpitFromEnv returns the Mailpit that ./scripts/test shares between
// tests, and skips the test without it.
func MailpitFromEnv(t testing.TB) *Mailpit {
	t.Helper()
	return &Mailpit{SMTPURL: need(t, EnvSMTP), APIURL: need(t, EnvMailpitURL), seen: map[string]bool{}}
}

// StartMailpit starts a private Mailpit on free loopback ports and stops it
// when the test ends. Its log is written to the test log if the test fails.
func StartMailpit(t testing.TB) *Mailpit {
	t.Helper()
	bin := need(t, EnvMailpit)
	dir := t.TempDir()
	smtpPort, httpPort := FreePort(t), FreePort(t)
	out := new(syncBuffer)
	cmd := exec.Command(bin, mailpitArgs(smtpPort, httpPort, filepath.Join(dir, "mailpit.db"))...)
	cmd.Stdout = out
	cmd.Stderr = out
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting mailpit: %v", err)
	}
	exited := make(chan struct{})
	go func() {
		cmd.Wait()
		close(exited)
	}()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-exited
		if t.Failed() {
			t.Logf("mailpit log:\n%s", out)
		}
	})
	m := &Mailpit{
		SMTPURL: fmt.Sprintf("smtp://127.0.0.1:%d", smtpPort),
		APIURL:  fmt.Sprintf("http://127.0.0.1:%d", httpPort),
		seen:    map[string]bool{},
	}
	const limit = 30 * time.Second
	start := time.Now()
	testutil.EventuallyNil(t, limit, "mailpit to be ready", func() error {
		resp, err := http.Get(m.APIURL + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-exited:
			t.Fatalf("mailpit exited before it was ready:\n%s", out)
		default:
		}
		return fmt.Errorf("last error %v:\n%s", err, out)
	})
	// The SMTP listener starts alongside the HTTP one, not necessarily
	// before it.
	waitPort(t, smtpPort, limit-time.Since(start))
	return m
}

// mailpitArgs are the arguments Mailpit runs with, here as in
// ./scripts/test: loopback only, no update check, no reverse DNS, any SMTP
// credentials accepted over plain SMTP, and no message ever pruned.
func mailpitArgs(smtpPort, httpPort int, database string) []string {
	return []string{
		"--smtp", "127.0.0.1:" + strconv.Itoa(smtpPort),
		"--listen", "127.0.0.1:" + strconv.Itoa(httpPort),
		"--database", database,
		"--disable-version-check",
		"--smtp-disable-rdns",
		"--smtp-auth-accept-any", "--smtp-auth-allow-insecure",
		"--max", "0",
	}
}

// Address returns an e-mail address no other test uses.
func Address() string { return "test-" + randomHex(6) + "@example.com" }

// WaitMessage waits until Mailpit holds a message with the address to in
// its To header that this *Mailpit has not returned before, and returns the
// oldest such message. (Mailpit orders messages by the millisecond they
// arrived in, and those of one millisecond in no defined order.) It fails
// the test after timeout.
func (m *Mailpit) WaitMessage(t testing.TB, to string, timeout time.Duration) Message {
	t.Helper()
	var msg Message
	testutil.EventuallyNil(t, timeout, "mailpit: a new message to "+to, func() error {
		ids, err := m.search(t.Context(), to)
		if err != nil {
			t.Fatal(err)
		}
		m.mu.Lock()
		var id string
		for _, candidate := range ids {
			if !m.seen[candidate] {
				id = candidate
				m.seen[id] = true
				break
			}
		}
		m.mu.Unlock()
		if id == "" {
			return fmt.Errorf("%d old ones", len(ids))
		}
		if msg, err = m.message(t.Context(), id); err != nil {
			t.Fatal(err)
		}
		return nil
	})
	return msg
}

// Messages returns every message Mailpit holds with the address to in its
// To header, oldest first, whether WaitMessage returned it or not. It does
// not wait: it is for asserting how many messages were sent, or that none
// was.
func (m *Mailpit) Messages(t testing.TB, to string) []Message {
	t.Helper()
	ids, err := m.search(t.Context(), to)
	if err != nil {
		t.Fatal(err)
	}
	msgs := make([]Message, 0, len(ids))
	for _, id := range ids {
		msg, err := m.message(t.Context(), id)
		if err != nil {
			t.Fatal(err)
		}
		msgs = append(msgs, msg)
	}
	return msgs
}

// Raw returns a message as it was received, headers and all.
func (m *Mailpit) Raw(t testing.TB, msg Message) []byte {
	t.Helper()
	b, err := m.get(t.Context(), "/api/v1/message/"+url.PathEscape(msg.ID)+"/raw")
	if err != nil {
		t.Fatal(err)
	}
	return b
}

type mailpitAddress struct{ Address string }

// search returns the ids of the messages to the address to, oldest first.
func (m *Mailpit) search(ctx context.Context, to string) ([]string, error) {
	// Mailpit's to: matches substrings of the To header, so it only
	// narrows the list; the exact match is made here.
	q := url.Values{"query": {fmt.Sprintf("to:%q", to)}, "limit": {"1000"}}
	b, err := m.get(ctx, "/api/v1/search?"+q.Encode())
	if err != nil {
		return nil, err
	}
	var res struct {
		Messages []struct {
			ID string
			To []mailpitAddress
		}
	}
	if err := json.Unmarshal(b, &res); err != nil {
		return nil, fmt.Errorf("mailpit: search: %v", err)
	}
	var ids []string
	for _, msg := range slices.Backward(res.Messages) { // newest first
		for _, a := range msg.To {
			if strings.EqualFold(a.Address, to) {
				ids = append(ids, msg.ID)
				break
			}
		}
	}
	return ids, nil
}

func (m *Mailpit) message(ctx context.Context, id string) (Message, error) {
	b, err := m.get(ctx, "/api/v1/message/"+url.PathEscape(id))
	if err != nil {
		return Message{}, err
	}
	var res struct {
		ID      string
		From    mailpitAddress
		To      []mailpitAddress
		Subject string
		Text    string
		HTML    string
	}
	if err := json.Unmarshal(b, &res); err != nil {
		return Message{}, fmt.Errorf("mailpit: message %s: %v", id, err)
	}
	msg := Message{ID: res.ID, From: res.From.Address, Subject: res.Subject, Text: res.Text, HTML: res.HTML}
	for _, a := range res.To {
		msg.To = append(msg.To, a.Address)
	}
	return msg, nil
}

func (m *Mailpit) get(ctx context.Context, path string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, m.APIURL+path, nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("mailpit: %v", err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("mailpit: GET %s: %v", path, err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("mailpit: GET %s: %s: %s", path, resp.Status, b)
	}
	return b, nil
}
