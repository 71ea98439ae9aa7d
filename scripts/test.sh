#!/usr/bin/env bash
# Run every test suite of the collection and print a per-suite table. The last line is
#   N passed, N failed, N skipped
# (sums over all suites; a Molecule scenario counts as one test). Exit status is non-zero when
# anything failed or when no test ran at all.
#   bash scripts/test.sh                 everything (runs scripts/setup.sh first)
#   RCG_SUITES="sanity units" bash scripts/test.sh    a subset: shellcheck lint docs sanity sanity-2.16 units units-2.19 units-2.16 host molecule claims (last: needs the others)
#   RCG_SCENARIOS="clean" bash scripts/test.sh        only these Molecule scenarios
#   RCG_MOLECULE_JOBS=2                   scenarios run at once (default 2)
#   RCG_REQUIRE_SHARED=1                  (.ci/run) no shared/ or a missing build fails, never skips
# A name in RCG_SUITES or RCG_SCENARIOS that does not exist is a failure.
set -uo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
suites=${RCG_SUITES:-shellcheck lint docs sanity sanity-2.16 units units-2.19 units-2.16 host molecule claims}
t_start=$SECONDS

if ! bash "$root/scripts/setup.sh"; then
  echo "setup failed: no test ran"
  echo "0 passed, 1 failed, 0 skipped"
  exit 1
fi
setup_seconds=$((SECONDS - t_start))
# shellcheck source=scripts/env.sh
source "$root/scripts/env.sh"
cd "$RCG_ROOT" || exit 1
export NO_COLOR=1 PY_COLORS=0 ANSIBLE_NOCOLOR=1 ANSIBLE_FORCE_COLOR=0

out=$RCG_ROOT/tests/output/harness
rm -rf "$out"
mkdir -p "$out"
results=$out/results.tsv   # suite  passed  failed  skipped  seconds  note
: >"$results"
record() { printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$@" >>"$results"; }
say() { printf '==> %s\n' "$*"; }
# What went wrong, briefly: pytest's short summary when there is one, else the log's tail.
show_failure() {  # $1 label, $2 log
  echo "--- $1 failed (full log: ${2#"$RCG_ROOT"/})"
  if grep -q 'short test summary info' "$2"; then
    sed -n '/short test summary info/,/^=\+ .* in [0-9.]\+s/p' "$2" | head -40
  else
    tail -30 "$2"
  fi
}

# ansible-test insists that the collection's real path ends in ansible_collections/<ns>/<name>
# and lists files with git, so it gets a fresh copy of the tree (tracked + untracked, not
# ignored) outside this repository. Sibling collections are linked in beside it.
stage_root=${TMPDIR:-/tmp}/rcg-ansible-test-$(printf %s "$RCG_ROOT" | sha1sum | cut -c1-8)
stage=$stage_root/ansible_collections/runcguard/seccomp
stage_collection() {
  rm -rf "$stage_root"
  mkdir -p "$stage"
  if git -C "$RCG_ROOT" rev-parse --git-dir >/dev/null 2>&1; then
    git -C "$RCG_ROOT" ls-files -z --cached --others --exclude-standard |
      grep -zvE '^(\.venv[^/]*|\.cache|tests/output)/' |
      (cd "$RCG_ROOT" && tar --null --ignore-failed-read -T - -c 2>/dev/null) | tar -x -C "$stage"
  else
    tar -C "$RCG_ROOT" -c --exclude=./.git --exclude='./.venv*' --exclude=./.cache \
      --exclude=./tests/output --exclude=__pycache__ . | tar -x -C "$stage"
  fi
  local c
  for c in "$RCG_CACHE"/collections/ansible_collections/*/*; do
    case $c in */runcguard/seccomp) continue ;; esac
    mkdir -p "$stage_root/ansible_collections/$(basename "$(dirname "$c")")"
    ln -sfn "$c" "$stage_root/ansible_collections/${c#"$RCG_CACHE"/collections/ansible_collections/}"
  done
  # Tests look for shared/ beside the repository (real runtime builds, runc's commit table);
  # the staged copy gets the same neighbour so unit tests check against it too.
  local shared
  if shared=$(cd "$RCG_ROOT/scripts" && python3 -c 'import os, shared_builds as s
d = s.shared_dir()
print(d) if os.path.isdir(d) else exit(3)' 2>/dev/null); then
    ln -sfn "$shared" "$(dirname "$stage")/shared"
  fi
  # ansible-test passes no environment to unit tests: the marker tells them (shared_builds.required).
  if [ "${RCG_REQUIRE_SHARED:-}" = 1 ]; then : >"$(dirname "$stage")/.rcg-require-shared"; fi
}

# Sum tests/failures/errors/skipped over junit files: prints "passed failed skipped".
junit_counts() {
  python3 - "$@" <<'PY'
import sys
import xml.etree.ElementTree as ET
p = f = s = 0
for path in sys.argv[1:]:
    try:
        root = ET.parse(path).getroot()
    except (OSError, ET.ParseError):
        f += 1  # an unreadable report is a failure, not silence
        continue
    for case in root.iter('testcase'):
        if case.find('failure') is not None or case.find('error') is not None:
            f += 1
        elif case.find('skipped') is not None:
            s += 1
        else:
            p += 1
print(p, f, s)
PY
}

# ansible-test keeps its venvs under $HOME/.ansible/test; a project-private HOME stops parallel
# runs of other checkouts on the same machine from deleting venvs under this one.
at_home=$RCG_CACHE/ansible-test-home
pip_cache_dir=${PIP_CACHE_DIR:-$HOME/.cache/pip}
ansible_test() {  # $1 venv dir, rest: ansible-test arguments (run inside the staged copy)
  local venv=$1; shift
  (cd "$stage" && PIP_CACHE_DIR=$pip_cache_dir HOME=$at_home \
    PATH="$venv/bin:$PATH" timeout 2400 ansible-test "$@" --color no)
}

# --- ansible-test sanity (newest core; compile/import on every target Python found) --------
run_sanity() {  # $1 suite name, $2 venv dir, rest: ansible-test sanity options (default: every test)
  local name=$1 venv=$2 t0=$SECONDS rc
  local log=$out/$name.log
  shift 2
  if [ ! -x "$venv/bin/ansible-test" ]; then
    record "$name" 0 1 0 0 "missing $venv"; return
  fi
  say "$name (ansible-test sanity --venv $*, log: ${log#"$RCG_ROOT"/})"
  rm -rf "$stage/tests/output/junit"
  ansible_test "$venv" sanity --venv --junit "$@" >"$log" 2>&1
  rc=$?
  local p f s
  read -r p f s < <(junit_counts "$stage"/tests/output/junit/ansible-test-sanity-*.xml)
  if [ "$rc" != 0 ] && [ "$f" = 0 ]; then f=1; fi  # crashed before writing a failure report
  record "$name" "$p" "$f" "$s" $((SECONDS - t0)) "rc=$rc"
  [ "$rc" = 0 ] || { echo "--- $name errors"; grep -E '^(ERROR|FATAL)' "$log" | head -60; }
}
# ansible-core 2.16 (the lowest supported): the sanity tests whose verdict depends on the core version
# (documentation and argument specs, runtime metadata, imports and syntax on every target Python);
# style checks (pep8, pylint, shellcheck, ...) are the newest core's business.
SANITY_216=(--test validate-modules --test ansible-doc --test action-plugin-docs --test runtime-metadata
  --test import --test compile --test yamllint --test ignores --python 3.11)

# --- ansible-test units -----------------------------------------------------------------------
run_units() {  # $1 suite name, $2 venv dir, $3 python version
  local name=$1 venv=$2 py=$3 t0=$SECONDS log=$out/$1.log rc
  if [ ! -x "$venv/bin/ansible-test" ]; then
    record "$name" 0 1 0 0 "missing $venv"; return
  fi
  if ! find "$stage/tests/unit" -name 'test_*.py' -print -quit 2>/dev/null | grep -q .; then
    record "$name" 0 0 0 0 "no unit tests"; return
  fi
  say "$name (ansible-test units --python $py, log: ${log#"$RCG_ROOT"/})"
  rm -rf "$stage/tests/output/junit"
  ansible_test "$venv" units --venv --python "$py" >"$log" 2>&1
  rc=$?
  local p f s
  read -r p f s < <(junit_counts "$stage"/tests/output/junit/*units*.xml)
  mkdir -p "$out/$name-junit" && cp "$stage"/tests/output/junit/*units*.xml "$out/$name-junit/" 2>/dev/null
  if [ "$rc" != 0 ] && [ "$f" = 0 ]; then f=1; fi
  record "$name" "$p" "$f" "$s" $((SECONDS - t0)) "rc=$rc"
  [ "$rc" = 0 ] || show_failure "$name" "$log"
}

# --- host tests: plain pytest on this machine (root, namespaces, runc, chromium) --------------
run_host() {
  local t0=$SECONDS log=$out/host.log xml=$out/host-junit.xml rc
  if ! find "$RCG_ROOT/tests/host" -name 'test_*.py' -print -quit 2>/dev/null | grep -q .; then
    record host 0 0 0 0 "no host tests"; return
  fi
  say "host (pytest tests/host, log: ${log#"$RCG_ROOT"/})"
  (cd "$RCG_ROOT" && PYTHONPATH=$RCG_CACHE/collections timeout 1800 \
    python -m pytest -q -p no:cacheprovider -o junit_family=xunit2 --junitxml="$xml" tests/host) >"$log" 2>&1
  rc=$?
  local p f s
  read -r p f s < <(junit_counts "$xml")
  if [ "$rc" != 0 ] && [ "$f" = 0 ]; then f=1; fi
  record host "$p" "$f" "$s" $((SECONDS - t0)) "rc=$rc"
  [ "$rc" = 0 ] || show_failure host "$log"
}

# --- claims: every claim of docs/testing.md backed by tests that passed in this very run --------
run_claims() {
  local t0=$SECONDS log=$out/claims.log xml=$out/claims-junit.xml rc
  say "claims (scripts/claims.py over this run's JUnit files, log: ${log#"$RCG_ROOT"/})"
  python3 "$RCG_ROOT/scripts/claims.py" "$out" --junit "$xml" >"$log" 2>&1
  rc=$?
  local p f s
  read -r p f s < <(junit_counts "$xml")
  if [ "$rc" != 0 ] && [ "$f" = 0 ]; then f=1; fi
  record claims "$p" "$f" "$s" $((SECONDS - t0)) "rc=$rc"
  [ "$rc" = 0 ] || { echo "--- claims not backed by this run (full log: ${log#"$RCG_ROOT"/})"; head -60 "$log"; }
}

# --- linters: one test each, run on the repository (they list files with git) ------------------
run_linter() {  # $1 suite name, rest: the command
  local name=$1 t0=$SECONDS log=$out/$1.log rc; shift
  say "$name ($*, log: ${log#"$RCG_ROOT"/})"
  (cd "$RCG_ROOT" && timeout 900 "$@") >"$log" 2>&1
  rc=$?
  if [ "$rc" = 0 ]; then
    record "$name" 1 0 0 $((SECONDS - t0)) "rc=0"
  else
    record "$name" 0 1 0 $((SECONDS - t0)) "rc=$rc"
    show_failure "$name" "$log"
  fi
}

# --- Molecule scenarios, as parallel processes -------------------------------------------------
run_one_scenario() {  # runs in a subshell; writes <name>.rc
  local s=$1 t0=$SECONDS rc
  # Own ephemeral dir and container names: a hand-run `molecule test -s $s` cannot collide.
  # Ansible's junit callback: one test case per host and task, for the claims check.
  MOLECULE_EPHEMERAL_DIRECTORY=$out/molecule-$s.d RCG_MOLECULE_RUN_ID=t$$ \
    ANSIBLE_CALLBACKS_ENABLED=ansible.builtin.junit JUNIT_OUTPUT_DIR=$out/molecule-$s-junit JUNIT_TASK_CLASS=true \
    JUNIT_TASK_RELATIVE_PATH=$RCG_ROOT JUNIT_HIDE_TASK_ARGUMENTS=true \
    timeout -k 30 1500 molecule test -s "$s" >"$out/molecule-$s.log" 2>&1
  rc=$?
  printf '%s %s\n' "$rc" $((SECONDS - t0)) >"$out/molecule-$s.rc"
}
run_molecule() {
  local t0=$SECONDS jobs=${RCG_MOLECULE_JOBS:-2} s scenarios=() p=0 f=0 skipped=0 rc secs folder missing
  local all=() d named=${RCG_SCENARIOS:-}
  for d in "$RCG_ROOT"/molecule/*/; do d=${d%/}; all+=("${d##*/}"); done
  for s in ${named:-${all[*]}}; do
    if [ "$s" = _shared ] || [ ! -f "$RCG_ROOT/molecule/$s/molecule.yml" ]; then
      # Listing the directory: not a scenario. Named in RCG_SCENARIOS: a typo must not pass.
      [ -n "$named" ] || continue
      f=$((f + 1)); printf '    %-28s FAILED  (no scenario molecule/%s/molecule.yml)\n' "$s" "$s"
      continue
    fi
    # `# requires-shared: runc-builds ...` in molecule.yml: real builds from shared/ (CI has them,
    # a user's clone does not): skipped with that reason when absent; failed under RCG_REQUIRE_SHARED=1.
    missing=""
    while read -r folder; do
      [ -z "$folder" ] || python3 "$RCG_ROOT/scripts/shared_builds.py" path "$folder" >/dev/null 2>&1 ||
        missing="$missing $folder"
    done < <(sed -n 's/^# requires-shared: *//p' "$RCG_ROOT/molecule/$s/molecule.yml" | tr ' ' '\n')
    if [ -n "$missing" ]; then
      if [ "${RCG_REQUIRE_SHARED:-}" = 1 ]; then
        f=$((f + 1))
        printf '    %-28s FAILED  (RCG_REQUIRE_SHARED=1: no shared/%s beside the repository)\n' "$s" "${missing# }"
      else
        skipped=$((skipped + 1))
        printf '    %-28s skipped (no shared/%s beside the repository)\n' "$s" "${missing# }"
      fi
      continue
    fi
    scenarios+=("$s")
  done
  if [ ${#scenarios[@]} = 0 ]; then record molecule 0 "$f" "$skipped" 0 "no scenarios run"; return; fi
  say "molecule: ${scenarios[*]} ($jobs at a time, logs: ${out#"$RCG_ROOT"/}/molecule-*.log)"
  for s in "${scenarios[@]}"; do
    while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do wait -n; done
    run_one_scenario "$s" &
  done
  wait
  for s in "${scenarios[@]}"; do
    read -r rc secs <"$out/molecule-$s.rc" 2>/dev/null || { rc=1; secs=0; }
    if [ "$rc" = 0 ]; then
      p=$((p + 1)); printf '    %-28s passed  %4ss\n' "$s" "$secs"
    else
      f=$((f + 1)); printf '    %-28s FAILED  %4ss (rc=%s)\n' "$s" "$secs" "$rc"
      echo "--- molecule $s failed (full log: ${out#"$RCG_ROOT"/}/molecule-$s.log)"
      sed 's/\x1b\[[0-9;]*m//g' "$out/molecule-$s.log" >"$out/molecule-$s.txt"
      grep -E 'fatal: |^\s*│? *\[ERROR\]|FAILED!|Timed out' "$out/molecule-$s.txt" | head -20
      tail -15 "$out/molecule-$s.txt"
    fi
  done
  record molecule "$p" "$f" "$skipped" $((SECONDS - t0)) "${#scenarios[@]} scenarios"
}

stage_collection
for suite in $suites; do
  case $suite in
    sanity) run_sanity sanity "$RCG_ROOT/.venv" ;;
    units) run_units units "$RCG_ROOT/.venv" "$("$RCG_ROOT/.venv/bin/python" -c 'import sys; print("%d.%d" % sys.version_info[:2])')" ;;
    units-2.19) run_units units-2.19 "$RCG_ROOT/.venv-2.19" 3.11 ;;
    units-2.16) run_units units-2.16 "$RCG_ROOT/.venv-2.16" 3.11 ;;
    sanity-2.16) run_sanity sanity-2.16 "$RCG_ROOT/.venv-2.16" "${SANITY_216[@]}" ;;
    host) run_host ;;
    docs) run_linter docs antsibull-docs lint-collection-docs --plugin-docs . ;;
    lint) run_linter lint ansible-lint --offline --profile production --nocolor ;;
    # Every shell script we ship or run: scripts/, .ci/run and the Molecule helpers.
    shellcheck) mapfile -t shell_files < <(cd "$RCG_ROOT" && { echo .ci/run; git ls-files '*.sh'; } | sort -u)
                run_linter shellcheck shellcheck -x "${shell_files[@]}" ;;
    molecule) run_molecule ;;
    claims) run_claims ;;
    *) echo "unknown suite: $suite"; record "$suite" 0 1 0 0 unknown ;;
  esac
done

echo
printf '%-12s %7s %7s %8s %8s  %s\n' suite passed failed skipped seconds note
tp=0 tf=0 ts=0
while IFS=$'\t' read -r name p f s secs note; do
  printf '%-12s %7s %7s %8s %8s  %s\n' "$name" "$p" "$f" "$s" "$secs" "$note"
  tp=$((tp + p)); tf=$((tf + f)); ts=$((ts + s))
done <"$results"
echo "setup: ${setup_seconds} s, total time: $((SECONDS - t_start)) s"
if [ "$tp" = 0 ] && [ "$tf" = 0 ]; then
  echo "no test ran"; tf=1
fi
echo "$tp passed, $tf failed, $ts skipped"
[ "$tf" = 0 ]
