package main

import (
	"fmt"
	"reflect"
	"strings"
	"time"

	"github.com/opentracker-go/opentracker/tracker/access"
	"github.com/opentracker-go/opentracker/tracker/config"
	httpfront "github.com/opentracker-go/opentracker/tracker/http"
	"github.com/opentracker-go/opentracker/tracker/livesync"
	"github.com/opentracker-go/opentracker/tracker/logic"
	"github.com/opentracker-go/opentracker/tracker/stats"
	"github.com/opentracker-go/opentracker/tracker/swarm"
	"github.com/opentracker-go/opentracker/tracker/udp"
)

// running is what a serving daemon can change on SIGHUP, and the
// configuration in force.
type running struct {
	cfg      *config.Config                 // in force
	load     func() (*config.Config, error) // the file and switches, read again
	lg       logs
	tracker  *logic.Tracker
	store    *swarm.Store
	web      *httpfront.Server
	webFixed httpfront.Config // what the HTTP config holds besides the file's values
	packets  *udp.Server
	acl      *access.List
	sync     *livesync.Syncer // nil without live sync
	saves    *saveTimer
	shown    *stats.DaemonState // what /stats says of the access list
}

// httpConfig is the HTTP front end's configuration from cfg; fixed gives
// the values that do not come from the file (loggers, the stats pages).
func httpConfig(cfg *config.Config, fixed httpfront.Config) httpfront.Config {
	c := fixed
	c.NumWant = cfg.Announce.NumWant
	c.MaxNumWant = cfg.Announce.MaxNumWant
	c.Redirect = cfg.HTTP.Redirect
	c.StatsPath = cfg.HTTP.StatsPath
	c.MaxConnections = cfg.HTTP.MaxConnections
	c.IdleTimeout = time.Duration(cfg.HTTP.IdleTimeout) * time.Second
	c.FullScrape = cfg.HTTP.FullScrape
	c.Admin, _ = logic.ParseNetworks(cfg.Access.Admin) // validated
	c.Proxies, _ = logic.ParseNetworks(cfg.Access.Proxies)
	c.IPFromQuery = cfg.Access.IPFromQuery
	return c
}

// reload reads the whole configuration again (SIGHUP) and applies every
// value that can change while serving, at once; changed keys that need a
// restart are reported and keep their old values. A configuration that
// does not load is reported and nothing changes, except that the access
// list file is read again, as SIGHUP always did.
func (r *running) reload() {
	info, warn := r.lg.info, r.lg.warn
	next, err := r.load()
	if err != nil {
		warn.Printf("SIGHUP: %v; the configuration in force is kept", err)
		r.reloadAccess(r.cfg)
		return
	}
	live, restart := r.cfg.Changes(next)
	for _, key := range restart {
		warn.Printf("SIGHUP: %s changed; it needs a restart and keeps its old value until then", key)
	}
	next = r.cfg.InForce(next)
	r.tracker.SetInterval(time.Duration(next.Announce.Interval) * time.Second)
	if err := r.store.SetPeerTimeout(time.Duration(next.Announce.PeerTimeout) * time.Second); err != nil {
		warn.Printf("SIGHUP: announce.peer_timeout: %v", err) // validated: not reached
	}
	r.web.SetConfig(httpConfig(next, r.webFixed))
	r.packets.SetMaxNumWant(next.Announce.MaxNumWant)
	if r.sync != nil {
		nodes, _ := logic.ParseNetworks(next.Livesync.Nodes) // validated
		r.sync.SetNodes(nodes)
	}
	if next.State.SaveInterval != r.cfg.State.SaveInterval {
		r.saves.reset(next.State.SaveInterval)
	}
	old := r.cfg
	r.cfg = next
	for _, key := range live {
		info.Printf("SIGHUP: %s = %s (was %s)", key, value(next, key), value(old, key))
	}
	if !r.reloadAccess(next) {
		// The list did not load: the old mode and list stay in force.
		r.cfg.Access.Mode, r.cfg.Access.List = old.Access.Mode, old.Access.List
	}
	if len(live) == 0 && len(restart) == 0 {
		info.Print("SIGHUP: configuration unchanged")
	}
}

// reloadAccess switches the access list to cfg's mode and file, reading the
// file again; on error the list in force stays.
func (r *running) reloadAccess(cfg *config.Config) bool {
	mode, _ := access.ParseMode(cfg.Access.Mode) // validated
	n, err := r.acl.Configure(mode, cfg.Access.List)
	if err != nil {
		r.shown.AccessLoadFailed()
		r.lg.warn.Printf("SIGHUP: access list kept: %v", err)
		return false
	}
	r.shown.AccessLoaded(n, time.Now())
	r.shown.SetAccessMode(mode.String())
	if mode != access.Open {
		r.lg.info.Printf("SIGHUP: %s reloaded, %d torrents", mode, n)
	}
	return true
}

// value prints the value of a dotted key of cfg for the log.
func value(cfg *config.Config, key string) string {
	v := reflect.ValueOf(*cfg)
	for _, name := range strings.Split(key, ".") {
		t := v.Type()
		for i := 0; i < t.NumField(); i++ {
			if tag, _, _ := strings.Cut(t.Field(i).Tag.Get("toml"), ","); tag == name {
				v = v.Field(i)
				break
			}
		}
	}
	if v.Kind() == reflect.String {
		return fmt.Sprintf("%q", v.String())
	}
	return fmt.Sprint(v.Interface())
}
