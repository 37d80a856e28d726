# One libtorrent client (Debian's python3-libtorrent) for the LAN test
# (lan_test.go): seeds or downloads the torrent in argv[1] with its data
# directory argv[2], listening on argv[3] (ip:port or [ip]:port). DHT, local
# peer discovery, UPnP and NAT-PMP are off, so the tracker is its only
# source of peers. Prints tracker replies and errors, and DOWNLOADED once
# it has every piece; runs until killed.
import sys, time
import libtorrent as lt

torrent, save, listen = sys.argv[1:4]
s = lt.session({
    "listen_interfaces": listen,
    "enable_dht": False, "enable_lsd": False,
    "enable_upnp": False, "enable_natpmp": False,
    "alert_mask": lt.alert.category_t.all_categories,
})
h = s.add_torrent({"ti": lt.torrent_info(torrent), "save_path": save})
done = False
while True:
    for a in s.pop_alerts():
        if isinstance(a, (lt.tracker_reply_alert, lt.tracker_error_alert, lt.tracker_warning_alert,
                          lt.peer_connect_alert, lt.peer_disconnected_alert, lt.peer_error_alert)):
            print(type(a).__name__, a.message(), flush=True)
    if not done and h.status().is_seeding:
        print("DOWNLOADED", flush=True)
        done = True
        # A seeder may announce while it still checks its files, as a
        # leecher (left > 0), and would not tell the tracker it seeds before
        # the next interval: announce again now (min interval is not ours
        # to wait for in a test).
        if h.status().total_payload_download == 0:
            h.force_reannounce(0, -1, lt.reannounce_flags_t.ignore_min_interval)
    time.sleep(0.1)
