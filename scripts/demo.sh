#!/usr/bin/env bash
# The main job on the embedded default, as a user would run it:
# a synthetic platform, its consent imported into the registry, one snapshot per preset.
set -euo pipefail
out=${1:-demo}
members=${2:-20000}
cutoff=${3:-2026-01-01T00:00:00Z}
tamis=.venv/bin/tamis
export TAMIS_PSEUDONYM_KEY_FILE=${TAMIS_PSEUDONYM_KEY_FILE:-$out/keys/pseudonym.key}
export TAMIS_SIGNING_KEY_FILE=${TAMIS_SIGNING_KEY_FILE:-$out/keys/signing.key}
export TAMIS_DB=${TAMIS_DB:-$out/registry.db}
export TAMIS_PROGRESS=1
mkdir -p "$out/keys"
chmod 700 "$out/keys"

echo "== 1. a synthetic platform: $members members (consent kept apart, for the registry)"
rm -rf "$out/export"
$tamis synth --members "$members" --seed 7 --out "$out/export" --no-consent-table

echo "== 2. members' consent events into the registry ($TAMIS_DB)"
$tamis consent import "$out/export/_consent/consent_events.jsonl"

for preset in minimal linkedin-2025; do
  echo "== 3. snapshot with the $preset policy, cutoff $cutoff"
  $tamis snapshot build --export "$out/export" --policy "$preset" --cutoff "$cutoff" \
    --consent registry --out "$out/snapshots/$preset" --force
  $tamis snapshot verify "$out/snapshots/$preset"
done

echo "== 4. compliance evidence (every figure with the query that reproduces it)"
mkdir -p "$out/reports"
for preset in minimal linkedin-2025; do
  $tamis report compliance --snapshot "$out/snapshots/$preset" --snapshots "$out/snapshots" \
    --db "$TAMIS_DB" --export "$out/export" --out "$out/reports/$preset.html"
done
for doc in ropa lia dpia; do
  $tamis report "$doc" --snapshot "$out/snapshots/linkedin-2025" --out "$out/reports/$doc.html"
done

echo
echo "Snapshots: $out/snapshots/minimal and $out/snapshots/linkedin-2025"
echo "Inspect one: .venv/bin/tamis snapshot show $out/snapshots/minimal"
echo "Compliance reports: $out/reports/minimal.html and $out/reports/linkedin-2025.html (Markdown beside them)"
echo "Record of processing, LIA, DPIA: $out/reports/{ropa,lia,dpia}.html"
