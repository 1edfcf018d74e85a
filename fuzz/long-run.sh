#!/usr/bin/env bash
# The one-off long run (fuzz/RUNS.md): every target in turn, one fuzzer process at a time under
# `nice -n 19` (the machine is shared), in slices of $SLICE wall seconds, until the CPU time
# actually consumed (user + sys, from /usr/bin/time) reaches $CPU_GOAL seconds or the clock
# passes $UNTIL (UTC, HH:MM). `decode` gets two slices per round: it has the most code behind
# it. Needs `scripts/fuzz.sh` to have built the targets once. Appends one line per slice to
# fuzz/work/long-run.tsv: target, wall s, user s, sys s, execs, exit code.
set -uo pipefail
cd "$(dirname "$0")"

CPU_GOAL=${CPU_GOAL:-3900}
SLICE=${SLICE:-120}
UNTIL=${UNTIL:-11:58}
bin=target/x86_64-unknown-linux-gnu/release
log=work/long-run.tsv
mkdir -p work
order=(decode asr_detect asr_json decode asr_labelstudio asr_subtitles decode asr_lines asr_textgrid
       decode asr_eaf normalise)

cpu_total() { awk -F'\t' '{s += $3 + $4} END {printf "%d", s}' "$log" 2>/dev/null || echo 0; }

while :; do
  for t in "${order[@]}"; do
    [ "$(cpu_total)" -ge "$CPU_GOAL" ] && exit 0
    [ "$(date -u +%H:%M)" \> "$UNTIL" ] && exit 0
    mkdir -p "work/$t" "artifacts/$t"
    start=$(date +%s)
    nice -n 19 /usr/bin/time -f '%U %S' -o work/time.txt "$bin/$t" "work/$t" "corpus/$t" \
      -artifact_prefix="artifacts/$t/" -max_total_time="$SLICE" -rss_limit_mb=2048 -timeout=10 \
      -max_len=65536 -print_final_stats=1 > work/slice.log 2>&1
    code=$?
    wall=$(( $(date +%s) - start ))
    read -r user sys < <(tail -n 1 work/time.txt)
    execs=$(awk '/stat::number_of_executed_units/ {print $2}' work/slice.log)
    printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$t" "$wall" "$user" "$sys" "${execs:-0}" "$code" >> "$log"
    if [ "$code" -ne 0 ]; then
      cp work/slice.log "artifacts/$t/slice-$(date +%H%M%S).log"
    fi
  done
done
