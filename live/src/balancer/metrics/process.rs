//! The standard process metrics (`process_cpu_seconds_total`, `process_resident_memory_bytes`,
//! `process_open_fds`, `process_max_fds`, `process_start_time_seconds`), read from `/proc` at
//! scrape time, as Prometheus' Go client does. Linux only: elsewhere the collector writes
//! nothing.
//!
//! Times in `/proc/<pid>/stat` are in clock ticks of `USER_HZ`, which the kernel fixes at 100
//! for user space on every architecture Rust targets (Prometheus' procfs library assumes the
//! same); there is no `sysconf` in std to ask. A file that cannot be read or parsed leaves its
//! metric out of that scrape rather than failing the scrape.

// The parsers are tested everywhere but only read `/proc` on Linux.
#![cfg_attr(not(target_os = "linux"), allow(dead_code))]

use super::families::{self, Desc};
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;

/// Clock ticks per second in `/proc` times.
const USER_HZ: f64 = 100.0;

/// Reads this process's `/proc` entries on each scrape.
#[derive(Debug, Default)]
pub struct ProcessCollector;

/// What `/proc/self/stat` says, in clock ticks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Stat {
    utime: u64,
    stime: u64,
    /// Since boot.
    starttime: u64,
}

/// Parse `/proc/<pid>/stat`. The command name (field 2) is in parentheses and may hold spaces
/// and parentheses itself, so the fields are counted from the last `)`.
fn parse_stat(text: &str) -> Option<Stat> {
    let rest = &text[text.rfind(')')? + 1..];
    // After the name: field 3 (state) is index 0, so field n is index n - 3.
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let field = |n: usize| fields.get(n - 3)?.parse::<u64>().ok();
    Some(Stat {
        utime: field(14)?,
        stime: field(15)?,
        starttime: field(22)?,
    })
}

/// The boot time, seconds since the epoch, from the `btime` line of `/proc/stat`.
fn parse_btime(text: &str) -> Option<u64> {
    text.lines()
        .find_map(|l| l.strip_prefix("btime "))
        .and_then(|v| v.trim().parse().ok())
}

/// Resident memory in bytes, from the `VmRSS:` line of `/proc/<pid>/status` (in kB).
fn parse_vm_rss(text: &str) -> Option<u64> {
    let line = text.lines().find_map(|l| l.strip_prefix("VmRSS:"))?;
    let kb: u64 = line.trim().strip_suffix("kB")?.trim().parse().ok()?;
    Some(kb * 1024)
}

/// The soft limit on open files from `/proc/<pid>/limits` (`+Inf` when unlimited).
fn parse_max_fds(text: &str) -> Option<f64> {
    let line = text
        .lines()
        .find_map(|l| l.strip_prefix("Max open files"))?;
    match line.split_whitespace().next()? {
        "unlimited" => Some(f64::INFINITY),
        n => n.parse::<u64>().ok().map(|n| n as f64),
    }
}

fn gauge(encoder: &mut DescriptorEncoder, desc: &'static Desc, v: f64) -> std::fmt::Result {
    ConstGauge::new(v).encode(desc.describe(encoder)?)
}

impl Collector for ProcessCollector {
    #[cfg(target_os = "linux")]
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let read = |path: &str| std::fs::read_to_string(path).ok();
        let stat = read("/proc/self/stat").as_deref().and_then(parse_stat);
        if let Some(s) = stat {
            let cpu = (s.utime + s.stime) as f64 / USER_HZ;
            ConstCounter::new(cpu).encode(families::PROCESS_CPU.describe(&mut encoder)?)?;
        }
        if let Some(rss) = read("/proc/self/status").as_deref().and_then(parse_vm_rss) {
            gauge(&mut encoder, &families::PROCESS_RESIDENT_MEMORY, rss as f64)?;
        }
        if let Ok(fds) = std::fs::read_dir("/proc/self/fd") {
            // The listing includes the descriptor of the listing itself, as procfs' count does.
            gauge(
                &mut encoder,
                &families::PROCESS_OPEN_FDS,
                fds.count() as f64,
            )?;
        }
        if let Some(max) = read("/proc/self/limits").as_deref().and_then(parse_max_fds) {
            gauge(&mut encoder, &families::PROCESS_MAX_FDS, max)?;
        }
        let boot = read("/proc/stat").as_deref().and_then(parse_btime);
        if let (Some(s), Some(boot)) = (stat, boot) {
            let start = boot as f64 + s.starttime as f64 / USER_HZ;
            gauge(&mut encoder, &families::PROCESS_START_TIME, start)?;
        }
        Ok(())
    }

    #[cfg(not(target_os = "linux"))]
    fn encode(&self, _encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_fields_are_counted_from_the_last_parenthesis() {
        // A command name with a space and a parenthesis, as a process may name itself.
        let line = "4242 (lb (bal) x) S 1 4242 4242 0 -1 4194560 1449 0 0 0 \
                    725 131 0 0 20 0 9 0 381239 1164288000 2786 18446744073709551615";
        assert_eq!(
            parse_stat(line),
            Some(Stat {
                utime: 725,
                stime: 131,
                starttime: 381239
            })
        );
        assert_eq!(parse_stat("4242 (no closing"), None);
        assert_eq!(parse_stat("4242 (short) S 1 2"), None);
    }

    #[test]
    fn status_limits_and_boot_time_lines_are_found() {
        let status = "Name:\tlb-balancer\nVmPeak:\t  20000 kB\nVmRSS:\t    1536 kB\nThreads:\t3\n";
        assert_eq!(parse_vm_rss(status), Some(1536 * 1024));
        assert_eq!(parse_vm_rss("Name:\tx\n"), None);

        let limits = "Limit                     Soft Limit           Hard Limit           Units\n\
                      Max cpu time              unlimited            unlimited            seconds\n\
                      Max open files            1024                 524288               files\n";
        assert_eq!(parse_max_fds(limits), Some(1024.0));
        let unlimited =
            "Max open files            unlimited            unlimited            files\n";
        assert_eq!(parse_max_fds(unlimited), Some(f64::INFINITY));

        assert_eq!(
            parse_btime("cpu  1 2 3\nbtime 1764633600\nprocesses 9\n"),
            Some(1_764_633_600)
        );
        assert_eq!(parse_btime("cpu  1 2 3\n"), None);
    }

    /// This process's own `/proc` parses, and says something plausible.
    #[cfg(target_os = "linux")]
    #[test]
    fn this_process_reads_back() {
        let stat = std::fs::read_to_string("/proc/self/stat").expect("/proc/self/stat");
        assert!(parse_stat(&stat).is_some(), "{stat}");
        let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
        assert!(parse_vm_rss(&status).is_some_and(|b| b > 0), "{status}");
        let limits = std::fs::read_to_string("/proc/self/limits").expect("/proc/self/limits");
        assert!(parse_max_fds(&limits).is_some_and(|m| m >= 3.0), "{limits}");
        let proc_stat = std::fs::read_to_string("/proc/stat").expect("/proc/stat");
        assert!(parse_btime(&proc_stat).is_some());
    }
}
