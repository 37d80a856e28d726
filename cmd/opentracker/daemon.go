package main

import (
	"context"
	"errors"
	"fmt"
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

// stateSaveEvery bounds what a power cut loses on a router: the daemon also
// saves on a clean exit.
const stateSaveEvery = 10 * time.Minute

// serve runs the tracker until SIGTERM or SIGINT. The order follows the
// reference: allocate, bind every socket, drop privileges, then read files
// (whose paths are inside the chroot) and start serving.
func serve(cfg *config.Config, lg logs) error {
	info, warn := lg.info, lg.warn // routine messages, problems
	// Catch signals first: a SIGTERM or SIGHUP during start-up (procd
	// reloading right after boot) must not kill the daemon unsaved; it is
	// handled once serving starts.
	signals := make(chan os.Signal, 4)
	signal.Notify(signals, syscall.SIGHUP, syscall.SIGTERM, syscall.SIGINT)
	defer signal.Stop(signals)
	store, err := swarm.New(swarm.Config{
		MemoryBudget: int64(cfg.MemoryBudget),
		MaxTorrents:  cfg.MaxTorrents,
		PeerTimeout:  time.Duration(cfg.Announce.PeerTimeout) * time.Second,
	})
	if err != nil {
		return fmt.Errorf("memory_budget: %v", err)
	}
	st := store.Stats()
	info.Printf("store: %d MiB budget, room for %d torrents and %d MiB of peers",
		st.BudgetBytes>>20, st.TorrentCapacity, st.ArenaBytes>>20)

	mode, _ := access.ParseMode(cfg.Access.Mode) // validated
	acl := access.New(mode, cfg.Access.List)
	admin, _ := logic.ParseNetworks(cfg.Access.Admin)
	proxies, _ := logic.ParseNetworks(cfg.Access.Proxies)
	counters := new(logic.Counters)
	daemonState := &stats.DaemonState{AccessMode: mode.String()}
	logf := func(format string, args ...any) { warn.Printf(format, args...) }
	interval := time.Duration(cfg.Announce.Interval) * time.Second

	tracker := logic.New(logic.Config{Interval: interval}, store, acl, counters)
	web := httpfront.NewServer(httpfront.Config{
		NumWant:        cfg.Announce.NumWant,
		MaxNumWant:     cfg.Announce.MaxNumWant,
		Redirect:       cfg.HTTP.Redirect,
		StatsPath:      cfg.HTTP.StatsPath,
		MaxConnections: cfg.HTTP.MaxConnections,
		MaxPerAddress:  perAddressCap(cfg.HTTP.MaxPerAddress),
		IdleTimeout:    time.Duration(cfg.HTTP.IdleTimeout) * time.Second,
		FullScrape:     cfg.HTTP.FullScrape,
		Admin:          admin,
		Proxies:        proxies,
		IPFromQuery:    cfg.Access.IPFromQuery,
		Logf:           logf,
		Infof:          info.Printf,
		Stats:          &stats.Pages{Store: store, Counters: counters, Version: version, Daemon: daemonState},
	}, tracker)
	packets, err := udp.NewServer(udp.Config{
		MaxNumWant: cfg.Announce.MaxNumWant,
		Workers:    cfg.UDP.Workers,
		Logf:       logf,
	}, tracker)
	if err != nil {
		return err
	}

	var listeners []net.Listener
	var peerSync *livesync.Syncer
	var fifos []*access.FIFO
	var fifoAdds []bool // per pipe: additions (fifo_add) or deletions
	closeAll := func() {
		for _, ln := range listeners {
			ln.Close()
		}
		for _, f := range fifos {
			f.Close()
		}
		packets.Close()
		if peerSync != nil {
			peerSync.Close()
		}
	}
	binds := 0
	for _, a := range cfg.Listen.TCP {
		ln, err := listenTCP(a)
		if noIPv6(a, err) {
			warn.Printf("listen.tcp %s: skipped, this kernel has no IPv6", a)
			continue
		}
		if err != nil {
			closeAll()
			return fmt.Errorf("listen.tcp %s: %v", a, err)
		}
		listeners = append(listeners, ln)
		binds++
		info.Printf("listening tcp %s", ln.Addr())
	}
	var udpPorts []uint16
	for _, a := range cfg.Listen.UDP {
		bound, err := packets.Listen(a)
		if noIPv6(a, err) {
			warn.Printf("listen.udp %s: skipped, this kernel has no IPv6", a)
			continue
		}
		if err != nil {
			closeAll()
			return fmt.Errorf("listen.udp %s: %v", a, err)
		}
		binds++
		info.Printf("listening udp %s", bound)
		if !slices.Contains(udpPorts, bound.Port()) {
			udpPorts = append(udpPorts, bound.Port())
		}
	}
	web.SetUDPPorts(udpPorts)
	if binds == 0 {
		closeAll()
		return errors.New("listen: neither tcp nor udp addresses bound: nothing to serve")
	}
	if cfg.Livesync.Listen != "" {
		// Bound now, before the privilege drop; started once serving.
		// Multicast loopback on: own packets are dropped by tracker id, and
		// it lets trackers on one host sync.
		at, _ := netip.ParseAddrPort(cfg.Livesync.Listen) // validated
		nodes, _ := logic.ParseNetworks(cfg.Livesync.Nodes)
		if peerSync, err = livesync.Open(livesync.Config{Listen: at, Nodes: nodes, Loopback: true},
			tracker); err != nil {
			closeAll()
			return fmt.Errorf("livesync.listen %s: %v", cfg.Livesync.Listen, err)
		}
		daemonState.LiveSync = func() stats.LiveSyncStats {
			st := peerSync.Stats()
			return stats.LiveSyncStats{PacketsSent: st.PacketsSent, RecordsDropped: st.RecordsDropped,
				PacketsReceived: st.PacketsReceived, PacketsRejected: st.PacketsRejected}
		}
	}

	// The pipes, like the ports, are opened before the privilege drop.
	for _, p := range []struct {
		key, path string
		add       bool
	}{{"access.fifo_add", cfg.Access.FIFOAdd, true}, {"access.fifo_delete", cfg.Access.FIFODelete, false}} {
		if p.path == "" {
			continue
		}
		f, err := access.OpenFIFO(p.path)
		if err != nil {
			closeAll()
			return fmt.Errorf("%s: %v", p.key, err)
		}
		fifos, fifoAdds = append(fifos, f), append(fifoAdds, p.add)
	}

	if did, err := privdrop.Drop(cfg.System.User, cfg.System.Chroot); err != nil {
		closeAll()
		return err
	} else if did != "" {
		info.Print(did)
	}
	if err := checkStateDirNow(cfg.State.File); err != nil {
		// Serve anyway: the tracker works without its state, and the
		// exit status reports the failed save at shutdown.
		warn.Printf("%v: the state cannot be saved", err)
	}
	if n, err := acl.Reload(); err != nil {
		closeAll()
		return fmt.Errorf("access.list: %v", err)
	} else {
		daemonState.AccessLoaded(n, time.Now())
		if mode != access.Open {
			info.Printf("%s: %d torrents from %s", mode, n, cfg.Access.List)
		}
	}
	// Fed only now: the first Reload resets run-time changes.
	for i, f := range fifos {
		f.Feed(acl, fifoAdds[i], warn.Printf)
	}
	if f := cfg.State.File; f != "" {
		n, problems, err := state.Load(f, store, acl.Allowed, swarm.DefaultTorrentTimeout)
		for _, p := range problems {
			warn.Print(p)
		}
		if len(problems) > 0 || err != nil && !errors.Is(err, os.ErrNotExist) {
			// The next save writes only what was restored: keep the rest.
			if berr := state.Backup(f); berr != nil {
				warn.Printf("state: %v", berr)
			} else {
				warn.Printf("state: %s was not restored whole; kept as %s.bak", f, f)
			}
		}
		switch {
		case errors.Is(err, os.ErrNotExist):
			info.Printf("state: %s does not exist yet", f)
		case err != nil:
			warn.Printf("state: %v", err)
		default:
			info.Printf("state: restored %d torrents from %s", n, f)
		}
	}

	if peerSync != nil {
		// After the state restore, so restored peers are not broadcast.
		tracker.Observe(peerSync.Send)
		peerSync.Start()
		info.Print(peerSync)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); store.Run(ctx) }()
	for _, ln := range listeners {
		wg.Add(1)
		go func(ln net.Listener) {
			defer wg.Done()
			if err := web.Serve(ln); err != httpfront.ErrServerClosed {
				warn.Printf("http %s: stopped serving: %v", ln.Addr(), err)
			}
		}(ln)
	}
	packets.Start()

	saveTick := time.NewTicker(stateSaveEvery)
	defer saveTick.Stop()
	save := func() {
		if cfg.State.File == "" {
			return
		}
		if err := state.Save(cfg.State.File, store); err != nil {
			warn.Printf("state: %v", err)
		}
	}
	for {
		select {
		case <-saveTick.C:
			save()
			continue
		case sig := <-signals:
			if sig == syscall.SIGHUP {
				if n, err := acl.Reload(); err != nil {
					daemonState.AccessLoadFailed()
					warn.Printf("SIGHUP: access list kept: %v", err)
				} else {
					daemonState.AccessLoaded(n, time.Now())
					if mode != access.Open {
						info.Printf("SIGHUP: %s reloaded, %d torrents", mode, n)
					}
				}
				continue
			}
			info.Printf("%v: shutting down", sig)
		}
		break
	}
	web.Close()
	packets.Close()
	if peerSync != nil {
		peerSync.Close()
	}
	for _, f := range fifos {
		f.Close()
	}
	cancel()
	wg.Wait()
	if f := cfg.State.File; f != "" {
		if err := state.Save(f, store); err != nil {
			// The exit status tells procd and scripts that state was lost.
			return fmt.Errorf("state: the last save failed: %v", err)
		}
	}
	return nil
}

// noIPv6 reports whether binding addr failed only because the kernel has no
// IPv6 (built without it, or booted with ipv6.disable=1, as on some small
// routers): the IPv6 wildcard of the default config is then skipped, not
// fatal. A specific IPv6 address still is.
func noIPv6(addr string, err error) bool {
	ap, perr := config.ParseListen(addr)
	return err != nil && perr == nil && ap.Addr() == netip.IPv6Unspecified() && errors.Is(err, syscall.EAFNOSUPPORT)
}

// listenTCP binds one TCP address; "[::]" binds IPv6 only so that it can sit
// beside "0.0.0.0" on the same port, as the default config has it.
func listenTCP(addr string) (net.Listener, error) {
	ap, err := config.ParseListen(addr)
	if err != nil {
		return nil, err
	}
	return sock.ListenTCP(netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port()).String(), sock.Options{DeferAccept: true})
}
