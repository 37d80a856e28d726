// Package luci holds the tests of luci-app-opentracker, the LuCI app in
// this directory (htdocs/: the views; root/: menu, ACL and rpcd plugin).
// The app itself is JavaScript and shell; see README.md, section LuCI.
package luci
