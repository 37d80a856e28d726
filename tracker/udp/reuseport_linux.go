package udp

// On Linux SO_REUSEPORT spreads datagrams over the sockets of a group by a
// hash of the source address, each socket with its own receive queue and
// lock: one receive loop per core without contention.
const reusePortSupported = true
