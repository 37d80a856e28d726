// Package udp serves the UDP tracker protocol (BEP 15 with BEP 41 options)
// over any number of IPv4 and IPv6 binds. It parses packets and writes
// replies; announces and scrapes are answered by logic.Tracker.
//
// Each bind gets one SO_REUSEPORT socket per worker and one receive loop per
// socket; a loop owns all its buffers, so handling a packet allocates nothing
// and shares nothing but the tracker (store and atomic counters).
//
// On Linux a loop receives with recvmmsg and answers with sendmmsg, up to 8
// datagrams per call. Measured on loopback (2 vCPUs, tracker pinned to one,
// cmd/otbench on the other, 8 sockets x 16 requests in flight, A/B/A/B):
// 55-65k announces/s batched against 33-36k one packet per syscall, at about
// 10 against 22 us of tracker CPU per announce. With 4 requests in flight the
// plain loop answered more (16k vs 12k/s: a batch drains the queue, so the
// loop sleeps and wakes more often); at 16 in flight batching wins again.
// Load is what matters for throughput, so batching is the default. On a
// socket bound to every address the batch calls carry each packet's
// destination (IP_PKTINFO, IPV6_PKTINFO) back as its reply's source
// (replyFrom), so that a client that wrote to one of several addresses is
// answered from it.
//
// Decisions, where BEP 15 or opentracker leave room (the README repeats them):
//
//   - Connection ids are a HalfSipHash-2-4 (SipHash on 32-bit words, cheap
//     on a 32-bit router CPU) of (client IP, 2-minute window) under
//     a random key made at start. The current and the previous window are
//     accepted, so an id lives 2 to 4 minutes (BEP 15 asks for at least 2)
//     and no state is kept per client. opentracker's ids never expire. The
//     port is not hashed: libtorrent reuses an id across its sockets (see
//     connIDs.sum).
//   - A wrong or stale id is answered with opentracker's exact error packet,
//     "Connection ID missmatch." with its spelling and trailing NUL, because
//     that is what clients of the reference already see. Like every error to
//     a client that has not proven its address, it is sent only if it is no
//     longer than the request (no amplification); otherwise the packet is
//     dropped.
//   - Scrape answers at most 74 hashes per packet (BEP 15's "about 74";
//     opentracker takes 75 by an off-by-one). Further hashes are ignored, as
//     is a trailing partial hash (opentracker pads it with buffer garbage).
//   - numwant -1 (any negative) means the cap. The v4 cap is
//     Config.MaxNumWant (200 by default, as opentracker); the v6 cap is a
//     third of it (66), so both replies stay within about 1.2 KB.
//   - The announce IP field is ignored: the source address is the peer.
//   - A hash refused by the access list gets an error packet (opentracker
//     sends a truncated 8-byte announce reply). A full store gets
//     "tracker is full: ...".
//   - Packets shorter than 16 bytes, unknown actions, a connect without the
//     protocol magic, announces shorter than 98 bytes and packets longer than
//     MaxPacket are dropped silently, as opentracker does, and counted as
//     malformed.
package udp
