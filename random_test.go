package sesame

import (
	"sort"
	"testing"
	"time"
)

// TestNewIDTimeOrdered: IDs sort by the millisecond they were made in, and
// two made in the same millisecond still differ.
func TestNewIDTimeOrdered(t *testing.T) {
	t0 := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	var ids []string
	seen := map[string]bool{}
	for i := range 2000 {
		id := newID(t0.Add(time.Duration(i/4) * time.Millisecond * 37))
		if len(id) != 22 || seen[id] {
			t.Fatalf("id %d = %q: want 22 characters, never repeated", i, id)
		}
		seen[id] = true
		ids = append(ids, id)
	}
	for i := 4; i < len(ids); i += 4 {
		if ids[i-4] >= ids[i] {
			t.Fatalf("%q (made first) sorts after %q", ids[i-4], ids[i])
		}
	}
	if !sort.SliceIsSorted(ids, func(i, j int) bool { return ids[i][:8] < ids[j][:8] }) {
		t.Error("the time prefixes do not sort in time order")
	}
}
