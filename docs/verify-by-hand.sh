#!/usr/bin/env bash
# Verify an unpacked evidence bundle with stock tools only (see docs/verify-by-hand.md).
#
#   docs/verify-by-hand.sh BUNDLE_DIR RPC_URL
#
# Tools: bash, coreutils (sha256sum, cut, tr, date), grep, sed, openssl (>= 1.1.1 for SM3),
# curl. No Python, no toolkit code. One line per step:
#   PASS <step>: ...   FAIL <step>: ...   NOT CHECKED <step>: ...
# Exit 0 all passed, 1 any step failed, 2 none failed but some could not be checked.
# Optional environment: SIGNER_ROOTS (PEM roots for the officers' signatures),
# TSA_ROOTS (PEM roots you trust instead of the bundle's own), REGISTRY (trusted
# contract address), TOLERANCE (seconds, default 7200), MIN_CONFIRMATIONS (default 1).
set -u
export LC_ALL=C

if [ $# -ne 2 ]; then
  echo "usage: $0 BUNDLE_DIR RPC_URL" >&2
  exit 64
fi
cd "$1" || { echo "FAIL bundle: cannot enter $1"; exit 1; }
RPC=$2
TOLERANCE=${TOLERANCE:-7200}
MIN_CONFIRMATIONS=${MIN_CONFIRMATIONS:-1}
# keccak256("Anchored(bytes32,address,uint256,string)"): the registry's event signature.
ANCHORED_TOPIC=0xf2ce3903a706d4d3799fc814d90e6026d0746194e22c1fda1cbfa2b8b6bf01f9

failed=0
unchecked=0
pass() { echo "PASS $1: $2"; }
fail() { echo "FAIL $1: $2"; failed=1; }
skip() { echo "NOT CHECKED $1: $2"; unchecked=1; }

# Value of a string or number field in one-line (canonical) JSON: field NAME FILE
field() { grep -o "\"$1\":\"\?[^\",}]*" "$2" | head -n 1 | sed "s/^\"$1\":\"\?//"; }
# printf escapes for hex bytes: ab01 -> \xab\x01
esc() { printf '%s' "$1" | sed 's/../\\x&/g'; }
h_leaf() { printf "\\x00$(esc "$1")" | sha256sum | cut -c1-64; }
h_node() { printf "\\x01$(esc "$1")$(esc "$2")" | sha256sum | cut -c1-64; }
# RFC 9162 root from leaf data: merkle_root LEAF_HEX INDEX SIZE PATH_HEX...; empty if malformed.
merkle_root() {
  local r fn sn p
  r=$(h_leaf "$1"); fn=$2; sn=$(($3 - 1)); shift 3
  for p in "$@"; do
    [ "$sn" -eq 0 ] && return
    if [ $((fn & 1)) -eq 1 ] || [ "$fn" -eq "$sn" ]; then
      r=$(h_node "$p" "$r")
      if [ $((fn & 1)) -eq 0 ]; then
        while [ $((fn & 1)) -eq 0 ] && [ "$fn" -ne 0 ]; do fn=$((fn >> 1)); sn=$((sn >> 1)); done
      fi
    else
      r=$(h_node "$r" "$p")
    fi
    fn=$((fn >> 1)); sn=$((sn >> 1))
  done
  [ "$sn" -eq 0 ] && echo "$r"
}
rpc() { # rpc METHOD PARAMS_JSON
  curl -s --max-time 10 -X POST -H 'Content-Type: application/json' "$RPC" \
    --data "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"$1\",\"params\":$2}"
}

# 1. Every file's SHA-256 against SHA256SUMS.
if [ ! -f SHA256SUMS ]; then
  fail sha256 "SHA256SUMS is missing"
elif out=$(sha256sum --quiet --strict -c SHA256SUMS 2>&1); then
  pass sha256 "every file listed in SHA256SUMS matches"
else
  fail sha256 "$(printf '%s' "$out" | grep -v '^sha256sum:' | head -n 3 | tr '\n' ' ')"
fi
# The signed index and what seals it are not in SHA256SUMS (the index lists SHA256SUMS): step 2b.
INDEX=signed/bundle-index.txt; INDEX_SIG=signed/bundle-index.p7s; INDEX_TSR=signed/bundle-index.tsr
extra=$(find . -type f ! -name SHA256SUMS ! -name SM3SUMS ! -path "./$INDEX" ! -path "./$INDEX_SIG" \
  ! -path "./$INDEX_TSR" | sed 's|^\./||' | sort \
  | while read -r f; do grep -q "^[0-9a-f]\{64\}  $f\$" SHA256SUMS 2>/dev/null || echo "$f"; done)
[ -n "$extra" ] && fail sha256 "files not listed in SHA256SUMS: $(echo $extra)"

# 2. Every file's SM3 (GB/T 32905) against SM3SUMS.
if [ ! -f SM3SUMS ]; then
  fail sm3 "SM3SUMS is missing"
else
  bad=""
  while read -r digest name; do
    got=$(openssl dgst -sm3 -r "$name" 2>/dev/null | cut -c1-64)
    [ "$got" = "$digest" ] || bad="$bad $name"
  done < SM3SUMS
  if [ -z "$bad" ]; then pass sm3 "every file listed in SM3SUMS matches"
  else fail sm3 "SM3 differs for:$bad"; fi
fi

# 2b. The exporting officer's signed index: every other file with its SHA-256, SM3 and size
# (manifest.json and the artifacts it seals are bound by it even if unlisted: step 3).
if [ ! -f "$INDEX" ]; then
  unbound=$(find . -type f ! -name manifest.json ! -path './artifacts/*' | sed 's|^\./||' | sort)
  if [ -n "$unbound" ]; then fail index "no $INDEX: nothing binds $(echo $unbound)"
  else pass index "only manifest.json and artifacts: nothing else to bind"; fi
  skip index-signature "no $INDEX"
  skip index-timestamp "no $INDEX"
else
  bad=""
  while read -r sha sm3 size name; do
    if [ ! -f "$name" ]; then bad="$bad $name(missing)"; continue; fi
    [ "$(sha256sum "$name" | cut -c1-64)" = "$sha" ] || bad="$bad $name(sha256)"
    [ "$(openssl dgst -sm3 -r "$name" | cut -c1-64)" = "$sm3" ] || bad="$bad $name(sm3)"
    [ "$(wc -c < "$name")" -eq "$size" ] || bad="$bad $name(size)"
  done <<< "$(sed -nE 's/^([0-9a-f]{64})  ([0-9a-f]{64})  ([0-9]+)  (.*)$/\1 \2 \3 \4/p' "$INDEX")"
  # Listed paths twice, present files once: a line seen exactly once is present but unlisted.
  unlisted=$({ sed -nE 's/^[0-9a-f]{64}  [0-9a-f]{64}  [0-9]+  (.*)$/\1/p' "$INDEX"
    sed -nE 's/^[0-9a-f]{64}  [0-9a-f]{64}  [0-9]+  (.*)$/\1/p' "$INDEX"
    find . -type f ! -path "./$INDEX" ! -path "./$INDEX_SIG" ! -path "./$INDEX_TSR" \
      ! -name manifest.json ! -path './artifacts/*' | cut -c3-; } | sort | uniq -u)
  [ -n "$unlisted" ] && bad="$bad $(echo $unlisted | sed 's/\([^ ]*\)/\1(unlisted)/g')"
  if [ -z "$bad" ]; then pass index "every file matches $INDEX"
  else fail index "$INDEX disagrees with:$bad"; fi
  if [ ! -f "$INDEX_SIG" ]; then
    fail index-signature "$INDEX_SIG is missing"
  elif [ -z "${SIGNER_ROOTS:-}" ]; then
    skip index-signature "set SIGNER_ROOTS to the PEM roots of the officers' certificates"
  elif openssl cms -verify -binary -inform DER -in "$INDEX_SIG" -content "$INDEX" \
      -CAfile "$SIGNER_ROOTS" -purpose any -out /dev/null 2>/dev/null; then
    pass index-signature "$INDEX_SIG verifies over $INDEX"
  else
    fail index-signature "$INDEX_SIG does not verify over $INDEX"
  fi
  if [ ! -f "$INDEX_TSR" ]; then
    skip index-timestamp "no time-stamp token for the index"
  elif [ -z "${TSA_ROOTS:-}" ]; then
    skip index-timestamp "set TSA_ROOTS to the PEM roots of the TSAs you trust"
  elif out=$(openssl ts -verify -data "$INDEX_SIG" -in "$INDEX_TSR" -CAfile "$TSA_ROOTS" 2>&1) \
      && printf '%s' "$out" | grep -q "Verification: OK"; then
    pass index-timestamp "openssl ts -verify over $INDEX_SIG: Verification: OK"
  else
    fail index-timestamp "openssl ts -verify over $INDEX_SIG: $(printf '%s' "$out" | tail -n 1)"
  fi
fi

# 3. The manifest's artifact entries (canonical JSON, sorted keys) against the files.
MANIFEST_SHA256=$(sha256sum manifest.json 2>/dev/null | cut -c1-64)
if [ -z "$MANIFEST_SHA256" ]; then
  fail manifest "manifest.json is missing"
else
  entries=$(grep -oE '\{"media_type":"[^"]*","path":"[^"]*","role":"[^"]*","sha256":"[0-9a-f]{64}","size":[0-9]+,"sm3":"[0-9a-f]{64}"\}' manifest.json)
  bad=""
  n=0
  while read -r entry; do
    [ -n "$entry" ] || continue
    n=$((n + 1))
    path=$(printf '%s' "$entry" | sed 's/.*"path":"\([^"]*\)".*/\1/')
    sha=$(printf '%s' "$entry" | sed 's/.*"sha256":"\([0-9a-f]*\)".*/\1/')
    sm3=$(printf '%s' "$entry" | sed 's/.*"sm3":"\([0-9a-f]*\)".*/\1/')
    case "$path" in artifacts/*) ;; *) bad="$bad $path(outside-artifacts)"; continue ;; esac
    [ -f "$path" ] || { bad="$bad $path(missing)"; continue; }
    [ "$(sha256sum "$path" | cut -c1-64)" = "$sha" ] || bad="$bad $path(sha256)"
    [ "$(openssl dgst -sm3 -r "$path" | cut -c1-64)" = "$sm3" ] || bad="$bad $path(sm3)"
  done <<< "$entries"
  for f in artifacts/*; do
    [ -f "$f" ] || continue
    printf '%s' "$entries" | grep -q "\"path\":\"$f\"" || bad="$bad $f(not-in-manifest)"
  done
  if [ "$n" -eq 0 ]; then fail manifest "manifest.json lists no artifacts (or is malformed)"
  elif [ -z "$bad" ]; then pass manifest "$n artifacts match manifest.json (SHA-256 $MANIFEST_SHA256)"
  else fail manifest "manifest.json disagrees with:$bad"; fi
fi

# 4. Manifest signatures (CMS, DER) over manifest.json.
sigs=$(ls signatures/*.p7s 2>/dev/null)
if [ -z "$sigs" ]; then
  skip signature "no signatures in bundle"
elif [ -z "${SIGNER_ROOTS:-}" ]; then
  skip signature "set SIGNER_ROOTS to the PEM roots of the officers' certificates"
else
  for s in $sigs; do
    if openssl cms -verify -binary -inform DER -in "$s" -content manifest.json \
      -CAfile "$SIGNER_ROOTS" -purpose any -out /dev/null 2>/dev/null; then
      pass signature "$s verifies over manifest.json"
    else
      fail signature "$s does not verify over manifest.json"
    fi
  done
fi

# 5. The RFC 3161 token over manifest.json.
GEN_EPOCH=""
if [ ! -f timestamp/token.tsr ]; then
  skip timestamp "no time-stamp token in bundle"
else
  roots=${TSA_ROOTS:-timestamp/tsa-root.pem}
  if out=$(openssl ts -verify -data manifest.json -in timestamp/token.tsr \
      -CAfile "$roots" -untrusted timestamp/tsa-cert.pem 2>&1) \
      && printf '%s' "$out" | grep -q "Verification: OK"; then
    gen=$(openssl ts -reply -in timestamp/token.tsr -text 2>/dev/null \
      | sed -n 's/^Time stamp: //p')
    GEN_EPOCH=$(date -u -d "$(printf '%s' "$gen" | sed 's/\.[0-9]*//')" +%s 2>/dev/null)
    pass timestamp "openssl ts -verify: Verification: OK (genTime $gen)"
  else
    fail timestamp "openssl ts -verify over manifest.json: $(printf '%s' "$out" | tail -n 2 | tr '\n' ' ')"
  fi
fi

# 6. Time order: capture start <= genTime.
if [ -n "$GEN_EPOCH" ]; then
  started=$(grep -o '"started_at":"[^"]*"' manifest.json | head -n 1 | cut -d'"' -f4)
  start_epoch=$(date -u -d "$(printf '%s' "$started" | sed 's/\.[0-9]*Z$/Z/')" +%s 2>/dev/null)
  if [ -z "$start_epoch" ]; then fail time-order "capture.started_at '$started' is not a time"
  elif [ "$start_epoch" -le "$GEN_EPOCH" ]; then pass time-order "capture start $started <= genTime"
  else fail time-order "capture start $started is after genTime"; fi
fi

# 7. Merkle path (RFC 9162) from the manifest digest to the anchored root.
A=anchor/anchor.json
ROOT_OK=""
if [ ! -f "$A" ]; then
  skip merkle "no anchor record in bundle"
  skip chain "no anchor record in bundle"
else
  leaf=$(field leaf "$A"); index=$(field leaf_index "$A"); size=$(field tree_size "$A")
  root=$(field root "$A" | sed 's/^0x//')
  path=$(grep -o '"path":\[[^]]*\]' "$A" | grep -oE '[0-9a-f]{64}')
  if [ "$leaf" != "$MANIFEST_SHA256" ]; then
    fail merkle "anchored leaf $leaf is not sha256(manifest.json) $MANIFEST_SHA256"
  elif ! [[ "$index" =~ ^[0-9]+$ && "$size" =~ ^[0-9]+$ ]] || [ "$index" -ge "$size" ]; then
    fail merkle "leaf_index '$index' / tree_size '$size' malformed"
  else
    # shellcheck disable=SC2086 # one argument per path hash
    r=$(merkle_root "$leaf" "$index" "$size" $path)
    if [ -n "$r" ] && [ "$r" = "$root" ]; then
      pass merkle "leaf $index of $size leads to root 0x$root"; ROOT_OK=1
    else
      fail merkle "the path leads to 0x$r, not the anchored root 0x$root"
    fi
  fi
fi

# 8. On chain: chain id, receipt status, target contract, event root, confirmations;
# 9. block time within TOLERANCE s after genTime.
if [ -f "$A" ] && [ -n "$ROOT_OK" ]; then
  tx=$(field transaction_hash "$A"); contract=$(field contract_address "$A" | tr 'A-F' 'a-f')
  chain_id=$(field chain_id "$A"); block=$(field block_number "$A")
  want_contract=$(printf '%s' "${REGISTRY:-$contract}" | tr 'A-F' 'a-f')
  got_chain=$(rpc eth_chainId '[]' | grep -o '"result":"0x[0-9a-f]*"' | cut -d'"' -f4)
  if [ -z "$got_chain" ]; then
    skip chain "the node at $RPC does not answer"
  elif [ $((got_chain)) -ne "$chain_id" ]; then
    fail chain "chain id $((got_chain)) differs from the recorded $chain_id"
  elif [ "$contract" != "$want_contract" ]; then
    fail chain "contract mismatch: anchored in $contract, not the trusted registry $want_contract"
  else
    receipt=$(rpc eth_getTransactionReceipt "[\"$tx\"]")
    to=$(printf '%s' "$receipt" | grep -o '"to":"0x[0-9a-fA-F]*"' | cut -d'"' -f4 | tr 'A-F' 'a-f')
    head=$(rpc eth_blockNumber '[]' | grep -o '"result":"0x[0-9a-f]*"' | cut -d'"' -f4)
    mined=$(printf '%s' "$receipt" | grep -o '"blockNumber":"0x[0-9a-f]*"' | head -n 1 | cut -d'"' -f4)
    if ! printf '%s' "$receipt" | grep -q '"status":"0x1"'; then
      fail chain "transaction $tx not found or failed on chain $chain_id"
    elif [ "$to" != "$contract" ]; then
      fail chain "transaction $tx was sent to $to, not $contract"
    elif ! printf '%s' "$receipt" | tr -d '\n' | grep -q "\"address\":\"$contract\",\"topics\":\[\"$ANCHORED_TOPIC\",\"0x$root\""; then
      fail chain "transaction $tx has no Anchored event for root 0x$root"
    elif [ $((mined)) -ne "$block" ]; then
      fail chain "recorded block $block, mined in $((mined))"
    elif [ $((head - mined + 1)) -lt "$MIN_CONFIRMATIONS" ]; then
      fail chain "$((head - mined + 1)) confirmations, $MIN_CONFIRMATIONS required"
    else
      pass chain "tx $tx in block $((mined)) on chain $chain_id carries root 0x$root; $((head - mined + 1)) confirmation(s)"
      if [ -n "$GEN_EPOCH" ]; then
        bt=$(rpc eth_getBlockByNumber "[\"$mined\",false]" | grep -o '"timestamp":"0x[0-9a-f]*"' | cut -d'"' -f4)
        skew=$(($((bt)) - GEN_EPOCH))
        if [ "$skew" -lt -300 ]; then fail block-time "block time is ${skew}s before genTime"
        elif [ "$skew" -gt "$TOLERANCE" ]; then fail block-time "block time is ${skew}s after genTime (> $TOLERANCE)"
        else pass block-time "block time is ${skew}s after genTime (tolerance $TOLERANCE)"; fi
      fi
    fi
  fi
fi

# 10. Custody-log extract: event_hash = sha256(canonical JSON without event_hash), linked by prev_hash.
C=custody/custody-log.jsonl
if [ ! -f "$C" ]; then
  skip custody "no custody-log extract in bundle"
else
  prev=""; prev_seq=""; n=0; bad=""
  while IFS= read -r line || [ -n "$line" ]; do
    n=$((n + 1))
    eh=$(printf '%s' "$line" | grep -oE '"event_hash":"[0-9a-f]{64}"' | cut -d'"' -f4)
    ph=$(printf '%s' "$line" | grep -oE '"prev_hash":"[0-9a-f]{64}"' | cut -d'"' -f4)
    seq=$(printf '%s' "$line" | grep -oE '"seq":[0-9]+' | cut -d: -f2)
    if [ -z "$eh" ] || [ -z "$ph" ] || [ -z "$seq" ]; then bad="line $n malformed"; break; fi
    if [ -n "$prev" ] && [ "$ph" != "$prev" ]; then bad="line $n: prev_hash does not link"; break; fi
    if [ -n "$prev_seq" ] && [ "$seq" -ne $((prev_seq + 1)) ]; then bad="line $n: seq gap"; break; fi
    if ! printf '%s' "$line" | grep -q '"redacted":true'; then
      body=$(printf '%s' "$line" | sed "s/\"event_hash\":\"$eh\",//")
      [ "$(printf '%s' "$body" | sha256sum | cut -c1-64)" = "$eh" ] \
        || { bad="line $n (seq $seq): event_hash does not match"; break; }
    fi
    prev=$eh; prev_seq=$seq
  done < "$C"
  if [ -n "$bad" ]; then fail custody "$bad"
  elif [ "$n" -eq 0 ]; then fail custody "the extract holds no events"
  else pass custody "$n events hash-chained"; CHAIN_OK=1; fi
fi

# 11. The custody head anchored with the item (anchor.json "custody") is the last leaf of
# the same tree, and the extract's event at that seq has that event_hash.
if [ ! -f "$A" ] || ! grep -q '"custody":{' "$A"; then
  skip custody-anchor "the anchor record carries no custody head"
elif [ -z "$ROOT_OK" ]; then
  skip custody-anchor "the anchored root is not established (merkle)"
elif [ ! -f "$C" ] || [ -z "${CHAIN_OK:-}" ]; then
  skip custody-anchor "no custody-log extract whose chain holds (custody)"
else
  head=$(field event_hash "$A"); hseq=$(field seq "$A"); hindex=$(field merkle_index "$A")
  hpath=$(grep -o '"merkle_path":\[[^]]*\]' "$A" | grep -oE '[0-9a-f]{64}')
  # shellcheck disable=SC2086
  r=$(merkle_root "$head" "$hindex" "$size" $hpath)
  line=$(grep -E "\"seq\":$hseq}\$" "$C" | head -n 1)
  got=$(printf '%s' "$line" | grep -oE '"event_hash":"[0-9a-f]{64}"' | cut -d'"' -f4)
  # The item's seal (hash_after) and timestamp (hash_before) events name the manifest digest.
  seal=$(grep '"action":"seal"' "$C" | grep "\"hash_after\":\"$MANIFEST_SHA256\"" \
    | grep -oE '"seq":[0-9]+}$' | grep -oE '[0-9]+' | head -n 1)
  late=$(grep -E '"action":"(seal|timestamp)"' "$C" | grep "\"$MANIFEST_SHA256\"" \
    | grep -oE '"seq":[0-9]+}$' | grep -oE '[0-9]+' | while read -r s; do
      [ "$s" -gt "$hseq" ] && echo "$s"; done)
  # A redacted line's prev_hash is not covered by its hash: what comes before it is unbound.
  first=$(head -n 1 "$C" | grep -oE '"seq":[0-9]+}$' | grep -oE '[0-9]+')
  hidden=$(grep '"redacted":true' "$C" | grep -oE '"seq":[0-9]+}$' | grep -oE '[0-9]+' \
    | while read -r s; do [ "$s" -gt "$first" ] && [ "$s" -le "$hseq" ] && echo "$s"; done)
  if [ "$hindex" != $((size - 1)) ] || [ "$r" != "$root" ]; then
    fail custody-anchor "the custody head's path leads to 0x$r, not the anchored root 0x$root"
  elif [ "$got" != "$head" ]; then
    fail custody-anchor "event seq $hseq has event_hash '$got', not the anchored head $head"
  elif [ -z "$seal" ] || [ -n "$late" ]; then
    fail custody-anchor "no seal event of this manifest, or seal/timestamp after seq $hseq"
  elif [ -n "$hidden" ]; then
    skip custody-anchor "events before redacted seq $(echo $hidden) are not bound to the head"
  else
    pass custody-anchor "event seq $hseq is the anchored custody head (leaf $hindex of $size)"
  fi
fi

if [ "$failed" -ne 0 ]; then echo "RESULT: FAIL"; exit 1; fi
if [ "$unchecked" -ne 0 ]; then echo "RESULT: NOT ALL CHECKED"; exit 2; fi
echo "RESULT: PASS"
exit 0
