//! A probe Worker: each route drives one of the SDK's Workers adapters (`WorkerFetch`,
//! `WorkersKv`, WebCrypto, `WaitUntil`) or the whole acquire path, so `tests/workerd/` can test
//! them inside real workerd (Miniflare). Not an example: see `worker-example/` for that.
#![cfg(target_arch = "wasm32")]

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;
use std::time::Duration;

use edge_identity::platform::worker::{
    pass_on, platform, to_worker_response, WaitUntil, WorkerCoordinator, WorkerFetch, WorkersKv,
};
use edge_identity::platform::{
    Background, Coordinator, HttpClient, HttpError, KeyValueStore, PassedBodyTimeout, ResponseLimit,
};

/// The coordinator class, exported for the tests' Durable Object binding.
pub use edge_identity::platform::worker::coordinator::EdgeIdentityCoordinator;
use edge_identity::{
    AcquisitionOptions, IdentityConfig, TokenAcquirer, TokenRequest, TokenValidator,
};
use edge_identity::{SealSecret, Secret};
use serde_json::json;
use worker::{event, Context, Env, Request, Response, Result};

/// What lives as long as the isolate: the validator's key cache and the token cache.
struct State {
    validator: TokenValidator,
    acquirer: TokenAcquirer,
}

thread_local! {
    static STATE: RefCell<Option<Rc<State>>> = const { RefCell::new(None) };
}

fn fail(what: impl std::fmt::Display) -> worker::Error {
    worker::Error::RustError(what.to_string())
}

fn state(env: &Env) -> Result<Rc<State>> {
    if let Some(state) = STATE.with(|s| s.borrow().clone()) {
        return Ok(state);
    }
    let config =
        IdentityConfig::from_json(&env.var("IDENTITY_CONFIG")?.to_string()).map_err(fail)?;
    let client_secret = Secret::new(env.secret("CLIENT_SECRET")?.to_string());
    let seal =
        SealSecret::new(Secret::new(env.secret("TOKEN_CACHE_KEY")?.to_string()), "TOKEN_CACHE_KEY")
            .map_err(fail)?;
    let platform = platform(env, Some("TOKEN_CACHE"), Some(&seal)).map_err(fail)?;
    let options = AcquisitionOptions::from_config(&config)
        .and_then(|o| o.with_client_secret(client_secret, "CLIENT_SECRET"))
        .map_err(fail)?;
    let state = Rc::new(State {
        validator: TokenValidator::from_config(&config.azure_ad, platform.clone()).map_err(fail)?,
        acquirer: TokenAcquirer::new(platform, options),
    });
    STATE.with(|s| *s.borrow_mut() = Some(state.clone()));
    Ok(state)
}

#[event(fetch)]
async fn fetch(req: Request, env: Env, ctx: Context) -> Result<Response> {
    let url = req.url()?;
    let params: HashMap<String, String> = url.query_pairs().into_owned().collect();
    let param = |name: &str| params.get(name).cloned().unwrap_or_default();
    match url.path() {
        // Validate the caller's token, then acquire an OBO token for `scope`.
        "/acquire" => {
            let state = state(&env)?;
            let authorization = req.headers().get("authorization")?;
            let user = match state.validator.validate_authorization(authorization.as_deref()).await
            {
                Ok(user) => user,
                Err(e) => return to_worker_response(e.to_response()),
            };
            let acquirer = state.acquirer.with_background(Rc::new(WaitUntil::new(ctx)));
            match acquirer.token_for_user(&user, &TokenRequest::new([param("scope")])).await {
                Ok(token) => {
                    let stats = acquirer.stats();
                    Response::from_json(&json!({
                        "fromCache": token.from_cache(),
                        "tokenRequests": stats.token_requests,
                        "l1Hits": stats.cache.l1_hits,
                        "l2Hits": stats.cache.l2_hits,
                        "l2Errors": stats.cache.l2_errors,
                        "l2Reads": stats.cache.l2_reads,
                        "l2Writes": stats.cache.l2_writes,
                        "misses": stats.cache.misses,
                    }))
                }
                Err(e) => to_worker_response(e.to_response()),
            }
        }
        // One `WorkerFetch` call with a timeout, and a body limit when `max` is given.
        "/fetch" => {
            let timeout = Duration::from_millis(param("ms").parse().unwrap_or(1000));
            let mut builder = http::Request::get(param("url"));
            if let Ok(max) = param("max").parse::<usize>() {
                builder = builder.extension(ResponseLimit(max));
            }
            let request = builder.body(Vec::new()).map_err(fail)?;
            let started = now_ms();
            let outcome = WorkerFetch.send(request, timeout).await;
            let elapsed = now_ms() - started;
            Response::from_json(&match outcome {
                Ok(response) => json!({"status": response.status().as_u16(), "elapsedMs": elapsed,
                    "bytes": response.body().len()}),
                Err(HttpError::TooLarge { limit }) => json!({"error": "too_large", "limit": limit}),
                Err(HttpError::Timeout) => json!({"error": "timeout", "elapsedMs": elapsed}),
                Err(HttpError::Transport(_)) => json!({"error": "transport", "elapsedMs": elapsed}),
            })
        }
        // One `WorkerFetch::send_passing_body` with a call timeout (`ms`) and a passed body's
        // own time (`body_ms`), answered with `pass_on`: the body streams to the test as it comes.
        "/pass" => {
            let timeout = Duration::from_millis(param("ms").parse().unwrap_or(1000));
            let mut builder = http::Request::get(param("url"));
            if let Ok(body_ms) = param("body_ms").parse::<u64>() {
                builder = builder.extension(PassedBodyTimeout(Duration::from_millis(body_ms)));
            }
            let request = builder.body(Vec::new()).map_err(fail)?;
            match WorkerFetch.send_passing_body(request, timeout).await {
                Ok(response) => {
                    let (parts, body) = response.into_parts();
                    pass_on(edge_identity::PassedResponse {
                        status: parts.status,
                        headers: parts.headers,
                        body,
                        server_timing: None,
                    })
                }
                Err(HttpError::Timeout) => Response::error("timeout", 504),
                Err(_) => Response::error("failed", 502),
            }
        }
        // The coordinator's calls as the SDK makes them (`WorkerCoordinator`), through the
        // `IDENTITY_COORDINATOR` binding: `op` get, put (`expect`, `value`) or lease (`holder`).
        "/coordinator" => {
            let coordinator = WorkerCoordinator::new(env.durable_object("IDENTITY_COORDINATOR")?);
            let key = param("key");
            let ttl = Duration::from_secs(60);
            let answer = match param("op").as_str() {
                "get" => coordinator.get(&key).await.map(|v| {
                    json!({"version": v.version, "value": v.value.map(|b| String::from_utf8_lossy(&b).into_owned())})
                }),
                "put" => coordinator
                    .put(&key, param("expect").parse().unwrap_or(0), param("value").into_bytes(), ttl)
                    .await
                    .map(|v| json!({"version": v.version, "written": v.written})),
                "lease" => coordinator
                    .lease(&key, &param("holder"), ttl)
                    .await
                    .map(|granted| json!({"granted": granted})),
                _ => return Response::error("no such op", 400),
            };
            match answer {
                Ok(answer) => Response::from_json(&answer),
                Err(e) => Response::error(e.to_string(), 502),
            }
        }
        // One `WorkersKv::put` with the asked TTL (the adapter raises it to KV's minimum).
        "/kv/put" => {
            let kv = WorkersKv::new(env.kv("TOKEN_CACHE")?);
            let ttl = Duration::from_secs(param("ttl").parse().unwrap_or(60));
            match kv.put(&param("key"), param("value").into_bytes(), ttl).await {
                Ok(()) => Response::from_json(&json!({"stored": true})),
                Err(e) => Response::from_json(&json!({"stored": false, "error": e.to_string()})),
            }
        }
        // Answer at once, and write to KV afterwards through `WaitUntil`.
        "/background" => {
            let kv = WorkersKv::new(env.kv("TOKEN_CACHE")?);
            let key = param("key");
            WaitUntil::new(ctx).spawn(Box::pin(async move {
                worker::Delay::from(Duration::from_millis(100)).await;
                let _ = kv
                    .put(&key, b"written after the response".to_vec(), Duration::from_secs(60))
                    .await;
            }));
            Ok(Response::from_json(&json!({"accepted": true}))?.with_status(202))
        }
        _ => Response::error("not found", 404),
    }
}

/// `Date.now()`, in milliseconds.
fn now_ms() -> f64 {
    worker::Date::now().as_millis() as f64
}
