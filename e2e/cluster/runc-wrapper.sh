#!/bin/bash
# runc wrapper for the local test cluster. up.sh installs it into the work
# dir with the paths filled in and names it as containerd's runc BinaryName.
#
# Why it exists: kubelet asks for oom_score_adj -998 on every pod sandbox
# (and below 0 for containers of Guaranteed pods), and lowering
# oom_score_adj needs CAP_SYS_RESOURCE. The test machines withhold that
# capability, so runc fails every sandbox with "can't get final child's PID
# from pipe: EOF". Before runc starts a container or an exec process, this
# wrapper raises a negative process.oomScoreAdj in the OCI spec it is given
# to 0 and then execs the real runc with the same arguments.
set -euo pipefail

RUNC=@RUNC@
JQ=@JQ@

# raise_oom_score_adj FILE PREFIX rewrites FILE in place when the
# oomScoreAdj under the jq path PREFIX is negative: ".process" in a bundle's
# config.json, "" in the process JSON of an exec.
raise_oom_score_adj() {
	local file=$1 filter=$2
	[ -f "$file" ] || return 0
	"$JQ" -e "($filter.oomScoreAdj // 0) < 0" "$file" >/dev/null || return 0
	local tmp
	tmp=$(mktemp "$file.XXXXXX")
	"$JQ" -c "$filter.oomScoreAdj = 0" "$file" >"$tmp"
	chmod --reference="$file" "$tmp"
	mv -f "$tmp" "$file"
}

command="" bundle="" process=""
args=("$@")
for ((i = 0; i < ${#args[@]}; i++)); do
	arg=${args[i]}
	case $arg in
	--bundle | -b) bundle=${args[i + 1]:-} ;;
	--bundle=*) bundle=${arg#--bundle=} ;;
	--process | -p) process=${args[i + 1]:-} ;;
	--process=*) process=${arg#--process=} ;;
	create | run | exec) [ -n "$command" ] || command=$arg ;;
	esac
done

case $command in
create | run) raise_oom_score_adj "${bundle:-.}/config.json" .process ;;
exec) [ -z "$process" ] || raise_oom_score_adj "$process" "" ;;
esac

exec "$RUNC" "$@"
