//! Structured events: one JSON line per decision the SDK makes (a request validated or refused,
//! a token acquired and from where, a downstream call), with the request's correlation id and
//! what it cost. Workers Logs indexes the members of a JSON line; Spin captures stderr.
//!
//! An event carries no token, secret, refresh token or claim value beyond the allow-list
//! (`Events.Claims`, `tid` by default) and a hash of `oid`. Off (the default), nothing is built:
//! every emitting site passes a closure that runs only when the event is kept.
//!
//! The same events feed counters ([`Metrics`]: on Workers, an Analytics Engine dataset) and the
//! request's own timings ([`Trace::server_timing`]: an opt-in `Server-Timing` header).

use std::borrow::Cow;
use std::rc::Rc;
use std::sync::atomic::{AtomicU64, Ordering};

use serde_json::Value;

/// How much is written (`Events.Level`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Level {
    /// Nothing.
    Off,
    /// Refusals and failures only.
    Warn,
    /// Every decision.
    Info,
}

impl Level {
    /// The name written in each event (`"warn"`, `"info"`).
    pub fn name(self) -> &'static str {
        match self {
            Level::Off => "off",
            Level::Warn => "warn",
            Level::Info => "info",
        }
    }
}

/// The resolved `Events` section.
#[derive(Debug, Clone, PartialEq)]
pub struct EventOptions {
    /// The most detailed level written.
    pub level: Level,
    /// The share of requests whose `info` events are written (0 to 1, decided per correlation
    /// id so a request's events are kept or dropped together); `warn` events always are.
    pub sample_rate: f64,
    /// The claims written verbatim with a validated request (`tid` by default). `oid` is never
    /// written, only its hash.
    pub claims: Vec<String>,
    /// Whether answers carry a `Server-Timing` header with the request's validation,
    /// token-acquisition and downstream durations (`Events.ServerTiming`, off by default: it
    /// tells every caller how long each step took).
    pub server_timing: bool,
}

impl Default for EventOptions {
    fn default() -> Self {
        EventOptions {
            level: Level::Off,
            sample_rate: 1.0,
            claims: vec!["tid".to_owned()],
            server_timing: false,
        }
    }
}

impl EventOptions {
    /// Whether an event of `level` for the request `correlation` is written.
    pub fn keeps(&self, level: Level, correlation: Option<&str>) -> bool {
        if level > self.level || level == Level::Off {
            return false;
        }
        if level == Level::Warn || self.sample_rate >= 1.0 {
            return true;
        }
        // FNV-1a of the id: the same answer for every event of one request.
        let hash = correlation.unwrap_or("").bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
        });
        #[allow(clippy::cast_precision_loss)]
        let share = (hash % 10_000) as f64 / 10_000.0;
        share < self.sample_rate
    }
}

/// One event: its name (`request.validated`, `token.acquired`, ...), level, the request's
/// correlation id, and its members.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    /// What happened.
    pub name: &'static str,
    /// `info` or `warn`.
    pub level: Level,
    /// The request's correlation id, where there is a request.
    pub correlation_id: Option<Rc<str>>,
    /// Everything else, in order.
    pub fields: Vec<(Cow<'static, str>, Value)>,
}

impl Event {
    /// A new event.
    pub fn new(name: &'static str, level: Level, correlation_id: Option<Rc<str>>) -> Event {
        Event { name, level, correlation_id, fields: Vec::with_capacity(8) }
    }

    /// The event with `name` set to `value`.
    pub fn with(mut self, name: &'static str, value: impl Into<Value>) -> Event {
        self.fields.push((Cow::Borrowed(name), value.into()));
        self
    }

    /// The event with the member `name` (named at run time: an allow-listed claim) set.
    pub fn with_owned(mut self, name: &str, value: impl Into<Value>) -> Event {
        self.fields.push((Cow::Owned(name.to_owned()), value.into()));
        self
    }

    /// The JSON line written: `{"source", "event", "level", "correlation_id", ...fields}`, one
    /// line, written straight into one string.
    pub fn to_json_line(&self) -> String {
        let mut line = String::with_capacity(160);
        line.push_str("{\"source\":\"edge-identity\",\"event\":");
        push_json(&mut line, &Value::from(self.name));
        line.push_str(",\"level\":\"");
        line.push_str(self.level.name());
        line.push('"');
        if let Some(id) = &self.correlation_id {
            line.push_str(",\"correlation_id\":");
            push_json(&mut line, &Value::from(&**id));
        }
        for (name, value) in &self.fields {
            line.push(',');
            push_json(&mut line, &Value::from(&**name));
            line.push(':');
            push_json(&mut line, value);
        }
        line.push('}');
        line
    }
}

/// What an event counts for in an operator's charts: the event, its outcome, the dimension it is
/// broken down by, and what it took. Derived from the event's own members, so counters and log
/// lines never disagree.
#[derive(Debug, Clone, PartialEq)]
pub struct Metric<'a> {
    /// The event's name (`request.refused`, `token.acquired`, ...).
    pub event: &'a str,
    /// Its outcome: the error's `code` where it has one, else the cache `tier` a token came
    /// from, else a downstream answer's status class (`2xx`, `4xx`, ...), else `warn` for a
    /// warning (`store.failed`, `keys.served_stale`), `verified_cache` for a request whose token
    /// the verified-token cache answered, and `ok` for the rest.
    pub outcome: Cow<'a, str>,
    /// What it is broken down by: the downstream API's name, the grant, the scheme a token was
    /// presented with, or the store operation; empty where none applies.
    pub dimension: &'a str,
    /// Its duration in milliseconds (the event's `*_ms` member), 0 where it has none.
    pub duration_ms: f64,
}

impl Event {
    /// The counter this event adds to ([`Metric`]).
    pub fn metric(&self) -> Metric<'_> {
        let member = |name: &str| self.fields.iter().find(|(n, _)| n == name).map(|(_, v)| v);
        let text = |name: &str| member(name).and_then(Value::as_str);
        let outcome = match (text("code"), text("tier"), member("status").and_then(Value::as_u64)) {
            (Some(code), _, _) => Cow::Borrowed(code),
            (None, Some(tier), _) => Cow::Borrowed(tier),
            (None, None, Some(status)) => Cow::Owned(format!("{}xx", status / 100)),
            (None, None, None) if self.level == Level::Warn => Cow::Borrowed("warn"),
            (None, None, None) if member("verified_cache") == Some(&Value::Bool(true)) => {
                Cow::Borrowed("verified_cache")
            }
            (None, None, None) => Cow::Borrowed("ok"),
        };
        let dimension = ["api", "grant", "scheme", "operation"]
            .iter()
            .find_map(|name| text(name))
            .unwrap_or_default();
        let duration_ms = self
            .fields
            .iter()
            .find(|(name, _)| name.ends_with("_ms"))
            .and_then(|(_, value)| value.as_f64())
            .unwrap_or(0.0);
        Metric { event: self.name, outcome, dimension, duration_ms }
    }
}

/// Where counters go: one [`Metric`] per event the SDK makes, every one of them (no level, no
/// sampling: the sink samples, as Analytics Engine does). On Workers,
/// `platform::worker::AnalyticsEngineMetrics` writes them to an Analytics Engine dataset; any
/// host may plug in its own ([`Platform::with_metrics`](crate::platform::Platform::with_metrics)).
/// A sink must never fail the request: it drops what it can't record.
pub trait Metrics {
    /// Records one counter.
    fn record(&self, metric: &Metric<'_>);
}

fn push_json(line: &mut String, value: &Value) {
    // Serialising a `Value` into a string can't fail; `null` stands in if it ever did.
    line.push_str(&serde_json::to_string(value).unwrap_or_else(|_| "null".to_owned()));
}

/// A request's trace: the correlation id its events and error body carry, and the W3C trace
/// (`traceparent`) it continues downstream. Taken from the caller's `traceparent` or
/// `client-request-id` where they are well formed, else made up. It also adds up what the
/// request's steps took, for [`server_timing`](Trace::server_timing).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Trace {
    /// The caller's `client-request-id` where it gave a usable one, else the trace id in GUID
    /// form (what Entra takes as `client-request-id`).
    pub correlation_id: String,
    /// 32 lowercase hex digits, never all zeros.
    pub trace_id: String,
    /// The W3C trace flags, 2 hex digits (`01`: sampled).
    pub flags: String,
    /// What the request's steps took so far (not part of its identity: traces compare equal
    /// whatever they measured).
    timings: Timings,
    /// Whether the request's answers carry `Server-Timing` (`Events.ServerTiming`).
    answered: bool,
}

/// The header a request's step timings are answered in (W3C Server Timing).
pub const SERVER_TIMING_HEADER: &str = "server-timing";

/// One step of a request, timed for `Server-Timing`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Validating the caller's token (`identity-validation`).
    Validation,
    /// Acquiring tokens for downstream calls (`identity-token`).
    Acquisition,
    /// Downstream calls, from sending to the answer's status (`identity-downstream`).
    Downstream,
}

impl Step {
    /// Every step, in the order `Server-Timing` names them.
    pub const ALL: [Step; 3] = [Step::Validation, Step::Acquisition, Step::Downstream];

    /// The metric name written in `Server-Timing`.
    pub fn name(self) -> &'static str {
        match self {
            Step::Validation => "identity-validation",
            Step::Acquisition => "identity-token",
            Step::Downstream => "identity-downstream",
        }
    }
}

/// Milliseconds spent per step, plus one (0: the step did not run), added to from any request
/// task holding the trace.
#[derive(Debug, Default)]
struct Timings([AtomicU64; 3]);

impl Timings {
    fn slot(&self, step: Step) -> &AtomicU64 {
        let [validation, acquisition, downstream] = &self.0;
        match step {
            Step::Validation => validation,
            Step::Acquisition => acquisition,
            Step::Downstream => downstream,
        }
    }
}

impl Clone for Timings {
    fn clone(&self) -> Self {
        let copy = Timings::default();
        for step in Step::ALL {
            copy.slot(step).store(self.slot(step).load(Ordering::Relaxed), Ordering::Relaxed);
        }
        copy
    }
}

impl PartialEq for Timings {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl Eq for Timings {}

impl Trace {
    /// The trace of a request with these header values; `random` makes the trace id where the
    /// caller gave none.
    pub fn from_headers(
        traceparent: Option<&str>,
        client_request_id: Option<&str>,
        random: [u8; 16],
    ) -> Trace {
        let client_id = client_request_id.map(str::trim).filter(|id| {
            !id.is_empty()
                && id.len() <= 64
                && id.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
        });
        let (trace_id, flags) = match traceparent.and_then(parse_traceparent) {
            Some((trace_id, flags)) => (trace_id, flags),
            None => {
                let from_client = client_id
                    .map(|id| id.replace('-', "").to_ascii_lowercase())
                    .filter(|hex| is_hex_id(hex, 32));
                (from_client.unwrap_or_else(|| hex(&random)), "00".to_owned())
            }
        };
        let correlation_id = client_id.map(str::to_owned).unwrap_or_else(|| guid(&trace_id));
        Trace { correlation_id, trace_id, flags, timings: Timings::default(), answered: false }
    }

    /// The same trace, whose answers carry `Server-Timing` where `answered` says so.
    pub fn answered_with_server_timing(mut self, answered: bool) -> Trace {
        self.answered = answered;
        self
    }

    /// Adds `millis` to what `step` took in this request.
    pub fn add_timing(&self, step: Step, millis: u64) {
        let slot = self.timings.slot(step);
        slot.fetch_max(1, Ordering::Relaxed);
        slot.fetch_add(millis, Ordering::Relaxed);
    }

    /// What `step` took in this request so far, in milliseconds; `None` where it did not run.
    pub fn step_ms(&self, step: Step) -> Option<u64> {
        self.timings.slot(step).load(Ordering::Relaxed).checked_sub(1)
    }

    /// The `Server-Timing` value (W3C Server Timing) of the steps this request ran so far,
    /// where its answers carry one: `identity-validation;dur=0, identity-token;dur=12,
    /// identity-downstream;dur=30`. Durations are the platform clock's (on Workers it advances
    /// only while the request waits for I/O, so CPU-only work reads 0).
    pub fn server_timing(&self) -> Option<String> {
        if !self.answered {
            return None;
        }
        let mut value = String::new();
        for step in Step::ALL {
            let Some(millis) = self.step_ms(step) else { continue };
            if !value.is_empty() {
                value.push_str(", ");
            }
            value.push_str(step.name());
            value.push_str(";dur=");
            value.push_str(&millis.to_string());
        }
        (!value.is_empty()).then_some(value)
    }

    /// The `traceparent` of a call this request makes, as span `span`.
    pub fn traceparent(&self, span: [u8; 8]) -> String {
        let span = if span == [0; 8] { [0, 0, 0, 0, 0, 0, 0, 1] } else { span };
        format!("00-{}-{}-{}", self.trace_id, hex(&span), self.flags)
    }

    /// The `client-request-id` Entra is sent (a GUID): the correlation id where it is one, else
    /// the trace id in GUID form. Entra returns it and logs it with the request.
    pub fn client_request_id(&self) -> String {
        let is_guid = self.correlation_id.len() == 36
            && self.correlation_id.bytes().enumerate().all(|(i, b)| match i {
                8 | 13 | 18 | 23 => b == b'-',
                _ => b.is_ascii_hexdigit(),
            });
        if is_guid {
            self.correlation_id.clone()
        } else {
            guid(&self.trace_id)
        }
    }
}

/// A 32-digit trace id in GUID form (8-4-4-4-12).
fn guid(trace_id: &str) -> String {
    let t = trace_id;
    match (t.get(0..8), t.get(8..12), t.get(12..16), t.get(16..20), t.get(20..32)) {
        (Some(a), Some(b), Some(c), Some(d), Some(e)) => format!("{a}-{b}-{c}-{d}-{e}"),
        _ => trace_id.to_owned(),
    }
}

/// A W3C `traceparent` (version 00): its trace id and flags, if it is well formed.
fn parse_traceparent(value: &str) -> Option<(String, String)> {
    let mut parts = value.trim().split('-');
    let (Some(version), Some(trace_id), Some(parent), Some(flags)) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return None;
    };
    let ok = version == "00"
        && parts.next().is_none()
        && is_hex_id(trace_id, 32)
        && is_hex_id(parent, 16)
        && flags.len() == 2
        && is_lower_hex(flags);
    ok.then(|| (trace_id.to_owned(), flags.to_owned()))
}

/// `len` lowercase hex digits, not all zeros.
fn is_hex_id(text: &str, len: usize) -> bool {
    text.len() == len && is_lower_hex(text) && text.bytes().any(|b| b != b'0')
}

fn is_lower_hex(text: &str) -> bool {
    text.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_trace_continues_the_callers_w3c_trace_context() {
        // W3C Trace Context §3.2's example header.
        let header = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
        let trace = Trace::from_headers(Some(header), None, [7; 16]);
        assert_eq!(trace.trace_id, "4bf92f3577b34da6a3ce929d0e0e4736");
        assert_eq!(trace.correlation_id, "4bf92f35-77b3-4da6-a3ce-929d0e0e4736");
        assert_eq!(
            trace.traceparent([0xab; 8]),
            "00-4bf92f3577b34da6a3ce929d0e0e4736-abababababababab-01"
        );
        assert_eq!(trace.client_request_id(), "4bf92f35-77b3-4da6-a3ce-929d0e0e4736");
        for bad in [
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
            "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
            "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-x",
            "garbage",
            "",
        ] {
            let trace = Trace::from_headers(Some(bad), None, [7; 16]);
            assert_eq!(trace.trace_id, "07".repeat(16), "{bad}");
            assert_eq!(trace.correlation_id.replace('-', ""), "07".repeat(16), "{bad}");
        }
    }

    #[test]
    fn a_client_request_id_is_the_correlation_id_when_it_is_a_plain_token() {
        let guid = "8e6c3a2b-1f4d-4c7e-9a0b-2d3e4f5a6b7c";
        let trace = Trace::from_headers(None, Some(guid), [7; 16]);
        assert_eq!(trace.correlation_id, guid);
        assert_eq!(trace.trace_id, "8e6c3a2b1f4d4c7e9a0b2d3e4f5a6b7c");
        assert_eq!(trace.client_request_id(), guid);
        let hostile = Trace::from_headers(None, Some("a\"b\nc"), [7; 16]);
        assert_eq!(hostile.correlation_id.replace('-', ""), "07".repeat(16), "never echoed");
    }

    #[test]
    fn sampling_keeps_or_drops_a_requests_info_events_together_and_every_warning() {
        let options = EventOptions { level: Level::Info, sample_rate: 0.5, ..Default::default() };
        let ids: Vec<String> = (0..2000).map(|i| format!("{i:032x}")).collect();
        let kept = ids.iter().filter(|id| options.keeps(Level::Info, Some(id))).count();
        assert!((800..1200).contains(&kept), "about half: {kept}");
        for id in &ids {
            assert_eq!(options.keeps(Level::Info, Some(id)), options.keeps(Level::Info, Some(id)));
            assert!(options.keeps(Level::Warn, Some(id)));
        }
        let warn_only = EventOptions { level: Level::Warn, ..Default::default() };
        assert!(!warn_only.keeps(Level::Info, Some("a")));
        assert!(!EventOptions::default().keeps(Level::Warn, Some("a")), "off by default");
    }

    #[test]
    fn a_metric_is_the_events_outcome_and_dimension_and_nothing_else() {
        let store = Event::new("store.failed", Level::Warn, None)
            .with("operation", "get")
            .with("reason", "KV said no");
        let metric = store.metric();
        assert_eq!((metric.outcome.as_ref(), metric.dimension), ("warn", "get"));
        let call = Event::new("downstream.call", Level::Warn, Some(Rc::from("id")))
            .with("api", "Graph")
            .with("status", 503)
            .with("downstream_ms", 41);
        let metric = call.metric();
        assert_eq!(
            (metric.event, metric.outcome.as_ref(), metric.dimension, metric.duration_ms),
            ("downstream.call", "5xx", "Graph", 41.0)
        );
        let failed = Event::new("downstream.call", Level::Warn, None)
            .with("api", "Graph")
            .with("status", Value::Null)
            .with("code", "downstream_timeout");
        assert_eq!(failed.metric().outcome, "downstream_timeout");
    }

    #[test]
    fn server_timing_names_only_the_steps_that_ran() {
        let trace = Trace::from_headers(None, None, [7; 16]);
        trace.add_timing(Step::Downstream, 30);
        assert_eq!(trace.server_timing(), None, "not answered unless asked");
        let trace = trace.answered_with_server_timing(true);
        assert_eq!(trace.server_timing().as_deref(), Some("identity-downstream;dur=30"));
        trace.add_timing(Step::Validation, 0);
        trace.add_timing(Step::Downstream, 12);
        assert_eq!(
            trace.server_timing().as_deref(),
            Some("identity-validation;dur=0, identity-downstream;dur=42")
        );
    }

    #[test]
    fn an_event_is_one_json_line() {
        let line = Event::new("request.refused", Level::Warn, Some(Rc::from("abc")))
            .with("code", "token_expired")
            .with("status", 401)
            .to_json_line();
        assert!(!line.contains('\n'));
        let value: Value = serde_json::from_str(&line).unwrap();
        assert_eq!(value["event"], "request.refused");
        assert_eq!(value["correlation_id"], "abc");
        assert_eq!(value["status"], 401);
    }
}
