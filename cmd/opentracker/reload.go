package main

import (
	"fmt"
	"reflect"
	"strings"
	"time"

	"github.com/opentracker-go/opentracker/tracker/access"
	"github.com/opentracker-go/opentracker/tracker/config"
	httpfront "github.com/opentracker-go/opentracker/tracker/http"
)

// httpConfig is the HTTP front end's configuration from cfg; fixed gives
// the values that do not come from the file (loggers, the stats pages).
func httpConfig(cfg *config.Config, fixed httpfront.Config) httpfront.Config {
	c := fixed
	c.NumWant = cfg.Announce.NumWant
	c.MaxNumWant = cfg.Announce.MaxNumWant
	c.Redirect = cfg.HTTP.Redirect
	c.StatsPath = cfg.HTTP.StatsPath
	c.MaxConnections = cfg.HTTP.MaxConnections
	c.MaxPerAddress = perAddressCap(cfg.HTTP.MaxPerAddress)
	c.IdleTimeout = cfg.Typed.IdleTimeout
	c.FullScrape = cfg.HTTP.FullScrape
	c.Admin = cfg.Typed.Admin
	c.Proxies = cfg.Typed.Proxies
	c.IPFromQuery = cfg.Access.IPFromQuery
	return c
}

// reload reads the whole configuration again (SIGHUP) and applies every
// value that can change while serving, at once; changed keys that need a
// restart are reported and keep their old values. A configuration that
// does not load is reported and nothing changes, except that the access
// list file is read again, as SIGHUP always did.
func (d *daemon) reload() {
	info, warn := d.lg.info, d.lg.warn
	next, err := d.load()
	if err != nil {
		warn.Printf("SIGHUP: %v; the configuration in force is kept", err)
		d.reloadAccess(d.cfg)
		return
	}
	live, restart := d.cfg.Changes(next)
	for _, key := range restart {
		warn.Printf("SIGHUP: %s changed; it needs a restart and keeps its old value until then", key)
	}
	next = d.cfg.InForce(next)
	d.tracker.SetInterval(next.Typed.Interval)
	if err := d.store.SetPeerTimeout(next.Typed.PeerTimeout); err != nil {
		warn.Printf("SIGHUP: announce.peer_timeout: %v", err) // validated: not reached
	}
	if err := d.web.SetConfig(httpConfig(next, d.webFixed)); err != nil {
		warn.Printf("SIGHUP: %v", err) // validated: not reached
	}
	d.udp.SetMaxNumWant(next.Announce.MaxNumWant)
	if d.sync != nil {
		d.sync.SetNodes(next.Typed.SyncNodes)
	}
	if next.State.SaveInterval != d.cfg.State.SaveInterval {
		d.saves.reset(next.State.SaveInterval)
	}
	old := d.cfg
	d.cfg = next
	for _, key := range live {
		info.Printf("SIGHUP: %s = %s (was %s)", key, value(next, key), value(old, key))
	}
	if !d.reloadAccess(next) {
		// The list did not load: the old mode and list stay in force.
		d.cfg.Access.Mode, d.cfg.Access.List = old.Access.Mode, old.Access.List
	}
	if len(live) == 0 && len(restart) == 0 {
		info.Print("SIGHUP: configuration unchanged")
	}
}

// reloadAccess switches the access list to cfg's mode and file, reading the
// file again; on error the list in force stays.
func (d *daemon) reloadAccess(cfg *config.Config) bool {
	mode := cfg.Typed.AccessMode
	n, err := d.acl.Configure(mode, cfg.Access.List)
	if err != nil {
		d.state.AccessLoadFailed()
		d.lg.warn.Printf("SIGHUP: access list kept: %v", err)
		return false
	}
	d.state.AccessLoaded(n, time.Now())
	d.state.SetAccessMode(mode.String())
	if mode != access.Open {
		d.lg.info.Printf("SIGHUP: %s reloaded, %d torrents", mode, n)
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
