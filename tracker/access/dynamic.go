package access

import (
	"fmt"
	"slices"

	"github.com/opentracker-go/opentracker/tracker/logic"
)

// MaxChanges bounds each of the run-time change sets (added, deleted):
// 65,536 hashes, 1.25 MiB. Past it Change refuses; a Reload of a file that
// holds the changes empties the sets.
const MaxChanges = 1 << 16

// changes are the run-time additions to and deletions from the file's list,
// each sorted; a hash is in at most one of them. They are replaced, never
// modified, so that Allowed reads them without a lock.
type changes struct {
	add, del []logic.InfoHash
}

// Change lists hs (add) or takes them off the list (!add) until the next
// Reload, in either mode: in a whitelist an added hash is allowed, in a
// blacklist it is refused. A deletion wins over the file, an addition over
// an earlier deletion. It returns an error, changing nothing, for an open
// list or when a change set would pass MaxChanges.
func (l *List) Change(hs []logic.InfoHash, add bool) error {
	if l.Mode() == Open {
		return fmt.Errorf("access mode open has no list to change")
	}
	l.dynMu.Lock()
	defer l.dynMu.Unlock()
	var next changes
	if d := l.dyn.Load(); d != nil {
		next = *d
	}
	into, from := &next.add, &next.del
	if !add {
		into, from = from, into
	}
	batch := slices.Clone(hs)
	slices.SortFunc(batch, compareHash)
	batch = slices.Compact(batch)
	*into = mergeSorted(*into, batch)
	if len(*into) > MaxChanges {
		return fmt.Errorf("more than %d run-time changes since the last reload: reload the list file", MaxChanges)
	}
	*from = slices.DeleteFunc(slices.Clone(*from), func(h logic.InfoHash) bool { return contains(batch, h) })
	l.dyn.Store(&next)
	return nil
}

// mergeSorted returns the sorted union of two sorted, duplicate-free slices
// in a new slice.
func mergeSorted(a, b []logic.InfoHash) []logic.InfoHash {
	out := make([]logic.InfoHash, 0, len(a)+len(b))
	for len(a) > 0 && len(b) > 0 {
		switch c := compareHash(a[0], b[0]); {
		case c < 0:
			out, a = append(out, a[0]), a[1:]
		case c > 0:
			out, b = append(out, b[0]), b[1:]
		default:
			out, a, b = append(out, a[0]), a[1:], b[1:]
		}
	}
	return append(append(out, a...), b...)
}
