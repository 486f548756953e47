"""The benchmark's report: a table on the terminal, results.json and a bar chart (gnuplot, PNG).
    summarize.py OUTDIR NAME DEVICE WORKERS RSS_BEFORE RSS_AFTER SOAK_JSON RESULT_JSON..."""

import json
import os
import subprocess
import sys


def main():
    out, name, device, workers, rss_before, rss_after, soak = sys.argv[1:8]
    results = [json.loads(r) for r in sys.argv[8:]]
    by = {r["name"]: r for r in results}
    design = by["design-ceiling"]["rps"]
    static = by["static-ceiling"]["rps"]
    for r in results:
        r["vs_design"] = r["rps"] / design
        r["vs_static"] = r["rps"] / static
    # every scenario on one URL; not the ceilings, not the uncached rows (for comparison only), not the mix
    single = [r["name"] for r in results
              if not r["name"].endswith("-ceiling") and not r["name"].startswith("uncached-")
              and not r["name"].startswith("mix-")]
    writes = json.loads(os.environ.get("WRITES_JSON") or "[]")
    by_write = {w["name"]: w for w in writes}
    targets = {
        "releases, latest, updates >= 0.8 x design ceiling": all(
            by[n]["vs_design"] >= 0.8 for n in ["releases-page-1", "latest", "updates-up-to-date", "updates-behind"]),
        "304 >= design ceiling": by["revalidation-304"]["vs_design"] >= 1.0,
        "page 500 within 10% of page 1": by["releases-page-500-all"]["rps"] >= 0.9 * by["releases-page-1-all"]["rps"],
        "p99 < 10 ms at 64 connections (single resources)": all(by[n]["p99_ms"] < 10 for n in single),
        "zero errors": all(r["errors"] == 0 for r in results) and all(w["errors"] == 0 for w in writes),
    }
    if "writes-1-per-second" in by_write:
        rate = by_write["writes-1-per-second"]
        targets["mix while writing a release a second within 20% of the mix"] = (
            by["mix-while-writing"]["rps"] >= 0.8 * by["mix-many-devices"]["rps"])
        targets["every read right after a write shows it"] = (
            rate["releases"] > 0 and rate["visible_after_write"] == rate["releases"])
    # the delivery scenario (bench/deliver.py): absent when bench/run did not run it, null when it could not run
    delivery = json.loads(os.environ["DELIVERY_JSON"]) if "DELIVERY_JSON" in os.environ else None
    if "DELIVERY_JSON" in os.environ:
        targets["deliveries p99 < 1 s at 100 changes/s, none missing"] = bool(
            delivery and delivery["missing"] == 0 and delivery["p99_ms"] is not None and delivery["p99_ms"] < 1000)
    soak = json.loads(soak)
    if soak:
        targets["worker RSS flat within 10% over the soak's second half"] = soak["rss_kb_after"] <= 1.1 * soak["rss_kb_before"]
    report = {"device": device, "workers": int(workers), "rss_kb_before": int(rss_before),
              "rss_kb_after": int(rss_after), "soak": soak, "scenarios": results, "writes": writes, "delivery": delivery,
              "targets": targets}
    with open(os.path.join(out, name + ".json"), "w") as f:
        json.dump(report, f, indent=2)

    print("%-24s %10s %8s %8s %7s %9s %9s" % ("scenario", "req/s", "p50 ms", "p99 ms", "errors", "x design",
                                              "x static"))
    for r in results:
        print("%-24s %10.0f %8.2f %8.2f %7d %9.2f %9.2f" % (r["name"], r["rps"], r["p50_ms"], r["p99_ms"],
                                                              r["errors"], r["vs_design"], r["vs_static"]))
    print("device %s, %s workers, worker RSS %s kB before, %s kB after%s" % (
        device, workers, rss_before, rss_after,
        "; soak of %d requests: %d kB after the first half, %d kB after the second" % (
            soak["requests"], soak["rss_kb_before"], soak["rss_kb_after"])
        if soak else ""))
    for w in writes:
        print("%-24s %10.1f releases/s (%d releases, %d requests, %d errors%s)" % (
            w["name"], w["releases_per_s"], w["releases"], w["requests"], w["errors"],
            ", %d of them in the next read" % w["visible_after_write"] if w["visible_after_write"] is not None
            else ""))
    if delivery:
        print("%-24s %10.1f deliveries/s (%d subscriptions, %d changes at %.1f/s; delay p50 %s ms, p99 %s ms, max %s ms;"
              " %d duplicates, %d missing of %d)" % (
                  delivery["name"], delivery["deliveries_per_s"], delivery["subscriptions"], delivery["changes"],
                  delivery["commit_rate"] or 0, delivery["p50_ms"], delivery["p99_ms"], delivery["max_ms"],
                  delivery["duplicates"], delivery["missing"], delivery["expected"]))
    for target, ok in targets.items():
        print("%-4s %s" % ("met" if ok else "MISS", target))

    data = os.path.join(out, name + ".dat")
    with open(data, "w") as f:
        for r in results:
            f.write('"%s" %.0f\n' % (r["name"], r["rps"]))
    subprocess.run(["gnuplot"], input="""
set terminal pngcairo size 1300,650 noenhanced
set bmargin 9
set rmargin 8
set output '%s'
set title 'romtrack on %s workers: requests/s at 64 connections (ceilings first)'
set style fill solid 0.8
set boxwidth 0.7
set xtics rotate by -35
set ylabel 'requests/s'
set grid ytics
plot '%s' using 0:2:xtic(1) with boxes notitle lc rgb '#3572a5', '' using 0:2:(sprintf('%%.0f', $2)) with labels offset 0,0.7 notitle
""" % (os.path.join(out, name + ".png"), workers, data), text=True, check=False)
    print("written: %s/%s.json, %s/%s.png" % (out, name, out, name))


main()
