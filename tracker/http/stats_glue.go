package http

import (
	"errors"

	"github.com/opentracker-go/opentracker/tracker/stats"
	"github.com/opentracker-go/opentracker/tracker/swarm"
)

// TEMPORARY until tracker/stats gains Render: then these become
// stats.Render and stats.ErrUnknownMode.
var errUnknownMode = errors.New("unknown stats mode")

func renderStats(dst []byte, mode, format string, store *swarm.Store, c *stats.Counters) ([]byte, error) {
	if mode != "" && mode != "peer" {
		return dst, errUnknownMode
	}
	st := store.Stats()
	dst = append(dst, "peers "...)
	dst = appendInt(dst, st.Peers4+st.Peers6)
	return dst, nil
}

func appendInt(b []byte, n int) []byte {
	if n >= 10 {
		b = appendInt(b, n/10)
	}
	return append(b, byte('0'+n%10))
}
