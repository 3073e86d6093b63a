//! Scenario workers as real processes: each is `lb-loadgen worker ...` (this very binary, found
//! with `std::env::current_exe`), serving [`lb_live::worker`] on 127.0.0.1.
//!
//! The child prints `listening on ADDR` once it accepts connections; the parent reads that line.
//! A crash (`down`) is a SIGKILL: connections are refused and work in progress is lost, as in
//! the simulator. A recovery starts a new process on the same address.
//!
//! No child outlives the experiment: [`WorkerPool`] kills every child when dropped (on every
//! exit path, errors and panics included), each child is spawned with `kill_on_drop`, and a
//! child exits by itself when its stdin closes, which happens when the parent dies, even by
//! SIGKILL.

use lb_core::scenario::WorkerSpec;
use lb_core::scenario::model::ServiceFile;
use lb_live::worker::{WorkerArgs, WorkerState, serve};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// How long a child may take to say it listens.
const READY_TIMEOUT: Duration = Duration::from_secs(5);

/// How long a restarted child keeps trying to bind its old address.
pub const REBIND_FOR: Duration = Duration::from_secs(2);

/// Why a worker process could not be started.
#[derive(Debug, thiserror::Error)]
pub enum ProcessError {
    /// The path of this binary is unknown.
    #[error("cannot find this program's path to start workers: {0}")]
    Exe(std::io::Error),
    /// The process did not start.
    #[error("worker {index}: cannot start {exe}: {source}")]
    Spawn {
        /// Worker index.
        index: usize,
        /// The program.
        exe: String,
        /// Why.
        source: std::io::Error,
    },
    /// The process started but did not say where it listens.
    #[error("worker {index}: {reason}")]
    NotReady {
        /// Worker index.
        index: usize,
        /// What happened instead.
        reason: String,
    },
    /// The child's configuration was refused (`lb-loadgen worker`).
    #[error("worker: {0}")]
    Config(String),
    /// The child could not listen (`lb-loadgen worker`).
    #[error("--listen {listen}: {source}")]
    Bind {
        /// The address asked for.
        listen: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
    /// The child stopped serving with an error (`lb-loadgen worker`).
    #[error("serving on {addr}: {reason}")]
    Serve {
        /// The address served.
        addr: SocketAddr,
        /// What failed.
        reason: String,
    },
}

/// The `lb-loadgen worker` command line of a scenario worker (without `--listen`).
pub fn worker_args(index: usize, spec: &WorkerSpec, seed: u64) -> Vec<String> {
    vec![
        "--name".into(),
        format!("w{index}"),
        "--concurrency".into(),
        spec.concurrency.to_string(),
        "--service".into(),
        service_spec(&spec.service_file),
        "--speed".into(),
        spec.speed.to_string(),
        "--error-rate".into(),
        spec.error_rate.to_string(),
        "--error-mode".into(),
        spec.error_mode.name().into(),
        "--seed".into(),
        // The simulator's seed for this worker (a restarted worker starts its draws over).
        lb_core::scenario::worker_seed(seed, index).to_string(),
    ]
}

/// A service-time distribution in the form `lb_live::worker::parse_service_spec` reads.
pub fn service_spec(s: &ServiceFile) -> String {
    match s {
        ServiceFile::Constant { ms } => format!("constant:{ms}"),
        ServiceFile::Exponential { mean_ms } => format!("exponential:{mean_ms}"),
        ServiceFile::Lognormal { median_ms, p99_ms } => format!("lognormal:{median_ms}:{p99_ms}"),
        ServiceFile::Pareto { mean_ms, shape } => format!("pareto:{mean_ms}:{shape}"),
    }
}

/// The child's side: bind `listen` (retrying for [`REBIND_FOR`] while the address is still
/// taken), set up the worker `args` describe (named after the bound address without `--name`),
/// print `listening on ADDR`, serve until killed or until stdin closes.
pub async fn serve_child(listen: SocketAddr, args: WorkerArgs) -> Result<(), ProcessError> {
    let deadline = tokio::time::Instant::now() + REBIND_FOR;
    let listener = loop {
        match tokio::net::TcpListener::bind(listen).await {
            Ok(l) => break l,
            Err(e)
                if e.kind() == std::io::ErrorKind::AddrInUse
                    && tokio::time::Instant::now() < deadline =>
            {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            Err(source) => return Err(ProcessError::Bind { listen, source }),
        }
    };
    let addr = listener
        .local_addr()
        .map_err(|source| ProcessError::Bind { listen, source })?;
    let state = WorkerState::new(args.into_config(&addr.to_string()))
        .map_err(|e| ProcessError::Config(e.to_string()))?;
    // The parent holds our stdin open; when it goes away (even killed), stdin closes: exit.
    std::thread::spawn(|| {
        let mut buf = [0u8; 64];
        while let Ok(n) = std::io::Read::read(&mut std::io::stdin(), &mut buf) {
            if n == 0 {
                break;
            }
        }
        std::process::exit(0);
    });
    println!("listening on {addr}");
    serve(listener, state, std::future::pending())
        .await
        .map_err(|e| ProcessError::Serve {
            addr,
            reason: e.to_string(),
        })
}

/// One worker: its command line, its address, its process while it runs.
#[derive(Debug)]
struct Worker {
    args: Vec<String>,
    addr: SocketAddr,
    child: Option<Child>,
}

/// The scenario's workers, one process each, killed when the pool is dropped.
#[derive(Debug)]
pub struct WorkerPool {
    exe: PathBuf,
    workers: Vec<Worker>,
}

async fn spawn(
    exe: &PathBuf,
    index: usize,
    listen: SocketAddr,
    args: &[String],
) -> Result<(Child, SocketAddr), ProcessError> {
    let mut child = Command::new(exe)
        .arg("worker")
        .arg("--listen")
        .arg(listen.to_string())
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .map_err(|source| ProcessError::Spawn {
            index,
            exe: exe.display().to_string(),
            source,
        })?;
    let not_ready = |reason: String| ProcessError::NotReady { index, reason };
    let Some(stdout) = child.stdout.take() else {
        return Err(not_ready("no stdout".into()));
    };
    let mut line = String::new();
    let mut reader = BufReader::new(stdout);
    let read = reader.read_line(&mut line);
    match tokio::time::timeout(READY_TIMEOUT, read).await {
        Ok(Ok(n)) if n > 0 => {}
        Ok(Ok(_)) => {
            let status = child.wait().await.map(|s| s.to_string());
            return Err(not_ready(format!(
                "exited before listening on {listen} ({}); see its message above",
                status.unwrap_or_else(|e| e.to_string())
            )));
        }
        Ok(Err(e)) => return Err(not_ready(format!("reading its output: {e}"))),
        Err(_) => {
            return Err(not_ready(format!(
                "did not listen on {listen} within {} s",
                READY_TIMEOUT.as_secs()
            )));
        }
    }
    let addr = line
        .trim()
        .strip_prefix("listening on ")
        .and_then(|a| a.parse::<SocketAddr>().ok())
        .ok_or_else(|| not_ready(format!("unexpected first line {:?}", line.trim())))?;
    Ok((child, addr))
}

impl WorkerPool {
    /// Start one process per worker spec on free ports of 127.0.0.1.
    pub async fn start(specs: &[WorkerSpec], seed: u64) -> Result<WorkerPool, ProcessError> {
        let exe = std::env::current_exe().map_err(ProcessError::Exe)?;
        let mut pool = WorkerPool {
            exe,
            workers: Vec::with_capacity(specs.len()),
        };
        let any: SocketAddr = ([127, 0, 0, 1], 0).into();
        for (i, spec) in specs.iter().enumerate() {
            let args = worker_args(i, spec, seed);
            // On error, `pool` is dropped here and kills the workers already started.
            let (child, addr) = spawn(&pool.exe, i, any, &args).await?;
            pool.workers.push(Worker {
                args,
                addr,
                child: Some(child),
            });
        }
        Ok(pool)
    }

    /// The workers' addresses, in scenario order.
    pub fn addrs(&self) -> Vec<SocketAddr> {
        self.workers.iter().map(|w| w.addr).collect()
    }

    /// Whether worker `i`'s process runs.
    pub fn is_up(&self, i: usize) -> bool {
        self.workers.get(i).is_some_and(|w| w.child.is_some())
    }

    /// Crash worker `i`: SIGKILL, then reap it.
    pub async fn kill(&mut self, i: usize) {
        if let Some(mut child) = self.workers.get_mut(i).and_then(|w| w.child.take()) {
            let _ = child.kill().await;
        }
    }

    /// Start worker `i` again on its address (no-op when it runs).
    pub async fn restart(&mut self, i: usize) -> Result<(), ProcessError> {
        let exe = self.exe.clone();
        let Some(w) = self.workers.get_mut(i) else {
            return Ok(());
        };
        if w.child.is_some() {
            return Ok(());
        }
        let (child, _) = spawn(&exe, i, w.addr, &w.args).await?;
        w.child = Some(child);
        Ok(())
    }
}

impl Drop for WorkerPool {
    fn drop(&mut self) {
        for w in &mut self.workers {
            if let Some(mut child) = w.child.take() {
                let _ = child.start_kill();
                // Reap it if it is already gone; otherwise tokio's orphan reaper does.
                let _ = child.try_wait();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;
    use lb_core::scenario::{ErrorMode, Scenario};
    use lb_live::worker::parse_service_spec;

    #[derive(Parser)]
    struct Child {
        #[arg(long)]
        listen: SocketAddr,
        #[command(flatten)]
        worker: WorkerArgs,
    }

    #[test]
    fn the_spawned_command_line_is_accepted_and_gives_the_scenario_worker() {
        let text = r#"
            duration_s = 1
            [arrivals]
            rate = 10
            [[workers]]
            concurrency = 3
            speed = 0.5
            error_rate = 0.125
            error_mode = "slow"
            service = { distribution = "lognormal", median_ms = 8, p99_ms = 40 }
        "#;
        let scenario = Scenario::from_toml_str(text, "inline.toml").unwrap();
        let spec = &scenario.workers[0];
        let args = worker_args(0, spec, 7);
        let line = ["worker", "--listen", "127.0.0.1:0"]
            .into_iter()
            .map(String::from)
            .chain(args);
        let child = Child::try_parse_from(line).unwrap_or_else(|e| panic!("{e}"));
        let config = child.worker.into_config("unused");
        assert_eq!(config.name, "w0");
        assert_eq!(config.concurrency, 3);
        assert_eq!(config.service, spec.service_file);
        assert_eq!(config.speed, 0.5);
        assert_eq!(config.error_rate, 0.125);
        assert_eq!(config.error_mode, ErrorMode::Slow);
        assert_eq!(config.seed, Some(lb_core::scenario::worker_seed(7, 0)));
        assert!(config.fault.is_none());
        assert!(!config.cancel_abandoned);
    }

    #[test]
    fn every_service_distribution_round_trips_through_the_command_line() {
        for file in [
            ServiceFile::Constant { ms: 10.0 },
            ServiceFile::Exponential { mean_ms: 7.5 },
            ServiceFile::Lognormal {
                median_ms: 8.0,
                p99_ms: 40.0,
            },
            ServiceFile::Pareto {
                mean_ms: 10.0,
                shape: 2.5,
            },
        ] {
            assert_eq!(parse_service_spec(&service_spec(&file)), Ok(file));
        }
    }
}
