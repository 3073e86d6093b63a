//! Every seed of every target through its harness, on stable: the seed corpora stay valid
//! inputs, and whatever a fuzz run found and was fixed stays fixed once its input is added to
//! `fuzz/seeds/TARGET/`.

use std::path::{Path, PathBuf};

fn files(dir: &Path, out: &mut Vec<PathBuf>) {
    let entries = std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    for entry in entries {
        let path = entry.expect("a directory entry").path();
        if path.is_dir() {
            files(&path, out);
        } else {
            out.push(path);
        }
    }
    out.sort();
}

fn seeds(target: &str) -> Vec<PathBuf> {
    let mut out = Vec::new();
    files(
        &Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("seeds")
            .join(target),
        &mut out,
    );
    assert!(!out.is_empty(), "no seeds for {target}");
    out
}

fn replay(paths: &[PathBuf], harness: fn(&[u8])) {
    for p in paths {
        let data = std::fs::read(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
        eprintln!("{}", p.display());
        harness(&data);
    }
}

#[test]
fn scenario_seeds_and_every_experiment_file() {
    let mut paths = seeds("scenario");
    let experiments = Path::new(env!("CARGO_MANIFEST_DIR")).join("../experiments");
    let mut tomls = Vec::new();
    files(&experiments, &mut tomls);
    tomls.retain(|p| p.extension().is_some_and(|e| e == "toml"));
    assert!(
        tomls.len() > 10,
        "experiments/ should hold the scenario files"
    );
    paths.extend(tomls);
    replay(&paths, lb_fuzz::scenario::run);
}

#[test]
fn admin_json_seeds() {
    replay(&seeds("admin_json"), lb_fuzz::admin::run);
}

#[test]
fn worker_fault_seeds() {
    replay(&seeds("worker_fault"), lb_fuzz::fault::run);
}

#[test]
fn proxy_http1_seeds() {
    replay(&seeds("proxy_http1"), lb_fuzz::proxy::run);
}

#[test]
fn admin_requests_are_built_as_described() {
    let req = lb_fuzz::admin::request(b"\x02\x03{\"addr\":\"127.0.0.1:1\"}").expect("a request");
    assert_eq!(req.method(), "POST");
    assert_eq!(req.uri(), "/admin/workers");
    assert_eq!(req.headers()["content-type"], "application/json");
    assert_eq!(req.headers()["authorization"], "Bearer fuzz-token");
    let req = lb_fuzz::admin::request(b"\x03\x04/admin/x\nrest").expect("a request");
    assert_eq!(req.uri(), "/admin/x");
    assert!(lb_fuzz::admin::request(b"\x03\x04not a path\n").is_none());
    assert!(lb_fuzz::admin::request(b"").is_none());
}
