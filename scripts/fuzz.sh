#!/usr/bin/env bash
# Fuzzes the parsers at scopegate's trust boundaries for a bounded time each (docs/fuzzing.md).
#
#   scripts/fuzz.sh [SECONDS] [TARGET...]
#
# SECONDS is the budget per target (default 60); without TARGETs every target runs, one after
# the other. Installs cargo-fuzz if missing, builds all targets once, then fuzzes each target
# starting from its committed seeds in fuzz/corpus/<target>/. Inputs a run discovers go to a
# temporary copy of the corpus and are thrown away, so the committed corpus never grows by
# accident. Exits non-zero if any target crashed, ran out of memory or hung, naming each
# failing input (kept under fuzz/artifacts/<target>/, which git ignores).
#
# FUZZ_SANITIZER=address builds with AddressSanitizer. That needs the unstable -Zsanitizer
# flag, which this script unlocks on the stable toolchain with RUSTC_BOOTSTRAP=1; the default,
# `none`, uses stable flags only.
set -euo pipefail
cd "$(dirname "$0")/../fuzz"

seconds="${1:-60}"
shift || true
if ! [[ "$seconds" =~ ^[1-9][0-9]*$ ]]; then
  echo "usage: scripts/fuzz.sh [SECONDS] [TARGET...]" >&2
  exit 2
fi
sanitizer="${FUZZ_SANITIZER:-none}"

step() { printf '\n==> %s\n' "$*"; }

step "cargo-fuzz"
if ! cargo fuzz --version >/dev/null 2>&1; then
  cargo install --locked cargo-fuzz
fi
cargo fuzz --version

# Overflow checks and debug assertions stay on: a wrapped counter is a bug worth a crash.
build_flags=(--sanitizer "$sanitizer" --debug-assertions)
if [[ "$sanitizer" != none ]]; then
  export RUSTC_BOOTSTRAP=1
fi

# The workspace's `cargo fmt --all` does not reach this crate, so check it here.
step "cargo fmt --check (fuzz crate)"
cargo fmt --check

step "build (sanitizer: $sanitizer)"
# The fuzz crate is its own workspace with its own lock file; refuse to run with a stale one.
cargo fetch --locked --quiet
cargo fuzz build "${build_flags[@]}"

if [[ $# -gt 0 ]]; then
  targets=("$@")
else
  mapfile -t targets < <(cargo fuzz list)
fi

scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
failed=()
for target in "${targets[@]}"; do
  step "fuzz $target for ${seconds}s"
  if [[ ! -d "corpus/$target" ]]; then
    echo "no seed corpus at fuzz/corpus/$target" >&2
    failed+=("$target (no seed corpus)")
    continue
  fi
  corpus="$scratch/$target"
  mkdir -p "$corpus" "artifacts/$target"
  cp -R "corpus/$target/." "$corpus/"
  touch "$scratch/started"

  # -timeout: an input that takes longer than 10 s counts as a hang, and fails the run.
  if ! cargo fuzz run "${build_flags[@]}" "$target" "$corpus" -- \
    -max_total_time="$seconds" -timeout=10 -print_final_stats=1; then
    found="$(find "artifacts/$target" -type f -newer "$scratch/started" -printf 'fuzz/%p ')"
    failed+=("$target: ${found:-no artifact written}")
  fi
done

if [[ ${#failed[@]} -gt 0 ]]; then
  step "FAILED: a target found an input that crashes, exhausts memory or hangs"
  printf '  %s\n' "${failed[@]}"
  echo "Reproduce: cd fuzz && cargo fuzz run ${build_flags[*]} <target> <artifact>"
  exit 1
fi
step "done: ${#targets[@]} target(s), ${seconds}s each, no crash"
