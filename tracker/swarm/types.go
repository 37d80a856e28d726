package swarm

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
	// NewDownload reports that this announce counted a download: the peer
	// said completed, is a seeder, and had not been counted before.
	NewDownload bool
	// Fresh reports that this announce carries news worth telling other
	// trackers (live sync): a new peer, a newly completed one, a stop, or a peer
	// not heard from for a while.
	Fresh bool
}

// ErrFull is returned (wrapped in *FullError) when the memory budget has no
// room for a new torrent or peer. Existing swarms keep working.
var ErrFull = errors.New("tracker is full")

// FullError says which table ran out of room. Its message is built once, so
// that a refusal allocates nothing either.
type FullError struct{ What, msg string }

func (e *FullError) Error() string { return e.msg }
func (e *FullError) Unwrap() error { return ErrFull }

func newFullError(what string) *FullError {
	return &FullError{What: what, msg: "tracker is full: no room for another " + what}
}

var (
	errTorrentsFull = newFullError("torrent")
	errPeersFull    = newFullError("peer")
)

// Stats is a snapshot of the store's size and refusals.
type Stats struct {
	Torrents        int
	TorrentCapacity int
	Peers4          int
	Peers6          int
	Seeders         int
	Completed       uint64 // sum of the torrents' completed counters
	ArenaBytes      int64  // peer arena size
	ArenaUsedBytes  int64  // in blocks handed out to peer lists
	BudgetBytes     int64  // everything allocated at start
	RefusedTorrents uint64
	RefusedPeers    uint64
}
