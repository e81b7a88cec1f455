package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"
)

// api makes the few HTTP calls a run needs before it opens WebSockets.
type api struct {
	base string
	http *http.Client
}

func newAPI(base string) *api {
	return &api{base: base, http: &http.Client{Timeout: 10 * time.Second}}
}

// call sends body as JSON and decodes a 2xx answer into out; an error
// answer becomes an error with the server's code and message.
func (a *api) call(ctx context.Context, method, path, token string, body, out any) error {
	b, err := json.Marshal(body)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, method, a.base+path, bytes.NewReader(b))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := a.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode/100 != 2 {
		var e struct {
			Error struct{ Code, Message string }
		}
		if json.Unmarshal(data, &e) == nil && e.Error.Code != "" {
			return fmt.Errorf("%s %s: %s: %s", method, path, e.Error.Code, e.Error.Message)
		}
		return fmt.Errorf("%s %s: %s", method, path, resp.Status)
	}
	return json.Unmarshal(data, out)
}

// createGuest returns the Bearer token of a new guest.
func (a *api) createGuest(ctx context.Context, name string) (string, error) {
	var out struct{ Token string }
	if err := a.call(ctx, http.MethodPost, "/api/v1/guests", "", map[string]string{"name": name}, &out); err != nil {
		return "", err
	}
	if out.Token == "" {
		return "", fmt.Errorf("POST /api/v1/guests: no token in the answer")
	}
	return out.Token, nil
}

// createRoom creates a public room and returns its id.
func (a *api) createRoom(ctx context.Context, token, name string) (int64, error) {
	var out struct {
		Room struct{ ID int64 }
	}
	err := a.call(ctx, http.MethodPost, "/api/v1/rooms", token, map[string]any{"name": name, "private": false}, &out)
	if err != nil {
		return 0, err
	}
	return out.Room.ID, nil
}

// createGuests creates n guests named prefix-i, a few at a time.
func (a *api) createGuests(ctx context.Context, prefix string, n int) ([]string, error) {
	const parallel = 8
	tokens := make([]string, n)
	errs := make([]error, n)
	sem := make(chan struct{}, parallel)
	var wg sync.WaitGroup
	for i := range n {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			tokens[i], errs[i] = a.createGuest(ctx, fmt.Sprintf("%s-%d", prefix, i))
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	return tokens, nil
}
