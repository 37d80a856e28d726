// Package access decides which torrents may be tracked: a white or black list
// of info_hashes, re-read on SIGHUP, with run-time changes through named
// pipes (fifo.go). logic.Tracker consults it through its Access interface.
package access

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/opentracker-go/opentracker/tracker/logic"
)

// Mode says what the list means.
type Mode uint8

const (
	Open      Mode = iota // every torrent is served; no list
	Whitelist             // only listed torrents are served
	Blacklist             // listed torrents are refused
)

// ParseMode reads "open", "whitelist" or "blacklist".
func ParseMode(s string) (Mode, error) {
	switch s {
	case "open", "":
		return Open, nil
	case "whitelist":
		return Whitelist, nil
	case "blacklist":
		return Blacklist, nil
	}
	return Open, fmt.Errorf("access mode %q is not one of open, whitelist, blacklist", s)
}

func (m Mode) String() string {
	return [...]string{"open", "whitelist", "blacklist"}[m]
}

// List is an access list. Lookups are lock-free: a reload builds a new sorted
// slice and swaps it in, so announces never wait for the file. Changes made
// at run time (Change, fed by the FIFOs in fifo.go) sit beside the file's
// list until the next Reload.
type List struct {
	mode   atomic.Uint32 // a Mode; Configure changes it
	path   string        // guarded by dynMu
	hashes atomic.Pointer[[]logic.InfoHash]
	dyn    atomic.Pointer[changes] // nil: no run-time changes
	dynMu  sync.Mutex              // serialises Change and Reload's reset
}

// New returns a list for mode whose file is read by the first Reload: the
// daemon reads it after changing root, where the path is resolved. Until
// then a whitelist allows nothing and a blacklist everything.
func New(mode Mode, path string) *List {
	l := &List{path: path}
	l.mode.Store(uint32(mode))
	return l
}

// Mode returns the list's mode.
func (l *List) Mode() Mode {
	if l == nil {
		return Open
	}
	return Mode(l.mode.Load())
}

// Reload re-reads the file. On error the previous list stays in force.
func (l *List) Reload() (int, error) {
	if l == nil {
		return 0, nil
	}
	l.dynMu.Lock()
	path := l.path
	l.dynMu.Unlock()
	return l.Configure(l.Mode(), path)
}

// Configure switches the list to mode and the file at path, read now
// (SIGHUP with a changed access mode or list). On error the previous mode,
// file and list stay in force.
func (l *List) Configure(mode Mode, path string) (int, error) {
	var hashes []logic.InfoHash
	if mode != Open {
		f, err := os.Open(path)
		if err != nil {
			return 0, err
		}
		defer f.Close()
		if hashes, err = Parse(f, path); err != nil {
			return 0, err
		}
	}
	// Run-time changes are taken to be in the file by now (as opentracker
	// assumes): the file is the truth again.
	l.dynMu.Lock()
	l.path = path
	l.hashes.Store(&hashes)
	l.dyn.Store(nil)
	l.mode.Store(uint32(mode))
	l.dynMu.Unlock()
	return len(hashes), nil
}

// Allowed reports whether the torrent may be tracked.
func (l *List) Allowed(h logic.InfoHash) bool {
	mode := l.Mode()
	if mode == Open {
		return true
	}
	listed := false
	if p := l.hashes.Load(); p != nil {
		listed = contains(*p, h)
	}
	if d := l.dyn.Load(); d != nil {
		switch {
		case contains(d.del, h):
			listed = false
		case contains(d.add, h):
			listed = true
		}
	}
	return listed == (mode == Whitelist)
}

func contains(sorted []logic.InfoHash, h logic.InfoHash) bool {
	_, ok := slices.BinarySearchFunc(sorted, h, compareHash)
	return ok
}

func compareHash(a, b logic.InfoHash) int { return bytes.Compare(a[:], b[:]) }

// Parse reads a list file: one info_hash per line as 40 hex digits, with
// blank lines and lines starting with '#' ignored, and anything after the
// hash after a non-hex character (a comment, a name), as the reference reads it. Any other line is an
// error naming the file and line: a typo must not silently drop a torrent.
// The result is sorted and free of duplicates.
func Parse(r io.Reader, name string) ([]logic.InfoHash, error) {
	var out []logic.InfoHash
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 4096), maxLine)
	line := 1
	for ; sc.Scan(); line++ {
		h, ok, err := parseLine(sc.Bytes())
		if err != nil {
			return nil, fmt.Errorf("%s:%d: %v", name, line, err)
		}
		if ok {
			out = append(out, h)
		}
	}
	if err := sc.Err(); errors.Is(err, bufio.ErrTooLong) {
		return nil, fmt.Errorf("%s:%d: line longer than %d bytes (one info_hash per line)", name, line, maxLine)
	} else if err != nil {
		return nil, fmt.Errorf("%s:%d: %v", name, line, err)
	}
	slices.SortFunc(out, compareHash)
	return slices.Compact(out), nil
}

// maxLine bounds a list line: a hash and a comment or a name.
const maxLine = 1 << 20

func clip(b []byte) string {
	if len(b) > 60 {
		return string(b[:60]) + "..."
	}
	return string(b)
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}
