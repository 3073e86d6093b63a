//! One simulation run: a scenario, an algorithm and a seed, on virtual time.
//!
//! The loop pops the earliest event, moves virtual time to it and hands it to the model: the
//! arrival process, the core [`Balancer`] (the same code live mode runs), the workers and the
//! health prober. Request timeouts all have the same length and are set in arrival order, so
//! their deadlines are already sorted: they sit in a FIFO beside the heap instead of in it.
//!
//! The balancer is core's [`Sharded`] composition, the object live mode serves with: one shard by
//! default, or `[balancer] shards = N`, with each request given to a shard drawn at random (live
//! mode gives each client connection a shard, and an open-loop client's requests go out on
//! whichever connection is free).
//!
//! Randomness comes from separate seeded generators: arrivals, the balancer's shards, the shard
//! of each request (only drawn with more than one shard), and one per worker
//! (seeded with [`lb_core::scenario::worker_seed`]) for whether each request fails and for each
//! service time. So for one seed every algorithm sees the very same arrival times, and the k-th
//! request a worker takes gets the same draws whichever algorithm sent it there: comparisons use
//! common random numbers. A live experiment's worker processes are seeded the same way, so a
//! simulated and a live run of one seed draw the same service times too.
//!
//! `scripted` and `oracle` runs follow the scenario's `[[switches]]`: one event per switch at
//! its time, which sets the algorithm of every shard the way the engine's switches do
//! ([`Sharded::set_algorithm`]) and logs a [`Decision`] (reason `manual`: a switch decided
//! before the run, not by the engine). The oracle's schedule reaches the run that way too: the
//! simulator puts it into a copy of the scenario as its switches (`crate::oracle`).
//!
//! Overload protection is core's: the panic threshold and the admission limits of
//! `[balancer]` go to [`Sharded::set_overload`]; a request the balancer sheds
//! ([`lb_core::health::PickError::Overloaded`]) is answered at once as an error, like a 503 for
//! want of any worker.
//!
//! History, from the live/sim comparison: with one stream for every worker's error draws, the
//! failures a worker produced before outlier ejection took it out depended on the other workers'
//! draws (10 errors under one algorithm and 102 under another, same seed and fault); with one
//! stream for every service time, a live worker drew a 199 ms service time (4.6 sigma) one second
//! before a fault that the simulated worker never drew, and peak EWMA's error rate was 5.5% live
//! against 11.0% simulated.

use crate::event::{Event, EventQueue, ReqId};
use crate::record::Recorder;
use crate::worker::SimWorker;
use lb_core::engine::{Decision, DecisionEngine, Reason};
use lb_core::scenario::{ArrivalSchedule, ErrorMode, Length, Scenario, worker_seed};
use lb_core::time::Duration;
use lb_core::{Instant, Outcome, Sharded, Strategy, WorkerId};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::collections::VecDeque;

/// The result of one run.
#[derive(Debug)]
pub struct RunResult {
    /// The strategy that ran (an algorithm, or `adaptive`).
    pub strategy: Strategy,
    /// The seed.
    pub seed: u64,
    /// Measurements.
    pub recorder: Recorder,
    /// Events processed (heap events and timeouts).
    pub events: u64,
    /// Virtual time at which the last request was answered.
    pub end: Instant,
    /// The algorithm switches: the decision engine's (`adaptive`) or the script's (`scripted`,
    /// `oracle`); none for a static algorithm.
    pub decisions: Vec<Decision>,
}

/// A seeded RNG for one purpose: the stream number keeps purposes independent.
pub fn stream(seed: u64, stream: u64) -> ChaCha8Rng {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(stream);
    rng
}

const STREAM_ARRIVALS: u64 = 1;
const STREAM_BALANCER: u64 = 3;
const STREAM_SHARD_CHOICE: u64 = 4;
/// Shard `i > 0` draws from stream `STREAM_MORE_SHARDS + i` (shard 0 from `STREAM_BALANCER`).
const STREAM_MORE_SHARDS: u64 = 1_000;

/// Outcome codes carried in events.
const OK: u8 = 0;
const ERROR: u8 = 1;
const REFUSED: u8 = 2;

fn outcome(code: u8) -> Outcome {
    match code {
        OK => Outcome::Ok,
        ERROR => Outcome::Error,
        _ => Outcome::Refused,
    }
}

#[derive(Debug, Clone, Copy)]
struct Req {
    arrival: Instant,
    worker: WorkerId,
    shard: u32,
    generation: u32,
    will_fail: bool,
    /// The balancer has answered the client (response or timeout).
    client_done: bool,
    /// The worker is done with it (served, failed, refused or lost).
    worker_done: bool,
    live: bool,
}

/// Requests in flight, in reusable slots.
#[derive(Debug, Default)]
struct ReqTable {
    slots: Vec<Req>,
    free: Vec<u32>,
}

impl ReqTable {
    fn alloc(&mut self, arrival: Instant, worker: WorkerId, shard: u32) -> ReqId {
        let slot = match self.free.pop() {
            Some(s) => s,
            None => {
                self.slots.push(Req {
                    arrival,
                    worker,
                    shard,
                    generation: 0,
                    will_fail: false,
                    client_done: false,
                    worker_done: false,
                    live: false,
                });
                (self.slots.len() - 1) as u32
            }
        };
        let r = &mut self.slots[slot as usize];
        let generation = r.generation.wrapping_add(1);
        *r = Req {
            arrival,
            worker,
            shard,
            generation,
            will_fail: false,
            client_done: false,
            worker_done: false,
            live: true,
        };
        ReqId { slot, generation }
    }

    #[inline]
    fn get(&mut self, id: ReqId) -> Option<&mut Req> {
        self.slots
            .get_mut(id.slot as usize)
            .filter(|r| r.live && r.generation == id.generation)
    }

    #[inline]
    fn release_if_done(&mut self, id: ReqId) {
        if let Some(r) = self.get(id)
            && r.client_done
            && r.worker_done
        {
            r.live = false;
            self.free.push(id.slot);
        }
    }
}

struct Sim<'a> {
    sc: &'a Scenario,
    now: Instant,
    q: EventQueue,
    deadlines: VecDeque<(Instant, ReqId)>,
    timeouts: u64,
    lb: Sharded<ChaCha8Rng>,
    /// Draws the shard of each request (with more than one shard).
    shard_rng: ChaCha8Rng,
    workers: Vec<SimWorker>,
    reqs: ReqTable,
    schedule: ArrivalSchedule<'a>,
    arrival_rng: ChaCha8Rng,
    /// Each worker's own generator: failures and service times.
    worker_rngs: Vec<ChaCha8Rng>,
    rec: Recorder,
    arrivals_done: bool,
    pending: u64,
    measured_target: Option<u64>,
    tick: Duration,
    strategy: Strategy,
    /// The switches of a `scripted` or `oracle` run, as they happened.
    switched: Vec<Decision>,
}

/// Run `scenario` with `strategy` and `seed`.
pub fn run(scenario: &Scenario, strategy: Strategy, seed: u64) -> RunResult {
    let start = Instant::ZERO;
    let warmup = start + scenario.warmup;
    let (end, measured_target) = match scenario.length {
        Length::Duration(d) => (Some(start + d), None),
        Length::Requests(n) => (None, Some(n)),
    };
    let mut rec = Recorder::new(scenario.workers.len(), warmup);
    rec.set_phase_starts(crate::phase::starts(scenario));
    if let Some(e) = end {
        rec.set_measure_end(e);
    }
    let mut sim = Sim {
        sc: scenario,
        now: start,
        q: EventQueue::default(),
        deadlines: VecDeque::new(),
        timeouts: 0,
        lb: balancer(scenario, strategy, seed, start),
        shard_rng: stream(seed, STREAM_SHARD_CHOICE),
        workers: scenario.workers.iter().map(SimWorker::new).collect(),
        reqs: ReqTable::default(),
        schedule: scenario.arrivals.schedule(end),
        arrival_rng: stream(seed, STREAM_ARRIVALS),
        worker_rngs: (0..scenario.workers.len())
            .map(|w| ChaCha8Rng::seed_from_u64(worker_seed(seed, w)))
            .collect(),
        rec,
        arrivals_done: false,
        pending: 0,
        measured_target,
        tick: match strategy {
            Strategy::Adaptive => scenario.engine.tick,
            Strategy::Fixed(_) | Strategy::Scripted | Strategy::Oracle => Duration::from_secs(1),
        },
        strategy,
        switched: Vec::new(),
    };
    sim.run();
    let algorithm_name = sim.lb.algorithm().name();
    sim.rec.finish(sim.now, algorithm_name);
    let mut decisions = sim.lb.control().decisions().to_vec();
    decisions.append(&mut sim.switched);
    RunResult {
        strategy,
        seed,
        events: sim.q.processed() + sim.timeouts,
        end: sim.now,
        decisions,
        recorder: sim.rec,
    }
}

/// The balancer `scenario` asks for under `strategy`: its shards, the engine for `adaptive`, and
/// the workers labelled `w0`, `w1`, ... (worker `i` is `WorkerId::first(i)`).
fn balancer(
    scenario: &Scenario,
    strategy: Strategy,
    seed: u64,
    start: Instant,
) -> Sharded<ChaCha8Rng> {
    let engine = scenario.engine_for(strategy).map(DecisionEngine::new);
    let mut lb = Sharded::new(
        scenario.balancer_config(strategy),
        engine,
        scenario.balancer.shards,
        |i| match i {
            0 => stream(seed, STREAM_BALANCER),
            i => stream(seed, STREAM_MORE_SHARDS + i as u64),
        },
    );
    for (i, w) in scenario.workers.iter().enumerate() {
        // Labels `w{i}` are unique, so adding cannot fail.
        let added = lb.add_worker(&Scenario::worker_label(i), w.weight, (), start);
        debug_assert_eq!(added, Ok(WorkerId::first(i as u32)));
    }
    lb.set_overload(scenario.balancer.overload);
    lb
}

impl Sim<'_> {
    fn run(&mut self) {
        self.schedule_next_arrival();
        self.q.push(self.now + self.tick, Event::Tick);
        if let Some(h) = self.sc.balancer.health {
            // Spread the probes of the workers over one interval.
            let n = self.workers.len() as u64;
            for w in 0..self.workers.len() {
                let offset = Duration::from_nanos(h.interval.as_nanos() / n * w as u64);
                self.q
                    .push(self.now + offset, Event::Probe { worker: w as u32 });
            }
        }
        for (i, f) in self.sc.faults.iter().enumerate() {
            self.q.push(f.at, Event::Fault(i as u32));
        }
        if self.strategy.is_schedule() {
            for (i, s) in self.sc.switches.iter().enumerate() {
                self.q.push(s.at, Event::Switch(i as u32));
            }
        }
        loop {
            if self.finished() {
                return;
            }
            // The earlier of the next heap event and the next timeout; the heap wins ties.
            let heap_t = self.q.peek_time();
            let dl_t = self.deadlines.front().map(|d| d.0);
            match (heap_t, dl_t) {
                (None, None) => return,
                (Some(h), Some(d)) if d < h => self.on_deadline(),
                (None, Some(_)) => self.on_deadline(),
                _ => {
                    let Some((t, ev)) = self.q.pop() else { return };
                    self.advance(t);
                    self.handle(ev);
                }
            }
        }
    }

    fn finished(&self) -> bool {
        self.arrivals_done && self.pending == 0
    }

    #[inline]
    fn advance(&mut self, t: Instant) {
        self.now = t;
        self.rec.advance(t, self.lb.algorithm().name());
    }

    fn handle(&mut self, ev: Event) {
        match ev {
            Event::Arrival => self.on_arrival(),
            Event::AtWorker(id) => self.at_worker(id),
            Event::ServiceDone { worker, epoch, req } => self.on_service_done(worker, epoch, req),
            Event::AtBalancer { req, outcome } => self.at_balancer(req, outcome),
            Event::Probe { worker } => self.on_probe(worker),
            Event::ProbeResult { worker, ok } => {
                self.lb.on_probe(WorkerId::first(worker), self.now, ok);
            }
            Event::Tick => {
                self.lb.tick(self.now);
                if !self.finished() {
                    self.q.push(self.now + self.tick, Event::Tick);
                }
            }
            Event::Fault(i) => self.on_fault(i as usize),
            Event::Switch(i) => self.on_switch(i as usize),
        }
    }

    fn schedule_next_arrival(&mut self) {
        match self.schedule.next_arrival(&mut self.arrival_rng) {
            Some(t) => self.q.push(t, Event::Arrival),
            None => self.arrivals_done = true,
        }
    }

    fn on_arrival(&mut self) {
        let now = self.now;
        self.rec.on_arrival(now);
        if let Some(target) = self.measured_target
            && now >= Instant::ZERO + self.sc.warmup
            && self.rec.arrivals >= target
        {
            self.arrivals_done = true;
            self.rec.set_measure_end(now);
        } else {
            self.schedule_next_arrival();
        }
        let shards = self.lb.shard_count();
        let shard = if shards > 1 {
            self.shard_rng.random_range(0..shards)
        } else {
            0
        };
        let Ok(w) = self.lb.try_pick(shard, now) else {
            // No worker available, or the admission limits are reached: the balancer answers
            // 503 at once (an error of latency 0).
            self.rec.on_answer(now, Duration::ZERO, false, None, false);
            return;
        };
        self.pending += 1;
        self.rec.on_dispatch();
        let id = self.reqs.alloc(now, w, shard as u32);
        if let Some(t) = self.sc.balancer.timeout {
            self.deadlines.push_back((now + t, id));
        }
        let delay = self.workers[w.slot()].spec().network_delay;
        if delay.is_zero() {
            self.at_worker(id);
        } else {
            self.q.push(now + delay, Event::AtWorker(id));
        }
    }

    fn at_worker(&mut self, id: ReqId) {
        let Some(req) = self.reqs.get(id) else { return };
        let w = req.worker.slot();
        let worker = &self.workers[w];
        if worker.down {
            self.worker_answers(id, REFUSED);
            return;
        }
        if worker.error_rate > 0.0 && self.worker_rngs[w].random::<f64>() < worker.error_rate {
            match worker.error_mode {
                ErrorMode::Fast => {
                    self.worker_answers(id, ERROR);
                    return;
                }
                ErrorMode::Slow => {
                    if let Some(r) = self.reqs.get(id) {
                        r.will_fail = true;
                    }
                }
            }
        }
        if self.workers[w].has_free_slot() {
            self.start_service(w, id);
        } else {
            self.workers[w].queue.push_back(id);
        }
    }

    fn start_service(&mut self, w: usize, id: ReqId) {
        let worker = &mut self.workers[w];
        worker.in_service.push(id);
        let ms = worker.spec().service.sample_ms(&mut self.worker_rngs[w]) * worker.scale;
        let done = self.now + Duration::from_millis_f64(ms);
        self.q.push(
            done,
            Event::ServiceDone {
                worker: w as u32,
                epoch: worker.epoch,
                req: id,
            },
        );
    }

    fn on_service_done(&mut self, worker: u32, epoch: u32, id: ReqId) {
        let w = worker as usize;
        if self.workers[w].epoch != epoch || !self.workers[w].finish(id) {
            return; // The worker crashed since: this request was already lost.
        }
        let will_fail = self.reqs.get(id).is_some_and(|r| r.will_fail);
        self.worker_answers(id, if will_fail { ERROR } else { OK });
        if let Some(next) = self.workers[w].queue.pop_front() {
            self.start_service(w, next);
        }
    }

    /// The worker is done with `id`; its answer travels back to the balancer.
    fn worker_answers(&mut self, id: ReqId, code: u8) {
        let Some(req) = self.reqs.get(id) else { return };
        req.worker_done = true;
        let delay = self.workers[req.worker.slot()].spec().network_delay;
        if delay.is_zero() {
            self.at_balancer(id, code);
        } else {
            self.q.push(
                self.now + delay,
                Event::AtBalancer {
                    req: id,
                    outcome: code,
                },
            );
        }
    }

    fn at_balancer(&mut self, id: ReqId, code: u8) {
        let now = self.now;
        let Some(req) = self.reqs.get(id) else { return };
        if !req.client_done {
            req.client_done = true;
            let (arrival, w, shard) = (req.arrival, req.worker, req.shard as usize);
            let latency = now - arrival;
            let out = outcome(code);
            self.lb.on_response(shard, w, now, latency, out);
            self.pending -= 1;
            self.rec
                .on_answer(arrival, latency, out.is_ok(), Some(w.slot()), true);
        }
        self.reqs.release_if_done(id);
    }

    fn on_deadline(&mut self) {
        let Some((t, id)) = self.deadlines.pop_front() else {
            return;
        };
        self.timeouts += 1;
        let Some(req) = self.reqs.get(id) else { return };
        if req.client_done {
            return;
        }
        self.advance(t);
        let Some(req) = self.reqs.get(id) else { return };
        req.client_done = true;
        let (arrival, w, shard) = (req.arrival, req.worker, req.shard as usize);
        let latency = t - arrival;
        self.lb.on_response(shard, w, t, latency, Outcome::Timeout);
        self.pending -= 1;
        self.rec
            .on_answer(arrival, latency, false, Some(w.slot()), true);
        self.reqs.release_if_done(id);
    }

    fn on_probe(&mut self, worker: u32) {
        let Some(h) = self.sc.balancer.health else {
            return;
        };
        if !self.finished() {
            self.q.push(self.now + h.interval, Event::Probe { worker });
        }
        let w = &self.workers[worker as usize];
        let rtt = w.spec().network_delay.saturating_mul(2);
        let (ok, after) = if rtt > h.timeout {
            (false, h.timeout)
        } else {
            (!w.down, rtt)
        };
        if after.is_zero() {
            self.lb.on_probe(WorkerId::first(worker), self.now, ok);
        } else {
            self.q
                .push(self.now + after, Event::ProbeResult { worker, ok });
        }
    }

    /// Switch `i` of the script: every shard from now on, logged unless it changes nothing.
    fn on_switch(&mut self, i: usize) {
        let to = self.sc.switches[i].algorithm;
        let from = self.lb.set_algorithm(to);
        if from == to {
            return;
        }
        let at_s = self.now.as_secs_f64();
        let detail = match self.strategy {
            Strategy::Oracle => {
                format!("oracle: the best static algorithm of the phase from {at_s} s")
            }
            _ => format!("scripted: switches[{i}] at {at_s} s"),
        };
        self.switched.push(Decision {
            at: self.now,
            from,
            to,
            reason: Reason::Scripted,
            worker: None,
            value: None,
            threshold: None,
            forecast: Vec::new(),
            detail,
        });
    }

    fn on_fault(&mut self, i: usize) {
        let f = self.sc.faults[i];
        let lost = self.workers[f.worker].apply(f.action);
        for id in lost {
            self.worker_answers(id, REFUSED);
        }
    }
}
