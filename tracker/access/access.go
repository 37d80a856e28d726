// Package access decides which torrents may be tracked (white or black list of
// info_hashes, reloaded on SIGHUP) and which client networks are trusted.
package access
