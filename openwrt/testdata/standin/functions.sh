#!/bin/sh
# STAND-IN for OpenWrt's /lib/functions.sh, written for these tests; it is
# not OpenWrt's file. It keeps the same storage model: option values in
# CONFIG_<section>_<option>, list items in CONFIG_<section>_<option>_ITEM<n>
# with _LENGTH, and the list joined by spaces in CONFIG_<section>_<option>.
# config_load sources the UCI file as shell, as the real one evals the output
# of "uci export", so quoting such as 'it'\''s' is taken the same way.
# Environment: UCI_CONFIG_DIR (directory of UCI files), STANDIN_PASSWD
# (passwd file for user_exists), STANDIN_LOG (default_postinst/prerm record).

# "local" is in busybox ash (shellcheck 0.9 has no busybox dialect).
# shellcheck disable=SC3043

CONFIG_SECTION=""
CONFIG_NUM_SECTIONS=0
CONFIG_LIST_STATE=""

config() {
	local name="$2"
	CONFIG_NUM_SECTIONS=$((CONFIG_NUM_SECTIONS + 1))
	[ -n "$name" ] || name="cfg$CONFIG_NUM_SECTIONS"
	CONFIG_SECTION="$name"
	eval "CONFIG_${name}_TYPE=\$1"
}

option() {
	local name="$1"
	shift
	eval "CONFIG_${CONFIG_SECTION}_${name}=\$*"
}

list() {
	local name="$1" len
	shift
	eval "len=\${CONFIG_${CONFIG_SECTION}_${name}_LENGTH:-0}"
	[ "$len" != 0 ] || CONFIG_LIST_STATE="$CONFIG_LIST_STATE ${CONFIG_SECTION}_${name}"
	len=$((len + 1))
	eval "CONFIG_${CONFIG_SECTION}_${name}_ITEM${len}=\$*"
	eval "CONFIG_${CONFIG_SECTION}_${name}_LENGTH=\$len"
	if [ "$len" = 1 ]; then
		eval "CONFIG_${CONFIG_SECTION}_${name}=\$*"
	else
		eval "CONFIG_${CONFIG_SECTION}_${name}=\"\${CONFIG_${CONFIG_SECTION}_${name}} \$*\""
	fi
}

package() { return 0; }

# Like the real uci_load, a second config_load forgets the lists read by the
# first (not the options).
config_load() {
	local v
	for v in $CONFIG_LIST_STATE; do
		eval "CONFIG_${v}=; CONFIG_${v}_LENGTH="
	done
	CONFIG_LIST_STATE=""
	CONFIG_NUM_SECTIONS=0
	[ -f "$UCI_CONFIG_DIR/$1" ] || return 0
	# shellcheck source=/dev/null
	. "$UCI_CONFIG_DIR/$1"
}

# config_get VAR SECTION OPTION [DEFAULT] or config_get SECTION OPTION
config_get() {
	case "$#" in
	3 | 4) eval "$1=\${CONFIG_${2}_${3}:-\$4}" ;;
	2) eval "echo \"\${CONFIG_${1}_${2}}\"" ;;
	esac
}

config_get_bool() {
	local _v
	config_get _v "$2" "$3" "$4"
	case "$_v" in
	1 | on | true | yes | enabled) _v=1 ;;
	0 | off | false | no | disabled) _v=0 ;;
	*) _v="$4" ;;
	esac
	eval "$1=\$_v"
}

config_list_foreach() {
	local section="$1" name="$2" fn="$3" len i item
	shift 3
	eval "len=\${CONFIG_${section}_${name}_LENGTH:-0}"
	i=1
	while [ "$i" -le "$len" ]; do
		eval "item=\${CONFIG_${section}_${name}_ITEM${i}}"
		"$fn" "$item" "$@"
		i=$((i + 1))
	done
}

user_exists() {
	grep -qs "^$1:" "${STANDIN_PASSWD:-/etc/passwd}"
}

# default_postinst records its call and, as the real one does first, makes
# the users and groups the package's control file asks for.
default_postinst() {
	(
		IFS="|"
		echo "default_postinst|$*" >>"$STANDIN_LOG"
	)
	_standin_add_group_and_user "$(basename "${1%.*}")"
}

# The real add_group_and_user, user_add and group_add_next, reduced: for
# each "user[=uid]:group[=gid]" of the control file's Require-User field,
# the group is made (with the first free gid from 32768 when none is
# given), then the user (first free uid from 32768, home /var/run/<user>,
# shell /bin/false, a shadow entry), and the user joins the group. Existing
# users and groups are kept.
_standin_add_group_and_user() {
	local root="${IPKG_INSTROOT}" rusers tuple uname gname uid gid oIFS="$IFS"
	rusers="$(sed -ne 's/^Require-User: *//p' "$root/usr/lib/opkg/info/$1.control" 2>/dev/null)"
	for tuple in $rusers; do
		IFS=":"
		# shellcheck disable=SC2086 # split on purpose
		set -- $tuple
		uname="$1" gname="${2-}"
		IFS="="
		# shellcheck disable=SC2086
		set -- $uname
		uname="$1" uid="${2-}"
		# shellcheck disable=SC2086
		set -- $gname
		gname="${1-}" gid="${2-}"
		IFS="$oIFS"
		if [ -n "$gname" ]; then
			if grep -qs "^$gname:" "$root/etc/group"; then
				gid="$(grep -s "^$gname:" "$root/etc/group" | cut -d: -f3)"
			else
				if [ -z "$gid" ]; then
					gid=32768
					while cut -d: -f3 "$root/etc/group" | grep -qx "$gid"; do gid=$((gid + 1)); done
				fi
				echo "$gname:x:$gid:" >>"$root/etc/group"
			fi
		fi
		if [ -n "$uname" ] && ! grep -qs "^$uname:" "$root/etc/passwd"; then
			if [ -z "$uid" ]; then
				uid=32768
				while cut -d: -f3 "$root/etc/passwd" | grep -qx "$uid"; do uid=$((uid + 1)); done
			fi
			[ -n "$gid" ] || gid="$uid"
			echo "$uname:x:$uid:$gid:$uname:/var/run/$uname:/bin/false" >>"$root/etc/passwd"
			echo "$uname:x:0:0:99999:7:::" >>"$root/etc/shadow"
		fi
		if [ -n "$uname" ] && [ -n "$gname" ] && ! grep -s "^$gname:" "$root/etc/group" | cut -d: -f4 | grep -q "$uname"; then
			sed -i "s/^\($gname:.*[^:]\)\$/\1,$uname/; s/^\($gname:[^:]*:[^:]*:\)\$/\1$uname/" "$root/etc/group"
		fi
	done
}

default_prerm() {
	local IFS="|"
	echo "default_prerm|$*" >>"$STANDIN_LOG"
}
