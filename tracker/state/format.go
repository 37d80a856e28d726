package state

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"math"
	"net/netip"
	"time"

	"github.com/opentracker-go/opentracker/tracker/logic"
	"github.com/opentracker-go/opentracker/tracker/swarm"
)

// Format 2 is binary, big endian, after a text line that names it:
//
//	"# opentracker-go state 2\n"   (a comment line to the reference's loader)
//	saved       int64              Unix seconds when the dump was written
//	records, each a tag byte and a fixed body:
//	'T' info_hash[20] age u32 completed u32   a torrent; its peers follow
//	'4' ipv4[4] port u16 age u16 flags u8     an IPv4 peer of that torrent
//	'6' ipv6[16] port u16 age u16 flags u8    an IPv6 peer of that torrent
//	'E' torrents u32 peers u32 crc32 u32      the end: what was written, and
//	                                          the IEEE CRC-32 of every byte
//	                                          before the CRC itself
//
// Ages are whole minutes before saved; flags are 1 seeder, 2 completed
// (its download was counted). A v4 peer takes 10 bytes, a v6 peer 22, a
// torrent 29: a router's tmpfs holds a few times the peer arena at most.
const (
	magicPrefix = "# opentracker-go state "
	magic       = magicPrefix + "2\n"

	tagTorrent = 'T'
	tagPeer4   = '4'
	tagPeer6   = '6'
	tagEnd     = 'E'

	flagSeeder    = 1
	flagCompleted = 2

	// chunkRecords bounds the records read from the store with one shard
	// locked; chunkBytes holds that many of the largest record.
	chunkRecords = 2048
	chunkBytes   = chunkRecords * (1 + 20 + 4 + 4)
)

// bodySize is the size of each record's body after its tag, 0 if unknown.
func bodySize(tag byte) int {
	switch tag {
	case tagTorrent:
		return 20 + 4 + 4
	case tagPeer4:
		return 4 + 2 + 2 + 1
	case tagPeer6:
		return 16 + 2 + 2 + 1
	case tagEnd:
		return 4 + 4 + 4
	}
	return 0
}

// Write writes the store to w in format 2, as of now. Its memory does not
// grow with the store: the store is read and written a chunk at a time.
func Write(w io.Writer, store *swarm.Store, now time.Time) (Restored, error) {
	var n Restored
	buf := make([]byte, 0, chunkBytes)
	buf = append(buf, magic...)
	buf = binary.BigEndian.AppendUint64(buf, uint64(now.Unix()))
	crc := crc32.NewIEEE()
	onTorrent := func(t *swarm.TorrentRecord) {
		buf = append(buf, tagTorrent)
		buf = append(buf, t.InfoHash[:]...)
		buf = binary.BigEndian.AppendUint32(buf, t.Age)
		buf = binary.BigEndian.AppendUint32(buf, t.Completed)
		n.Torrents++
	}
	onPeer := func(p *swarm.PeerRecord) {
		a := p.Peer.Addr()
		if a.Is4() {
			buf = append(buf, tagPeer4)
			b := a.As4()
			buf = append(buf, b[:]...)
		} else {
			buf = append(buf, tagPeer6)
			b := a.As16()
			buf = append(buf, b[:]...)
		}
		buf = binary.BigEndian.AppendUint16(buf, p.Peer.Port())
		buf = binary.BigEndian.AppendUint16(buf, uint16(min(p.Age, math.MaxUint16)))
		var f byte
		if p.Seeder {
			f |= flagSeeder
		}
		if p.Completed {
			f |= flagCompleted
		}
		buf = append(buf, f)
		n.Peers++
	}
	var cur swarm.SnapshotCursor
	for more := true; more; {
		more = store.Snapshot(&cur, chunkRecords, onTorrent, onPeer)
		crc.Write(buf)
		if _, err := w.Write(buf); err != nil {
			return n, err
		}
		buf = buf[:0]
	}
	buf = append(buf, tagEnd)
	buf = binary.BigEndian.AppendUint32(buf, uint32(n.Torrents))
	buf = binary.BigEndian.AppendUint32(buf, uint32(n.Peers))
	crc.Write(buf)
	buf = binary.BigEndian.AppendUint32(buf, crc.Sum32())
	_, err := w.Write(buf)
	return n, err
}

// readFormat2 restores a format 2 dump. A record it cannot read ends the
// load (nothing after it can be trusted), with the byte offset; what came
// before stays restored.
func readFormat2(br *bufio.Reader, name string, store *swarm.Store, allow func(logic.InfoHash) bool, now time.Time) (Restored, []error, error) {
	r := format2Restorer{store: store, allow: allow}
	crc := crc32.NewIEEE()
	var rec [1 + 20 + 4 + 4]byte
	off := int64(0)
	read := func(b []byte) error {
		_, err := io.ReadFull(br, b)
		crc.Write(b)
		off += int64(len(b))
		return err
	}
	problem := func(format string, args ...any) (Restored, []error, error) {
		p := append([]error{fmt.Errorf("%s: byte %d: %s", name, off, fmt.Sprintf(format, args...))}, r.full.problems(name)...)
		return r.done, p, nil
	}
	line, err := br.ReadSlice('\n')
	if err != nil || string(line) != magic {
		return problem("unknown state format %q (this tracker reads format 2 and the reference's)", line)
	}
	crc.Write(line)
	off += int64(len(line))
	if err := read(rec[:8]); err != nil {
		return problem("truncated header")
	}
	r.elapsed = minutesSince(int64(binary.BigEndian.Uint64(rec[:8])), now)
	for {
		at := off
		if err := read(rec[:1]); err != nil {
			return problem("truncated: no end record after %d torrents", r.done.Torrents)
		}
		size := bodySize(rec[0])
		if size == 0 {
			off = at
			return problem("unknown record type 0x%02x", rec[0])
		}
		body := rec[1 : 1+size]
		if rec[0] == tagEnd {
			if err := read(body[:8]); err != nil {
				return problem("truncated end record")
			}
			sum := crc.Sum32()
			if _, err := io.ReadFull(br, body[8:]); err != nil {
				return problem("truncated end record")
			}
			if got := binary.BigEndian.Uint32(body[8:]); got != sum {
				off = at
				return problem("checksum %08x, want %08x: the file was changed or damaged", got, sum)
			}
			return r.done, r.full.problems(name), nil
		}
		if err := read(body); err != nil {
			off = at
			return problem("truncated record")
		}
		r.apply(rec[0], body)
	}
}

// minutesSince is the whole minutes from a save at Unix time saved to now,
// added to every restored age; none for a save "in the future" (a router's
// clock before NTP has set it).
func minutesSince(saved int64, now time.Time) uint32 {
	if d := now.Unix() - saved; d > 0 {
		return uint32(min(d/60, math.MaxUint32/2))
	}
	return 0
}

// format2Restorer applies the torrent and peer records of a format-2 dump
// to a store, in file order: a peer record belongs to the torrent record
// before it.
type format2Restorer struct {
	store   *swarm.Store
	allow   func(logic.InfoHash) bool
	elapsed uint32 // minutes since the save
	done    Restored
	full    refusals
	torrent logic.InfoHash
	keep    bool // whether the current torrent was restored
}

func (r *format2Restorer) apply(tag byte, body []byte) {
	if tag == tagTorrent {
		t := swarm.TorrentRecord{Age: addAge(binary.BigEndian.Uint32(body[20:24]), r.elapsed),
			Completed: binary.BigEndian.Uint32(body[24:28])}
		copy(t.InfoHash[:], body[:20])
		r.torrent, r.keep = t.InfoHash, false
		if r.allow != nil && !r.allow(t.InfoHash) {
			return
		}
		switch err := r.store.RestoreTorrent(&t); {
		case err == nil:
			r.done.Torrents++
			r.keep = true
		case errors.Is(err, swarm.ErrExpired):
		default:
			r.full.torrents, r.full.err = r.full.torrents+1, err
		}
		return
	}
	if !r.keep {
		return
	}
	p := decodePeer(tag, body, r.elapsed)
	switch err := r.store.RestorePeer(r.torrent, &p); {
	case err == nil:
		r.done.Peers++
	case errors.Is(err, swarm.ErrExpired):
	default:
		r.full.peers, r.full.err = r.full.peers+1, err
	}
}

func decodePeer(tag byte, body []byte, elapsed uint32) swarm.PeerRecord {
	var a netip.Addr
	if tag == tagPeer4 {
		a = netip.AddrFrom4([4]byte(body[:4]))
		body = body[4:]
	} else {
		a = netip.AddrFrom16([16]byte(body[:16]))
		body = body[16:]
	}
	return swarm.PeerRecord{
		Peer:      netip.AddrPortFrom(a, binary.BigEndian.Uint16(body[:2])),
		Age:       addAge(uint32(binary.BigEndian.Uint16(body[2:4])), elapsed),
		Seeder:    body[4]&flagSeeder != 0,
		Completed: body[4]&flagCompleted != 0,
	}
}

func addAge(age, elapsed uint32) uint32 {
	if age > math.MaxUint32-elapsed {
		return math.MaxUint32
	}
	return age + elapsed
}
