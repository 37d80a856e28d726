//go:build !linux

package swarm

// pageBytes is the page size the arena assumes; elsewhere it never gives
// pages back.
var pageBytes = 4096

func dropPages(words []uint32) {}
