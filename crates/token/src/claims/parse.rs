//! Reading a [`Claims`] out of a strictly parsed JSON object, one typed claim at a time, so
//! that every failure names the claim, what it must be and what it is.

use std::borrow::Cow;

use serde_json::{Map, Value};

use super::{Actor, Audience, Claims, ExtraClaims, MayAct, Scope, Scopes};
use crate::clock::NumericDate;
use crate::error::ClaimError;
use crate::json::JsonKind;

/// Reads `iss` without consuming the claim set (the verifier needs it to pick the keys
/// before the signature is checked).
pub(crate) fn peek_issuer(members: &Map<String, Value>) -> Result<&str, ClaimError> {
    match members.get("iss") {
        None => Err(ClaimError::Missing {
            claim: Cow::Borrowed("iss"),
        }),
        Some(Value::String(iss)) if iss.is_empty() => Err(ClaimError::Empty {
            claim: Cow::Borrowed("iss"),
        }),
        Some(Value::String(iss)) => Ok(iss),
        Some(other) => Err(wrong_type("iss".into(), STRING, other)),
    }
}

/// Turns a claim-set object into [`Claims`], keeping unknown claims in [`Claims::extra`].
pub(crate) fn parse_claims(members: Map<String, Value>) -> Result<Claims, ClaimError> {
    let mut m = Members {
        members,
        prefix: "",
    };
    Ok(Claims {
        iss: m.required_name("iss")?,
        sub: m.required_name("sub")?,
        aud: m.audience()?,
        exp: m.required_date("exp")?,
        iat: m.required_date("iat")?,
        nbf: m.optional_date("nbf")?,
        jti: m.required_name("jti")?,
        client_id: m.required_name("client_id")?,
        scope: m.scopes()?,
        principal_type: m
            .optional_string("principal_type")?
            .map(|v| v.parse())
            .transpose()?,
        groups: m.string_list("groups")?,
        amr: m.string_list("amr")?,
        auth_time: m.optional_date("auth_time")?,
        acr: m.optional_string("acr")?,
        acting_as: m.optional_string("acting_as")?,
        original_token_id: m.optional_string("original_token_id")?,
        act: m.actor(1)?,
        may_act: m.may_act()?,
        extra: ExtraClaims::from_remaining(m.members),
    })
}

/// The members of one JSON object, consumed claim by claim.
struct Members {
    members: Map<String, Value>,
    /// The dotted path of this object inside the claim set: `""`, `"act."`, `"act.act."`, …
    prefix: &'static str,
}

impl Members {
    /// The claim's full name for messages.
    fn name(&self, claim: &'static str) -> Cow<'static, str> {
        if self.prefix.is_empty() {
            Cow::Borrowed(claim)
        } else {
            Cow::Owned(format!("{}{claim}", self.prefix))
        }
    }

    fn required(&mut self, claim: &'static str) -> Result<Value, ClaimError> {
        self.members
            .remove(claim)
            .ok_or_else(|| ClaimError::Missing {
                claim: self.name(claim),
            })
    }

    /// A required, non-empty string.
    fn required_name(&mut self, claim: &'static str) -> Result<String, ClaimError> {
        let value = self.required(claim)?;
        let text = self.string(claim, value)?;
        if text.is_empty() {
            return Err(ClaimError::Empty {
                claim: self.name(claim),
            });
        }
        Ok(text)
    }

    fn optional_string(&mut self, claim: &'static str) -> Result<Option<String>, ClaimError> {
        self.members
            .remove(claim)
            .map(|value| self.string(claim, value))
            .transpose()
    }

    fn string(&self, claim: &'static str, value: Value) -> Result<String, ClaimError> {
        match value {
            Value::String(text) => Ok(text),
            other => Err(wrong_type(self.name(claim), STRING, &other)),
        }
    }

    fn required_date(&mut self, claim: &'static str) -> Result<NumericDate, ClaimError> {
        let value = self.required(claim)?;
        self.date(claim, &value)
    }

    fn optional_date(&mut self, claim: &'static str) -> Result<Option<NumericDate>, ClaimError> {
        self.members
            .remove(claim)
            .map(|value| self.date(claim, &value))
            .transpose()
    }

    /// RFC 7519 §2 NumericDate, restricted to whole seconds in 1970..=9999.
    fn date(&self, claim: &'static str, value: &Value) -> Result<NumericDate, ClaimError> {
        let Value::Number(number) = value else {
            return Err(wrong_type(self.name(claim), DATE, value));
        };
        number
            .as_i64()
            .and_then(NumericDate::from_unix_seconds)
            .ok_or_else(|| ClaimError::DateOutOfRange {
                claim: self.name(claim),
                value: number.to_string(),
            })
    }

    /// An array of strings; absent reads as empty.
    fn string_list(&mut self, claim: &'static str) -> Result<Vec<String>, ClaimError> {
        let Some(value) = self.members.remove(claim) else {
            return Ok(Vec::new());
        };
        let Value::Array(items) = value else {
            return Err(wrong_type(self.name(claim), STRINGS, &value));
        };
        items
            .into_iter()
            .map(|item| match item {
                Value::String(text) => Ok(text),
                other => Err(wrong_type(self.name(claim), STRINGS, &other)),
            })
            .collect()
    }

    /// RFC 7519 §4.1.3: a string or an array of strings.
    fn audience(&mut self) -> Result<Audience, ClaimError> {
        match self.required("aud")? {
            Value::String(one) => Ok(Audience::single(one)),
            Value::Array(items) => {
                let mut audiences = Vec::with_capacity(items.len());
                for item in items {
                    let Value::String(one) = item else {
                        return Err(wrong_type(self.name("aud"), AUDIENCE, &item));
                    };
                    audiences.push(one);
                }
                Audience::several(audiences)
            }
            other => Err(wrong_type(self.name("aud"), AUDIENCE, &other)),
        }
    }

    /// The design note's array, or the RFC 8693 §4.2 / RFC 9068 §2.2.3 space-separated string.
    fn scopes(&mut self) -> Result<Scopes, ClaimError> {
        match self.members.remove("scope") {
            None => Ok(Scopes::new()),
            Some(Value::String(list)) => Ok(Scopes::from_space_separated(&list)?),
            Some(Value::Array(items)) => items
                .into_iter()
                .map(|item| match item {
                    Value::String(scope) => Ok(Scope::new(scope)?),
                    other => Err(wrong_type(self.name("scope"), SCOPES, &other)),
                })
                .collect(),
            Some(other) => Err(wrong_type(self.name("scope"), SCOPES, &other)),
        }
    }

    /// RFC 8693 §4.1 `act`, parsed recursively; the JSON depth limit bounds the recursion.
    fn actor(&mut self, depth: usize) -> Result<Option<Actor>, ClaimError> {
        let Some(value) = self.members.remove("act") else {
            return Ok(None);
        };
        let Value::Object(members) = value else {
            return Err(wrong_type(self.name("act"), OBJECT, &value));
        };
        let mut inner = Members {
            members,
            prefix: actor_prefix(depth),
        };
        Ok(Some(Actor {
            sub: inner.required_name("sub")?,
            iss: inner.optional_string("iss")?,
            act: inner.actor(depth + 1)?.map(Box::new),
            extra: ExtraClaims::from_remaining(inner.members),
        }))
    }

    /// RFC 8693 §4.4 `may_act`.
    fn may_act(&mut self) -> Result<Option<MayAct>, ClaimError> {
        let Some(value) = self.members.remove("may_act") else {
            return Ok(None);
        };
        let Value::Object(members) = value else {
            return Err(wrong_type(self.name("may_act"), OBJECT, &value));
        };
        let mut inner = Members {
            members,
            prefix: "may_act.",
        };
        Ok(Some(MayAct {
            sub: inner.optional_string("sub")?,
            iss: inner.optional_string("iss")?,
            extra: ExtraClaims::from_remaining(inner.members),
        }))
    }
}

/// The dotted prefix of the actor object at `depth` (1 for the top-level `act`).
fn actor_prefix(depth: usize) -> &'static str {
    // Static names for the first levels keep `Members` free of allocations; deeper levels
    // (rare, informational only per RFC 8693 §4.1) share one summarised name.
    const PREFIXES: [&str; 4] = ["act.", "act.act.", "act.act.act.", "act.act.act.act."];
    PREFIXES
        .get(depth.saturating_sub(1))
        .copied()
        .unwrap_or("act.(nested).")
}

fn wrong_type(claim: Cow<'static, str>, expected: &'static str, found: &Value) -> ClaimError {
    ClaimError::WrongType {
        claim,
        expected,
        found: JsonKind::of(found),
    }
}

const STRING: &str = "a string";
const STRINGS: &str = "an array of strings";
const DATE: &str = "a NumericDate (integer seconds since 1970)";
const AUDIENCE: &str = "a string or an array of strings";
const SCOPES: &str = "an array of scope strings or a space-separated string";
const OBJECT: &str = "an object";
