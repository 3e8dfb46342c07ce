#!/usr/bin/env bash
# B4 side by side: crdt (Go) and yjs (Node), measured in the same run.
# Usage (from the repository root): crdt/testdata/yjs/b4table.sh
# Env: B4_BENCHTIME (go -benchtime, default 3x), RICH_BENCHTIME (default 1x),
# MB_B4_TRACE (trace path).
set -euo pipefail
cd "$(dirname "$0")"
go_out=$(cd ../.. && go test -run '^$' -bench '^BenchmarkB4$' -benchtime "${B4_BENCHTIME:-3x}" -benchmem . )
js_out=$(node --expose-gc bench.mjs ${MB_B4_TRACE:+"$MB_B4_TRACE"})
# Rich text (a 40,000-edit prefix of B4 with formatting spans), a 10,000-node
# XML tree, snapshots at ten points: bench_rich_test.go and rich.mjs.
rich_go=$(cd ../.. && go test -run '^$' -bench '^Benchmark(RichText|XMLTree|Snapshots)$' -benchtime "${RICH_BENCHTIME:-1x}" -benchmem . )
rich_js=$(node --expose-gc rich.mjs ${MB_B4_TRACE:+"$MB_B4_TRACE"})
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

echo
printf '%s\n' "$rich_go" | grep -E '^Benchmark(RichText|XMLTree|Snapshots)' || true
printf '%s\n' "$rich_js"
echo
{ printf '%s\n' "$rich_go" | grep -E '^Benchmark(RichText|XMLTree|Snapshots)/'; echo '--'; printf '%s\n' "$rich_js"; } | awk '
	# go: Benchmark<Name>/<sub>-N  iters  value unit  value unit ...
	/^Benchmark/ { name = $1; sub(/^Benchmark/, "", name); sub(/-[0-9]+$/, "", name)
		for (i = 3; i < NF; i += 2) go[name "|" $(i+1)] = $i; next }
	/^yjs / { js[$2] = $3; next }
	function dur(ns) { if (ns == "") return "n/a"; if (ns >= 1e9) return sprintf("%.2f s", ns/1e9); return sprintf("%.1f ms", ns/1e6) }
	function ratio(a, b) { if (a == "" || b == "" || a == 0) return ""; return sprintf("%.1fx", b/a) }
	function row(label, g, j) { printf "| %-62s | %12s | %12s | %9s |\n", label, dur(g), dur(j), ratio(g, j) }
	# size rows: the last column is Go / yjs
	function szrow(label, g, j) { printf "| %-62s | %12s | %12s | %9s |\n", label, g == "" ? "n/a" : g " B", j == "" ? "n/a" : j " B", (g == "" || j == "" || j == 0) ? "" : sprintf("Go/yjs %.2f", g/j) }
	END {
		printf "| %-62s | %12s | %12s | %9s |\n", "Rich text, XML tree, snapshots", "crdt (Go)", "yjs (Node)", "speed-up"
		printf "|%s|%s|%s|%s|\n", "----------------------------------------------------------------", "--------------", "--------------", "-----------"
		row("rich text: 40,000 B4 edits + 2,500 format spans, 1 txn each", go["RichText/apply|ns/op"], js["rich-apply"])
		row("rich text: replay the per-operation updates", go["RichText/replay|ns/op"], js["rich-replay"])
		row("rich text: load the final document, toDelta", go["RichText/load|ns/op"], js["rich-load"])
		row("XML: build a 10,000-node tree, 1 txn per node", go["XMLTree/build|ns/op"], js["xml-build"])
		row("snapshots: take and encode at ten points (gc off)", go["Snapshots/take|take-ns"], js["snap-take"])
		row("snapshots: restore all ten (createDocFromSnapshot)", go["Snapshots/restore|ns/op"], js["snap-restore"])
		szrow("rich text final state, v1", go["RichText/load|v1-B"], js["rich-state-v1"])
		szrow("XML tree state, v1", go["XMLTree/build|v1-B"], js["xml-state-v1"])
		szrow("ten encoded snapshots", go["Snapshots/take|snap-B"], js["snap-bytes"])
		szrow("heap held by the loaded rich-text document", go["RichText/load|heap-B"], js["rich-heap"])
		szrow("heap held by the XML tree document", go["XMLTree/build|heap-B"], js["xml-heap"])
		szrow("heap held by one restored snapshot document", go["Snapshots/restore|heap-B"], js["snap-heap"])
	}'
