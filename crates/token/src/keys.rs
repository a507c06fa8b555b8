//! Signing and verification keys: the three supported algorithms, the private [`SigningKey`]
//! (parsed once, signing through aws-lc-rs) and the public [`VerificationKey`] with its
//! [`Jwk`] (RFC 7517) form and RFC 7638 thumbprint.

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use aws_lc_rs::digest::{SHA256, digest};
use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::KeySize;
use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_FIXED, ECDSA_P256_SHA256_FIXED_SIGNING, ED25519, EcdsaKeyPair,
    Ed25519KeyPair, KeyPair as _, ParsedPublicKey, RSA_PKCS1_2048_8192_SHA256, RSA_PKCS1_SHA256,
    RsaKeyPair, RsaPublicKeyComponents,
};
use serde::ser::SerializeMap;
use serde::{Deserialize, Serialize, Serializer};

use crate::claims::Claims;
use crate::error::{KeyError, SignError};
use crate::jws;

/// A JWS signature algorithm this crate signs and verifies with (RFC 7518 §3.1, RFC 8037 §3.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub enum Algorithm {
    /// ECDSA over P-256 with SHA-256, 64-byte `r‖s` signatures (RFC 7518 §3.4). The default.
    #[default]
    #[serde(rename = "ES256")]
    Es256,
    /// Ed25519 (RFC 8037 §3.1).
    #[serde(rename = "EdDSA")]
    EdDsa,
    /// RSASSA-PKCS1-v1_5 with SHA-256 and a modulus of at least 2048 bits (RFC 7518 §3.3).
    #[serde(rename = "RS256")]
    Rs256,
}

impl Algorithm {
    /// The JOSE name: `ES256`, `EdDSA` or `RS256`.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Es256 => "ES256",
            Self::EdDsa => "EdDSA",
            Self::Rs256 => "RS256",
        }
    }

    /// The algorithm named exactly `name` (JOSE names are case-sensitive, RFC 7515 §4.1.1).
    #[must_use]
    pub fn from_jose_name(name: &str) -> Option<Self> {
        match name {
            "ES256" => Some(Self::Es256),
            "EdDSA" => Some(Self::EdDsa),
            "RS256" => Some(Self::Rs256),
            _ => None,
        }
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Algorithm {
    type Err = UnknownAlgorithm;

    fn from_str(name: &str) -> Result<Self, UnknownAlgorithm> {
        Self::from_jose_name(name).ok_or_else(|| UnknownAlgorithm {
            name: name.to_owned(),
        })
    }
}

/// A configured algorithm name that is not `ES256`, `EdDSA` or `RS256`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown signing algorithm `{name}`; expected `ES256`, `EdDSA` or `RS256`")]
pub struct UnknownAlgorithm {
    /// The name as given.
    pub name: String,
}

/// A public key as published in a JWKS (RFC 7517 §4), pinned to one algorithm.
///
/// Serialises with `kty`, `crv` where it applies, `kid`, `use: "sig"`, `alg` and the public
/// parameters only; there is no way to put a private member in one.
#[derive(Clone, PartialEq, Eq)]
pub struct Jwk {
    kid: String,
    alg: Algorithm,
    material: PublicMaterial,
}

/// The public parameters of a key, as big-endian bytes.
#[derive(Clone, PartialEq, Eq)]
pub(crate) enum PublicMaterial {
    /// P-256 point coordinates, 32 bytes each (RFC 7518 §6.2.1).
    P256 { x: Vec<u8>, y: Vec<u8> },
    /// The 32-byte Ed25519 public key (RFC 8037 §2).
    Ed25519 { x: Vec<u8> },
    /// RSA modulus and exponent without leading zeros (RFC 7518 §6.3.1).
    Rsa { n: Vec<u8>, e: Vec<u8> },
}

impl Jwk {
    pub(crate) const fn new(kid: String, alg: Algorithm, material: PublicMaterial) -> Self {
        Self { kid, alg, material }
    }

    /// The key id.
    #[must_use]
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The one algorithm this key verifies.
    #[must_use]
    pub const fn algorithm(&self) -> Algorithm {
        self.alg
    }

    /// The RFC 7638 JWK thumbprint (SHA-256, base64url): a stable id for the key material.
    #[must_use]
    pub fn thumbprint(&self) -> String {
        // RFC 7638 §3.2: only the required members, in lexicographic order, no whitespace.
        let canonical = match &self.material {
            PublicMaterial::P256 { x, y } => format!(
                r#"{{"crv":"P-256","kty":"EC","x":"{}","y":"{}"}}"#,
                jws::encode(x),
                jws::encode(y)
            ),
            PublicMaterial::Ed25519 { x } => {
                format!(
                    r#"{{"crv":"Ed25519","kty":"OKP","x":"{}"}}"#,
                    jws::encode(x)
                )
            }
            PublicMaterial::Rsa { n, e } => {
                format!(
                    r#"{{"e":"{}","kty":"RSA","n":"{}"}}"#,
                    jws::encode(e),
                    jws::encode(n)
                )
            }
        };
        jws::encode(digest(&SHA256, canonical.as_bytes()).as_ref())
    }
}

impl fmt::Debug for Jwk {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Jwk")
            .field("kid", &self.kid)
            .field("alg", &self.alg)
            .finish()
    }
}

impl Serialize for Jwk {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        match &self.material {
            PublicMaterial::P256 { .. } => {
                map.serialize_entry("kty", "EC")?;
                map.serialize_entry("crv", "P-256")?;
            }
            PublicMaterial::Ed25519 { .. } => {
                map.serialize_entry("kty", "OKP")?;
                map.serialize_entry("crv", "Ed25519")?;
            }
            PublicMaterial::Rsa { .. } => map.serialize_entry("kty", "RSA")?,
        }
        map.serialize_entry("kid", &self.kid)?;
        map.serialize_entry("use", "sig")?;
        map.serialize_entry("alg", self.alg.as_str())?;
        match &self.material {
            PublicMaterial::P256 { x, y } => {
                map.serialize_entry("x", &jws::encode(x))?;
                map.serialize_entry("y", &jws::encode(y))?;
            }
            PublicMaterial::Ed25519 { x } => map.serialize_entry("x", &jws::encode(x))?,
            PublicMaterial::Rsa { n, e } => {
                map.serialize_entry("n", &jws::encode(n))?;
                map.serialize_entry("e", &jws::encode(e))?;
            }
        }
        map.end()
    }
}

/// A public key, parsed once, that verifies signatures of its one algorithm.
pub struct VerificationKey {
    jwk: Jwk,
    parsed: ParsedPublicKey,
}

impl VerificationKey {
    /// Parses the public key described by `jwk`.
    ///
    /// # Errors
    ///
    /// [`KeyError`] when the point is not on the curve, the key has the wrong length, or an RSA
    /// modulus is shorter than 2048 bits.
    pub fn from_jwk(jwk: Jwk) -> Result<Self, KeyError> {
        let rejected = |error: aws_lc_rs::error::KeyRejected| KeyError::Rejected {
            alg: jwk.alg,
            reason: error.description_(),
        };
        let parsed = match &jwk.material {
            PublicMaterial::P256 { x, y } => {
                // SEC 1 §2.3.3 uncompressed point: 0x04 ‖ x ‖ y.
                let point: Vec<u8> = [&[4_u8][..], x, y].concat();
                ParsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, point).map_err(rejected)?
            }
            PublicMaterial::Ed25519 { x } => {
                ParsedPublicKey::new(&ED25519, x.as_slice()).map_err(rejected)?
            }
            PublicMaterial::Rsa { n, e } => {
                let bits = modulus_bits(n);
                if bits < 2048 {
                    return Err(KeyError::RsaTooSmall { bits });
                }
                RsaPublicKeyComponents {
                    n: n.as_slice(),
                    e: e.as_slice(),
                }
                .to_parsed_public_key(&RSA_PKCS1_2048_8192_SHA256)
                .map_err(rejected)?
            }
        };
        Ok(Self { jwk, parsed })
    }

    /// The key id.
    #[must_use]
    pub fn kid(&self) -> &str {
        &self.jwk.kid
    }

    /// The one algorithm this key verifies; a token's `alg` must equal it.
    #[must_use]
    pub const fn algorithm(&self) -> Algorithm {
        self.jwk.alg
    }

    /// The key's public JWK.
    #[must_use]
    pub const fn jwk(&self) -> &Jwk {
        &self.jwk
    }

    /// Whether `signature` is this key's signature of `message`.
    pub(crate) fn verifies(&self, message: &[u8], signature: &[u8]) -> bool {
        self.parsed.verify_sig(message, signature).is_ok()
    }
}

impl fmt::Debug for VerificationKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VerificationKey")
            .field("kid", &self.jwk.kid)
            .field("alg", &self.jwk.alg)
            .finish_non_exhaustive()
    }
}

/// A private key, parsed once, that signs access tokens.
///
/// Its `kid` is the RFC 7638 thumbprint of its public key. `Debug` shows only the `kid` and
/// the algorithm.
pub struct SigningKey {
    pair: PrivateKey,
    public: Arc<VerificationKey>,
    /// The encoded protected header `{"alg","typ":"at+jwt","kid"}`, the same for every token.
    header: String,
}

enum PrivateKey {
    Ecdsa(EcdsaKeyPair),
    Ed25519(Ed25519KeyPair),
    Rsa(RsaKeyPair),
}

impl SigningKey {
    /// Generates a new key (RSA keys have 2048 bits).
    ///
    /// # Errors
    ///
    /// [`KeyError`] when the crypto library cannot generate or re-read the key.
    pub fn generate(alg: Algorithm) -> Result<Self, KeyError> {
        Self::generate_with_pkcs8(alg).map(|(key, _)| key)
    }

    /// Generates a key and returns it with its PKCS#8 DER encoding, for storing.
    pub(crate) fn generate_with_pkcs8(alg: Algorithm) -> Result<(Self, Vec<u8>), KeyError> {
        let failed = |_| KeyError::Generate { alg };
        let rng = SystemRandom::new();
        let der = match alg {
            Algorithm::Es256 => {
                EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng)
                    .map_err(failed)?
                    .as_ref()
                    .to_vec()
            }
            Algorithm::EdDsa => Ed25519KeyPair::generate_pkcs8(&rng)
                .map_err(failed)?
                .as_ref()
                .to_vec(),
            Algorithm::Rs256 => {
                let pair = RsaKeyPair::generate(KeySize::Rsa2048).map_err(failed)?;
                pair.as_der().map_err(failed)?.as_ref().to_vec()
            }
        };
        Ok((Self::from_pkcs8(alg, &der)?, der))
    }

    /// Reads a PKCS#8 DER private key for `alg`.
    pub(crate) fn from_pkcs8(alg: Algorithm, der: &[u8]) -> Result<Self, KeyError> {
        let rejected = |error: aws_lc_rs::error::KeyRejected| KeyError::Rejected {
            alg,
            reason: error.description_(),
        };
        let (pair, material) = match alg {
            Algorithm::Es256 => {
                let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, der)
                    .map_err(rejected)?;
                let point = pair.public_key().as_ref();
                let material = PublicMaterial::P256 {
                    x: point.get(1..33).unwrap_or_default().to_vec(),
                    y: point.get(33..65).unwrap_or_default().to_vec(),
                };
                (PrivateKey::Ecdsa(pair), material)
            }
            Algorithm::EdDsa => {
                let pair = Ed25519KeyPair::from_pkcs8(der).map_err(rejected)?;
                let material = PublicMaterial::Ed25519 {
                    x: pair.public_key().as_ref().to_vec(),
                };
                (PrivateKey::Ed25519(pair), material)
            }
            Algorithm::Rs256 => {
                let pair = RsaKeyPair::from_pkcs8(der).map_err(rejected)?;
                let public = pair.public_key();
                let material = PublicMaterial::Rsa {
                    n: public.modulus().big_endian_without_leading_zero().to_vec(),
                    e: public.exponent().big_endian_without_leading_zero().to_vec(),
                };
                (PrivateKey::Rsa(pair), material)
            }
        };

        // The kid is the thumbprint; the public key is parsed once more for verification.
        let mut jwk = Jwk::new(String::new(), alg, material);
        jwk.kid = jwk.thumbprint();
        let header = jws::encode_header(alg, &jwk.kid);
        let public = Arc::new(VerificationKey::from_jwk(jwk)?);
        Ok(Self {
            pair,
            public,
            header,
        })
    }

    /// The key id (RFC 7638 thumbprint).
    #[must_use]
    pub fn kid(&self) -> &str {
        self.public.kid()
    }

    /// The key's algorithm.
    #[must_use]
    pub fn algorithm(&self) -> Algorithm {
        self.public.algorithm()
    }

    /// The matching public key.
    #[must_use]
    pub const fn verification_key(&self) -> &Arc<VerificationKey> {
        &self.public
    }

    /// Signs `claims` into a compact JWS with header `{"alg","typ":"at+jwt","kid"}`.
    ///
    /// # Errors
    ///
    /// [`SignError`] when the claims cannot be serialised or the crypto library fails.
    pub fn sign(&self, claims: &Claims) -> Result<String, SignError> {
        let payload = serde_json::to_vec(claims)?;
        self.sign_encoded(&self.header, &payload)
    }

    /// Signs an already encoded header with any payload bytes (for test fixtures).
    pub(crate) fn sign_encoded(&self, header: &str, payload: &[u8]) -> Result<String, SignError> {
        let mut token = String::with_capacity(header.len() + payload.len() * 4 / 3 + 400);
        token.push_str(header);
        token.push('.');
        jws::encode_into(payload, &mut token);
        let signature = self.signature(token.as_bytes())?;
        token.push('.');
        jws::encode_into(&signature, &mut token);
        Ok(token)
    }

    fn signature(&self, message: &[u8]) -> Result<Vec<u8>, SignError> {
        let failed = |_| SignError::Crypto {
            kid: self.kid().to_owned(),
        };
        match &self.pair {
            PrivateKey::Ecdsa(pair) => Ok(pair
                .sign(&SystemRandom::new(), message)
                .map_err(failed)?
                .as_ref()
                .to_vec()),
            PrivateKey::Ed25519(pair) => {
                Ok(pair.try_sign(message).map_err(failed)?.as_ref().to_vec())
            }
            PrivateKey::Rsa(pair) => {
                let mut signature = vec![0; pair.public_modulus_len()];
                pair.sign(
                    &RSA_PKCS1_SHA256,
                    &SystemRandom::new(),
                    message,
                    &mut signature,
                )
                .map_err(failed)?;
                Ok(signature)
            }
        }
    }
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKey")
            .field("kid", &self.kid())
            .field("alg", &self.algorithm())
            .finish_non_exhaustive()
    }
}

/// The bit length of a big-endian modulus.
fn modulus_bits(n: &[u8]) -> usize {
    let Some(start) = n.iter().position(|byte| *byte != 0) else {
        return 0;
    };
    let top = n.get(start).copied().unwrap_or(0);
    (n.len() - start) * 8 - top.leading_zeros() as usize
}

#[cfg(test)]
mod tests;
