// Package state saves the torrent table across restarts in the reference's
// statedump format: one "HEX40:minutes:completed" line per torrent. Peers are
// not saved: they re-announce within one interval anyway.
package state

import (
	"bufio"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/opentracker-go/opentracker/tracker/stats"
	"github.com/opentracker-go/opentracker/tracker/swarm"
)

// Save writes the dump to path atomically (a temporary file renamed over it),
// so a crash mid-write leaves the previous dump intact.
func Save(path string, store *swarm.Store) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".opentracker-state-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(stats.AppendStateDump(nil, store, time.Now())); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// Load restores the torrents in the dump at path that allow accepts (nil
// accepts all). Lines it cannot read are reported, file:line, in problems and
// skipped; dumps older than maxAge per line are skipped silently, as their
// torrents would have expired.
func Load(path string, store *swarm.Store, allow func(swarm.InfoHash) bool, maxAge time.Duration) (restored int, problems []error, err error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, nil, err
	}
	defer f.Close()
	return Read(f, path, store, allow, maxAge, time.Now())
}

// Read is Load from a reader named name.
func Read(r io.Reader, name string, store *swarm.Store, allow func(swarm.InfoHash) bool, maxAge time.Duration, now time.Time) (restored int, problems []error, err error) {
	sc := bufio.NewScanner(r)
	nowMin := now.Unix() / 60
	for line := 1; sc.Scan(); line++ {
		text := strings.TrimSpace(sc.Text())
		if text == "" || text[0] == '#' {
			continue
		}
		h, base, completed, perr := parseLine(text)
		if perr != nil {
			problems = append(problems, fmt.Errorf("%s:%d: %v", name, line, perr))
			continue
		}
		if maxAge > 0 && time.Duration(nowMin-base)*time.Minute > maxAge {
			continue
		}
		if allow != nil && !allow(h) {
			continue
		}
		if err := store.Restore(h, completed); err != nil {
			return restored, problems, fmt.Errorf("%s:%d: %v", name, line, err)
		}
		restored++
	}
	return restored, problems, sc.Err()
}

func parseLine(text string) (h swarm.InfoHash, base int64, completed uint32, err error) {
	parts := strings.Split(text, ":")
	if len(parts) != 3 || len(parts[0]) != 40 {
		return h, 0, 0, fmt.Errorf("want HEX40:minutes:completed, got %q", text)
	}
	if _, err := hex.Decode(h[:], []byte(parts[0])); err != nil {
		return h, 0, 0, fmt.Errorf("info_hash is not hex: %q", parts[0])
	}
	base, err = strconv.ParseInt(parts[1], 10, 64)
	if err != nil {
		return h, 0, 0, fmt.Errorf("bad time %q", parts[1])
	}
	c, err := strconv.ParseUint(parts[2], 10, 32)
	if err != nil {
		return h, 0, 0, fmt.Errorf("bad completed count %q", parts[2])
	}
	return h, base, uint32(c), nil
}
