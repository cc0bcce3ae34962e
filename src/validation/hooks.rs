//! Hooks where Microsoft.Identity.Web's `JwtBearerEvents` has them: after a token is validated
//! (and may still be refused: a tenant allow-list, a custom claim rule), when a request is
//! refused, and on the challenge (which may change the answer). Plain closures; unset, they
//! cost a check of an `Option` and allocate nothing.

use std::cell::RefCell;
use std::rc::Rc;

use crate::validation::authorize::ValidatedToken;
use crate::validation::challenge::Refusal;
use crate::validation::error::ValidationError;

/// A rule run on every validated token: `Err` refuses the request with that error (401, or 403
/// for a scope error; [`ValidationError::Refused`] for the host's own reasons).
pub type OnTokenValidated = Rc<dyn Fn(&ValidatedToken) -> Result<(), ValidationError>>;
/// Told of every refusal (for metrics or an audit line of the host's own).
pub type OnAuthenticationFailed = Rc<dyn Fn(&Refusal)>;
/// Given every refusal before it is answered: may change its challenges and add members to
/// its body ([`Refusal::challenges_mut`], [`Refusal::body_members_mut`]).
pub type OnChallenge = Rc<dyn Fn(&mut Refusal)>;

/// The validation hooks of a [`TokenValidator`](super::TokenValidator) (`set_hooks`) or a
/// [`WebApi`](crate::WebApi).
///
/// ```
/// use std::rc::Rc;
/// use edge_identity::{ValidationError, ValidationHooks};
///
/// // Microsoft.Identity.Web's "common tenant allow-list" rule, as a hook.
/// let allowed = ["72f988bf-86f1-41af-91ab-2d7cd011db47"];
/// let hooks = ValidationHooks {
///     on_token_validated: Some(Rc::new(move |token| match token.tenant_id() {
///         Some(tid) if allowed.contains(&tid) => Ok(()),
///         _ => Err(ValidationError::TenantNotAllowed),
///     })),
///     ..ValidationHooks::default()
/// };
/// # let _ = hooks;
/// ```
#[derive(Clone, Default)]
pub struct ValidationHooks {
    /// Run on every validated token (`OnTokenValidated`).
    pub on_token_validated: Option<OnTokenValidated>,
    /// Told of every refusal (`OnAuthenticationFailed`).
    pub on_authentication_failed: Option<OnAuthenticationFailed>,
    /// May change every refusal's answer (`OnChallenge`).
    pub on_challenge: Option<OnChallenge>,
}

impl std::fmt::Debug for ValidationHooks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ValidationHooks")
            .field("on_token_validated", &self.on_token_validated.is_some())
            .field("on_authentication_failed", &self.on_authentication_failed.is_some())
            .field("on_challenge", &self.on_challenge.is_some())
            .finish()
    }
}

/// The hooks a validator holds: set after it is built (a Worker's `WebApi` is built once per
/// isolate by `web_api(&env, ctx)`), read on every request.
#[derive(Default, Debug)]
pub(crate) struct HookSlot(RefCell<Option<Rc<ValidationHooks>>>);

impl HookSlot {
    pub(crate) fn set(&self, hooks: ValidationHooks) {
        *self.0.borrow_mut() = Some(Rc::new(hooks));
    }

    pub(crate) fn get(&self) -> Option<Rc<ValidationHooks>> {
        self.0.borrow().clone()
    }
}
