package postgres_test

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hanashi-chat/hanashi"
	"github.com/hanashi-chat/hanashi/internal/testutil"
)

// TestClaimGuestWhilePosting claims a guest on one node while the guest
// posts from two others: every message the guest managed to store must be
// moved to the account, none left behind under the guest, and every post
// after the claim refused.
func TestClaimGuestWhilePosting(t *testing.T) {
	f := newFixture(t, 3)
	ctx := t.Context()
	for round := range 10 {
		guest, err := f.nodes[0].CreateUser(ctx, hanashi.User{Name: fmt.Sprint("guest ", round), Guest: true})
		if err != nil {
			t.Fatal(err)
		}
		var created atomic.Int64
		var wg sync.WaitGroup
		for p := range 4 {
			db := f.nodes[1+p%2]
			wg.Go(func() {
				for i := 0; ; i++ {
					res, err := db.Post(ctx, []hanashi.Post{{Room: f.room.ID, Author: guest.ID, ClientID: fmt.Sprint(p, "/", i), Body: "x"}})
					if err != nil {
						t.Errorf("Post: %v", err)
						return
					}
					if res[0].Err != nil {
						if hanashi.ErrorCode(res[0].Err) != hanashi.EFORBIDDEN {
							t.Errorf("Post after the claim: %v, want %s", res[0].Err, hanashi.EFORBIDDEN)
						}
						return
					}
					created.Add(1)
				}
			})
		}
		testutil.Eventually(t, 10*time.Second, "the guest to store 8 messages", func() bool { return created.Load() >= 8 })
		moved, err := f.nodes[0].ClaimGuest(ctx, guest.ID, f.user.ID)
		if err != nil {
			t.Fatalf("ClaimGuest: %v", err)
		}
		wg.Wait()
		if t.Failed() {
			t.FailNow()
		}
		left := 0
		for _, m := range allMessages(t, f.nodes[0], f.room.ID) {
			if m.Author.ID == guest.ID {
				left++
			}
		}
		if left != 0 || int64(moved) != created.Load() {
			t.Errorf("round %d: the guest stored %d messages, the claim moved %d and left %d; want all moved",
				round, created.Load(), moved, left)
		}
	}
}
