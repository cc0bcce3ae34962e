//! `crypto.subtle.verify` awaited without `JsFuture`: the hot call of a first-sight validation.
//!
//! `JsFuture` builds two `Closure`s for every promise (each a JavaScript function registered
//! with a finalizer, and dropped again when the promise settles). Here one callback, built once
//! per isolate, receives every verdict as `(id, verdict)`; a verification waits on its id in a
//! slot table. The bench (`bash bench/run.sh`, "its WebCrypto verify call only") measures it
//! against the JavaScript floor.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

use js_sys::{Function, Object};
use wasm_bindgen::closure::Closure;
use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen::{JsCast, JsValue};
use web_sys::{CryptoKey, SubtleCrypto};

#[wasm_bindgen(
    inline_js = "export function edge_identity_verify(subtle, params, key, signature, message, id, done) {
  subtle.verify(params, key, signature, message).then((ok) => done(id, ok === true ? 1 : 0), () => done(id, 2));
}"
)]
extern "C" {
    /// Starts `verify`; `done(id, 1 | 0 | 2)` follows with valid, invalid or rejected.
    #[wasm_bindgen(catch)]
    fn edge_identity_verify(
        subtle: &SubtleCrypto,
        params: &Object,
        key: &CryptoKey,
        signature: &[u8],
        message: &[u8],
        id: u32,
        done: &Function,
    ) -> Result<(), JsValue>;
}

/// A verdict not yet collected, and the task waiting for it.
#[derive(Default)]
struct Slot {
    verdict: Option<u32>,
    waker: Option<Waker>,
}

thread_local! {
    static SLOTS: RefCell<HashMap<u32, Slot>> = RefCell::new(HashMap::new());
    static NEXT_ID: Cell<u32> = const { Cell::new(0) };
    /// The one callback every verification reports to (kept for the isolate's life).
    static DONE: Closure<dyn FnMut(u32, u32)> = Closure::new(|id: u32, verdict: u32| {
        let waker = SLOTS.with(|slots| {
            let mut slots = slots.borrow_mut();
            let slot = slots.get_mut(&id)?;
            slot.verdict = Some(verdict);
            slot.waker.take()
        });
        if let Some(waker) = waker {
            waker.wake();
        }
    });
}

/// How `verify` ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Verdict {
    /// The signature is valid.
    Valid,
    /// The signature is not valid.
    Invalid,
    /// `verify` threw or rejected.
    Failed,
}

/// `crypto.subtle.verify(params, key, signature, message)`.
pub(super) async fn verify(
    subtle: &SubtleCrypto,
    params: &Object,
    key: &CryptoKey,
    signature: &[u8],
    message: &[u8],
) -> Verdict {
    let id = NEXT_ID.with(|next| {
        let id = next.get();
        next.set(id.wrapping_add(1));
        id
    });
    SLOTS.with(|slots| slots.borrow_mut().insert(id, Slot::default()));
    let started = DONE.with(|done| {
        let done: &Function = done.as_ref().unchecked_ref();
        edge_identity_verify(subtle, params, key, signature, message, id, done)
    });
    let pending = Pending { id };
    if started.is_err() {
        return Verdict::Failed;
    }
    match pending.await {
        1 => Verdict::Valid,
        0 => Verdict::Invalid,
        _ => Verdict::Failed,
    }
}

/// Waits for the verdict of `id`; forgets the slot when dropped.
struct Pending {
    id: u32,
}

impl Future for Pending {
    type Output = u32;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<u32> {
        SLOTS.with(|slots| {
            let mut slots = slots.borrow_mut();
            match slots.get_mut(&self.id) {
                Some(Slot { verdict: Some(verdict), .. }) => Poll::Ready(*verdict),
                Some(slot) => {
                    slot.waker = Some(cx.waker().clone());
                    Poll::Pending
                }
                // Only `Drop` removes a slot, so this is not reached; answer "failed".
                None => Poll::Ready(2),
            }
        })
    }
}

impl Drop for Pending {
    fn drop(&mut self) {
        SLOTS.with(|slots| slots.borrow_mut().remove(&self.id));
    }
}
