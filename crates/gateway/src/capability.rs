//! The capability registry: what the actions API offers, read from a YAML file (by default the
//! embedded `defaults/capabilities.yaml`), with every argument schema compiled once at load.
//!
//! The file format is documented in `docs/actions-api.md`. Loading stops at the first problem
//! and names the file, line and column where it can.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use serde::Deserialize;
use serde_json::{Map, Value};
use serde_saphyr::{Location, Spanned};

use crate::args::ArgumentError;
use crate::connector::http::{HttpUpstream, UpstreamAuth, UpstreamSpec};
use crate::connector::{Connector, fixture};

/// The embedded default capability file: the four Workday fixture capabilities.
pub const DEFAULT_CAPABILITIES: &str = include_str!("../defaults/capabilities.yaml");

/// The display name of [`DEFAULT_CAPABILITIES`] in load errors.
pub const DEFAULT_CAPABILITIES_ORIGIN: &str = "<embedded default capabilities.yaml>";

/// The connector name of the built-in Workday fixture.
pub const WORKDAY_FIXTURE: &str = "workday-fixture";

/// Looks up a secret by name (an environment variable name in the capability file).
///
/// Upstream credentials never appear in the capability file itself; the file names where they
/// come from and the loader asks this lookup. [`env_secrets`] reads the process environment.
pub type SecretLookup<'a> = &'a dyn Fn(&str) -> Option<String>;

/// The secret lookup that reads the process environment.
#[must_use]
pub fn env_secrets(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

/// One capability: a named action with its argument schema and the connector that runs it.
pub struct Capability {
    name: CapabilityName,
    description: String,
    input_schema: Value,
    validator: jsonschema::Validator,
    connector: Connector,
    read_only: bool,
    destructive: bool,
    target_argument: Option<String>,
    revocation_check: RevocationCheck,
}

impl Capability {
    /// The name, `{system}.{action}`.
    #[must_use]
    pub fn name(&self) -> &CapabilityName {
        &self.name
    }

    /// The description, written for a person and for a language model.
    #[must_use]
    pub fn description(&self) -> &str {
        &self.description
    }

    /// The JSON Schema of the arguments: a flat object without additional properties.
    #[must_use]
    pub fn input_schema(&self) -> &Value {
        &self.input_schema
    }

    /// The connector that performs the capability.
    #[must_use]
    pub fn connector(&self) -> &Connector {
        &self.connector
    }

    /// Whether the capability only reads (GET is allowed only for these).
    #[must_use]
    pub fn read_only(&self) -> bool {
        self.read_only
    }

    /// Whether the capability may destroy or overwrite data.
    #[must_use]
    pub fn destructive(&self) -> bool {
        self.destructive
    }

    /// The argument naming the person the call is about; absent from a call, it is the caller.
    #[must_use]
    pub fn target_argument(&self) -> Option<&str> {
        self.target_argument.as_deref()
    }

    /// Whether calls must pass an online revocation check.
    #[must_use]
    pub fn revocation_check(&self) -> RevocationCheck {
        self.revocation_check
    }

    /// The declared JSON type of argument `name`, if the schema gives exactly one.
    #[must_use]
    pub fn argument_type(&self, name: &str) -> Option<&str> {
        self.input_schema
            .get("properties")?
            .get(name)?
            .get("type")?
            .as_str()
    }

    /// Checks `arguments` against the schema.
    ///
    /// # Errors
    ///
    /// [`ArgumentError::Invalid`] for the first violation, naming the offending argument.
    pub fn validate(&self, arguments: &Map<String, Value>) -> Result<(), ArgumentError> {
        let instance = Value::Object(arguments.clone());
        let Some(error) = self.validator.iter_errors(&instance).next() else {
            return Ok(());
        };
        Err(ArgumentError::from_schema_error(&error))
    }
}

impl fmt::Debug for Capability {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Capability")
            .field("name", &self.name)
            .field("connector", &self.connector)
            .field("read_only", &self.read_only)
            .field("destructive", &self.destructive)
            .field("target_argument", &self.target_argument)
            .finish_non_exhaustive()
    }
}

/// Whether a capability asks the identity provider if the token is still active.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RevocationCheck {
    /// Trust the signature and expiry only (the default).
    #[default]
    None,
    /// Ask the introspection endpoint (RFC 7662), through a short cache.
    Introspect,
}

/// A capability name: dot-separated segments of `[a-z0-9_]`, at least two, such as
/// `workday.hcm.get_employee`. The last segment is the action, the rest the system.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CapabilityName(Arc<str>);

impl CapabilityName {
    /// Parses a name.
    ///
    /// # Errors
    ///
    /// [`InvalidCapabilityName`] when the text is not of the form above.
    pub fn parse(text: &str) -> Result<Self, InvalidCapabilityName> {
        let valid_segment = |segment: &str| {
            segment.starts_with(|c: char| c.is_ascii_lowercase())
                && segment
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        };
        let segments = text.split('.').count();
        if text.len() > 128 || segments < 2 || !text.split('.').all(valid_segment) {
            return Err(InvalidCapabilityName {
                text: text.to_owned(),
            });
        }
        Ok(Self(text.into()))
    }

    /// The name from the two path segments of `/actions/{system}/{action}`.
    ///
    /// # Errors
    ///
    /// [`InvalidCapabilityName`] when the joined name is not valid.
    pub fn from_path(system: &str, action: &str) -> Result<Self, InvalidCapabilityName> {
        if action.contains('.') {
            return Err(InvalidCapabilityName {
                text: format!("{system}/{action}"),
            });
        }
        Self::parse(&format!("{system}.{action}"))
    }

    /// The name as text.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Everything before the last dot, such as `workday.hcm`.
    #[must_use]
    pub fn system(&self) -> &str {
        self.0.rsplit_once('.').map_or("", |(system, _)| system)
    }

    /// The last segment, such as `get_employee`.
    #[must_use]
    pub fn action(&self) -> &str {
        self.0
            .rsplit_once('.')
            .map_or(&self.0, |(_, action)| action)
    }
}

impl fmt::Display for CapabilityName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Text that is not a capability name.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error(
    "`{text}` is not a capability name (dot-separated lowercase segments, such as \
     `workday.hcm.get_employee`)"
)]
pub struct InvalidCapabilityName {
    /// The rejected text.
    pub text: String,
}

/// Every capability the API offers, in file order, with the HTTP upstreams they use.
#[derive(Debug)]
pub struct CapabilityRegistry {
    capabilities: Vec<Arc<Capability>>,
    by_name: HashMap<CapabilityName, Arc<Capability>>,
}

impl CapabilityRegistry {
    /// The embedded default capabilities ([`DEFAULT_CAPABILITIES`]).
    ///
    /// # Errors
    ///
    /// [`CapabilityLoadError`] only if the embedded file is broken, which a test rules out.
    pub fn embedded() -> Result<Self, CapabilityLoadError> {
        Self::parse(
            DEFAULT_CAPABILITIES,
            DEFAULT_CAPABILITIES_ORIGIN,
            &env_secrets,
        )
    }

    /// Parses a capability file; `origin` names it in errors and `secrets` supplies upstream
    /// credentials.
    ///
    /// # Errors
    ///
    /// [`CapabilityLoadError`] for the first problem: YAML that does not parse, an unknown or
    /// missing key, a bad name, a schema that does not compile or is not a flat object without
    /// additional properties, an unknown connector, a missing upstream secret, and the like.
    pub fn parse(
        source: &str,
        origin: &str,
        secrets: SecretLookup<'_>,
    ) -> Result<Self, CapabilityLoadError> {
        let fail =
            |location: Location, problem| CapabilityLoadError::new(origin, location, problem);
        let options = serde_saphyr::options! { strict_booleans: true, with_snippet: false };
        let raw: RawFile = serde_saphyr::from_str_with_options(source, options).map_err(|e| {
            let message = e.without_snippet().to_string();
            let location = e.location().unwrap_or(Location::UNKNOWN);
            fail(
                location,
                CapabilityProblem::Yaml {
                    message: single_line(&message),
                },
            )
        })?;

        let upstreams = load_upstreams(raw.upstreams.unwrap_or_default(), secrets)
            .map_err(|(location, problem)| fail(location, problem))?;
        let mut registry = Self {
            capabilities: Vec::new(),
            by_name: HashMap::new(),
        };
        for entry in raw.capabilities {
            let location = entry.referenced;
            let capability =
                load_capability(entry.value, &upstreams).map_err(|p| fail(location, p))?;
            if registry.by_name.contains_key(&capability.name) {
                let name = capability.name.to_string();
                return Err(fail(location, CapabilityProblem::DuplicateName { name }));
            }
            let capability = Arc::new(capability);
            registry
                .by_name
                .insert(capability.name.clone(), Arc::clone(&capability));
            registry.capabilities.push(capability);
        }
        Ok(registry)
    }

    /// The capability called `name`, if registered.
    #[must_use]
    pub fn get(&self, name: &CapabilityName) -> Option<&Arc<Capability>> {
        self.by_name.get(name)
    }

    /// Every capability, in file order.
    pub fn iter(&self) -> impl Iterator<Item = &Arc<Capability>> {
        self.capabilities.iter()
    }

    /// The registered names, in file order, for the policy loader.
    #[must_use]
    pub fn names(&self) -> Vec<&str> {
        self.capabilities.iter().map(|c| c.name.as_str()).collect()
    }

    /// How many capabilities are registered.
    #[must_use]
    pub fn len(&self) -> usize {
        self.capabilities.len()
    }

    /// Whether none is registered.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.capabilities.is_empty()
    }
}

/// A capability file that cannot be used.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{origin}{}: {problem}", At(*.line, *.column))]
pub struct CapabilityLoadError {
    /// The file's display name.
    pub origin: String,
    /// The line of the problem, from 1, when known.
    pub line: Option<u64>,
    /// The column of the problem, from 1, when known.
    pub column: Option<u64>,
    /// What is wrong.
    pub problem: Box<CapabilityProblem>,
}

impl CapabilityLoadError {
    fn new(origin: &str, location: Location, problem: CapabilityProblem) -> Self {
        let known = location != Location::UNKNOWN;
        Self {
            origin: origin.to_owned(),
            line: known.then(|| location.line()),
            column: known.then(|| location.column()),
            problem: Box::new(problem),
        }
    }
}

/// What is wrong with a capability file.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CapabilityProblem {
    /// The YAML does not parse or does not have the expected shape (unknown or missing key,
    /// wrong type).
    #[error("{message}")]
    Yaml {
        /// The reader's message.
        message: String,
    },
    /// A capability name is malformed.
    #[error(transparent)]
    InvalidName(#[from] InvalidCapabilityName),
    /// Two capabilities share a name.
    #[error("capability `{name}` is declared twice")]
    DuplicateName {
        /// The name.
        name: String,
    },
    /// A description is empty.
    #[error("capability `{name}` has an empty description")]
    EmptyDescription {
        /// The capability.
        name: String,
    },
    /// An input schema is not a flat object schema without additional properties.
    #[error("capability `{name}`: input_schema {reason}")]
    SchemaShape {
        /// The capability.
        name: String,
        /// What is wrong with it.
        reason: String,
    },
    /// An input schema does not compile.
    #[error("capability `{name}`: input_schema is not a valid JSON Schema: {message}")]
    SchemaInvalid {
        /// The capability.
        name: String,
        /// The compiler's message.
        message: String,
    },
    /// `target_argument` names no string property of the schema.
    #[error("capability `{name}`: target_argument `{argument}` is not a string property")]
    TargetArgument {
        /// The capability.
        name: String,
        /// The argument named.
        argument: String,
    },
    /// A capability is both `read_only` and `destructive`.
    #[error("capability `{name}` cannot be both read_only and destructive")]
    ReadOnlyAndDestructive {
        /// The capability.
        name: String,
    },
    /// A connector name is neither the fixture nor a declared upstream.
    #[error(
        "capability `{name}`: connector `{connector}` is neither `{WORKDAY_FIXTURE}` nor a \
         declared upstream"
    )]
    UnknownConnector {
        /// The capability.
        name: String,
        /// The connector named.
        connector: String,
    },
    /// The fixture connector cannot perform this capability.
    #[error("capability `{name}`: the `{WORKDAY_FIXTURE}` connector does not implement it")]
    FixtureUnsupported {
        /// The capability.
        name: String,
    },
    /// Two upstreams share a name.
    #[error("upstream `{upstream}` is declared twice")]
    DuplicateUpstream {
        /// The name.
        upstream: String,
    },
    /// An upstream's base URL is unusable.
    #[error("upstream `{upstream}`: base_url `{url}` {reason}")]
    UpstreamUrl {
        /// The upstream.
        upstream: String,
        /// The URL as written.
        url: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// An upstream's timeout is zero or above a minute.
    #[error("upstream `{upstream}`: timeout_ms must be between 1 and 60000")]
    UpstreamTimeout {
        /// The upstream.
        upstream: String,
    },
    /// An upstream credential's source is not set.
    #[error("upstream `{upstream}`: secret `{name}` is not set")]
    SecretMissing {
        /// The upstream.
        upstream: String,
        /// The secret's name (an environment variable).
        name: String,
    },
    /// An upstream credential cannot be sent in an HTTP header.
    #[error("upstream `{upstream}`: {what} is not a valid HTTP header {part}")]
    UpstreamHeader {
        /// The upstream.
        upstream: String,
        /// Which setting.
        what: String,
        /// `name` or `value`.
        part: &'static str,
    },
    /// The HTTP client for an upstream could not be built.
    #[error("upstream `{upstream}`: cannot build the HTTP client: {message}")]
    UpstreamClient {
        /// The upstream.
        upstream: String,
        /// The client's message.
        message: String,
    },
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    upstreams: Option<Vec<Spanned<UpstreamSpec>>>,
    capabilities: Vec<Spanned<RawCapability>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCapability {
    name: String,
    description: String,
    input_schema: Value,
    connector: String,
    read_only: bool,
    #[serde(default)]
    destructive: bool,
    target_argument: Option<String>,
    #[serde(default)]
    revocation_check: RevocationCheck,
}

type Upstreams = HashMap<String, Arc<HttpUpstream>>;

fn load_upstreams(
    specs: Vec<Spanned<UpstreamSpec>>,
    secrets: SecretLookup<'_>,
) -> Result<Upstreams, (Location, CapabilityProblem)> {
    let mut upstreams = HashMap::new();
    for spec in specs {
        let location = spec.referenced;
        let name = spec.value.name.clone();
        if upstreams.contains_key(&name) {
            return Err((
                location,
                CapabilityProblem::DuplicateUpstream { upstream: name },
            ));
        }
        let auth = UpstreamAuth::resolve(&spec.value, secrets).map_err(|p| (location, p))?;
        let upstream = HttpUpstream::new(&spec.value, auth).map_err(|p| (location, p))?;
        upstreams.insert(name, Arc::new(upstream));
    }
    Ok(upstreams)
}

fn load_capability(
    raw: RawCapability,
    upstreams: &Upstreams,
) -> Result<Capability, CapabilityProblem> {
    let name = CapabilityName::parse(&raw.name)?;
    if raw.description.trim().is_empty() {
        return Err(CapabilityProblem::EmptyDescription { name: raw.name });
    }
    if raw.read_only && raw.destructive {
        return Err(CapabilityProblem::ReadOnlyAndDestructive { name: raw.name });
    }
    check_schema_shape(&raw.input_schema).map_err(|reason| CapabilityProblem::SchemaShape {
        name: raw.name.clone(),
        reason,
    })?;
    let validator =
        compile_schema(&raw.input_schema).map_err(|message| CapabilityProblem::SchemaInvalid {
            name: raw.name.clone(),
            message,
        })?;
    if let Some(argument) = &raw.target_argument {
        let declared = raw.input_schema["properties"][argument.as_str()]["type"].as_str();
        if declared != Some("string") {
            let argument = argument.clone();
            return Err(CapabilityProblem::TargetArgument {
                name: raw.name,
                argument,
            });
        }
    }
    let connector = resolve_connector(&name, &raw.connector, upstreams)?;

    Ok(Capability {
        name,
        description: raw.description.trim().to_owned(),
        input_schema: raw.input_schema,
        validator,
        connector,
        read_only: raw.read_only,
        destructive: raw.destructive,
        target_argument: raw.target_argument,
        revocation_check: raw.revocation_check,
    })
}

fn resolve_connector(
    name: &CapabilityName,
    connector: &str,
    upstreams: &Upstreams,
) -> Result<Connector, CapabilityProblem> {
    if connector == WORKDAY_FIXTURE {
        let Some(action) = fixture::Action::for_capability(name.as_str()) else {
            return Err(CapabilityProblem::FixtureUnsupported {
                name: name.to_string(),
            });
        };
        return Ok(Connector::WorkdayFixture(action));
    }
    match upstreams.get(connector) {
        Some(upstream) => Ok(Connector::Http(Arc::clone(upstream))),
        None => Err(CapabilityProblem::UnknownConnector {
            name: name.to_string(),
            connector: connector.to_owned(),
        }),
    }
}

/// The argument types a query string can carry.
const SCALAR_TYPES: &[&str] = &["string", "integer", "number", "boolean"];

/// Arguments arrive as a query string or a flat JSON object, and the MCP server turns the
/// schema into a tool's input schema: only a flat object of scalar properties fits both.
fn check_schema_shape(schema: &Value) -> Result<(), String> {
    let Some(object) = schema.as_object() else {
        return Err("must be a mapping".to_owned());
    };
    if object.get("type").and_then(Value::as_str) != Some("object") {
        return Err("must declare `type: object`".to_owned());
    }
    if object.get("additionalProperties") != Some(&Value::Bool(false)) {
        return Err("must declare `additionalProperties: false`".to_owned());
    }
    let properties = match object.get("properties") {
        None => return Ok(()),
        Some(Value::Object(properties)) => properties,
        Some(_) => return Err("`properties` must be a mapping".to_owned()),
    };
    for (property, definition) in properties {
        let declared = definition.get("type").and_then(Value::as_str);
        if !declared.is_some_and(|t| SCALAR_TYPES.contains(&t)) {
            return Err(format!(
                "property `{property}` must declare one scalar type (string, integer, number \
                 or boolean)"
            ));
        }
        if definition
            .get("description")
            .and_then(Value::as_str)
            .is_none()
        {
            return Err(format!("property `{property}` needs a description"));
        }
    }
    Ok(())
}

/// Draft 2020-12 with format assertions on (so `format: email` is checked); no external
/// references are ever fetched, as the crate is built without its resolvers.
fn compile_schema(schema: &Value) -> Result<jsonschema::Validator, String> {
    jsonschema::draft202012::options()
        .should_validate_formats(true)
        .build(schema)
        .map_err(|error| single_line(&error.to_string()))
}

fn single_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// `:line:column` when known, nothing otherwise.
struct At(Option<u64>, Option<u64>);

impl fmt::Display for At {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.0, self.1) {
            (Some(line), Some(column)) => write!(f, ":{line}:{column}"),
            (Some(line), None) => write!(f, ":{line}"),
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests;
