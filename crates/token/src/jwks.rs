//! JWK Set documents (RFC 7517 §5): written for this project's IdP, read from files and from
//! external issuers.
//!
//! Reading keeps only keys this crate can use for signatures (EC P-256, Ed25519, RSA of 2048
//! bits or more, `use` absent or `sig`, `alg` absent or matching the key type) and skips the
//! rest. A document that publishes private key material, repeats a `kid` among usable keys or
//! holds a broken usable key is refused whole.

use std::sync::Arc;

use serde::ser::SerializeStruct;
use serde::{Serialize, Serializer};
use serde_json::{Map, Value};

use crate::error::JwksError;
use crate::json;
use crate::keys::{Algorithm, Jwk, PublicMaterial, VerificationKey};

/// A set of public verification keys, serialised as `{"keys":[…]}`.
#[derive(Debug, Clone, Default)]
pub struct Jwks {
    keys: Vec<Arc<VerificationKey>>,
}

impl Jwks {
    /// A set holding `keys`.
    #[must_use]
    pub const fn new(keys: Vec<Arc<VerificationKey>>) -> Self {
        Self { keys }
    }

    /// Reads a JWKS document.
    ///
    /// # Errors
    ///
    /// [`JwksError`] for invalid JSON (including repeated members), a missing `keys` array, a
    /// published private member, a repeated `kid`, or an unusable key of a supported type.
    pub fn from_json(document: &[u8]) -> Result<Self, JwksError> {
        let mut top = json::parse_object(document)?;
        let Some(Value::Array(entries)) = top.remove("keys") else {
            return Err(JwksError::MissingKeys);
        };

        let mut keys: Vec<Arc<VerificationKey>> = Vec::new();
        for (index, entry) in entries.into_iter().enumerate() {
            let Value::Object(members) = entry else {
                return Err(JwksError::Malformed {
                    index,
                    member: "keys",
                    expected: "an object",
                });
            };
            let Some(jwk) = read_jwk(index, &members)? else {
                continue;
            };
            if keys.iter().any(|known| known.kid() == jwk.kid()) {
                return Err(JwksError::DuplicateKid {
                    kid: jwk.kid().to_owned(),
                });
            }
            let kid = jwk.kid().to_owned();
            let key = VerificationKey::from_jwk(jwk)
                .map_err(|source| JwksError::InvalidKey { kid, source })?;
            keys.push(Arc::new(key));
        }
        Ok(Self { keys })
    }

    /// The keys, in document order.
    #[must_use]
    pub fn keys(&self) -> &[Arc<VerificationKey>] {
        &self.keys
    }

    /// The key with id `kid`.
    #[must_use]
    pub fn find(&self, kid: &str) -> Option<&Arc<VerificationKey>> {
        self.keys.iter().find(|key| key.kid() == kid)
    }
}

impl Serialize for Jwks {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let jwks: Vec<&Jwk> = self.keys.iter().map(|key| key.jwk()).collect();
        let mut document = serializer.serialize_struct("Jwks", 1)?;
        document.serialize_field("keys", &jwks)?;
        document.end()
    }
}

/// Members that only private keys have (RFC 7518 §6.2.2, §6.3.2, §6.4.1; RFC 8037 §2).
const PRIVATE_MEMBERS: [&str; 8] = ["d", "p", "q", "dp", "dq", "qi", "oth", "k"];

/// One entry of `keys`, or `None` when it is of a kind this crate skips.
fn read_jwk(index: usize, members: &Map<String, Value>) -> Result<Option<Jwk>, JwksError> {
    if let Some(member) = PRIVATE_MEMBERS
        .into_iter()
        .find(|name| members.contains_key(*name))
    {
        return Err(JwksError::PrivateMember { index, member });
    }
    let text = |member: &'static str| match members.get(member) {
        None => Ok(None),
        Some(Value::String(value)) => Ok(Some(value.as_str())),
        Some(_) => Err(JwksError::Malformed {
            index,
            member,
            expected: "a string",
        }),
    };

    // RFC 7517 §4.2: a key for encryption is not for us; a key without `kid` cannot be named
    // by a token header.
    if text("use")?.is_some_and(|usage| usage != "sig") {
        return Ok(None);
    }
    let Some(kid) = text("kid")? else {
        return Ok(None);
    };
    let binary = |member: &'static str| -> Result<Vec<u8>, JwksError> {
        let encoded = text(member)?.ok_or(JwksError::Malformed {
            index,
            member,
            expected: "a base64url string",
        })?;
        crate::jws::decode_member(encoded).ok_or(JwksError::Malformed {
            index,
            member,
            expected: "a base64url string",
        })
    };

    let (kty, material) = match (text("kty")?, text("crv")?) {
        (Some("EC"), Some("P-256")) => (
            "EC",
            PublicMaterial::P256 {
                x: binary("x")?,
                y: binary("y")?,
            },
        ),
        (Some("OKP"), Some("Ed25519")) => ("OKP", PublicMaterial::Ed25519 { x: binary("x")? }),
        (Some("RSA"), _) => (
            "RSA",
            PublicMaterial::Rsa {
                n: binary("n")?,
                e: binary("e")?,
            },
        ),
        _ => return Ok(None),
    };

    // The key type decides the algorithm; a declared `alg` must agree or the key is skipped
    // when it names another algorithm this crate does not support (RS384 on an RSA key, say).
    let implied = match kty {
        "EC" => Algorithm::Es256,
        "OKP" => Algorithm::EdDsa,
        _ => Algorithm::Rs256,
    };
    match text("alg")? {
        None => {}
        Some(alg) if alg == implied.as_str() => {}
        Some(alg) if Algorithm::from_jose_name(alg).is_some() => {
            return Err(JwksError::AlgorithmMismatch {
                kid: kid.to_owned(),
                alg: alg.to_owned(),
                kty,
            });
        }
        Some(_) => return Ok(None),
    }
    Ok(Some(Jwk::new(
        kid.to_owned(),
        implied,
        strip_rsa_zeros(material),
    )))
}

/// RFC 7518 §6.3.1.1 forbids leading zeros in `n` but some issuers write them; drop them so the
/// bit-length check and the thumbprint see the canonical value.
fn strip_rsa_zeros(material: PublicMaterial) -> PublicMaterial {
    match material {
        PublicMaterial::Rsa { n, e } => {
            let start = n.iter().position(|byte| *byte != 0).unwrap_or(n.len());
            PublicMaterial::Rsa {
                n: n.get(start..).unwrap_or_default().to_vec(),
                e,
            }
        }
        other => other,
    }
}

#[cfg(test)]
mod tests;
