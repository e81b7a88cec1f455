package sqlrows

import (
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/hanashi-chat/hanashi"
)

// fakeRows yields its values one per row, then err.
type fakeRows struct {
	vals []int
	i    int
	err  error
}

func (r *fakeRows) Next() bool { r.i++; return r.i <= len(r.vals) }
func (r *fakeRows) Err() error { return r.err }
func (r *fakeRows) Scan(dest ...any) error {
	*dest[0].(*int) = r.vals[r.i-1]
	return nil
}

func scanInt(scan Scan) (int, error) {
	var v int
	err := scan(&v)
	return v, err
}

func TestCollect(t *testing.T) {
	got, err := Collect(&fakeRows{vals: []int{1, 2, 3}}, scanInt)
	if err != nil || !slices.Equal(got, []int{1, 2, 3}) {
		t.Errorf("Collect = %v, %v", got, err)
	}
	if got, err := Collect(&fakeRows{}, scanInt); err != nil || got == nil || len(got) != 0 {
		t.Errorf("Collect(no rows) = %#v, %v; want an empty slice that is not nil", got, err)
	}
	broken := errors.New("broken")
	if got, err := Collect(&fakeRows{vals: []int{1}, err: broken}, scanInt); !errors.Is(err, broken) || got != nil {
		t.Errorf("Collect(broken) = %v, %v", got, err)
	}
}

func TestPage(t *testing.T) {
	ph := func(i int) string { return fmt.Sprintf("$%d", i+3) }
	end, args := Page(hanashi.Page{After: 5, Limit: 10}, "m.seq", ph)
	if end != ` AND m.seq > $3 ORDER BY m.seq LIMIT $4` || !slices.Equal(args, []any{int64(5), 10}) {
		t.Errorf("Page(after) = %q, %v", end, args)
	}
	p := hanashi.Page{Before: 9, Limit: 2}
	end, args = Page(p, "m.seq", ph)
	if end != ` AND m.seq < $3 ORDER BY m.seq DESC LIMIT $4` || !slices.Equal(args, []any{int64(9), 2}) {
		t.Errorf("Page(before) = %q, %v", end, args)
	}
	if got := Ordered(p, []int{8, 7}); !slices.Equal(got, []int{7, 8}) {
		t.Errorf("Ordered(before) = %v", got)
	}
}
