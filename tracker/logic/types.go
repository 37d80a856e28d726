package logic

import (
	"errors"
	"net/netip"
)

// InfoHash identifies a torrent (BEP 3: SHA-1 of the info dictionary; BEP 52
// v2 hashes are truncated to 20 bytes by clients).
type InfoHash [20]byte

// Event is the announce event of BEP 3 (HTTP) and BEP 15 (UDP), plus BEP 21's
// "paused".
type Event uint8

const (
	EventNone Event = iota
	EventCompleted
	EventStarted
	EventStopped
	EventPaused
)

// Family selects address families for a peer list.
type Family uint8

const (
	V4 Family = 1 << iota
	V6
	BothFamilies = V4 | V6
)

// MaxPeersPerReply bounds numwant; a PeerBuffer holds this many of each family.
const MaxPeersPerReply = 512

// Compact peer sizes (BEP 23 and BEP 7).
const (
	CompactV4Size = 6
	CompactV6Size = 18
)

// PeerBuffer is reusable output space for one announce reply. Keep one per
// connection or receive loop: the store writes into it and allocates nothing.
type PeerBuffer struct {
	v4 [MaxPeersPerReply * CompactV4Size]byte
	v6 [MaxPeersPerReply * CompactV6Size]byte
}

// Space4 and Space6 are the buffer's empty compact peer lists, with room
// for MaxPeersPerReply peers, for the store to append to.
func (b *PeerBuffer) Space4() []byte { return b.v4[:0] }
func (b *PeerBuffer) Space6() []byte { return b.v6[:0] }

// Request is one announce.
type Request struct {
	InfoHash InfoHash
	Peer     netip.AddrPort // the announcing peer; v4-mapped v6 counts as v4
	Event    Event
	Seeder   bool   // left == 0
	NumWant  int    // peers wanted in total; capped at MaxPeersPerReply
	Families Family // families to return peers from
	FromSync bool   // learnt from another tracker (live sync): not observed
}

// Counts is a torrent's scrape triple.
type Counts struct {
	Seeders   uint32
	Leechers  uint32
	Completed uint32
}

// Result is what an announce answers. Peers4 and Peers6 are compact peer
// strings inside the PeerBuffer passed to Announce; they stay valid until the
// buffer is used again.
type Result struct {
	Counts
	Peers4 []byte
	Peers6 []byte
	// Interval is the announce interval for this reply in seconds, set by
	// Tracker.Announce (the store leaves it 0).
	Interval uint32
	// NewDownload reports that this announce counted a download: the peer
	// said completed, is a seeder, and had not been counted before.
	NewDownload bool
	// Fresh reports that this announce carries news worth telling other
	// trackers (live sync): a new peer, a newly completed one, a stop, or a peer
	// not heard from for a while.
	Fresh bool
}

// News is an announce worth telling other trackers about (Result.Fresh).
// It is passed by value, with nothing pointing into the caller's buffers.
type News struct {
	InfoHash    InfoHash
	Peer        netip.AddrPort
	Event       Event
	Seeder      bool
	NewDownload bool
}

// ErrFull is returned (wrapped in *FullError) when the memory budget has no
// room for a new torrent or peer. Existing swarms keep working.
var ErrFull = errors.New("tracker is full")

// FullError says which table ran out of room. Its message is built once, so
// that a refusal allocates nothing either.
type FullError struct{ What, msg string }

func (e *FullError) Error() string { return e.msg }
func (e *FullError) Unwrap() error { return ErrFull }

// NewFullError makes the refusal for a table that has no room for what.
func NewFullError(what string) *FullError {
	return &FullError{What: what, msg: "tracker is full: no room for another " + what}
}

// ErrNotAuthorized refuses a torrent the access list does not allow. The
// text is opentracker's, which clients show to their users.
var ErrNotAuthorized = errors.New("Requested download is not authorized for use with this tracker.")

// AppendHex appends the hash as 40 upper-case hex digits, as opentracker
// writes hashes in its state dump and /stats pages.
func (h InfoHash) AppendHex(dst []byte) []byte {
	const digits = "0123456789ABCDEF"
	for _, b := range h {
		dst = append(dst, digits[b>>4], digits[b&15])
	}
	return dst
}
