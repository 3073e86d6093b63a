//! Scenario workers as real processes: each is `lb-loadgen worker ...` (this very binary, found
//! with `std::env::current_exe`), serving [`lb_live::worker`] on 127.0.0.1, with its fault API
//! on a second listener of 127.0.0.1 (the control listener; the balancer only knows the data
//! address, so no request through it can change a worker).
//!
//! The child prints `listening on ADDR control on CONTROL_ADDR` once it accepts connections;
//! the parent reads that line. A crash (`down`) is a SIGKILL: connections are refused and work
//! in progress is lost, as in the simulator. A recovery starts a new process on the same two
//! addresses.
//!
//! No child outlives the experiment: [`WorkerPool`] kills every child when dropped (on every
//! exit path, errors and panics included), each child is spawned with `kill_on_drop`, and a
//! child exits by itself when its stdin closes, which happens when the parent dies, even by
//! SIGKILL.

use lb_core::scenario::WorkerSpec;
use lb_core::scenario::model::ServiceFile;
use lb_live::worker::{ControlArgs, WorkerArgs, WorkerState, serve, serve_control};
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
    #[error("{flag} {listen}: {source}")]
    Bind {
        /// `--listen` or `--control`.
        flag: &'static str,
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

/// Bind `listen` for `flag`, retrying for [`REBIND_FOR`] while the address is still taken (by
/// the process this one replaces); returns the listener and its address.
async fn rebind(
    flag: &'static str,
    listen: SocketAddr,
) -> Result<(tokio::net::TcpListener, SocketAddr), ProcessError> {
    let deadline = tokio::time::Instant::now() + REBIND_FOR;
    let bind_error = |source| ProcessError::Bind {
        flag,
        listen,
        source,
    };
    let listener = loop {
        match tokio::net::TcpListener::bind(listen).await {
            Ok(l) => break l,
            Err(e)
                if e.kind() == std::io::ErrorKind::AddrInUse
                    && tokio::time::Instant::now() < deadline =>
            {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            Err(source) => return Err(bind_error(source)),
        }
    };
    let addr = listener.local_addr().map_err(bind_error)?;
    Ok((listener, addr))
}

/// The child's side: bind `listen` and the control listener `control` asks for (each retried
/// for [`REBIND_FOR`] while still taken), set up the worker `args` describe (named after the
/// bound address without `--name`), print `listening on ADDR control on CONTROL_ADDR`, serve
/// until killed or until stdin closes. The control token, if any, comes from
/// `--control-token` only (not from the environment: the parent sends none).
pub async fn serve_child(
    listen: SocketAddr,
    args: WorkerArgs,
    control: ControlArgs,
) -> Result<(), ProcessError> {
    let control = control
        .settings(None)
        .map_err(|e| ProcessError::Config(e.to_string()))?
        .ok_or_else(|| {
            ProcessError::Config(
                "--control off: a scenario worker needs its control listener".into(),
            )
        })?;
    let (listener, addr) = rebind("--listen", listen).await?;
    let (control_listener, control_addr) = rebind("--control", control.addr).await?;
    let state = WorkerState::new(args.into_config(&addr.to_string()))
        .map_err(|e| ProcessError::Config(e.to_string()))?;
    tokio::spawn(serve_control(
        control_listener,
        state.clone(),
        control.token,
        std::future::pending(),
    ));
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
    println!("listening on {addr} control on {control_addr}");
    serve(listener, state, std::future::pending())
        .await
        .map_err(|e| ProcessError::Serve {
            addr,
            reason: e.to_string(),
        })
}

/// One worker: its command line, its addresses, its process while it runs.
#[derive(Debug)]
struct Worker {
    args: Vec<String>,
    addr: SocketAddr,
    control: SocketAddr,
    child: Option<Child>,
}

/// Where a started child listens: data, then control.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Listening {
    addr: SocketAddr,
    control: SocketAddr,
}

/// The child's whole command line (after the program): `worker`, its two addresses, `args`.
fn command_line(listen: Listening, args: &[String]) -> Vec<String> {
    let head = [
        "worker".to_string(),
        "--listen".into(),
        listen.addr.to_string(),
        "--control".into(),
        listen.control.to_string(),
    ];
    head.into_iter().chain(args.iter().cloned()).collect()
}

/// Read the child's ready line, `listening on ADDR control on CONTROL_ADDR`.
fn parse_ready(line: &str) -> Option<Listening> {
    let rest = line.trim().strip_prefix("listening on ")?;
    let (addr, control) = rest.split_once(" control on ")?;
    Some(Listening {
        addr: addr.parse().ok()?,
        control: control.parse().ok()?,
    })
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
    listen: Listening,
    args: &[String],
) -> Result<(Child, Listening), ProcessError> {
    let mut child = Command::new(exe)
        .args(command_line(listen, args))
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
                "exited before listening on {} ({}); see its message above",
                listen.addr,
                status.unwrap_or_else(|e| e.to_string())
            )));
        }
        Ok(Err(e)) => return Err(not_ready(format!("reading its output: {e}"))),
        Err(_) => {
            return Err(not_ready(format!(
                "did not listen on {} within {} s",
                listen.addr,
                READY_TIMEOUT.as_secs()
            )));
        }
    }
    let listening = parse_ready(&line)
        .ok_or_else(|| not_ready(format!("unexpected first line {:?}", line.trim())))?;
    Ok((child, listening))
}

impl WorkerPool {
    /// Start one process per worker spec on free ports of 127.0.0.1 (two each: data and
    /// control).
    pub async fn start(specs: &[WorkerSpec], seed: u64) -> Result<WorkerPool, ProcessError> {
        let exe = std::env::current_exe().map_err(ProcessError::Exe)?;
        let mut pool = WorkerPool {
            exe,
            workers: Vec::with_capacity(specs.len()),
        };
        let any: SocketAddr = ([127, 0, 0, 1], 0).into();
        let any = Listening {
            addr: any,
            control: any,
        };
        for (i, spec) in specs.iter().enumerate() {
            let args = worker_args(i, spec, seed);
            // On error, `pool` is dropped here and kills the workers already started.
            let (child, at) = spawn(&pool.exe, i, any, &args).await?;
            pool.workers.push(Worker {
                args,
                addr: at.addr,
                control: at.control,
                child: Some(child),
            });
        }
        Ok(pool)
    }

    /// The workers' addresses, in scenario order.
    pub fn addrs(&self) -> Vec<SocketAddr> {
        self.workers.iter().map(|w| w.addr).collect()
    }

    /// The workers' control addresses (their fault API), in scenario order.
    pub fn controls(&self) -> Vec<SocketAddr> {
        self.workers.iter().map(|w| w.control).collect()
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

    /// Start worker `i` again on its two addresses (no-op when it runs).
    pub async fn restart(&mut self, i: usize) -> Result<(), ProcessError> {
        let exe = self.exe.clone();
        let Some(w) = self.workers.get_mut(i) else {
            return Ok(());
        };
        if w.child.is_some() {
            return Ok(());
        }
        let at = Listening {
            addr: w.addr,
            control: w.control,
        };
        let (child, _) = spawn(&exe, i, at, &w.args).await?;
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

    #[derive(clap::Subcommand)]
    enum Cmd {
        Worker(Child),
    }

    #[derive(clap::Args)]
    struct Child {
        #[arg(long)]
        listen: SocketAddr,
        #[command(flatten)]
        worker: WorkerArgs,
        #[command(flatten)]
        control: ControlArgs,
    }

    #[derive(Parser)]
    struct Top {
        #[command(subcommand)]
        cmd: Cmd,
    }

    #[test]
    fn the_ready_line_gives_both_addresses() {
        let want = Listening {
            addr: "127.0.0.1:4001".parse().unwrap(),
            control: "127.0.0.1:4002".parse().unwrap(),
        };
        let line = "listening on 127.0.0.1:4001 control on 127.0.0.1:4002\n";
        assert_eq!(parse_ready(line), Some(want));
        for bad in [
            "listening on 127.0.0.1:4001",
            "listening on 127.0.0.1:4001 control on nowhere",
            "control on 127.0.0.1:4002",
        ] {
            assert_eq!(parse_ready(bad), None, "{bad}");
        }
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
        let at = Listening {
            addr: "127.0.0.1:0".parse().unwrap(),
            control: "127.0.0.1:4002".parse().unwrap(),
        };
        let line = std::iter::once("lb-loadgen".to_string()).chain(command_line(at, &args));
        let Cmd::Worker(child) = Top::try_parse_from(line)
            .unwrap_or_else(|e| panic!("{e}"))
            .cmd;
        let control = child.control.settings(None).unwrap().unwrap();
        assert_eq!((control.addr, control.token), (at.control, None));
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
