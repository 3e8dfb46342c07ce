#!/usr/bin/env bash
# B4 side by side: crdt (Go) and yjs (Node), measured in the same run.
# Usage (from the repository root): crdt/testdata/yjs/b4table.sh
# Env: B4_BENCHTIME (go -benchtime, default 3x), MB_B4_TRACE (trace path).
set -euo pipefail
cd "$(dirname "$0")"
go_out=$(cd ../.. && go test -run '^$' -bench '^BenchmarkB4$' -benchtime "${B4_BENCHTIME:-3x}" -benchmem . )
js_out=$(node --expose-gc bench.mjs ${MB_B4_TRACE:+"$MB_B4_TRACE"})
printf '%s\n' "$go_out" | grep '^BenchmarkB4' || true
printf '%s\n' "$js_out"
echo
{ printf '%s\n' "$go_out" | grep '^BenchmarkB4/'; echo '--'; printf '%s\n' "$js_out"; } | awk '
	# go: BenchmarkB4/<name>-N  iters  value unit  value unit ...
	/^BenchmarkB4\// { split($1, p, "/"); name = p[2]; sub(/-[0-9]+$/, "", name)
		for (i = 3; i < NF; i += 2) go[name "|" $(i+1)] = $i; next }
	/^yjs / { js[$2] = $3; next }
	function dur(ns) { if (ns == "") return "n/a"; if (ns >= 1e9) return sprintf("%.2f s", ns/1e9); return sprintf("%.1f ms", ns/1e6) }
	function ratio(a, b) { if (a == "" || b == "" || a == 0) return ""; return sprintf("%.1fx", b/a) }
	function row(label, g, j) { printf "| %-52s | %12s | %12s | %8s |\n", label, dur(g), dur(j), ratio(g, j) }
	function szrow(label, g, j) { printf "| %-52s | %12s | %12s | %8s |\n", label, g == "" ? "n/a" : g " B", j == "" ? "n/a" : j " B", "" }
	END {
		printf "| %-52s | %12s | %12s | %8s |\n", "B4 (259,778 single-edit transactions)", "crdt (Go)", "yjs (Node)", "speed-up"
		printf "|%s|%s|%s|%s|\n", "------------------------------------------------------", "--------------", "--------------", "----------"
		row("apply locally, 1 txn per edit, v1 update listener", go["apply|ns/op"], js["apply"])
		row("replay the per-edit updates into a fresh doc", go["replay|ns/op"], js["replay"])
		row("load the final document (v1)", go["load|ns/op"], js["load"])
		row("merge per-edit updates: batches of 100, then batches", go["merge-batched|ns/op"], js["merge-batched"])
		row("merge all per-edit updates at once", go["merge-all|ns/op"], "")
		szrow("final state, v1", go["encode|v1-B"], js["state-v1"])
		szrow("final state, v2", go["encode|v2-B"], js["state-v2"])
		szrow("merged update (v1)", go["merge-batched|merged-B"], js["merged-bytes"])
		szrow("heap held by one loaded document", go["load|heap-B"], js["load-heap"])
	}'
