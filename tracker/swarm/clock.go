package swarm

import "sync/atomic"

// clock is the store's time in whole minutes since it started: coarse on
// purpose, since peers expire after tens of minutes and every announce reads it.
type clock struct{ v atomic.Uint32 }

func (c *clock) get() uint32  { return c.v.Load() }
func (c *clock) set(m uint32) { c.v.Store(m) }

type counter struct{ v atomic.Uint64 }

func (c *counter) add()        { c.v.Add(1) }
func (c *counter) get() uint64 { return c.v.Load() }
