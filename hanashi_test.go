package hanashi_test

import (
	"testing"
	"time"

	"github.com/hanashi-chat/hanashi"
)

func TestNewSortableID(t *testing.T) {
	t0 := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	seen := make(map[string]bool)
	prev := ""
	for i := range 1000 {
		id := hanashi.NewSortableID(t0.Add(time.Duration(i) * time.Millisecond))
		if len(id) != len(hanashi.NewID()) {
			t.Fatalf("id %q has length %d, want that of NewID", id, len(id))
		}
		if id <= prev {
			t.Fatalf("id %q made later does not sort after %q", id, prev)
		}
		if seen[id] {
			t.Fatalf("duplicate id %q", id)
		}
		seen[id], prev = true, id
	}
	// Within one millisecond the random part keeps them apart.
	a, b := hanashi.NewSortableID(t0), hanashi.NewSortableID(t0)
	if a == b {
		t.Fatalf("two ids in one millisecond are equal: %q", a)
	}
}
