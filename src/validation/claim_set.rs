//! The members of a token's header and payload that the SDK reads, taken in one pass over the
//! JSON without building a map of every member.
//!
//! An Entra access token carries some thirty claims, of which the validator and
//! [`ValidatedToken`](super::authorize::ValidatedToken) read about fifteen. Building a
//! `serde_json` map of all of them (a key and a value allocated per member, a tree to insert
//! into) was the larger part of parsing a token; here the members read are kept and the others
//! are skipped. Skipped is not unchecked: every value is still parsed as JSON and every member
//! name still counts for the repeated-member rule, so a payload is accepted exactly when the
//! map parser ([`Jws::claims`](super::parse::Jws::claims)) accepts it, with the same error.
//! A property test in `parse.rs` holds the readers to that on generated input.
//!
//! Values are kept loosely typed ([`Loose`]): a claim of the wrong type is an error of that
//! claim where a rule reads it (after the signature), as it was with the map.

use std::borrow::Cow;
use std::collections::BTreeSet;
use std::fmt;

use serde::de::{
    Deserialize, DeserializeSeed, Deserializer, Error as _, MapAccess, SeqAccess, Visitor,
};
use serde_json::Value;

/// A member's value, as far as a rule can use it.
#[derive(Clone, PartialEq)]
pub(crate) enum Loose {
    /// A JSON string.
    Str(String),
    /// A JSON number, as `serde_json::Value::as_f64` gives it.
    Num(f64),
    /// A JSON array.
    List(Vec<Loose>),
    /// `true`, `false`, `null` or an object.
    Other,
}

impl Loose {
    /// The string, if it is one.
    pub(crate) fn as_str(&self) -> Option<&str> {
        match self {
            Loose::Str(s) => Some(s),
            _ => None,
        }
    }

    /// The strings of an array (other elements skipped), or nothing if it is not an array.
    pub(crate) fn strings(&self) -> impl Iterator<Item = &str> {
        let items = match self {
            Loose::List(items) => items.as_slice(),
            _ => &[],
        };
        items.iter().filter_map(Loose::as_str)
    }
}

impl<'de> Deserialize<'de> for Loose {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(LooseVisitor)
    }
}

struct LooseVisitor;

impl<'de> Visitor<'de> for LooseVisitor {
    type Value = Loose;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_bool<E>(self, _: bool) -> Result<Loose, E> {
        Ok(Loose::Other)
    }
    fn visit_i64<E>(self, v: i64) -> Result<Loose, E> {
        Ok(Loose::Num(v as f64))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Loose, E> {
        Ok(Loose::Num(v as f64))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Loose, E> {
        Ok(Loose::Num(v))
    }
    fn visit_str<E>(self, v: &str) -> Result<Loose, E> {
        Ok(Loose::Str(v.to_owned()))
    }
    fn visit_string<E>(self, v: String) -> Result<Loose, E> {
        Ok(Loose::Str(v))
    }
    fn visit_unit<E>(self) -> Result<Loose, E> {
        Ok(Loose::Other)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Loose, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element::<Loose>()? {
            items.push(item);
        }
        Ok(Loose::List(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Loose, A::Error> {
        SkipVisitor.visit_map(map).map(|Skip| Loose::Other)
    }
}

/// A value parsed as `serde_json::Value` parses it (numbers in range, strings with valid escapes,
/// nesting within serde_json's limit) and then dropped, without allocating. `IgnoredAny` would
/// be faster but only skips the text: it lets through what the map parser refuses, such as
/// `1e400`.
struct Skip;

impl<'de> Deserialize<'de> for Skip {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(SkipVisitor)
    }
}

struct SkipVisitor;

impl<'de> Visitor<'de> for SkipVisitor {
    type Value = Skip;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_bool<E>(self, _: bool) -> Result<Skip, E> {
        Ok(Skip)
    }
    fn visit_i64<E>(self, _: i64) -> Result<Skip, E> {
        Ok(Skip)
    }
    fn visit_u64<E>(self, _: u64) -> Result<Skip, E> {
        Ok(Skip)
    }
    fn visit_f64<E>(self, _: f64) -> Result<Skip, E> {
        Ok(Skip)
    }
    fn visit_str<E>(self, _: &str) -> Result<Skip, E> {
        Ok(Skip)
    }
    fn visit_unit<E>(self) -> Result<Skip, E> {
        Ok(Skip)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Skip, A::Error> {
        while seq.next_element::<Skip>()?.is_some() {}
        Ok(Skip)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Skip, A::Error> {
        // A nested object: its repeated names are not refused, as `Value` keeps the last.
        while map.next_entry::<Skip, Skip>()?.is_some() {}
        Ok(Skip)
    }
}

/// A member name, borrowed from the input unless it had escapes.
struct Name<'de>(Cow<'de, str>);

impl<'de> Deserialize<'de> for Name<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct NameVisitor;
        impl<'de> Visitor<'de> for NameVisitor {
            type Value = Name<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a member name")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Name<'de>, E> {
                Ok(Name(Cow::Borrowed(v)))
            }
            fn visit_str<E>(self, v: &str) -> Result<Name<'de>, E> {
                Ok(Name(Cow::Owned(v.to_owned())))
            }
            fn visit_string<E>(self, v: String) -> Result<Name<'de>, E> {
                Ok(Name(Cow::Owned(v)))
            }
        }
        deserializer.deserialize_str(NameVisitor)
    }
}

/// Walks an object's members: `take` reads the value of each (it must consume it), and a name
/// seen before is an error raised after its value is parsed, as the map parser raises it.
fn walk_object<'de, A: MapAccess<'de>>(
    mut access: A,
    mut take: impl FnMut(&str, &mut A) -> Result<(), A::Error>,
) -> Result<(), A::Error> {
    let mut seen = SeenNames::default();
    while let Some(Name(name)) = access.next_key::<Name<'de>>()? {
        take(&name, &mut access)?;
        if !seen.insert(name) {
            return Err(A::Error::custom("repeated member"));
        }
    }
    Ok(())
}

/// How many names are compared one by one before the rest go into a tree.
const FEW_NAMES: usize = 64;

/// The member names of one object so far. A token's thirty-odd claims are compared by length
/// and first eight bytes, which needs no allocation per name and no call per comparison; past
/// [`FEW_NAMES`] (only a hostile payload has that many) the names move to a tree, so a 16 KB
/// payload of tiny members costs `n log n`, not `n²`.
#[derive(Default)]
struct SeenNames<'de> {
    few: Vec<((usize, u64), Cow<'de, str>)>,
    many: BTreeSet<Cow<'de, str>>,
}

impl<'de> SeenNames<'de> {
    /// Adds `name`; `false` if it was there already.
    fn insert(&mut self, name: Cow<'de, str>) -> bool {
        if self.many.is_empty() && self.few.len() < FEW_NAMES {
            let print = fingerprint(&name);
            if self.few.iter().any(|(p, seen)| *p == print && *seen == name) {
                return false;
            }
            self.few.push((print, name));
            return true;
        }
        if self.many.is_empty() {
            self.many.extend(self.few.drain(..).map(|(_, seen)| seen));
        }
        self.many.insert(name)
    }
}

/// A name's length and first eight bytes: equal names have equal fingerprints.
fn fingerprint(name: &str) -> (usize, u64) {
    let mut first = [0u8; 8];
    for (slot, byte) in first.iter_mut().zip(name.bytes()) {
        *slot = byte;
    }
    (name.len(), u64::from_le_bytes(first))
}

/// The protected header members the SDK reads (RFC 7515 §4.1), loosely typed; `parse` decides.
#[derive(Default)]
pub(crate) struct HeaderMembers {
    pub(crate) alg: Option<Loose>,
    pub(crate) kid: Option<Loose>,
    pub(crate) typ: Option<Loose>,
    /// `crit`, kept whole for its own rules.
    pub(crate) crit: Option<Value>,
    /// Which of `jwk`, `x5c`, `jku`, `x5u` are present.
    pub(crate) key_members: Vec<&'static str>,
}

/// Header members that would make the token carry or point at its own key.
pub(crate) const KEY_CARRYING_MEMBERS: [&str; 4] = ["jwk", "x5c", "jku", "x5u"];

impl<'de> Deserialize<'de> for HeaderMembers {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct HeaderVisitor;
        impl<'de> Visitor<'de> for HeaderVisitor {
            type Value = HeaderMembers;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, access: A) -> Result<HeaderMembers, A::Error> {
                let mut header = HeaderMembers::default();
                walk_object(access, |name, access| {
                    match name {
                        "alg" => header.alg = Some(access.next_value()?),
                        "kid" => header.kid = Some(access.next_value()?),
                        "typ" => header.typ = Some(access.next_value()?),
                        "crit" => header.crit = Some(access.next_value()?),
                        _ => {
                            if let Some(member) = KEY_CARRYING_MEMBERS.iter().find(|m| **m == name)
                            {
                                header.key_members.push(member);
                            }
                            access.next_value::<Skip>()?;
                        }
                    }
                    Ok(())
                })?;
                Ok(header)
            }
        }
        deserializer.deserialize_map(HeaderVisitor)
    }
}

/// The claims the validator checks and a [`ValidatedToken`](super::authorize::ValidatedToken)
/// answers from; `None` where the payload does not have the member.
#[derive(Default, Clone)]
pub(crate) struct ClaimSet {
    pub(crate) iss: Option<Loose>,
    pub(crate) sub: Option<Loose>,
    pub(crate) aud: Option<Loose>,
    pub(crate) exp: Option<Loose>,
    pub(crate) nbf: Option<Loose>,
    pub(crate) iat: Option<Loose>,
    /// Entra's tenant.
    pub(crate) tid: Option<Loose>,
    /// Entra's object id.
    pub(crate) oid: Option<Loose>,
    /// Entra's token version.
    pub(crate) ver: Option<Loose>,
    /// Delegated scopes: a space-separated string (Entra) or an array (some providers).
    pub(crate) scp: Option<Loose>,
    /// RFC 8693 / RFC 9068 scopes, space-separated.
    pub(crate) scope: Option<Loose>,
    pub(crate) roles: Option<Loose>,
    /// Entra's optional token-type claim (`app`, `user`).
    pub(crate) idtyp: Option<Loose>,
    /// The `typ` claim (Keycloak marks ID tokens `ID`).
    pub(crate) typ: Option<Loose>,
    /// The client the token was issued to: `azp` (v2.0), `appid` (v1.0).
    pub(crate) azp: Option<Loose>,
    pub(crate) appid: Option<Loose>,
    /// Members only ID tokens have (presence is what counts).
    pub(crate) nonce: bool,
    pub(crate) at_hash: bool,
    pub(crate) c_hash: bool,
    /// A confirmation claim (RFC 7800 `cnf`: DPoP's `jkt`, mutual TLS's `x5t#S256`): the token is
    /// bound to a key its sender must prove, so it is no bearer token. Present whatever its
    /// shape; `jkt` read when it is a string (RFC 9449 §6.1).
    pub(crate) cnf: Option<Confirmation>,
    /// What other providers mark their tokens with (see `provider.rs`), boxed and allocated only
    /// when the token has one of them: an Entra token carries none, and keeps the set small.
    pub(crate) extra: Option<Box<ProviderClaims>>,
}

/// A token's `cnf` claim (RFC 7800): what the SDK reads of the key it is bound to.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct Confirmation {
    /// The RFC 7638 SHA-256 thumbprint of the DPoP key (`cnf.jkt`), if the claim carries one.
    pub(crate) jkt: Option<String>,
}

/// The members only other providers than Entra put in their tokens.
#[derive(Default, Clone)]
pub(crate) struct ProviderClaims {
    /// RFC 9068 / RFC 8693 `client_id` (also Cognito's and Keycloak's service accounts).
    pub(crate) client_id: Option<Loose>,
    /// Keycloak's older spelling of the service account's client (`clientId`).
    pub(crate) client_id_legacy: bool,
    /// Auth0's grant type (`client-credentials`).
    pub(crate) gty: Option<Loose>,
    /// Okta's client id.
    pub(crate) cid: Option<Loose>,
    /// Auth0's RBAC permissions (an array).
    pub(crate) permissions: Option<Loose>,
    /// Okta's groups (an array).
    pub(crate) groups: Option<Loose>,
    /// Cognito's `cognito:groups` (an array).
    pub(crate) cognito_groups: Option<Loose>,
    /// Cognito's `username`: user tokens have it.
    pub(crate) username: Option<Loose>,
    /// Cognito's `token_use` (`access`, `id`).
    pub(crate) token_use: Option<Loose>,
    /// Cloudflare Access's `type` (`app`, `org`).
    pub(crate) kind: Option<Loose>,
    /// Cloudflare Access's service-token name: present only in service-token tokens.
    pub(crate) common_name: Option<Loose>,
    /// Keycloak's `preferred_username` (`service-account-…` for service accounts).
    pub(crate) preferred_username: Option<Loose>,
    /// Keycloak's `realm_access.roles`.
    pub(crate) realm_roles: Vec<String>,
    /// Keycloak's `resource_access`: each client's `roles`.
    pub(crate) client_roles: Vec<(String, Vec<String>)>,
}

/// No provider member at all.
static NO_PROVIDER_CLAIMS: ProviderClaims = ProviderClaims {
    client_id: None,
    client_id_legacy: false,
    gty: None,
    cid: None,
    permissions: None,
    groups: None,
    cognito_groups: None,
    username: None,
    token_use: None,
    kind: None,
    common_name: None,
    preferred_username: None,
    realm_roles: Vec::new(),
    client_roles: Vec::new(),
};

/// The strings of `{"roles": [...]}` (Keycloak's `realm_access` and each `resource_access` entry).
fn role_names(value: &Value) -> Vec<String> {
    value
        .get("roles")
        .and_then(Value::as_array)
        .map(|roles| roles.iter().filter_map(Value::as_str).map(str::to_owned).collect())
        .unwrap_or_default()
}

impl ClaimSet {
    /// The space-separated words of a string claim (none if it is absent or not a string).
    pub(crate) fn words(claim: &Option<Loose>) -> impl Iterator<Item = &str> {
        ClaimSet::str_of(claim).unwrap_or("").split(' ').filter(|s| !s.is_empty())
    }

    /// Every scope the token names, wherever it names them: Entra's `scp` (space-separated),
    /// an `scp` array (Okta), and RFC 8693 / RFC 9068's `scope` (space-separated).
    pub(crate) fn scope_words(&self) -> impl Iterator<Item = &str> {
        let scp_array = self.scp.iter().flat_map(Loose::strings);
        Self::words(&self.scp).chain(scp_array).chain(Self::words(&self.scope))
    }

    /// The other providers' members (all absent for an Entra token).
    pub(crate) fn extra(&self) -> &ProviderClaims {
        self.extra.as_deref().unwrap_or(&NO_PROVIDER_CLAIMS)
    }

    /// A string claim that is a string.
    pub(crate) fn str_of(claim: &Option<Loose>) -> Option<&str> {
        claim.as_ref().and_then(Loose::as_str)
    }
}

/// A payload member the SDK may read, found from its name without comparing it to every name
/// in turn: names of up to eight bytes (every Entra claim the validator reads) are compared as
/// one integer, longer ones only against the names of their length.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Member {
    Iss,
    Sub,
    Aud,
    Exp,
    Nbf,
    Iat,
    Tid,
    Oid,
    Ver,
    Scp,
    Scope,
    Roles,
    Idtyp,
    Typ,
    Azp,
    Appid,
    Nonce,
    AtHash,
    CHash,
    Cnf,
    // Other providers' members (see `provider.rs`), kept only for the provider that reads them.
    ClientId,
    ClientIdLegacy,
    Gty,
    Cid,
    Permissions,
    Groups,
    CognitoGroups,
    Username,
    TokenUse,
    Kind,
    CommonName,
    PreferredUsername,
    RealmAccess,
    ResourceAccess,
    /// Any other member: parsed and dropped.
    Other,
}

/// A name of up to eight bytes as one integer (its bytes, little-endian, zero-padded); the
/// length is part of the comparison, so names with trailing NUL bytes never collide.
const fn packed(name: &[u8]) -> u64 {
    let mut key = 0u64;
    let mut shift = 0;
    let mut rest = name;
    while let [first, tail @ ..] = rest {
        if shift < 64 {
            key |= (*first as u64) << shift;
        }
        shift += 8;
        rest = tail;
    }
    key
}

impl Member {
    fn of(name: &str) -> Member {
        use Member::*;
        let bytes = name.as_bytes();
        if bytes.len() <= 8 {
            // Built at compile time from the literals: equal names, equal integers.
            const ISS: u64 = packed(b"iss");
            const SUB: u64 = packed(b"sub");
            const AUD: u64 = packed(b"aud");
            const EXP: u64 = packed(b"exp");
            const NBF: u64 = packed(b"nbf");
            const IAT: u64 = packed(b"iat");
            const TID: u64 = packed(b"tid");
            const OID: u64 = packed(b"oid");
            const VER: u64 = packed(b"ver");
            const SCP: u64 = packed(b"scp");
            const SCOPE: u64 = packed(b"scope");
            const ROLES: u64 = packed(b"roles");
            const IDTYP: u64 = packed(b"idtyp");
            const TYP: u64 = packed(b"typ");
            const AZP: u64 = packed(b"azp");
            const APPID: u64 = packed(b"appid");
            const NONCE: u64 = packed(b"nonce");
            const AT_HASH: u64 = packed(b"at_hash");
            const C_HASH: u64 = packed(b"c_hash");
            const CNF: u64 = packed(b"cnf");
            const CLIENT_ID_LEGACY: u64 = packed(b"clientId");
            const GTY: u64 = packed(b"gty");
            const CID: u64 = packed(b"cid");
            const GROUPS: u64 = packed(b"groups");
            const USERNAME: u64 = packed(b"username");
            const TYPE: u64 = packed(b"type");
            if bytes.contains(&0) {
                return Other;
            }
            return match packed(bytes) {
                ISS => Iss,
                SUB => Sub,
                AUD => Aud,
                EXP => Exp,
                NBF => Nbf,
                IAT => Iat,
                TID => Tid,
                OID => Oid,
                VER => Ver,
                SCP => Scp,
                SCOPE => Scope,
                ROLES => Roles,
                IDTYP => Idtyp,
                TYP => Typ,
                AZP => Azp,
                APPID => Appid,
                NONCE => Nonce,
                AT_HASH => AtHash,
                C_HASH => CHash,
                CNF => Cnf,
                CLIENT_ID_LEGACY => ClientIdLegacy,
                GTY => Gty,
                CID => Cid,
                GROUPS => Groups,
                USERNAME => Username,
                TYPE => Kind,
                _ => Other,
            };
        }
        match (bytes.len(), name) {
            (9, "client_id") => ClientId,
            (9, "token_use") => TokenUse,
            (11, "permissions") => Permissions,
            (11, "common_name") => CommonName,
            (12, "realm_access") => RealmAccess,
            (14, "cognito:groups") => CognitoGroups,
            (15, "resource_access") => ResourceAccess,
            (18, "preferred_username") => PreferredUsername,
            _ => Other,
        }
    }

    /// Whether a token read with `kept` keeps this member.
    fn kept_for(self, kept: KeptClaims) -> bool {
        use Member::*;
        match self {
            ClientId => kept.client_id,
            ClientIdLegacy | PreferredUsername | RealmAccess | ResourceAccess => kept.keycloak,
            Gty | Permissions => kept.auth0,
            Cid | Groups => kept.okta,
            CognitoGroups | Username | TokenUse => kept.cognito,
            Kind | CommonName => kept.access,
            _ => true,
        }
    }
}

/// Which providers' own members a read keeps, besides the registered and Entra claims every
/// read keeps. A provider says which it reads ([`Provider::kept_claims`](super::provider)).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct KeptClaims {
    /// `client_id` (RFC 9068, Auth0's RFC 9068 profile, Keycloak, Cognito).
    pub(crate) client_id: bool,
    /// Keycloak's service-account and role members.
    pub(crate) keycloak: bool,
    /// Auth0's `gty` and `permissions`.
    pub(crate) auth0: bool,
    /// Okta's `cid` and `groups`.
    pub(crate) okta: bool,
    /// Cognito's `cognito:groups`, `username` and `token_use`.
    pub(crate) cognito: bool,
    /// Cloudflare Access's `type` and `common_name`.
    pub(crate) access: bool,
}

impl KeptClaims {
    /// Every provider's members.
    pub(crate) const ALL: KeptClaims = KeptClaims {
        client_id: true,
        keycloak: true,
        auth0: true,
        okta: true,
        cognito: true,
        access: true,
    };
}

/// Reads a payload into a [`ClaimSet`], keeping the providers' members in [`KeptClaims`]; the
/// others are parsed and dropped like any unread member, so an Entra token costs no allocation
/// for, say, its `groups`.
#[derive(Clone, Copy)]
pub(crate) struct ClaimSetFor(pub(crate) KeptClaims);

impl<'de> DeserializeSeed<'de> for ClaimSetFor {
    type Value = ClaimSet;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<ClaimSet, D::Error> {
        struct ClaimsVisitor(KeptClaims);
        impl<'de> Visitor<'de> for ClaimsVisitor {
            type Value = ClaimSet;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, access: A) -> Result<ClaimSet, A::Error> {
                let kept = self.0;
                let mut c = ClaimSet::default();
                walk_object(access, |name, access| {
                    let member = Member::of(name);
                    if !member.kept_for(kept) {
                        access.next_value::<Skip>()?;
                        return Ok(());
                    }
                    let slot = match member {
                        Member::Iss => &mut c.iss,
                        Member::Sub => &mut c.sub,
                        Member::Aud => &mut c.aud,
                        Member::Exp => &mut c.exp,
                        Member::Nbf => &mut c.nbf,
                        Member::Iat => &mut c.iat,
                        Member::Tid => &mut c.tid,
                        Member::Oid => &mut c.oid,
                        Member::Ver => &mut c.ver,
                        Member::Scp => &mut c.scp,
                        Member::Scope => &mut c.scope,
                        Member::Roles => &mut c.roles,
                        Member::Idtyp => &mut c.idtyp,
                        Member::Typ => &mut c.typ,
                        Member::Azp => &mut c.azp,
                        Member::Appid => &mut c.appid,
                        Member::ClientId => {
                            &mut c.extra.get_or_insert_with(Default::default).client_id
                        }
                        Member::Gty => &mut c.extra.get_or_insert_with(Default::default).gty,
                        Member::Cid => &mut c.extra.get_or_insert_with(Default::default).cid,
                        Member::Permissions => {
                            &mut c.extra.get_or_insert_with(Default::default).permissions
                        }
                        Member::Groups => &mut c.extra.get_or_insert_with(Default::default).groups,
                        Member::CognitoGroups => {
                            &mut c.extra.get_or_insert_with(Default::default).cognito_groups
                        }
                        Member::Username => {
                            &mut c.extra.get_or_insert_with(Default::default).username
                        }
                        Member::TokenUse => {
                            &mut c.extra.get_or_insert_with(Default::default).token_use
                        }
                        Member::Kind => &mut c.extra.get_or_insert_with(Default::default).kind,
                        Member::CommonName => {
                            &mut c.extra.get_or_insert_with(Default::default).common_name
                        }
                        Member::PreferredUsername => {
                            &mut c.extra.get_or_insert_with(Default::default).preferred_username
                        }
                        Member::RealmAccess => {
                            let value: Value = access.next_value()?;
                            c.extra.get_or_insert_with(Default::default).realm_roles =
                                role_names(&value);
                            return Ok(());
                        }
                        Member::Cnf => {
                            let value: Value = access.next_value()?;
                            let jkt = value.get("jkt").and_then(Value::as_str).map(str::to_owned);
                            c.cnf = Some(Confirmation { jkt });
                            return Ok(());
                        }
                        Member::ResourceAccess => {
                            let value: Value = access.next_value()?;
                            if let Value::Object(clients) = &value {
                                c.extra.get_or_insert_with(Default::default).client_roles = clients
                                    .iter()
                                    .map(|(client, v)| (client.clone(), role_names(v)))
                                    .collect();
                            }
                            return Ok(());
                        }
                        flag => {
                            match flag {
                                Member::Nonce => c.nonce = true,
                                Member::AtHash => c.at_hash = true,
                                Member::CHash => c.c_hash = true,
                                Member::ClientIdLegacy => {
                                    c.extra.get_or_insert_with(Default::default).client_id_legacy =
                                        true
                                }
                                _ => {}
                            }
                            access.next_value::<Skip>()?;
                            return Ok(());
                        }
                    };
                    *slot = Some(access.next_value()?);
                    Ok(())
                })?;
                Ok(c)
            }
        }
        deserializer.deserialize_map(ClaimsVisitor(self.0))
    }
}

/// Every provider's members (the property tests hold this reader to the map parser).
impl<'de> Deserialize<'de> for ClaimSet {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        ClaimSetFor(KeptClaims::ALL).deserialize(deserializer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn member_names_are_found_exactly_and_near_misses_are_other_members() {
        let known = [
            ("iss", Member::Iss),
            ("typ", Member::Typ),
            ("type", Member::Kind),
            ("at_hash", Member::AtHash),
            ("cnf", Member::Cnf),
            ("clientId", Member::ClientIdLegacy),
            ("client_id", Member::ClientId),
            ("cognito:groups", Member::CognitoGroups),
            ("preferred_username", Member::PreferredUsername),
        ];
        for (name, member) in known {
            assert!(Member::of(name) == member, "{name}");
        }
        for near in ["is", "iss\0", "\0iss", "Iss", "issx", "typ ", "client_iD", "", "\0"] {
            assert!(Member::of(near) == Member::Other, "{near:?}");
        }
    }
}
