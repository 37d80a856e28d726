package main

import (
	"github.com/opentracker-go/opentracker/tracker/config"
	httpfront "github.com/opentracker-go/opentracker/tracker/http"
)

// connBufferBytes is what the HTTP connection table allocates at start,
// live heap beside the store's budget that the Go memory limit must allow.
func connBufferBytes(cfg *config.Config) int64 {
	return int64(cfg.HTTP.MaxConnections) * httpfront.MaxRequestBytes
}

// perAddressCap maps http.max_connections_per_address (0: no limit) to the
// HTTP server's MaxPerAddress (0: its default, <0: no limit).
func perAddressCap(n int) int {
	if n == 0 {
		return -1
	}
	return n
}
