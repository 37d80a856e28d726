package swarm

import "github.com/opentracker-go/opentracker/tracker/logic"

var (
	errTorrentsFull = logic.NewFullError("torrent")
	errPeersFull    = logic.NewFullError("peer")
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
