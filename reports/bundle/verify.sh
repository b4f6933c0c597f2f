#!/bin/sh
# Every check of `evidence verify`, with stock tools, in POSIX sh (dash or bash alike).
#
#   sh verify.sh BUNDLE_DIR
#
# Tools: coreutils (sha256sum, cut, tr, wc, od-free), grep, sed, awk, find, sort, uniq,
# GNU date, openssl (>= 1.1.1, for SM3 and cms/ts), curl (the chain), ffmpeg and
# ffprobe (the session video). No Python, no toolkit code. Nothing is written into
# the bundle: scratch files go to a fresh `mktemp -d` folder, removed at the end.
#
# Your trust decisions, from your own sources, never from the bundle (all optional;
# without them a consistent finding is UNTRUSTED or NOT CHECKED, never OK):
#   TSA_ROOTS=FILE.pem      TSA roots you trust         SIGNER_ROOTS=FILE.pem  officers' CA
#   RPC_URL=URL             an EVM node you trust       REGISTRY=0x...         the registry
#   CHAIN_ID=N              the chain you trust         SUBMITTERS="0x.. 0x.." anchoring accounts
#   MIN_CONFIRMATIONS=1     TOLERANCE=7200 (seconds from genTime to the block time)
#
# One line per finding: "<check id>: OK|FAIL|UNTRUSTED|NOT CHECKED <detail>", the check
# ids of `evidence verify --json`. Lines starting with spaces are the workings.
# Exit 0 all OK, 1 any FAIL, 2 none failed but some were UNTRUSTED or NOT CHECKED.
set -u
LC_ALL=C
export LC_ALL
cd "${1:-.}" || { echo "bundle.read: FAIL cannot enter ${1:-.}"; exit 1; }
T=$(mktemp -d) || exit 70
trap 'rm -rf "$T"' 0
trap 'exit 130' INT TERM
MIN_CONFIRMATIONS=${MIN_CONFIRMATIONS:-1}
TOLERANCE=${TOLERANCE:-7200}
SKEW=300 # block producers' clocks may run a few minutes ahead of the TSA's
# keccak256 of "Anchored(bytes32,address,uint256,string)", and the registry's getters.
ANCHORED_TOPIC=0xf2ce3903a706d4d3799fc814d90e6026d0746194e22c1fda1cbfa2b8b6bf01f9
SEL_ANCHORED_AT=0x9591a610 SEL_ANCHORED_BLOCK=0x65cbe879 SEL_SUBMITTER_OF=0x16b0fb9f
M=manifest.json A=anchor/anchor.json C=custody/custody-log.jsonl
INDEX=signed/bundle-index.txt INDEX_SIG=signed/bundle-index.p7s INDEX_TSR=signed/bundle-index.tsr
TOKEN=timestamp/token.tsr TSA_ROOT=timestamp/tsa-root.pem TSA_CERT=timestamp/tsa-cert.pem
FAILED=0 OPEN=0
ok() { echo "$1: OK $2"; }
fail() { echo "$1: FAIL $2"; FAILED=1; }
untrusted() { echo "$1: UNTRUSTED $2"; OPEN=1; }
skip() { echo "$1: NOT CHECKED $2"; OPEN=1; }
note() { echo "    $*"; }
isnum() { case $1 in '' | *[!0-9]*) return 1 ;; esac; }
ishex64() { case $1 in *[!0-9a-f]*) return 1 ;; esac; [ ${#1} -eq 64 ]; }
lower() { printf '%s' "$1" | tr 'A-F' 'a-f'; }
sha() { sha256sum "$1" | cut -c1-64; }
sm3() { openssl dgst -sm3 -r "$1" | cut -c1-64; }
size() { wc -c <"$1" | tr -d ' '; }
# jget KEY FILE: the first string or number value of KEY in one-line JSON.
jget() {
  grep -oE "[{,]\"$1\":(\"[^\"]*\"|[^,}\"]*)" "$2" | head -n 1 | sed "s/^.\"$1\"://; s/\"//g"
}
# hexnum 0xHEX: its decimal value; empty unless it is hex (never arithmetic on other text).
hexnum() { case $1 in 0x | 0x*[!0-9a-fA-F]*) ;; 0x*) echo $(($1)) ;; esac; }
# when TEXT: epoch seconds with nanoseconds (GNU date), empty if TEXT is not a time.
when() { date -u -d "$1" +%s.%N 2>/dev/null; }
# The bytes of a hex string as printf octal escapes: dash's printf knows no \x.
oct() {
  printf '%s\n' "$1" | awk '{ h = "0123456789abcdef"
    for (i = 1; i < length($0); i += 2)
      printf "\\%03o", 16 * (index(h, substr($0, i, 1)) - 1) + index(h, substr($0, i + 1, 1)) - 1 }'
}
h_leaf() { printf "$(oct "00$1")" | sha256sum | cut -c1-64; }
h_node() { printf "$(oct "01$1$2")" | sha256sum | cut -c1-64; }
# merkle_root LEAF_DATA_HEX INDEX SIZE PATH_HEX...: the RFC 9162 root, each step shown;
# empty when the path does not fit the index and size.
merkle_root() {
  mr=$(h_leaf "$1") mfn=$2 msn=$(($3 - 1)) mstep=0
  note "leaf hash = SHA-256(00 || $1) = $mr" >&2
  shift 3
  for mp in "$@"; do
    [ "$msn" -eq 0 ] && return
    mstep=$((mstep + 1))
    if [ $((mfn % 2)) -eq 1 ] || [ "$mfn" -eq "$msn" ]; then
      mr=$(h_node "$mp" "$mr")
      note "step $mstep: sibling on the left:  SHA-256(01 || $mp || previous) = $mr" >&2
      if [ $((mfn % 2)) -eq 0 ]; then
        while [ $((mfn % 2)) -eq 0 ] && [ "$mfn" -ne 0 ]; do mfn=$((mfn / 2)) msn=$((msn / 2)); done
      fi
    else
      mr=$(h_node "$mr" "$mp")
      note "step $mstep: sibling on the right: SHA-256(01 || previous || $mp) = $mr" >&2
    fi
    mfn=$((mfn / 2)) msn=$((msn / 2))
  done
  [ "$msn" -eq 0 ] && echo "$mr"
}
# seq_of LINE: a custody event's seq (a key of the line itself, not of its details text).
seq_of() { printf '%s' "$1" | grep -oE '[{,]"seq":[0-9]+[,}]' | head -n 1 | tr -cd '0-9'; }
rpc() {
  curl -s --max-time 10 -X POST -H 'Content-Type: application/json' "$RPC_URL" \
    --data "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"$1\",\"params\":$2}"
}
# rget KEY: the first "KEY":"0x..." value in the JSON on stdin.
rget() { grep -oE "[{,]\"$1\":\"0x[0-9a-fA-F]*\"" | head -n 1 | cut -d'"' -f4; }
# cert_of P7S: the signer certificate's SHA-256 fingerprint and issuer, for comparison
# with the agency's published list and with signers.txt, which must show the same values.
cert_of() {
  openssl cms -verify -noverify -binary -inform DER -in "$1" -content "$2" -out /dev/null \
    -signer "$T/signer.pem" 2>/dev/null || return 0
  openssl x509 -in "$T/signer.pem" -noout -subject -issuer -fingerprint -sha256 -nameopt oneline,-esc_msb \
    | sed 's/^/    /'
}

# --- bundle.read: every file can be read to its end -------------------------------
find . -type f | cut -c3- | LC_ALL=C sort >"$T/files"
n=0
while IFS= read -r f; do
  if cat "$f" >/dev/null 2>&1; then n=$((n + 1)); else fail bundle.read "$f: unreadable"; fi
done <"$T/files"
[ "$n" -gt 0 ] && ok bundle.read "$n files read to the end"
[ -s "$T/files" ] || fail bundle.read "the bundle holds no files"

# --- manifest.format: manifest.json and its artifact entries ------------------------
MANIFEST_SHA256="" ITEM_ID=""
grep -oE '\{[^{}]*"path":"artifacts/[^"]*"[^{}]*\}' "$M" >"$T/entries" 2>/dev/null
if [ ! -f "$M" ]; then
  fail manifest "$M: missing from the bundle"
elif [ ! -s "$T/entries" ] || [ "$(wc -l <"$M")" -ne 0 ]; then
  fail manifest.format "$M is not one line of canonical JSON listing artifacts"
else
  MANIFEST_SHA256=$(sha "$M") ITEM_ID=$(jget item_id "$M")
  ok manifest.format "$M: SHA-256 $MANIFEST_SHA256, item $ITEM_ID"
fi

# --- checksums.sha256 / checksums.sm3: the plain listings ---------------------------
listing() { # listing CHECK FILE TOOL
  if [ ! -f "$2" ]; then fail "$1" "$2: missing from the bundle"; return; fi
  if grep -vqE '^[0-9a-f]{64}  .+$' "$2"; then fail "$1" "$2: a line is not '<hex>  <path>'"; return; fi
  l_bad=0
  cut -c67- "$2" >"$T/listed"
  while IFS= read -r l_line; do
    l_want=$(printf '%s' "$l_line" | cut -c1-64) l_f=$(printf '%s' "$l_line" | cut -c67-)
    if [ ! -f "$l_f" ]; then fail "$1" "$l_f: listed in $2 but missing"; l_bad=1
    elif [ "$($3 "$l_f")" != "$l_want" ]; then fail "$1" "$l_f: differs from $2"; l_bad=1; fi
  done <"$2"
  # Present but unlisted; the listings themselves and the signed index are exempt.
  grep -vxE "SHA256SUMS|SM3SUMS|$INDEX|$INDEX_SIG|$INDEX_TSR" "$T/files" >"$T/present"
  while IFS= read -r l_f; do
    grep -qxF "$l_f" "$T/listed" || { fail "$1" "$l_f: in the bundle but not in $2"; l_bad=1; }
  done <"$T/present"
  [ "$l_bad" -eq 0 ] && ok "$1" "$(wc -l <"$2" | tr -d ' ') files match $2"
}
listing checksums.sha256 SHA256SUMS sha
listing checksums.sm3 SM3SUMS sm3

# --- artifact.*: every artifact the manifest seals, with its size, SHA-256 and SM3 --
if [ -n "$MANIFEST_SHA256" ]; then
  : >"$T/sealed"
  while IFS= read -r e; do
    p=$(printf '%s' "$e" | sed 's/.*"path":"\([^"]*\)".*/\1/')
    echo "$p" >>"$T/sealed"
    w_sha=$(printf '%s' "$e" | sed -n 's/.*"sha256":"\([0-9a-f]*\)".*/\1/p')
    w_sm3=$(printf '%s' "$e" | sed -n 's/.*"sm3":"\([0-9a-f]*\)".*/\1/p')
    w_size=$(printf '%s' "$e" | sed -n 's/.*"size":\([0-9]*\)[,}].*/\1/p')
    if [ ! -f "$p" ]; then fail artifact.present "$p: listed in $M but missing"; continue; fi
    why=""
    [ "$(size "$p")" = "$w_size" ] || why="$why size"
    [ "$(sha "$p")" = "$w_sha" ] || why="$why SHA-256"
    [ "$(sm3 "$p")" = "$w_sm3" ] || why="$why SM3"
    if [ -n "$why" ]; then fail artifact.digest "$p:$why differ from $M"
    else ok artifact.digest "$p: $w_size bytes, SHA-256 and SM3 match $M"; fi
  done <"$T/entries"
  grep '^artifacts/' "$T/files" | while IFS= read -r f; do
    grep -qxF "$f" "$T/sealed" || echo "artifact.extra: FAIL $f: under artifacts/, not in $M"
  done >"$T/extra"
  [ -s "$T/extra" ] && { cat "$T/extra"; FAILED=1; }
else
  : >"$T/sealed"
  skip artifact.digest "needs $M"
fi

# --- index.member: every file is the manifest, a sealed artifact, or in the signed index --
echo "$M" >>"$T/sealed"
bad=0 n=0
INDEX_HEADER='# evidence-toolkit/bundle-index/v1: SHA-256  SM3  size  path'
[ -f "$INDEX" ] && sed 1d "$INDEX" >"$T/index"
if [ -f "$INDEX" ] && [ "$(head -n 1 "$INDEX")" != "$INDEX_HEADER" ]; then
  fail index.member "$INDEX: line 1 is not the header '$INDEX_HEADER'"
elif [ -f "$INDEX" ] && grep -vqE '^[0-9a-f]{64}  [0-9a-f]{64}  [0-9]+  .+$' "$T/index"; then
  fail index.member "$INDEX: a line is not '<sha256>  <sm3>  <size>  <path>'"
else
  : >"$T/indexed"
  [ -f "$INDEX" ] && while IFS= read -r line; do
    i_sha=$(printf '%s' "$line" | cut -d' ' -f1) i_sm3=$(printf '%s' "$line" | cut -d' ' -f3)
    i_size=$(printf '%s' "$line" | cut -d' ' -f5) i_f=$(printf '%s' "$line" | cut -d' ' -f7-)
    echo "$i_f" >>"$T/indexed"
    if [ ! -f "$i_f" ]; then echo "index.member: FAIL $i_f: listed in $INDEX but missing"; continue; fi
    why=""
    [ "$(size "$i_f")" = "$i_size" ] || why="$why size"
    [ "$(sha "$i_f")" = "$i_sha" ] || why="$why SHA-256"
    [ "$(sm3 "$i_f")" = "$i_sm3" ] || why="$why SM3"
    if [ -n "$why" ]; then echo "index.member: FAIL $i_f: changed since $INDEX was signed:$why"
    else echo "  ok"; fi
  done <"$T/index" >"$T/members"
  grep -vxE "$INDEX|$INDEX_SIG|$INDEX_TSR" "$T/files" | while IFS= read -r f; do
    grep -qxF "$f" "$T/indexed" || grep -qxF "$f" "$T/sealed" \
      || echo "index.member: FAIL $f: unbound file, neither sealed in $M nor listed in $INDEX"
  done >>"$T/members"
  if grep -q FAIL "$T/members"; then grep FAIL "$T/members"; FAILED=1
  else ok index.member "every file is bound: $(grep -c '^  ok' "$T/members") match $INDEX, the rest are sealed by $M"; fi
fi

# --- index.signature / index.timestamp: who wrote the index, and when -----------------
if [ ! -f "$INDEX" ]; then
  for x in "index.signature $INDEX_SIG" "index.timestamp $INDEX_TSR"; do
    set -- $x
    if [ -f "$2" ]; then fail "$1" "$2: present without $INDEX"
    else skip "$1" "no signed index ($INDEX)"; fi
  done
else
  if [ ! -f "$INDEX_SIG" ]; then
    fail index.signature "$INDEX_SIG: missing, nothing shows who wrote $INDEX"
  elif ! openssl cms -verify -noverify -binary -inform DER -in "$INDEX_SIG" -content "$INDEX" \
    -out /dev/null 2>/dev/null; then
    fail index.signature "$INDEX_SIG: not a valid signature over $INDEX"
  elif [ -n "${SIGNER_ROOTS:-}" ] && openssl cms -verify -binary -inform DER -in "$INDEX_SIG" \
    -content "$INDEX" -CAfile "$SIGNER_ROOTS" -purpose any -out /dev/null 2>/dev/null; then
    ok index.signature "$INDEX_SIG: valid over $INDEX, chains to SIGNER_ROOTS"
    cert_of "$INDEX_SIG" "$INDEX"
  else
    untrusted index.signature "$INDEX_SIG: intact over $INDEX, but its signer does not chain to SIGNER_ROOTS (unset or other)"
    cert_of "$INDEX_SIG" "$INDEX"
  fi
  if [ ! -f "$INDEX_TSR" ]; then
    skip index.timestamp "no token for the index (no TSA answered at export)"
  elif [ ! -f "$INDEX_SIG" ]; then
    fail index.timestamp "$INDEX_TSR is over $INDEX_SIG, which is missing"
  elif [ -n "${TSA_ROOTS:-}" ] && openssl ts -verify -data "$INDEX_SIG" -in "$INDEX_TSR" \
    -CAfile "$TSA_ROOTS" 2>/dev/null | grep -q '^Verification: OK'; then
    ok index.timestamp "$INDEX_TSR over $INDEX_SIG: Verification: OK against TSA_ROOTS"
  elif [ ! -f "$TSA_ROOT" ]; then
    fail index.timestamp "$INDEX_TSR: no TSA root you trust verifies it and the bundle ships none"
  elif openssl ts -verify -data "$INDEX_SIG" -in "$INDEX_TSR" -CAfile "$TSA_ROOT" 2>/dev/null \
    | grep -q '^Verification: OK'; then
    untrusted index.timestamp "$INDEX_TSR: consistent, but only with the bundle's own $TSA_ROOT"
  else
    fail index.timestamp "$INDEX_TSR: openssl ts -verify over $INDEX_SIG fails"
  fi
fi

# --- manifest.signature: the officers' CMS signatures over manifest.json ------------
if [ -z "$MANIFEST_SHA256" ]; then
  skip manifest.signature "needs $M"
elif ! ls signatures/*.p7s >/dev/null 2>&1; then
  skip manifest.signature "no signatures in bundle"
else
  for s in signatures/*.p7s; do
    if ! openssl cms -verify -noverify -binary -inform DER -in "$s" -content "$M" \
      -out /dev/null 2>/dev/null; then
      fail manifest.signature "$s: not a valid signature over $M"
    elif [ -n "${SIGNER_ROOTS:-}" ] && openssl cms -verify -binary -inform DER -in "$s" \
      -content "$M" -CAfile "$SIGNER_ROOTS" -purpose any -out /dev/null 2>/dev/null; then
      ok manifest.signature "$s: valid over $M, chains to SIGNER_ROOTS"
      cert_of "$s" "$M"
    else
      untrusted manifest.signature "$s: intact over $M, but its signer does not chain to SIGNER_ROOTS (unset or other)"
      cert_of "$s" "$M"
    fi
  done
fi

# --- timestamp.token: RFC 3161 over manifest.json, against the roots YOU trust -------
GEN=""
untrusted_arg=""
[ -f "$TSA_CERT" ] && untrusted_arg="-untrusted $TSA_CERT"
ts_ok() { # ts_ok ROOTS: openssl ts -verify of the token over manifest.json
  openssl ts -verify -data "$M" -in "$TOKEN" -CAfile "$1" $untrusted_arg 2>/dev/null \
    | grep -q '^Verification: OK'
}
if [ -z "$MANIFEST_SHA256" ]; then
  skip timestamp.token "needs $M"
elif [ ! -f "$TOKEN" ]; then
  skip timestamp.token "the bundle has no time-stamp token"
else
  gen=$(openssl ts -reply -in "$TOKEN" -text 2>/dev/null | sed -n 's/^Time stamp: //p')
  if [ -n "${TSA_ROOTS:-}" ] && ts_ok "$TSA_ROOTS"; then
    GEN=$(when "$gen")
    ok timestamp.token "$TOKEN over $M: Verification: OK against TSA_ROOTS; genTime $gen"
  elif [ -f "$TSA_ROOT" ] && ts_ok "$TSA_ROOT"; then
    untrusted timestamp.token "$TOKEN: consistent (genTime $gen), but only with the bundle's own $TSA_ROOT"
  else
    fail timestamp.token "$TOKEN: openssl ts -verify over $M (SHA-256 $MANIFEST_SHA256) fails"
  fi
fi

# --- time.order: the capture started before genTime ---------------------------------
if [ -z "$GEN" ] || [ -z "$MANIFEST_SHA256" ]; then
  skip time.order "needs a trusted genTime (timestamp.token)"
else
  started=$(jget started_at "$M")
  s=$(when "$started")
  case $started in *Z | *[+-][0-9][0-9]:[0-9][0-9]) ;; *) s="" ;; esac
  if [ -z "$s" ]; then fail time.order "capture.started_at '$started' is not a time with a zone"
  elif awk -v a="$s" -v b="$GEN" 'BEGIN { exit !(a + 0 <= b + 0) }'; then
    ok time.order "capture started $started, before genTime"
  else fail time.order "capture started $started, after genTime"; fi
fi

# --- anchor.*: the Merkle path from the manifest digest to the anchored root ---------
ANCHOR_OK=""
if [ -z "$MANIFEST_SHA256" ]; then
  skip anchor.merkle "needs $M"
elif [ ! -f "$A" ]; then
  skip anchor "the bundle has no anchor record (not anchored yet)"
else
  leaf=$(jget leaf "$A") index=$(jget leaf_index "$A") tsize=$(jget tree_size "$A")
  root=$(lower "$(jget root "$A")") tx=$(lower "$(jget transaction_hash "$A")")
  contract=$(lower "$(jget contract_address "$A")") chain_id=$(jget chain_id "$A")
  block=$(jget block_number "$A") bhash=$(lower "$(jget block_hash "$A")")
  btime=$(jget block_time "$A")
  path=$(grep -oE '[{,]"path":\[[^]]*\]' "$A" | grep -oE '[0-9a-f]{64}')
  if ! isnum "$index" || ! isnum "$tsize" || ! isnum "$chain_id" || ! isnum "$block" \
    || ! ishex64 "${root#0x}" || [ -z "$(when "$btime")" ]; then
    fail anchor.record "$A: a field is missing or malformed"
  elif [ "$leaf" != "$MANIFEST_SHA256" ]; then
    fail anchor.leaf "$A: the anchored leaf $leaf is not the manifest digest $MANIFEST_SHA256"
  else
    # shellcheck disable=SC2086 # one argument per path element
    r=$(merkle_root "$leaf" "$index" "$tsize" $path)
    if [ -n "$r" ] && [ "0x$r" = "$root" ]; then
      ok anchor.merkle "$A: the manifest digest is leaf $index of $tsize under root $root"
      ANCHOR_OK=1
    else
      fail anchor.merkle "$A: the path leads to 0x$r, not the anchored root $root"
    fi
  fi
fi
TRUSTED_CHAIN=""
[ -n "${RPC_URL:-}${REGISTRY:-}${CHAIN_ID:-}" ] && TRUSTED_CHAIN=1
if [ -n "$ANCHOR_OK" ]; then
  if [ -n "${CHAIN_ID:-}" ] && [ "$CHAIN_ID" != "$chain_id" ]; then
    fail anchor.chain_id "recorded chain id $chain_id differs from the trusted CHAIN_ID $CHAIN_ID"
  elif [ -z "$TRUSTED_CHAIN" ]; then
    untrusted anchor.chain_id "chain id $chain_id: set CHAIN_ID, REGISTRY and RPC_URL to trust one"
  else
    ok anchor.chain_id "recorded chain id $chain_id is the chain you trust"
  fi
  if [ -z "$TRUSTED_CHAIN" ]; then
    :
  elif [ -z "${REGISTRY:-}" ]; then
    untrusted anchor.registry "anchored in $contract by the bundle's word: set REGISTRY"
  elif [ "$(lower "$REGISTRY")" != "$contract" ]; then
    fail anchor.registry "contract mismatch: anchored in $contract, not the trusted REGISTRY $REGISTRY"
  else
    ok anchor.registry "anchored in the trusted registry $REGISTRY"
  fi
else
  skip anchor.chain "needs the anchored root (anchor.merkle)"
fi

# --- time.anchor: the recorded block time fits genTime --------------------------------
if [ -n "$ANCHOR_OK" ] && [ -n "$GEN" ]; then
  # Compared as fractions of seconds, as evidence verify does; shown rounded.
  skew=$(awk -v b="$(when "$btime")" -v g="$GEN" 'BEGIN { printf "%.0f", b - g + 0.0 }')
  order=$(awk -v b="$(when "$btime")" -v g="$GEN" -v k="$SKEW" -v t="$TOLERANCE" \
    'BEGIN { s = b - g; print (s < -k) ? "before" : (s > t) ? "after" : "within" }')
  if [ "$order" = before ]; then fail time.anchor "block time $btime is before genTime"
  elif [ "$order" = after ]; then
    fail time.anchor "block time $btime is $skew s after genTime (tolerance $TOLERANCE s)"
  else ok time.anchor "block time $btime is $skew s after genTime (tolerance $TOLERANCE s)"; fi
else
  skip time.anchor "needs the anchored root and a trusted genTime"
fi

# --- anchor.chain: the transaction and its event, asked with curl JSON-RPC -------------
# chain_check: sets CH_VERDICT (fail/ok) and CH_DETAIL; returns 1 when the node is silent.
chain_check() {
  want=$(lower "${REGISTRY:-$contract}")
  got_chain=$(hexnum "$(rpc eth_chainId '[]' | rget result)")
  [ -n "$got_chain" ] || return 1
  CH_VERDICT=fail
  if [ "$got_chain" != "$chain_id" ]; then
    CH_DETAIL="chain id $got_chain differs from the recorded $chain_id"; return 0; fi
  rpc eth_getTransactionByHash "[\"$tx\"]" >"$T/tx"
  rpc eth_getTransactionReceipt "[\"$tx\"]" >"$T/receipt"
  sender=$(lower "$(rget from <"$T/tx")") to=$(lower "$(rget to <"$T/tx")")
  mined=$(hexnum "$(rget blockNumber <"$T/receipt")")
  rhash=$(lower "$(rget blockHash <"$T/receipt")")
  note "eth_getTransactionReceipt $tx: status $(rget status <"$T/receipt"), block $mined, to $to"
  # One line per log object: the registry's Anchored event for this root.
  tr '{' '\n' <"$T/receipt" | grep -i "\"address\":\"$want\"" \
    | grep "\"topics\":\[\"$ANCHORED_TOPIC\",\"$root\"" >"$T/event"
  named=$(grep -oE '"topics":\["0x[0-9a-f]{64}","0x[0-9a-f]{64}","0x[0-9a-f]{64}"' "$T/event" \
    | head -n 1 | cut -d'"' -f8 | cut -c27-)
  if [ -z "$sender" ]; then CH_DETAIL="transaction $tx not found on chain $chain_id"
  elif [ -z "$mined" ]; then CH_DETAIL="transaction $tx is not mined yet"
  elif ! grep -q '"status":"0x1"' "$T/receipt"; then CH_DETAIL="transaction $tx failed"
  elif [ "$to" != "$want" ]; then CH_DETAIL="transaction $tx was sent to $to, not the registry $want"
  elif [ ! -s "$T/event" ]; then CH_DETAIL="transaction $tx has no Anchored event of root $root from $want"
  elif [ "0x$named" != "$sender" ]; then CH_DETAIL="the event names submitter 0x$named, not the sender $sender"
  else
    call() { rpc eth_call "[{\"to\":\"$want\",\"data\":\"$1${root#0x}\"},\"latest\"]" | rget result; }
    at=$(hexnum "$(call $SEL_ANCHORED_AT)") ablock=$(hexnum "$(call $SEL_ANCHORED_BLOCK)")
    by=$(call $SEL_SUBMITTER_OF | cut -c27-)
    rpc eth_getBlockByNumber "[\"$(printf '0x%x' "$mined")\",false]" >"$T/block"
    mined_at=$(hexnum "$(rget timestamp <"$T/block")") now_hash=$(lower "$(rget hash <"$T/block")")
    head=$(hexnum "$(rpc eth_blockNumber '[]' | rget result)")
    confirmations=$((head - mined + 1))
    note "registry: anchoredAt $at, anchoredBlock $ablock, submitterOf 0x$by; block time $mined_at"
    if [ -z "$at" ] || [ "$at" -eq 0 ]; then CH_DETAIL="root $root is not anchored in $want"
    elif [ "$at" != "$mined_at" ] || [ "$ablock" != "$mined" ] || [ "0x$by" != "$sender" ]; then
      CH_DETAIL="the registry's record of $root disagrees with transaction $tx"
    elif [ "$now_hash" != "$rhash" ]; then CH_DETAIL="block $mined is now $now_hash (reorganised)"
    elif [ "$confirmations" -lt "$MIN_CONFIRMATIONS" ]; then
      CH_DETAIL="$confirmations confirmation(s), $MIN_CONFIRMATIONS required"
    elif [ -n "${SUBMITTERS:-}" ] && ! printf '%s\n' $(lower "$SUBMITTERS") | grep -qxF "$sender"; then
      CH_DETAIL="anchored by $sender, not a submitter you trust"
    elif [ "$mined" != "$block" ] || [ "$rhash" != "$bhash" ] \
      || [ "$(when "$btime")" != "$mined_at.000000000" ]; then
      CH_DETAIL="recorded block $block $bhash $btime differ from the chain's $mined $rhash @$mined_at"
    else
      CH_VERDICT=ok
      CH_DETAIL="tx $tx in block $mined on chain $chain_id carries root $root in $want, sent by $sender; $confirmations confirmation(s)"
    fi
  fi
  return 0
}
if [ -n "$ANCHOR_OK" ]; then
  if [ -z "${RPC_URL:-}" ]; then
    skip anchor.chain "set RPC_URL to a node you trust; the bundle's own endpoint is never asked"
  elif [ -n "${CHAIN_ID:-}" ] && [ "$CHAIN_ID" != "$chain_id" ]; then
    skip anchor.chain "no RPC endpoint you trust serves chain $chain_id"
  elif ! chain_check; then
    skip anchor.chain "the node at RPC_URL does not answer"
  elif [ "$CH_VERDICT" = fail ]; then
    fail anchor.chain "$CH_DETAIL"
  elif [ -z "${REGISTRY:-}" ]; then
    untrusted anchor.chain "$CH_DETAIL; that registry is the bundle's word (set REGISTRY)"
  else
    ok anchor.chain "$CH_DETAIL"
  fi
fi

# --- custody.chain: each event's hash, each link to the previous one --------------------
CHAIN_HOLDS=""
if [ ! -f "$C" ]; then
  skip custody.chain "no custody-log extract in bundle"
else
  n=0 prev="" pseq="" bad=""
  while IFS= read -r line || [ -n "$line" ]; do
    n=$((n + 1))
    eh=$(printf '%s' "$line" | grep -oE '"event_hash":"[0-9a-f]{64}"' | cut -d'"' -f4)
    ph=$(printf '%s' "$line" | grep -oE '"prev_hash":"[0-9a-f]{64}"' | cut -d'"' -f4)
    seq=$(seq_of "$line")
    if [ -z "$eh" ] || [ -z "$ph" ] || [ -z "$seq" ]; then bad="line $n is malformed"; break; fi
    if [ -n "$prev" ] && [ "$ph" != "$prev" ]; then
      bad="line $n (seq $seq): prev_hash does not link (an event was removed, inserted or reordered)"; break; fi
    if [ -n "$pseq" ] && [ "$seq" -ne $((pseq + 1)) ]; then bad="line $n: seq follows $pseq"; break; fi
    if printf '%s' "$line" | grep -q '"redacted":true'; then
      printf '%s' "$line" | grep -qxE '\{"event_hash":"[0-9a-f]{64}","prev_hash":"[0-9a-f]{64}","redacted":true,"seq":[0-9]+\}' \
        || { bad="line $n: a redacted event may hold only its hashes and seq"; break; }
    elif [ "$(printf '%s' "$line" | sed "s/\"event_hash\":\"$eh\",//" | sha256sum | cut -c1-64)" != "$eh" ]; then
      bad="line $n (seq $seq): event_hash differs from the recomputed one (the event was edited)"; break
    fi
    prev=$eh pseq=$seq
  done <"$C"
  if [ -n "$bad" ]; then fail custody.chain "$C: $bad"
  elif [ "$n" -eq 0 ]; then fail custody.chain "$C: the extract holds no events"
  else ok custody.chain "$C: $n events, every event_hash recomputed, every prev_hash and seq linked"; CHAIN_HOLDS=1; fi
fi

# --- custody.anchor: the custody head anchored in the same tree (its last leaf) ---------
if [ -z "$ANCHOR_OK" ] || [ -z "$MANIFEST_SHA256" ]; then
  skip custody.anchor "needs the anchored root (anchor.merkle)"
elif ! grep -q '"custody":{' "$A"; then
  skip custody.anchor "the anchor record carries no custody head"
else
  hhash=$(jget event_hash "$A") hseq=$(jget seq "$A") hindex=$(jget merkle_index "$A")
  hpath=$(grep -oE '"merkle_path":\[[^]]*\]' "$A" | grep -oE '[0-9a-f]{64}')
  if ! ishex64 "$hhash" || ! isnum "$hseq" || [ "$hindex" != $((tsize - 1)) ]; then
    fail custody.anchor "$A: the custody head is not leaf $((tsize - 1)), the last of $tsize"
  elif [ "0x$(merkle_root "$hhash" "$hindex" "$tsize" $hpath)" != "$root" ]; then
    fail custody.anchor "$A: the custody head's path does not lead to the anchored root $root"
  elif [ ! -f "$C" ]; then
    skip custody.anchor "no custody-log extract, although $A anchors event seq $hseq"
  elif [ -z "$CHAIN_HOLDS" ]; then
    skip custody.anchor "the extract's own chain does not hold (custody.chain)"
  else
    got=$(grep -E "[{,]\"seq\":$hseq[,}]" "$C" | head -n 1 | grep -oE '"event_hash":"[0-9a-f]{64}"' | cut -d'"' -f4)
    grep -v '"redacted":true' "$C" | grep "\"item_id\":\"$ITEM_ID\"" >"$T/mine"
    seals=$(grep -c '"action":"seal"' "$T/mine")
    other=$(grep '"action":"seal"' "$T/mine" | grep -vc "\"hash_after\":\"$MANIFEST_SHA256\"")
    late=$(grep -E '"action":"(seal|timestamp)"' "$T/mine" | while IFS= read -r q; do seq_of "$q"; done | while read -r q; do [ "$q" -gt "$hseq" ] && echo "$q"; done)
    first=$(seq_of "$(head -n 1 "$C")")
    hidden=$(grep '"redacted":true' "$C" | while IFS= read -r q; do seq_of "$q"; done \
      | while read -r q; do [ "$q" -gt "$first" ] && [ "$q" -le "$hseq" ] && echo "$q"; done)
    if [ -z "$got" ]; then fail custody.anchor "$C has no event seq $hseq, the anchored custody head"
    elif [ "$got" != "$hhash" ]; then
      fail custody.anchor "event seq $hseq has event_hash $got, not the anchored head $hhash"
    elif [ "$seals" -eq 0 ]; then fail custody.anchor "$C holds no seal event of item $ITEM_ID"
    elif [ "$other" -ne 0 ]; then fail custody.anchor "a seal event names another manifest"
    elif [ -n "$late" ]; then
      fail custody.anchor "the item's seal/timestamp seq $(echo $late) come after the head seq $hseq"
    elif [ -n "$hidden" ]; then
      skip custody.anchor "events before redacted seq $(echo $hidden) are not bound to the head"
    else
      ok custody.anchor "event seq $hseq is the anchored custody head (leaf $hindex of $tsize); every event from seq $first to it is bound"
    fi
  fi
fi

# --- video.frames: the session video's frames are the ones its sealed list names -------
video=$(grep '"role":"video"' "$T/entries" 2>/dev/null | sed -n 's/.*"path":"\([^"]*\)".*/\1/p' | head -n 1)
frames=$(grep '"role":"video-frames"' "$T/entries" 2>/dev/null | sed -n 's/.*"path":"\([^"]*\)".*/\1/p' | head -n 1)
if [ -z "$video" ] || [ -z "$MANIFEST_SHA256" ]; then
  : # recorded without video: the manifest's video_note says why
elif [ ! -f "$video" ] || [ -z "$frames" ] || [ ! -f "$frames" ]; then
  fail video.frames "$video: the video or its frame list is missing"
elif ! command -v ffmpeg >/dev/null || ! command -v ffprobe >/dev/null; then
  skip video.frames "ffmpeg/ffprobe are not installed; the file itself is covered by artifact.digest"
else
  mkdir "$T/frames"
  # Copied out, not decoded: each hash is of the JPEG the browser sent.
  ffmpeg -v error -nostdin -i "$video" -map 0:v:0 -c copy -f image2 "$T/frames/f%06d.jpg" 2>/dev/null
  ffprobe -v error -select_streams v:0 -show_entries packet=pts_time -of csv=p=0 "$video" \
    2>/dev/null | awk 'NF { printf "%.3f\n", $1 }' >"$T/times"
  for f in "$T"/frames/f*.jpg; do [ -f "$f" ] && sha "$f"; done >"$T/hashes"
  paste -d' ' "$T/times" "$T/hashes" >"$T/got"
  # The sealed list: each frame's offset_s and sha256, in order.
  tr -d ' \n' <"$frames" | grep -oE '"offset_s":[0-9.eE+-]+,"sha256":"[0-9a-f]{64}"' \
    | sed 's/"offset_s":\([^,]*\),"sha256":"\(.*\)"/\1 \2/' \
    | awk '{ printf "%.3f %s\n", $1, $2 }' >"$T/listed"
  ngot=$(wc -l <"$T/got" | tr -d ' ') nlisted=$(wc -l <"$T/listed" | tr -d ' ')
  if [ "$(wc -l <"$T/times")" -ne "$(wc -l <"$T/hashes")" ] || [ "$ngot" -eq 0 ]; then
    fail video.frames "$video: not a readable video"
  elif [ "$ngot" -ne "$nlisted" ]; then
    fail video.frames "$video: $ngot frames in the video, $nlisted listed in $frames"
  elif ! cmp -s "$T/got" "$T/listed"; then
    fail video.frames "$video: frame $(cmp "$T/got" "$T/listed" | sed -n 's/.*line \([0-9]*\).*/\1/p') differs from $frames"
  else
    ok video.frames "$video: $ngot frames copied out with ffmpeg, each JPEG's SHA-256 and time match $frames"
  fi
  # The viewing copy (video_annotated in the manifest): derived from this very video,
  # one frame per listed frame; the original stays the evidence.
  copy=$(grep '"role":"video-annotated"' "$T/entries" 2>/dev/null | sed -n 's/.*"path":"\([^"]*\)".*/\1/p' | head -n 1)
  grep -oE '"video_annotated":\{[^{}]*\}' "$M" 2>/dev/null | head -n 1 >"$T/annotated"
  if [ -z "$copy" ] && [ ! -s "$T/annotated" ]; then
    : # no viewing copy was made; the capture's warnings say why
  elif [ -z "$copy" ] || [ ! -s "$T/annotated" ]; then
    fail video.frames "$video (annotated copy): the copy and the manifest's video_annotated must come together"
  elif [ "$(jget derived_from "$T/annotated")" != "${video##*/}" ]; then
    fail video.frames "$copy: video_annotated.derived_from is not ${video##*/}"
  elif [ "$(jget source_sha256 "$T/annotated")" != "$(sha "$video")" ]; then
    fail video.frames "$copy: video_annotated.source_sha256 is not the SHA-256 of $video ($(sha "$video"))"
  elif [ "$(jget frame_count "$T/annotated")" != "$nlisted" ]; then
    fail video.frames "$copy: video_annotated.frame_count $(jget frame_count "$T/annotated") is not the $nlisted frames of $frames"
  else
    ncopy=$(ffprobe -v error -select_streams v:0 -count_packets -show_entries stream=nb_read_packets \
      -of csv=p=0 "$copy" 2>/dev/null | cut -d, -f1 | head -n 1)
    if ! isnum "$ncopy"; then
      fail video.frames "$copy: not a readable video"
    elif [ "$ncopy" -ne "$nlisted" ]; then
      fail video.frames "$copy: $ncopy frames (ffprobe), $nlisted in $video"
    else
      ok video.frames "$copy: derived from $video (sha256sum matches video_annotated.source_sha256), $ncopy frames (ffprobe) as listed in $frames"
    fi
  fi
fi

# --- what stock tools leave to `evidence verify` ------------------------------------------
skip warc.record "each WARC record's digests: warcio check artifacts/capture.warc"
skip screenshot.replay "replaying the WARC in a browser: evidence verify"
if [ -f signers.txt ]; then
  skip signers.list "signers.txt against the signatures: compare it with each signature's fingerprint and issuer (step 2c), or evidence verify"
fi
if [ -f report/report.pdf ]; then
  skip report.signature "the report's PAdES signatures: pdfsig report/report.pdf"
fi

if [ "$FAILED" -ne 0 ]; then echo "RESULT: FAIL"; exit 1; fi
if [ "$OPEN" -ne 0 ]; then echo "RESULT: NOT ALL CHECKED"; exit 2; fi
echo "RESULT: OK"
exit 0
# END OF VERIFY SCRIPT
