#!/bin/sh
# record.sh: capture a DMA trace bundle on a real Linux machine (run as root).
#
# Enables the tracefs event systems dma, swiotlb, iommu and dma_fence (those the kernel has),
# runs a command (or waits for Ctrl-C, or -t SECONDS), stops tracing and writes a capture bundle
# folder in the format of traces/real/README.md: trace.txt, meta.json, cmdline.txt, iomem.txt,
# devices.txt, iommu_groups.txt, dmesg.txt, meminfo.txt, trace-stats.txt, swiotlb-debugfs.txt, ...
# The tracing state it changes is restored on exit, also after Ctrl-C or an error.
#
# POSIX sh; runs under busybox ash and dash.

usage() {
    cat <<'EOF'
usage: record.sh [-o DIR] [-b KB] [-s] [-t SECONDS] [-T] [-e SYSTEM]... [--] [COMMAND [ARG]...]

  -o DIR      bundle folder to create (default: ./capture-<UTC time>); its name is the capture name
  -b KB       ring buffer size per CPU in KiB (buffer_size_kb); default: leave as it is
  -s          record a kernel stack trace after every event (options/stacktrace)
  -t SECONDS  without COMMAND: trace for this long (default: until Ctrl-C)
  -T          record with trace-cmd (start/stop, then extract trace.dat) when it is installed
  -e SYSTEM   trace this event system too (repeatable), e.g. -e sync_trace
  COMMAND     the workload; tracing stops when it exits. Ctrl-C ends the workload, not the capture.
Exit status: the COMMAND's (the bundle is written either way), 2 when the capture could not run.
EOF
}

die() {
    echo "record.sh: $*" >&2
    exit 2
}

out=""
buffer_kb=""
stacktrace=0
duration=""
use_tracecmd=0
systems="dma swiotlb iommu dma_fence"

while getopts "o:b:st:Te:h" opt; do
    case $opt in
        o) out=$OPTARG ;;
        b) buffer_kb=$OPTARG ;;
        s) stacktrace=1 ;;
        t) duration=$OPTARG ;;
        T) use_tracecmd=1 ;;
        e) systems="$systems $OPTARG" ;;
        h) usage; exit 0 ;;
        *) usage >&2; exit 2 ;;
    esac
done
shift $((OPTIND - 1))

case $buffer_kb in *[!0-9]*) die "-b takes KiB, not '$buffer_kb'" ;; esac
case $duration in *[!0-9]*) die "-t takes whole seconds, not '$duration'" ;; esac
[ -n "$duration" ] && [ $# -gt 0 ] && die "give a COMMAND or -t SECONDS, not both"
[ "$(id -u)" = 0 ] || die "must run as root (tracefs, debugfs, /proc/iomem)"
if [ "$use_tracecmd" = 1 ] && ! command -v trace-cmd >/dev/null 2>&1; then
    echo "record.sh: trace-cmd not found; recording through tracefs" >&2
    use_tracecmd=0
fi

[ -n "$out" ] || out="capture-$(date -u +%Y%m%dT%H%M%SZ)"
[ -e "$out" ] && die "$out exists already"
name=$(basename "$out")

# ---- the tracing state changed here is saved first and restored on any exit ----
T=""
mounted_tracefs=""
mounted_debugfs=""
state=""
enabled=""
cleaned=0

cleanup() {
    [ "$cleaned" = 1 ] && return 0
    cleaned=1
    trap '' INT TERM HUP
    if [ -n "$state" ]; then
        for s in $enabled; do echo 0 > "$T/events/$s/enable" 2>/dev/null; done
        while IFS= read -r ev; do echo "$ev" >> "$T/set_event" 2>/dev/null; done < "$state/set_event"
        [ -n "$saved_stacktrace" ] && echo "$saved_stacktrace" > "$T/options/stacktrace" 2>/dev/null
        [ -n "$buffer_kb" ] && echo "$saved_buffer_kb" > "$T/buffer_size_kb" 2>/dev/null
        echo "$saved_tracer" > "$T/current_tracer" 2>/dev/null
        echo "$saved_tracing_on" > "$T/tracing_on" 2>/dev/null
        rm -rf "$state"
    fi
    [ -n "$mounted_debugfs" ] && umount "$mounted_debugfs" 2>/dev/null
    [ -n "$mounted_tracefs" ] && umount "$mounted_tracefs" 2>/dev/null
    trap 'exit 130' INT
    trap 'exit 143' TERM
    trap 'exit 129' HUP
    return 0
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

# tracefs and debugfs: mounted here when they are not (and unmounted at the end)
for d in /sys/kernel/tracing /sys/kernel/debug/tracing; do
    if [ -w "$d/trace" ]; then T=$d; break; fi
done
if [ -z "$T" ] && mount -t tracefs nodev /sys/kernel/tracing 2>/dev/null; then
    T=/sys/kernel/tracing
    mounted_tracefs=$T
fi
[ -n "$T" ] || die "no tracefs (CONFIG_FTRACE?): /sys/kernel/tracing cannot be mounted"
if [ ! -d /sys/kernel/debug/swiotlb ] && ! grep -q " /sys/kernel/debug debugfs " /proc/mounts \
    && mount -t debugfs nodev /sys/kernel/debug 2>/dev/null; then
    mounted_debugfs=/sys/kernel/debug
fi

saved_tracing_on=$(cat "$T/tracing_on")
saved_buffer_kb=$(cat "$T/buffer_size_kb")
case $saved_buffer_kb in # "7 (expanded: 1408)" before the first use: the size to restore is 1408
    *expanded:*) saved_buffer_kb=${saved_buffer_kb##*expanded: }; saved_buffer_kb=${saved_buffer_kb%%)*} ;;
    *) saved_buffer_kb=${saved_buffer_kb%% *} ;;
esac
saved_tracer=$(cat "$T/current_tracer")
saved_stacktrace=$(cat "$T/options/stacktrace" 2>/dev/null || echo "")
state=$(mktemp -d) || die "mktemp failed"
cat "$T/set_event" > "$state/set_event"
mkdir -p "$out" || die "cannot create $out"

uptime_s() { cut -d' ' -f1 /proc/uptime; }
log() { echo "[$(uptime_s)] $*" >> "$out/workload.log"; }
mark() {
    echo "capture-phase: $*" > "$T/trace_marker" 2>/dev/null
    log "phase: $*"
}

# ---- start ----
present=""
for s in $systems; do
    if [ -d "$T/events/$s" ]; then
        present="$present $s"
    else
        echo "record.sh: this kernel has no '$s' events; not traced" >&2
    fi
done
[ -n "$present" ] || die "none of the event systems ($systems) exists in $T/events"

echo 0 > "$T/tracing_on"
if [ "$use_tracecmd" = 1 ]; then
    tc_args=""
    for s in $present; do tc_args="$tc_args -e $s"; done
    [ -n "$buffer_kb" ] && tc_args="$tc_args -b $buffer_kb"
    [ "$stacktrace" = 1 ] && tc_args="$tc_args -O stacktrace"
    enabled=$present
    : > "$T/trace"
    # shellcheck disable=SC2086 # tc_args is a list of words
    trace-cmd start -p nop $tc_args >"$out/trace-cmd-start.log" 2>&1 || die "trace-cmd start failed (see $out/trace-cmd-start.log)"
else
    echo nop > "$T/current_tracer"
    [ -n "$buffer_kb" ] && { echo "$buffer_kb" > "$T/buffer_size_kb" || die "cannot set buffer_size_kb=$buffer_kb"; }
    if [ "$stacktrace" = 1 ]; then
        [ -n "$saved_stacktrace" ] || die "this kernel has no options/stacktrace"
        echo 1 > "$T/options/stacktrace"
    fi
    : > "$T/trace"
    for s in $present; do
        echo 1 > "$T/events/$s/enable" && enabled="$enabled $s"
    done
    echo 1 > "$T/tracing_on"
fi
echo "record.sh: tracing$present into $out" >&2
mark "capture start $name"

# ---- the workload: Ctrl-C ends it, and the capture is still written ----
interrupted=0
trap 'interrupted=1' INT
rc=""
if [ $# -gt 0 ]; then
    log "run: $*"
    "$@"
    rc=$?
    log "rc=$rc: $*"
elif [ -n "$duration" ]; then
    echo "record.sh: tracing for $duration s (Ctrl-C ends it early)" >&2
    n=0
    while [ "$interrupted" = 0 ] && [ "$n" -lt "$duration" ]; do sleep 1; n=$((n + 1)); done
else
    echo "record.sh: tracing until Ctrl-C" >&2
    while [ "$interrupted" = 0 ]; do sleep 1; done
fi
trap 'exit 130' INT
[ "$interrupted" = 1 ] && log "interrupted (Ctrl-C)"
mark "workload end"

# ---- stop: debugfs first (the pool state at the end of the workload), then the ring buffer ----
dbg=/sys/kernel/debug/swiotlb
: > "$out/swiotlb-debugfs.txt"
for f in io_tlb_nslabs io_tlb_used io_tlb_used_hiwater; do
    [ -r "$dbg/$f" ] && echo "$f=$(cat "$dbg/$f")" >> "$out/swiotlb-debugfs.txt"
done
if [ "$use_tracecmd" = 1 ]; then trace-cmd stop >/dev/null 2>&1; fi
echo 0 > "$T/tracing_on"

for c in $(for d in "$T"/per_cpu/cpu*; do echo "${d##*cpu}"; done | sort -n); do
    echo "== cpu$c"
    cat "$T/per_cpu/cpu$c/stats"
done > "$out/trace-stats.txt"
cat "$T/trace" > "$out/trace.txt" # non-consuming read
if [ "$use_tracecmd" = 1 ]; then
    # extract reads per_cpu/cpu*/trace_pipe_raw, consuming the buffer: after trace.txt
    (cd "$out" && trace-cmd extract -o trace.dat > trace-cmd-extract.log 2>&1 \
        && trace-cmd report -i trace.dat > trace-cmd-report.txt 2>/dev/null) \
        || echo "record.sh: trace-cmd extract failed (see $out/trace-cmd-extract.log)" >&2
fi
{
    for s in $present; do
        for e in "$T/events/$s"/*/; do
            [ -r "${e}format" ] || continue
            echo "### events/${s}_$(basename "$e")"
            cat "${e}format"
        done
    done
    for h in header_page header_event; do
        echo "### events/$h"
        cat "$T/events/$h" 2>/dev/null
    done
} > "$out/formats.txt"
cleanup

# ---- the machine's facts ----
cat /proc/cmdline > "$out/cmdline.txt"
cat /proc/iomem > "$out/iomem.txt"
cat /proc/meminfo > "$out/meminfo.txt"
{ dmesg -s 16777216 2>/dev/null || dmesg; } > "$out/dmesg.txt"
{ lsmod 2>/dev/null || cat /proc/modules 2>/dev/null; } > "$out/lsmod.txt"

attr() { cat "$1" 2>/dev/null || echo none; }
link_name() { if l=$(readlink "$1" 2>/dev/null); then basename "$l"; else echo none; fi; }
{
    for d in /sys/bus/pci/devices/*; do
        [ -e "$d" ] || continue
        echo "pci $(basename "$d") vendor=$(attr "$d/vendor") device=$(attr "$d/device") class=$(attr "$d/class")" \
            "driver=$(link_name "$d/driver") dma_mask_bits=$(attr "$d/dma_mask_bits")" \
            "consistent_dma_mask_bits=$(attr "$d/consistent_dma_mask_bits") iommu_group=$(link_name "$d/iommu_group")"
    done
    for n in /sys/class/net/*; do
        [ -e "$n" ] || continue
        echo "net $(basename "$n") -> $(readlink "$n/device" 2>/dev/null) mtu=$(attr "$n/mtu")"
    done
    for b in /sys/block/*; do
        [ -e "$b" ] || continue
        echo "block $(basename "$b") -> $(readlink "$b/device" 2>/dev/null) size_512=$(attr "$b/size")"
    done
} > "$out/devices.txt"

{
    for g in $(for d in /sys/kernel/iommu_groups/*; do [ -e "$d" ] && basename "$d"; done | sort -n); do
        gd=/sys/kernel/iommu_groups/$g
        printf 'group %s type=%s devices=' "$g" "$(attr "$gd/type")"
        for dev in "$gd"/devices/*; do [ -e "$dev" ] && printf '%s ' "$(basename "$dev")"; done
        echo
        [ -r "$gd/reserved_regions" ] && while read -r start end kind; do
            [ -n "$start" ] && echo "  reserved $start $end $kind"
        done < "$gd/reserved_regions"
    done
} > "$out/iommu_groups.txt" 2>/dev/null

for f in /sys/class/iommu/*/intel-iommu/*; do
    [ -r "$f" ] || continue
    echo "$(basename "$(dirname "$(dirname "$f")")")/$(basename "$f")=$(cat "$f")"
done > "$out/iommu_class.txt" 2>/dev/null

# ---- meta.json (the minimal set; the rest of the README's fields are derived by tools) ----
json_str() {
    printf '"%s"' "$(printf '%s' "$1" | tr -d '\000-\010\012-\037' | sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' -e "s/$(printf '\t')/\\\\t/g")"
}
json_or_null() { if [ -n "$1" ]; then json_str "$1"; else echo null; fi; }
cmdline=$(cat /proc/cmdline)
swiotlb_param=$(tr ' ' '\n' < /proc/cmdline | grep '^swiotlb=' | tail -n 1)
counts=$(sed -n 's|^# entries-in-buffer/entries-written: \([0-9]*\)/\([0-9]*\).*|\1 \2|p' "$out/trace.txt" | head -n 1)
in_buffer=${counts% *}
written=${counts#* }
dbg_value() { sed -n "s/^$1=//p" "$out/swiotlb-debugfs.txt"; }
nslabs=$(dbg_value io_tlb_nslabs)
{
    echo "{"
    echo "  \"name\": $(json_str "$name"),"
    echo "  \"schema_version\": 1,"
    echo "  \"captured_utc\": \"$(date -u +%Y-%m-%dT%H:%M:%SZ)\","
    echo "  \"kernel\": {\"uname_r\": $(json_str "$(uname -r)")},"
    echo "  \"cmdline\": $(json_str "$cmdline"),"
    echo "  \"trace\": {"
    echo "    \"file\": \"trace.txt\","
    echo "    \"header_entries_in_buffer\": ${in_buffer:-null},"
    echo "    \"header_entries_written\": ${written:-null}"
    echo "  },"
    echo "  \"swiotlb\": {"
    echo "    \"cmdline_param\": $(json_or_null "$swiotlb_param"),"
    if [ -n "$nslabs" ]; then
        used=$(dbg_value io_tlb_used)
        hiwater=$(dbg_value io_tlb_used_hiwater)
        echo "    \"debugfs_end_of_workload\": {\"io_tlb_nslabs\": $nslabs, \"io_tlb_used\": ${used:-null}," \
            "\"io_tlb_used_hiwater\": ${hiwater:-null}}"
    else
        echo "    \"debugfs_end_of_workload\": null"
    fi
    echo "  }"
    echo "}"
} > "$out/meta.json"

if [ -n "$in_buffer" ] && [ "$in_buffer" != "$written" ]; then
    echo "record.sh: warning: the ring buffer lost events ($in_buffer of $written kept); use a larger -b" >&2
fi
echo "record.sh: wrote $out ($(grep -vc '^#' "$out/trace.txt") trace lines)" >&2
[ -z "$rc" ] || exit "$rc"
