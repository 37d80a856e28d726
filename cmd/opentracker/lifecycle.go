package main

import (
	"log"
	"time"

	"github.com/opentracker-go/opentracker/tracker/state"
	"github.com/opentracker-go/opentracker/tracker/swarm"
)

// shutdownLimit bounds the shutdown after the save: the process exits then
// even if a connection or a socket has not closed, so that SIGTERM always
// ends the daemon within about two seconds.
const shutdownLimit = 1500 * time.Millisecond

// saveState writes the store to file ("" saves nothing) and logs how much,
// or why not.
func saveState(file string, store *swarm.Store, lg logs) error {
	if file == "" {
		return nil
	}
	start := time.Now()
	n, err := state.Save(file, store)
	if err != nil {
		lg.warn.Printf("state: %v", err)
		return err
	}
	if d := time.Since(start); d > time.Second {
		lg.info.Printf("state: saved %d torrents and %d peers to %s in %v", n.Torrents, n.Peers, file, d.Round(time.Millisecond))
	}
	return nil
}

// closeWithin runs closeAll and waits for it up to limit; a close still
// running then is abandoned (the process is about to exit) and logged.
func closeWithin(limit time.Duration, warn *log.Logger, closeAll func()) {
	done := make(chan struct{})
	go func() { closeAll(); close(done) }()
	t := time.NewTimer(limit)
	defer t.Stop()
	select {
	case <-done:
	case <-t.C:
		warn.Printf("shutdown: not everything closed within %v; exiting anyway", limit)
	}
}

// saveTimer ticks every interval seconds; 0 never ticks.
type saveTimer struct{ t *time.Ticker }

func newSaveTimer(seconds int) *saveTimer {
	if seconds <= 0 {
		return &saveTimer{}
	}
	return &saveTimer{time.NewTicker(time.Duration(seconds) * time.Second)}
}

// c is the tick channel; nil (never ready) when saves are off.
func (s *saveTimer) c() <-chan time.Time {
	if s.t == nil {
		return nil
	}
	return s.t.C
}

// reset applies a new interval (SIGHUP).
func (s *saveTimer) reset(seconds int) {
	s.stop()
	*s = *newSaveTimer(seconds)
}

func (s *saveTimer) stop() {
	if s.t != nil {
		s.t.Stop()
	}
}
