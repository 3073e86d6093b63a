# The pass/fail checks of soak.sh over its samples.csv (t_s,rss_kib,fds).
# Variables: n, ok (the client's requests and successes), min (lowest success, %), pct (how far
# the last minute's mean may be from the first's, %), slack (extra descriptors allowed), secs.
# First minute: samples with 0 < t <= 60; last minute: secs - 60 < t <= secs.
NR > 1 && $1 > 0 && $1 <= 60 { rss1 += $2; fd1 += $3; c1++ }
NR > 1 && $1 > secs - 60 && $1 <= secs { rss2 += $2; fd2 += $3; c2++ }
function verdict(good) { if (!good) failed = 1; return good ? "PASS" : "FAIL" }
END {
    if (n == 0 || c1 == 0 || c2 == 0) { print "FAIL: no requests or no samples"; exit 1 }
    success = 100 * ok / n
    printf "%s success %.4f%% (%d of %d; need >= %s%%)\n", verdict(success >= min), success, ok, n, min
    r1 = rss1 / c1 / 1024; r2 = rss2 / c2 / 1024
    dr = 100 * (r2 - r1) / r1
    printf "%s rss flat: first minute %.1f MiB, last minute %.1f MiB (%+.1f%%; need within %s%%)\n", \
        verdict(dr <= pct && dr >= -pct), r1, r2, dr, pct
    f1 = fd1 / c1; f2 = fd2 / c2
    allowed = f1 * pct / 100 + slack
    printf "%s fds flat: first minute %.1f, last minute %.1f (%+.1f; need within %s%% + %d)\n", \
        verdict(f2 - f1 <= allowed && f1 - f2 <= allowed), f1, f2, f2 - f1, pct, slack
    print (failed ? "SOAK FAIL" : "SOAK PASS")
    exit failed
}
