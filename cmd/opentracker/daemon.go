package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/netip"
	"os"
	"os/signal"
	"slices"
	"sync"
	"syscall"
	"time"

	"github.com/opentracker-go/opentracker/tracker/access"
	"github.com/opentracker-go/opentracker/tracker/config"
	httpfront "github.com/opentracker-go/opentracker/tracker/http"
	"github.com/opentracker-go/opentracker/tracker/livesync"
	"github.com/opentracker-go/opentracker/tracker/logic"
	"github.com/opentracker-go/opentracker/tracker/privdrop"
	"github.com/opentracker-go/opentracker/tracker/sock"
	"github.com/opentracker-go/opentracker/tracker/state"
	"github.com/opentracker-go/opentracker/tracker/stats"
	"github.com/opentracker-go/opentracker/tracker/swarm"
	"github.com/opentracker-go/opentracker/tracker/udp"
)

// daemon is the tracker process: the store, the policy, the front ends,
// and everything bound or opened for them, in one list to close. Its
// steps run in the reference's order: allocate (newDaemon), bind every
// socket and pipe (bind), drop privileges (dropPrivileges), read the files,
// whose paths are inside the chroot (restore), serve (run), and stop
// (shutdown).
type daemon struct {
	cfg        *config.Config                 // in force (SIGHUP changes it)
	load       func() (*config.Config, error) // the file and switches, read again
	lg         logs
	info, warn *log.Logger // routine messages, problems

	store    *swarm.Store
	acl      *access.List
	state    *stats.DaemonState // what /stats shows of the daemon itself
	tracker  *logic.Tracker
	web      *httpfront.Server
	webFixed httpfront.Config // the HTTP config's values that are not the file's
	udp      *udp.Server
	sync     *livesync.Syncer // nil without live sync
	saves    *saveTimer

	listeners []net.Listener
	fifos     []accessFIFO
	closers   []io.Closer // everything to close, in order
}

// accessFIFO is an opened access.fifo_add or access.fifo_delete pipe.
type accessFIFO struct {
	*access.FIFO
	add bool // lists hashes (fifo_add), else unlists them
}

// newDaemon allocates the store and makes the policy and the front ends.
func newDaemon(cfg *config.Config, load func() (*config.Config, error), lg logs) (*daemon, error) {
	d := &daemon{cfg: cfg, load: load, lg: lg, info: lg.info, warn: lg.warn}
	var err error
	d.store, err = swarm.New(swarm.Config{
		MemoryBudget: int64(cfg.MemoryBudget),
		MaxTorrents:  cfg.MaxTorrents,
		PeerTimeout:  cfg.Typed.PeerTimeout,
	})
	if err != nil {
		return nil, fmt.Errorf("memory_budget: %v", err)
	}
	st := d.store.Stats()
	d.info.Printf("store: %d MiB budget, room for %d torrents and %d MiB of peers",
		st.BudgetBytes>>20, st.TorrentCapacity, st.ArenaBytes>>20)

	d.acl = access.New(cfg.Typed.AccessMode, cfg.Access.List)
	d.state = &stats.DaemonState{AccessMode: cfg.Typed.AccessMode.String()}
	counters := new(logic.Counters)
	tracker := logic.New(logic.Config{Interval: cfg.Typed.Interval}, d.store, d.acl, counters)
	d.tracker = tracker
	d.webFixed = httpfront.Config{Logf: d.warn.Printf, Infof: d.info.Printf,
		Stats: &stats.Pages{Store: d.store, Counters: counters, Version: version, Daemon: d.state}}
	d.web, err = httpfront.NewServer(httpConfig(cfg, d.webFixed), tracker)
	if err != nil {
		return nil, err
	}
	d.closers = append(d.closers, d.web) // first: it stops the listeners and drains connections
	d.udp, err = udp.NewServer(udp.Config{
		MaxNumWant: cfg.Announce.MaxNumWant,
		Workers:    cfg.UDP.Workers,
		Logf:       d.warn.Printf,
	}, tracker)
	if err != nil {
		return nil, err
	}
	d.closers = append(d.closers, d.udp)
	if cfg.Typed.SyncListen.IsValid() {
		// Multicast loopback on: own packets are dropped by tracker id, and
		// it lets trackers on one host sync.
		d.sync, err = livesync.Open(livesync.Config{Listen: cfg.Typed.SyncListen, Nodes: cfg.Typed.SyncNodes, Loopback: true}, tracker)
		if err != nil {
			return nil, fmt.Errorf("livesync.listen %s: %v", cfg.Livesync.Listen, err)
		}
		d.closers = append(d.closers, d.sync)
		d.state.LiveSync = func() stats.LiveSyncStats {
			st := d.sync.Stats()
			return stats.LiveSyncStats{PacketsSent: st.PacketsSent, RecordsSent: st.RecordsSent, RecordsDropped: st.RecordsDropped,
				PacketsReceived: st.PacketsReceived, PacketsRejected: st.PacketsRejected}
		}
		// Restored torrents do not pass through the policy, so they are
		// not broadcast; started once serving.
		tracker.Observe(d.sync.Send)
	}
	return d, nil
}

// bind binds every listening socket and opens the access pipes, while the
// daemon may still be root.
func (d *daemon) bind() error {
	binds := 0
	for _, ap := range d.cfg.Typed.TCP {
		ln, err := sock.ListenTCP(ap.String(), sock.Options{DeferAccept: true})
		if noIPv6(ap, err) {
			d.warn.Printf("listen.tcp %s: skipped, this kernel has no IPv6", ap)
			continue
		}
		if err != nil {
			return fmt.Errorf("listen.tcp %s: %v", ap, err)
		}
		d.listeners = append(d.listeners, ln)
		d.closers = append(d.closers, ln)
		binds++
		d.info.Printf("listening tcp %s", ln.Addr())
	}
	var udpPorts []uint16 // for the landing page
	for _, ap := range d.cfg.Typed.UDP {
		bound, err := d.udp.Listen(ap.String())
		if noIPv6(ap, err) {
			d.warn.Printf("listen.udp %s: skipped, this kernel has no IPv6", ap)
			continue
		}
		if err != nil {
			return fmt.Errorf("listen.udp %s: %v", ap, err)
		}
		binds++
		d.info.Printf("listening udp %s", bound)
		if !slices.Contains(udpPorts, bound.Port()) {
			udpPorts = append(udpPorts, bound.Port())
		}
	}
	d.web.SetUDPPorts(udpPorts)
	if binds == 0 {
		return errors.New("listen: neither tcp nor udp addresses bound: nothing to serve")
	}
	for _, p := range []struct {
		key, path string
		add       bool
	}{{"access.fifo_add", d.cfg.Access.FIFOAdd, true}, {"access.fifo_delete", d.cfg.Access.FIFODelete, false}} {
		if p.path == "" {
			continue
		}
		f, err := access.OpenFIFO(p.path)
		if err != nil {
			return fmt.Errorf("%s: %v", p.key, err)
		}
		d.fifos = append(d.fifos, accessFIFO{f, p.add})
		d.closers = append(d.closers, f)
	}
	return nil
}

// noIPv6 reports whether binding ap failed only because the kernel has no
// IPv6 (built without it, or booted with ipv6.disable=1, as on some small
// routers): the IPv6 wildcard of the default config is then skipped, not
// fatal. A specific IPv6 address still is.
func noIPv6(ap netip.AddrPort, err error) bool {
	return err != nil && ap.Addr() == netip.IPv6Unspecified() && errors.Is(err, syscall.EAFNOSUPPORT)
}

// dropPrivileges changes root and user as configured.
func (d *daemon) dropPrivileges() error {
	did, err := privdrop.Drop(d.cfg.System.User, d.cfg.System.Chroot)
	if did != "" {
		d.info.Print(did)
	}
	if err != nil {
		return err
	}
	// Now that the process is the user it saves as, in the root it saves
	// in: say so at start, not at the first save. Serve anyway: the
	// tracker works without its state, and the exit status reports the
	// failed save at shutdown.
	if err := checkStateDirNow(d.cfg.State.File); err != nil {
		d.warn.Printf("%v: the state cannot be saved", err)
	}
	return nil
}

// restore reads the access list, then feeds the pipes (the first read
// resets run-time changes), then restores the state file.
func (d *daemon) restore() error {
	mode := d.cfg.Typed.AccessMode
	n, err := d.acl.Reload()
	if err != nil {
		return fmt.Errorf("access.list: %v", err)
	}
	d.state.AccessLoaded(n, time.Now())
	if mode != access.Open {
		d.info.Printf("%s: %d torrents from %s", mode, n, d.cfg.Access.List)
	}
	for _, f := range d.fifos {
		f.Feed(d.acl, f.add, d.warn.Printf)
	}
	if f := d.cfg.State.File; f != "" {
		d.restoreState(f)
	}
	return nil
}

func (d *daemon) restoreState(f string) {
	n, problems, err := state.Load(f, d.store, d.acl.Allowed)
	for _, p := range problems {
		d.warn.Print(p)
	}
	if len(problems) > 0 || err != nil && !errors.Is(err, os.ErrNotExist) {
		// The next save writes only what was restored: keep the rest.
		if berr := state.Backup(f); berr != nil {
			d.warn.Printf("state: %v", berr)
		} else {
			d.warn.Printf("state: %s was not restored whole; kept as %s.bak", f, f)
		}
	}
	switch {
	case errors.Is(err, os.ErrNotExist):
		d.info.Printf("state: %s does not exist yet", f)
	case err != nil:
		d.warn.Printf("state: %v", err)
	default:
		d.info.Printf("state: restored %d torrents and %d peers from %s", n.Torrents, n.Peers, f)
	}
}

// run serves until SIGTERM or SIGINT arrives on signals, saving the state
// every state.save_interval and applying the configuration again on
// SIGHUP; then it saves and shuts down.
//
// It returns the error of the last save, which the exit status reports:
// the state was lost.
func (d *daemon) run(signals <-chan os.Signal) error {
	if d.sync != nil {
		d.sync.Start()
		d.info.Print(d.sync)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); d.store.Run(ctx) }()
	for _, ln := range d.listeners {
		wg.Add(1)
		go func(ln net.Listener) {
			defer wg.Done()
			if err := d.web.Serve(ln); err != httpfront.ErrServerClosed {
				d.warn.Printf("http %s: stopped serving: %v", ln.Addr(), err)
			}
		}(ln)
	}
	d.udp.Start()

	d.saves = newSaveTimer(d.cfg.State.SaveInterval)
	defer d.saves.stop()
	for stop := false; !stop; {
		select {
		case <-d.saves.c():
			d.save()
		case sig := <-signals:
			if sig == syscall.SIGHUP {
				d.reload()
				continue
			}
			d.info.Printf("%v: saving the state, then shutting down", sig)
			stop = true
		}
	}
	// Save first: whatever the connections do, procd's SIGKILL 10 s after
	// SIGTERM must not come before the save.
	err := d.save()
	closeWithin(shutdownLimit, d.warn, func() {
		d.close()
		cancel()
		wg.Wait()
	})
	if err != nil {
		return fmt.Errorf("state: the last save failed: %v", err)
	}
	return nil
}

// save writes the state file, if there is one (the file in force: SIGHUP
// may change it).
func (d *daemon) save() error { return saveState(d.cfg.State.File, d.store, d.lg) }

// close closes everything bound or opened, in order; closing twice is
// harmless.
func (d *daemon) close() {
	for _, c := range d.closers {
		c.Close()
	}
}

// serve runs the tracker until SIGTERM or SIGINT.
func serve(cfg *config.Config, load func() (*config.Config, error), lg logs) error {
	// Catch signals first: a SIGTERM or SIGHUP during start-up (procd
	// reloading right after boot) must not kill the daemon unsaved; it is
	// handled once serving starts.
	signals := make(chan os.Signal, 4)
	signal.Notify(signals, syscall.SIGHUP, syscall.SIGTERM, syscall.SIGINT)
	defer signal.Stop(signals)
	d, err := newDaemon(cfg, load, lg)
	if err != nil {
		return err
	}
	for _, step := range []func() error{d.bind, d.dropPrivileges, d.restore} {
		if err := step(); err != nil {
			d.close()
			return err
		}
	}
	return d.run(signals)
}
