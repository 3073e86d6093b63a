#!/usr/bin/env bash
# Run every fuzz target (or the ones named) for SECONDS each, one after the other, with
# libFuzzer through cargo-fuzz on the nightly toolchain.
#
#   fuzz/run.sh            # 60 s per target
#   fuzz/run.sh 600 proxy_http1
#
# Needs `rustup toolchain install nightly` and `cargo install cargo-fuzz`. Each target's corpus
# is fuzz/corpus/TARGET, seeded from fuzz/seeds/TARGET (the scenario target also from every
# experiments/**/*.toml) and kept between runs. Prints per target the executions, the corpus
# size and whether a crash was found (then libFuzzer's artifact under fuzz/artifacts/TARGET
# reproduces it: cargo +nightly fuzz run TARGET ARTIFACT). Exits 1 if any target crashed.
# A single input running over 10 s counts as a crash (a hang).
set -euo pipefail
cd "$(dirname "$0")"

SECONDS_PER_TARGET=${1:-60}
shift || true
TARGETS=("$@")
if [[ ${#TARGETS[@]} -eq 0 ]]; then
    TARGETS=(scenario admin_json worker_fault proxy_http1)
fi
if ! [[ "$SECONDS_PER_TARGET" =~ ^[0-9]+$ && "$SECONDS_PER_TARGET" -ge 1 ]]; then
    echo "fuzz/run.sh: SECONDS must be a whole number >= 1, got '$SECONDS_PER_TARGET'" >&2
    exit 2
fi
cargo +nightly fuzz --version >/dev/null 2>&1 || {
    echo "fuzz/run.sh: needs cargo-fuzz on nightly: rustup toolchain install nightly; cargo install cargo-fuzz" >&2
    exit 2
}

# Build every target first, so that a build failure stops here and is not taken for a crash.
cargo +nightly fuzz build
# Copy the seeds into the corpus, keeping what earlier runs found.
seed_corpus() { # target
    local f dest
    for f in "seeds/$1"/*; do
        dest="corpus/$1/seed-$(basename "$f")"
        [[ -e "$dest" ]] || cp "$f" "$dest"
    done
    if [[ "$1" == scenario ]]; then
        while read -r f; do
            dest="corpus/$1/$(echo "${f#../}" | tr / _)"
            [[ -e "$dest" ]] || cp "$f" "$dest"
        done < <(find ../experiments -name '*.toml' | sort)
    fi
}

mkdir -p logs
crashed=0
for t in "${TARGETS[@]}"; do
    [[ -d "seeds/$t" ]] || { echo "fuzz/run.sh: unknown target '$t' (no fuzz/seeds/$t)" >&2; exit 2; }
    mkdir -p "corpus/$t" "artifacts/$t"
    seed_corpus "$t"
    find "artifacts/$t" -type f | sort >"logs/$t.before"
    status=0
    cargo +nightly fuzz run "$t" "corpus/$t" -- \
        -max_total_time="$SECONDS_PER_TARGET" -timeout=10 -print_final_stats=1 \
        >"logs/$t.log" 2>&1 || status=$?
    execs=$(awk -F: '/stat::number_of_executed_units/ {gsub(/ /, "", $NF); print $NF}' "logs/$t.log" | tail -n 1)
    corpus=$(find "corpus/$t" -type f | wc -l)
    artifact=$(find "artifacts/$t" -type f | sort | comm -13 "logs/$t.before" - | tr '\n' ' ')
    if [[ $status -ne 0 || -n "$artifact" ]]; then
        crashed=1
        printf '%-13s %10s executions in %s s, corpus %5s: CRASH (exit %s) %s; log fuzz/logs/%s.log\n' \
            "$t" "${execs:-?}" "$SECONDS_PER_TARGET" "$corpus" "$status" "$artifact" "$t"
    else
        printf '%-13s %10s executions in %s s, corpus %5s: no crash\n' \
            "$t" "${execs:-?}" "$SECONDS_PER_TARGET" "$corpus"
    fi
done
exit "$crashed"
