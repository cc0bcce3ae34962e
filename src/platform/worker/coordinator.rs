//! The coordinator: a Durable Object that holds what Workers KV can't keep consistent across
//! locations (issue 20). KV is eventually consistent (a write can take 60 s or more to show
//! elsewhere, the last writer wins, there is no compare-and-swap); a Durable Object is one
//! single-threaded instance per name with transactional storage, so a read followed by a write
//! inside one of its requests is atomic (no other request is delivered while it awaits its own
//! storage: the runtime's input gates).
//!
//! What it keeps is deliberately small: **versioned values** (a compare-and-swap on a version
//! that only ever grows) and **leases** (one holder per key until a deadline). The values are
//! opaque to it: the SDK seals them (`SealedStore`) before they leave the isolate, with the key
//! as associated data, so the object's storage holds no token or refresh token in clear. The
//! SDK picks one object per key (`id_from_name(key)`: one per session, one per token being
//! acquired), never one global object, so load spreads across objects and locations.
//!
//! The protocol is JSON over the stub's `fetch` (workers-rs 0.8.7 has no RPC methods on a Rust
//! class): `POST https://coordinator/v1` with one call (`get`, `put`, `lease` or `release`,
//! tagged by `op`), answered by one JSON answer (`version`, `value`, `ok`). A call the object does
//! not understand (another protocol version) answers 400, and the SDK falls back.

use wasm_bindgen::JsCast as _;
use worker::{DurableObject, Env, Request, Response, Result, State};

#[wasm_bindgen::prelude::wasm_bindgen(inline_js = r#"
export async function coordinatorObject(storage, request) {
  if (new URL(request.url).pathname !== '/v1') {
    return new Response('unknown coordinator protocol', { status: 400 });
  }
  let call;
  try {
    call = await request.json();
  } catch {
    return new Response('not a coordinator call', { status: 400 });
  }
  const key = String(call?.key ?? '');
  const now = Date.now();
  const live = (entry) => (entry && entry.expiresAtMs > now ? entry.value : null);
  // Between a get and its put no other request is delivered to this object (input gates): each
  // branch is atomic.
  switch (call?.op) {
    case 'get': {
      const entry = await storage.get(`v:${key}`);
      return Response.json({ version: entry?.version ?? 0, value: live(entry), ok: true });
    }
    case 'put': {
      const entry = await storage.get(`v:${key}`);
      const version = entry?.version ?? 0;
      if (version !== call.expect) return Response.json({ version, value: live(entry), ok: false });
      const ttl = Math.max(0, Number(call.ttl_ms) || 0);
      await storage.put(`v:${key}`, { version: version + 1, value: String(call.value ?? ''), expiresAtMs: now + ttl });
      return Response.json({ version: version + 1, value: null, ok: true });
    }
    case 'lease': {
      const held = await storage.get(`l:${key}`);
      const free = !held || held.untilMs <= now || held.holder === call.holder;
      if (free) {
        const ttl = Math.max(0, Number(call.ttl_ms) || 0);
        await storage.put(`l:${key}`, { holder: String(call.holder ?? ''), untilMs: now + ttl });
      }
      return Response.json({ version: 0, value: null, ok: free });
    }
    case 'release': {
      const held = await storage.get(`l:${key}`);
      if (held && held.holder === call.holder) await storage.delete(`l:${key}`);
      return Response.json({ version: 0, value: null, ok: true });
    }
    default:
      return new Response('unknown coordinator call', { status: 400 });
  }
}
"#)]
extern "C" {
    /// Answers one protocol-v1 request with the object's `storage`. The object's logic is
    /// this one JavaScript function: written in Rust over workers-rs's storage and request
    /// wrappers, it cost the Worker's upload 17 KB gzipped; here it costs under 1 KB.
    #[wasm_bindgen::prelude::wasm_bindgen(js_name = coordinatorObject)]
    fn coordinator_object(
        storage: &wasm_bindgen::JsValue,
        request: &web_sys::Request,
    ) -> js_sys::Promise;
}

pub use class::EdgeIdentityCoordinator;

/// The class itself: `#[durable_object]` generates its wasm-bindgen constructor and `fetch`,
/// which carry no documentation of their own.
#[allow(missing_docs)]
mod class {
    use worker::{durable_object, State};

    /// The Durable Object class. Export it from the Worker (`pub use
    /// edge_identity::platform::worker::coordinator::EdgeIdentityCoordinator;`) and bind a
    /// namespace of it as `IDENTITY_COORDINATOR` (see the example's `wrangler.toml`):
    /// `web_api(&env, ctx)` then uses it.
    #[durable_object(fetch)]
    pub struct EdgeIdentityCoordinator {
        pub(super) state: State,
    }
}

impl DurableObject for class::EdgeIdentityCoordinator {
    fn new(state: State, _env: Env) -> Self {
        class::EdgeIdentityCoordinator { state }
    }

    async fn fetch(&self, req: Request) -> Result<Response> {
        let storage = self.state.storage();
        let raw: &wasm_bindgen::JsValue = storage.as_raw().as_ref();
        let answer = wasm_bindgen_futures::JsFuture::from(coordinator_object(raw, req.inner()))
            .await
            .map_err(worker::Error::from)?;
        let answer: web_sys::Response = answer.dyn_into().map_err(worker::Error::from)?;
        Ok(Response::from(answer))
    }
}
