// Scrapes an HTTP tracker with webtorrent's bittorrent-tracker client and
// prints the result as JSON, or the client's error (exit 1).
//
// The client imports WebRTC (for websocket trackers) at load time, whose
// native module cannot be built here (its prebuilt binary comes from
// github.com); HTTP scrapes never touch it, so it is stubbed out.
import { register } from 'node:module'
register('data:text/javascript,' + encodeURIComponent(`
export async function resolve (spec, ctx, next) {
  if (spec === 'webrtc-polyfill') {
    return { shortCircuit: true, url: 'data:text/javascript,export class RTCPeerConnection {}; export class RTCSessionDescription {}; export class RTCIceCandidate {}' }
  }
  return next(spec, ctx)
}`))
const { default: Client } = await import('bittorrent-tracker')
const [url, ...hashes] = process.argv.slice(2)
const timer = setTimeout(() => { console.error('timeout'); process.exit(3) }, 10000)
Client.scrape({ announce: url, infoHash: hashes.length === 1 ? hashes[0] : hashes }, (err, data) => {
  clearTimeout(timer)
  if (err) { console.error('error: ' + err.message); process.exit(1) }
  console.log(JSON.stringify(data))
  process.exit(0)
})
