// Package state saves the torrent table across restarts in the reference's
// statedump format: one "HEX40:minutes:completed" line per torrent. Peers are
// not saved: they re-announce within one interval anyway. AppendDump writes
// the format (also /stats?mode=statedump).
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

	"github.com/opentracker-go/opentracker/tracker/logic"
	"github.com/opentracker-go/opentracker/tracker/swarm"
)

// tempPattern names Save's temporary files, in the dump's directory.
const tempPattern = ".opentracker-state-*"

// Save writes the dump to path atomically: a temporary file, synced, renamed
// over it, and the directory synced, so that neither a crash nor a power
// cut (routers lose power) mid-save leaves a torn or empty dump. Temporary
// files left by an earlier interrupted save are removed.
func Save(path string, store *swarm.Store) error {
	dir := filepath.Dir(path)
	if stale, _ := filepath.Glob(filepath.Join(dir, tempPattern)); len(stale) > 0 {
		for _, f := range stale {
			os.Remove(f)
		}
	}
	tmp, err := os.CreateTemp(dir, tempPattern)
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(AppendDump(nil, store, time.Now())); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return err
	}
	if d, err := os.Open(dir); err == nil {
		d.Sync() // the rename itself; not every file system supports it
		d.Close()
	}
	return nil
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

// Load restores the torrents in the dump at path that allow accepts (nil
// accepts all). Lines it cannot read are reported, file:line, in problems and
// skipped, and so are torrents the store has no room for (one problem with
// their count): loading goes on to the end. Lines older than maxAge are
// skipped silently, as their torrents would have expired.
func Load(path string, store *swarm.Store, allow func(logic.InfoHash) bool, maxAge time.Duration) (restored int, problems []error, err error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, nil, err
	}
	defer f.Close()
	return Read(f, path, store, allow, maxAge, time.Now())
}

// maxLine bounds a dump line (a valid one is under 80 bytes).
const maxLine = 4096

// Read is Load from a reader named name.
func Read(r io.Reader, name string, store *swarm.Store, allow func(logic.InfoHash) bool, maxAge time.Duration, now time.Time) (restored int, problems []error, err error) {
	br := bufio.NewReaderSize(r, maxLine)
	nowMin := now.Unix() / 60
	maxMin := int64(maxAge / time.Minute)
	full := 0
	var fullErr error
	for line := 1; ; line++ {
		b, rerr := br.ReadSlice('\n')
		if rerr == bufio.ErrBufferFull {
			problems = append(problems, fmt.Errorf("%s:%d: line longer than %d bytes", name, line, maxLine))
			for rerr == bufio.ErrBufferFull {
				_, rerr = br.ReadSlice('\n')
			}
			if rerr == nil {
				continue
			}
		}
		if rerr != nil && rerr != io.EOF {
			return restored, problems, fmt.Errorf("%s:%d: %v", name, line, rerr)
		}
		if text := strings.TrimSpace(string(b)); text != "" && text[0] != '#' {
			h, base, completed, perr := parseLine(text)
			switch {
			case perr != nil:
				problems = append(problems, fmt.Errorf("%s:%d: %v", name, line, perr))
			case maxAge > 0 && nowMin-base > maxMin:
			case allow != nil && !allow(h):
			default:
				if err := store.Restore(h, completed); err != nil {
					full, fullErr = full+1, err
				} else {
					restored++
				}
			}
		}
		if rerr == io.EOF {
			break
		}
	}
	if full > 0 {
		problems = append(problems, fmt.Errorf("%s: %d torrents not restored: %v", name, full, fullErr))
	}
	return restored, problems, nil
}

func parseLine(text string) (h logic.InfoHash, base int64, completed uint32, err error) {
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

// AppendDump appends the dump: one line per torrent, "HEX40:minutes since
// the epoch:completed" (also /stats?mode=statedump).
func AppendDump(dst []byte, store *swarm.Store, now time.Time) []byte {
	base := now.Unix() / 60
	store.Range(func(h logic.InfoHash, c logic.Counts) bool {
		dst = h.AppendHex(dst)
		dst = fmt.Appendf(dst, ":%d:%d\n", base, c.Completed)
		return true
	})
	return dst
}
