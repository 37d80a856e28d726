package swarm

import (
	"fmt"
	"unsafe"
)

// CheckTorrents reports whether a store of budget bytes can hold
// maxTorrents torrents (0: derived from the budget), as New will decide, so
// that a configuration check can name the key before anything is allocated.
func CheckTorrents(budget int64, maxTorrents int) error {
	_, _, _, _, _, err := sizeTable(budget, maxTorrents)
	return err
}

// sizeTable lays out the torrent table for budget and maxTorrents: shards,
// torrents per shard, index length per shard and the table's bytes, which
// must stay under half the budget (the rest is for peers).
func sizeTable(budget int64, maxTorrents int) (maxT, nShards, perShard, indexLen int, tableBytes int64, err error) {
	maxT = maxTorrents
	if maxT <= 0 {
		maxT = int(budget / budgetPerTorrent)
	}
	nShards = 1
	for nShards < maxShards && maxT/(nShards*2) >= 64 {
		nShards *= 2
	}
	perShard = (maxT + nShards - 1) / nShards
	indexLen = 1
	for indexLen < 2*perShard {
		indexLen *= 2
	}
	tableBytes = int64(nShards) * (int64(perShard)*int64(unsafe.Sizeof(torrent{})) + int64(indexLen)*4)
	if tableBytes >= budget/2 {
		err = fmt.Errorf("%d torrents need %d bytes of table, more than half of memory_budget (%d bytes); raise memory_budget or lower max_torrents", maxT, tableBytes, budget)
	}
	return
}
