// Package state saves the swarm store across restarts: torrents with their
// age and completed count, and their peers with address, port, seeder flag
// and age, so that a restarted tracker hands out the swarm it had.
//
// Save writes format 2 (format.go). Load reads format 2 and the reference
// opentracker's statedump, one "HEX40:minutes:completed" line per torrent
// (legacy.go), which carries no peers.
package state

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/opentracker-go/opentracker/tracker/logic"
	"github.com/opentracker-go/opentracker/tracker/swarm"
)

// tempPattern names Save's temporary files, in the dump's directory.
const tempPattern = ".opentracker-state-*"

// Restored counts what a load put back into the store.
type Restored struct {
	Torrents int
	Peers    int
}

// Save writes the dump to path atomically: a temporary file, synced, renamed
// over it, and the directory synced, so that neither a crash nor a power
// cut (routers lose power) mid-save leaves a torn or empty dump. Temporary
// files left by an earlier interrupted save are removed. It returns what
// the dump holds.
func Save(path string, store *swarm.Store) (Restored, error) {
	dir := filepath.Dir(path)
	if stale, _ := filepath.Glob(filepath.Join(dir, tempPattern)); len(stale) > 0 {
		for _, f := range stale {
			os.Remove(f)
		}
	}
	tmp, err := os.CreateTemp(dir, tempPattern)
	if err != nil {
		return Restored{}, err
	}
	defer os.Remove(tmp.Name())
	n, err := Write(tmp, store, time.Now())
	if err != nil {
		tmp.Close()
		return n, err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return n, err
	}
	if err := tmp.Close(); err != nil {
		return n, err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return n, err
	}
	if d, err := os.Open(dir); err == nil {
		d.Sync() // the rename itself; not every file system supports it
		d.Close()
	}
	return n, nil
}

// Backup copies the dump at path to path.bak, for when it was not restored
// whole: the next Save writes only what the store holds.
func Backup(path string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	return os.WriteFile(path+".bak", b, 0o600)
}

// Load restores the dump at path: the torrents that allow accepts (nil
// accepts all) and their peers, with their ages. Problems are reported with
// the file and the line (reference format) or byte offset (format 2), and
// loading goes on past them where the format allows; torrents and peers the
// store has no room for are one problem each with their count. Torrents and
// peers past their timeouts are skipped silently, as they would have
// expired.
func Load(path string, store *swarm.Store, allow func(logic.InfoHash) bool) (Restored, []error, error) {
	f, err := os.Open(path)
	if err != nil {
		return Restored{}, nil, err
	}
	defer f.Close()
	return Read(f, path, store, allow, time.Now())
}

// Read is Load from a reader named name, at the time now.
func Read(r io.Reader, name string, store *swarm.Store, allow func(logic.InfoHash) bool, now time.Time) (Restored, []error, error) {
	br := bufio.NewReaderSize(r, maxLine)
	head, err := br.Peek(len(magicPrefix))
	if err == nil && bytes.Equal(head, []byte(magicPrefix)) {
		return readFormat2(br, name, store, allow, now)
	}
	if err != nil && !errors.Is(err, io.EOF) {
		return Restored{}, nil, fmt.Errorf("%s: %v", name, err)
	}
	return readReference(br, name, store, allow, now)
}

// refusals counts what the store had no room for, reported as one problem
// per kind once the load is over.
type refusals struct {
	torrents, peers int
	err             error
}

func (f *refusals) problems(name string) []error {
	var p []error
	if f.torrents > 0 {
		p = append(p, fmt.Errorf("%s: %d torrents not restored: %v", name, f.torrents, f.err))
	}
	if f.peers > 0 {
		p = append(p, fmt.Errorf("%s: %d peers not restored: %v", name, f.peers, f.err))
	}
	return p
}
