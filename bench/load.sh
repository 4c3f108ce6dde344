#!/usr/bin/env bash
# Requests per second, p50 and p99 of the portal's busiest pages under gunicorn, against a bare
# Flask app (bench/hello.py) served by the same gunicorn command in the same run, so the ratio
# says what the portal itself costs on this machine whatever else it is doing.
#
#   bench/load.sh [--strict]                      # or: make load
#   DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/bigclinic bench/load.sh
#   DATABASE_URL=sqlite:////tmp/demo.db PATIENT_EMAIL=patient@example.com DOCTOR_EMAIL=doctor@example.com \
#       bench/load.sh                             # a database made by `flask seed-demo`
#
# The portal on port 18201 and hello on 18202: sync workers, WORKERS of them each, no access log,
# RATELIMIT_ENABLED=0 (every request comes from one address). The patient and the doctor log in
# through the real forms (bench/login.py). Each page is measured with wrk right after a run of
# hello, so each ratio compares two runs made moments apart. Targets: each page at least 30% of
# hello's requests per second and p99 under 100 ms. A page answering 404 is skipped with a note;
# any other answer than 200 (a redirect to the login page, an error) fails the run (exit 1).
# A missed target fails it only with --strict.
#
# Settings (environment): DATABASE_URL (default: instance/bigclinic.db, the big clinic
# bench/make_clinic.py writes), PATIENT_EMAIL, PATIENT_PASSWORD, DOCTOR_EMAIL, DOCTOR_PASSWORD,
# DOCTOR_TOTP_SECRET (default: the big clinic's patient1 and doctor1, with the demo's password and
# authenticator secret), DURATION (wrk's -d, 10s), CONNECTIONS (8), THREADS (wrk's threads, 2),
# WORKERS (gunicorn's, 2).
set -euo pipefail

cd "$(dirname "$0")/.."
strict=0
for argument in "$@"; do
    case $argument in
        --strict) strict=1 ;;
        *) echo "usage: bench/load.sh [--strict]" >&2; exit 2 ;;
    esac
done

BIN=${VENV:-.venv}/bin
export DATABASE_URL=${DATABASE_URL:-sqlite:///$PWD/instance/bigclinic.db}
PATIENT_EMAIL=${PATIENT_EMAIL:-patient1@bigclinic.example}
PATIENT_PASSWORD=${PATIENT_PASSWORD:-demo-password-1}
DOCTOR_EMAIL=${DOCTOR_EMAIL:-doctor1@bigclinic.example}
DOCTOR_PASSWORD=${DOCTOR_PASSWORD:-demo-password-1}
DOCTOR_TOTP_SECRET=${DOCTOR_TOTP_SECRET:-DEMOSTAFFSECRETPUBLISHEDFORTESTS}
DURATION=${DURATION:-10s}
CONNECTIONS=${CONNECTIONS:-8}
THREADS=${THREADS:-2}
WORKERS=${WORKERS:-2}
PORTAL=http://127.0.0.1:18201
HELLO=http://127.0.0.1:18202

if [[ $DATABASE_URL == sqlite:///* && ! -f ${DATABASE_URL#sqlite:///} ]]; then
    echo "no database at ${DATABASE_URL#sqlite:///}: run bench/make_clinic.py first, or set DATABASE_URL" >&2
    exit 2
fi
export SECRET_KEY=${SECRET_KEY:-$("$BIN/python" -c 'import secrets; print(secrets.token_urlsafe(48))')}
export RATELIMIT_ENABLED=0

for url in "$PORTAL" "$HELLO"; do  # else wait_for below would find that server, not ours
    if curl -so /dev/null "$url/"; then
        echo "something already answers at $url: stop it first" >&2
        exit 2
    fi
done

work=$(mktemp -d)
servers=()
stop_servers() {
    if ((${#servers[@]})); then
        kill "${servers[@]}" 2>/dev/null || true
        wait "${servers[@]}" 2>/dev/null || true
    fi
    rm -rf "$work"
}
trap stop_servers EXIT

serve() {  # serve PORT APP NAME: the one gunicorn command both apps share
    "$BIN/gunicorn" --workers "$WORKERS" --worker-class sync --bind "127.0.0.1:$1" "$2" >"$work/$3.log" 2>&1 &
    servers+=($!)
}

wait_for() {  # wait_for URL NAME: until it answers 200, at most 30 s
    for _ in $(seq 60); do
        curl -fso /dev/null "$1" && return
        sleep 0.5
    done
    echo "$2 did not answer at $1; its log:" >&2
    tail -20 "$work/$2.log" >&2
    exit 1
}

serve 18201 wsgi:app portal
serve 18202 bench.hello:app hello
wait_for "$PORTAL/healthz" portal
wait_for "$HELLO/" hello

patient=$("$BIN/python" -m bench.login "$PORTAL" "$PATIENT_EMAIL" "$PATIENT_PASSWORD")
doctor=$("$BIN/python" -m bench.login "$PORTAL" "$DOCTOR_EMAIL" "$DOCTOR_PASSWORD" \
    --totp-secret "$DOCTOR_TOTP_SECRET")

# name|path|session cookie
pages=(
    "slot page|/book/|$patient"
    "slot JSON|/book/slots.json|$patient"
    "my appointments|/appointments/|$patient"
    "doctors' queue|/queue/|$doctor"
)

run_wrk() {  # run_wrk DURATION URL [COOKIE]: the wrk-summary JSON of one run
    local header=()
    if [[ -n ${3:-} ]]; then header=(-H "Cookie: portal_session=$3"); fi
    wrk --threads "$THREADS" --connections "$CONNECTIONS" --duration "$1" --latency \
        --script bench/wrk_summary.lua "${header[@]}" "$2" | sed -n 's/^wrk-summary //p'
}

results=$work/results.jsonl
load_at_start=$(cut -d' ' -f1 /proc/loadavg)  # a shared machine: the figures mean little under load
echo "portal at $PORTAL and bare Flask at $HELLO: $WORKERS sync workers each;" \
    "wrk $THREADS threads, $CONNECTIONS connections, $DURATION a run" >&2
for page in "${pages[@]}"; do
    IFS='|' read -r name path cookie <<<"$page"
    status=$(curl -so /dev/null -w '%{http_code} %{redirect_url}' -H "Cookie: portal_session=$cookie" "$PORTAL$path")
    if [[ $status != 200* ]]; then  # a row of its own in the table: skipped (404) or failed
        printf '{"page": "%s", "path": "%s", "answered": "%s"}\n' "$name" "$path" "${status% }" >>"$results"
        continue
    fi
    echo "$name ($path): warming up, then hello and the page for $DURATION each" >&2
    run_wrk 2s "$HELLO/" >/dev/null
    run_wrk 2s "$PORTAL$path" "$cookie" >/dev/null
    hello=$(run_wrk "$DURATION" "$HELLO/")
    measured=$(run_wrk "$DURATION" "$PORTAL$path" "$cookie")
    printf '{"page": "%s", "path": "%s", "hello": %s, "measured": %s}\n' "$name" "$path" "$hello" "$measured" \
        >>"$results"
done

report=0
"$BIN/python" - "$results" "$strict" "$load_at_start" <<'EOF' || report=$?
"""The table: each page against the hello run just before it; exit 1 on a non-200 answer, or
with --strict on a missed target."""
import json
import os
import sys

from sqlalchemy.engine import make_url

MIN_RATIO, MAX_P99_MS = 0.30, 100.0
rows = [json.loads(line) for line in open(sys.argv[1])]
strict = sys.argv[2] == "1"
print("database:", make_url(os.environ["DATABASE_URL"]).render_as_string(hide_password=True))
print(f"{'page':<16} {'path':<18} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'hello req/s':>12} {'ratio':>6}  "
      f"target (>= {MIN_RATIO:.0%} of hello, p99 < {MAX_P99_MS:.0f} ms)")
wrong_answers = missed = False
for row in rows:
    if "answered" in row:  # not measured
        skipped = row["answered"] == "404"
        wrong_answers = wrong_answers or not skipped
        print(f"{row['page']:<16} {row['path']:<18} {'-':>8} {'-':>8} {'-':>8} {'-':>12} {'-':>6}  "
              + ("skipped: 404, not there yet" if skipped else f"FAIL: answered {row['answered']}, not 200"))
        continue
    page, hello = row["measured"], row["hello"]
    ratio = page["requests_per_second"] / hello["requests_per_second"]
    others = {status: count for status, count in page["statuses"].items() if status != "200"}
    if others:
        wrong_answers = True
        verdict = f"FAIL: answers other than 200: {others}"
    elif ratio >= MIN_RATIO and page["p99_ms"] < MAX_P99_MS and not page["socket_errors"]:
        verdict = "PASS"
    else:
        missed = True
        verdict = f"FAIL ({page['socket_errors']} socket errors)" if page["socket_errors"] else "FAIL"
    print(f"{row['page']:<16} {row['path']:<18} {page['requests_per_second']:>8.1f} {page['p50_ms']:>8.1f} "
          f"{page['p99_ms']:>8.1f} {hello['requests_per_second']:>12.1f} {ratio:>6.1%}  {verdict}")
hellos = [row["hello"] for row in rows if "hello" in row]
if hellos:
    print(f"(hello: p50 {min(hello['p50_ms'] for hello in hellos):.1f}-{max(hello['p50_ms'] for hello in hellos):.1f} "
          f"ms, p99 up to {max(hello['p99_ms'] for hello in hellos):.1f} ms; the machine's load average "
          f"{sys.argv[3]} at the start, {os.getloadavg()[0]:.2f} at the end)")
sys.exit(1 if wrong_answers or (strict and missed) else 0)
EOF
exit "$report"
