# Two libtorrent sessions, a seeder and a downloader, find each other through
# the tracker given as argv[1]: host:port or [v6]:port for UDP, or a whole
# announce URL (http://host:port/announce). argv[2] is the timeout in
# seconds, argv[3] the address the clients listen on. Prints tracker replies
# and DOWNLOADED when the downloader has the whole file; exits 1 on timeout.
# Run with Debian's python3-libtorrent by TestLibtorrentClients (udp package)
# and TestLibtorrentOverHTTP (cmd/opentracker).
import os, sys, tempfile, time
import libtorrent as lt

tracker = sys.argv[1] if "://" in sys.argv[1] else "udp://%s/announce" % sys.argv[1]
d = tempfile.mkdtemp()
os.makedirs(d + "/seed")
with open(d + "/seed/f.bin", "wb") as f:
    f.write(os.urandom(256 * 1024))
fs = lt.file_storage()
lt.add_files(fs, d + "/seed/f.bin")
ct = lt.create_torrent(fs)
ct.add_tracker(tracker)
lt.set_piece_hashes(ct, d + "/seed")
ti = lt.torrent_info(ct.generate())


def session():
    return lt.session({
        "listen_interfaces": sys.argv[3] + ":0",
        "enable_dht": False, "enable_lsd": False,
        "enable_upnp": False, "enable_natpmp": False,
        "allow_multiple_connections_per_ip": True,
        "alert_mask": lt.alert.category_t.all_categories,
    })


seed, leech = session(), session()
hs = seed.add_torrent({"ti": ti, "save_path": d + "/seed"})
hl = leech.add_torrent({"ti": lt.torrent_info(ti), "save_path": d + "/dl"})
deadline = time.time() + float(sys.argv[2] if len(sys.argv) > 2 else 30)
while time.time() < deadline:
    for name, s in (("seed", seed), ("leech", leech)):
        for a in s.pop_alerts():
            if isinstance(a, (lt.tracker_reply_alert, lt.tracker_error_alert, lt.tracker_warning_alert)):
                print(name, type(a).__name__, a.message(), flush=True)
    if hl.status().is_seeding:
        print("DOWNLOADED", flush=True)
        sys.exit(0)
    time.sleep(0.1)
print("TIMEOUT", hl.status().state, hl.status().num_peers, flush=True)
sys.exit(1)
