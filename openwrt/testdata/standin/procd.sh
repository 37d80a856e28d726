#!/bin/sh
# STAND-IN for OpenWrt's /lib/functions/procd.sh, written for these tests;
# it is not OpenWrt's file. Each procd_* call appends one line to STANDIN_LOG,
# its arguments separated by "|", instead of building the JSON message for
# ubus. uci_validate_section and uci_load_validate behave like the real ones
# but run the validate_data stand-in next to this file in place of
# /sbin/validate_data. Environment: STANDIN_DIR, STANDIN_LOG.

# "local" is in busybox ash (shellcheck 0.9 has no busybox dialect).
# shellcheck disable=SC3043

_standin_record() {
	local IFS="|"
	echo "$*" >>"$STANDIN_LOG"
}

procd_lock() { return 0; }
procd_open_service() { _standin_record open_service "$1"; }

procd_close_service() {
	service_triggers
	_standin_record close_service
}

# A small model of what procd does with a declared instance, from procd's
# service/instance.c and what was recorded under the real procd: the
# instance's parameters, with the md5 of each "file", are compared with the
# previous declaration (kept in STANDIN_LOG's directory). New: "procd|start";
# different: "procd|restart", or "procd|signal|SIG" when reload_signal is
# set (instance_restart); equal: "procd|unchanged". It also records what
# procd makes of the parameters: "procd|respawn|THRESHOLD|TIMEOUT|RETRY"
# (procd.sh fills in 3600 5 5 for a bare "respawn": a crashed daemon is
# started again after 5 s, and given up after 5 crashes within 3600 s) and
# "procd|jail|MOUNTS" when the instance asks for a jail and ujail exists
# (STANDIN_UJAIL=1), "procd|unjailed" when it asks for one without ujail
# (procd then runs it unjailed unless "requirejail" is given).
_standin_state() { echo "${STANDIN_LOG%/*}/procd.instance"; }

procd_open_instance() {
	_standin_record open_instance "$@"
	_standin_inst=""
	_standin_sig=""
	_standin_respawn=""
	_standin_jail=""
	_standin_mounts=""
}

procd_set_param() {
	_standin_record set_param "$@"
	_standin_inst="$_standin_inst|$*"
	case "$1" in
	file) _standin_inst="$_standin_inst|$(md5sum <"$2")" ;;
	reload_signal) _standin_sig="$2" ;;
	respawn)
		shift
		_standin_respawn="${1:-3600}|${2:-5}|${3:-5}"
		;;
	esac
}

procd_append_param() { _standin_record append_param "$@"; }

procd_close_instance() {
	_standin_record close_instance
	local state old
	[ -z "$_standin_respawn" ] || _standin_record procd respawn "$_standin_respawn"
	if [ -n "$_standin_jail" ]; then
		if [ "${STANDIN_UJAIL:-0}" = 1 ]; then
			_standin_record procd jail "${_standin_mounts#|}"
		else
			_standin_record procd unjailed
		fi
		_standin_inst="$_standin_inst|jail$_standin_mounts"
	fi
	state="$(_standin_state)"
	if [ ! -f "$state" ]; then
		_standin_record procd start
	else
		old="$(cat "$state")"
		if [ "$old" = "$_standin_inst" ]; then
			_standin_record procd unchanged
		elif [ -n "$_standin_sig" ]; then
			_standin_record procd signal "$_standin_sig"
		else
			_standin_record procd restart
		fi
	fi
	printf '%s' "$_standin_inst" >"$state"
}

procd_add_reload_trigger() { _standin_record reload_trigger "$@"; }

procd_kill() {
	_standin_record kill "$@"
	rm -f "$(_standin_state)"
}

# procd_running asks "ubus call service list" and reads the answer with
# jsonfilter. STANDIN_JSONFILTER=ignores-stdin models the jsonfilter that
# was recorded ignoring its standard input: the answer is then always "no".
procd_running() {
	[ "${STANDIN_JSONFILTER:-}" != ignores-stdin ] || return 1
	[ -f "$(_standin_state)" ]
}

# procd signals the running instance; without one the call does nothing.
procd_send_signal() {
	_standin_record send_signal "$@"
	if [ -f "$(_standin_state)" ]; then
		_standin_record procd signal "$3"
	else
		_standin_record procd signal none
	fi
}

procd_add_jail() {
	_standin_record add_jail "$@"
	_standin_jail="$*"
}

procd_add_jail_mount() {
	local p
	_standin_record add_jail_mount "$@"
	for p in "$@"; do _standin_mounts="$_standin_mounts|$p:ro"; done
}

procd_add_jail_mount_rw() {
	local p
	_standin_record add_jail_mount_rw "$@"
	for p in "$@"; do _standin_mounts="$_standin_mounts|$p:rw"; done
}

# The real one runs the function to export its schema to ubus; here we only
# record that the named function exists.
procd_add_validation() {
	type "$1" >/dev/null 2>&1 || {
		_standin_record validation_missing "$1"
		return 1
	}
	_standin_record validation "$1"
}

uci_validate_section() {
	local _package="$1" _type="$2" _name="$3" _result _error
	shift 3
	_result="$("$STANDIN_DIR/validate_data" "$_package" "$_type" "$_name" "$@" 2>/dev/null)"
	_error=$?
	eval "$_result"
	[ "$_error" = 0 ] || "$STANDIN_DIR/validate_data" "$_package" "$_type" "$_name" "$@" >/dev/null
	return "$_error"
}

uci_load_validate() {
	local _package="$1" _type="$2" _name="$3" _function="$4" _option _result
	shift 4
	for _option in "$@"; do
		eval "local ${_option%%:*}"
	done
	uci_validate_section "$_package" "$_type" "$_name" "$@"
	_result=$?
	[ -n "$_function" ] || return "$_result"
	eval "$_function \"\$_name\" \"\$_result\""
}
