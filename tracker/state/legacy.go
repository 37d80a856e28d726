package state

import (
	"bufio"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/opentracker-go/opentracker/tracker/logic"
	"github.com/opentracker-go/opentracker/tracker/swarm"
)

// maxLine bounds a reference dump line (a valid one is under 80 bytes).
const maxLine = 4096

// readReference restores a statedump in the reference's format: one
// "HEX40:minutes:completed" line per torrent, minutes since the Unix epoch of
// its last announce, so the torrent keeps its age. '#' lines are comments.
func readReference(br *bufio.Reader, name string, store *swarm.Store, allow func(logic.InfoHash) bool, now time.Time) (Restored, []error, error) {
	var done Restored
	var problems []error
	var full refusals
	nowMin := now.Unix() / 60
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
			return done, problems, fmt.Errorf("%s:%d: %v", name, line, rerr)
		}
		if text := strings.TrimSpace(string(b)); text != "" && text[0] != '#' {
			rec, perr := parseLine(text, nowMin)
			switch {
			case perr != nil:
				problems = append(problems, fmt.Errorf("%s:%d: %v", name, line, perr))
			case allow != nil && !allow(rec.InfoHash):
			default:
				switch err := store.RestoreTorrent(&rec); {
				case err == nil:
					done.Torrents++
				case errors.Is(err, swarm.ErrExpired):
				default:
					full.torrents, full.err = full.torrents+1, err
				}
			}
		}
		if rerr == io.EOF {
			break
		}
	}
	return done, append(problems, full.problems(name)...), nil
}

// parseLine reads one reference line; the age is counted from nowMin and
// is zero for a time stamp in the future (a clock set back).
func parseLine(text string, nowMin int64) (rec swarm.TorrentRecord, err error) {
	parts := strings.Split(text, ":")
	if len(parts) != 3 || len(parts[0]) != 40 {
		return rec, fmt.Errorf("want HEX40:minutes:completed, got %q", text)
	}
	if _, err := hex.Decode(rec.InfoHash[:], []byte(parts[0])); err != nil {
		return rec, fmt.Errorf("info_hash is not hex: %q", parts[0])
	}
	base, err := strconv.ParseInt(parts[1], 10, 64)
	if err != nil {
		return rec, fmt.Errorf("bad time %q", parts[1])
	}
	c, err := strconv.ParseUint(parts[2], 10, 32)
	if err != nil {
		return rec, fmt.Errorf("bad completed count %q", parts[2])
	}
	rec.Completed = uint32(c)
	switch {
	case base >= nowMin:
	case base < nowMin-math.MaxUint32: // also keeps the subtraction in range
		rec.Age = math.MaxUint32
	default:
		rec.Age = uint32(nowMin - base)
	}
	return rec, nil
}

// AppendDump appends the store in the reference's statedump format (also
// /stats?mode=statedump): one "HEX40:minutes:completed" line per torrent,
// the minute (since the Unix epoch) of its last announce, so that the
// reference, or this tracker, restores it with its real age. No peers.
func AppendDump(dst []byte, store *swarm.Store, now time.Time) []byte {
	nowMin := now.Unix() / 60
	var c swarm.SnapshotCursor
	for store.Snapshot(&c, chunkRecords, func(t *swarm.TorrentRecord) {
		dst = t.InfoHash.AppendHex(dst)
		dst = fmt.Appendf(dst, ":%d:%d\n", nowMin-int64(t.Age), t.Completed)
	}, func(*swarm.PeerRecord) {}) {
	}
	return dst
}
