//! Call arguments: a query string (GET) or a JSON object body (POST) turned into one flat JSON
//! object, with query values coerced to the types the capability's schema declares.

use jsonschema::ValidationError;
use jsonschema::error::ValidationErrorKind;
use serde_json::{Map, Number, Value};

use crate::capability::Capability;

/// The query parameter RFC 6750 §2.3 would read a token from; refused here, since a token in a
/// URL ends up in logs and browser history.
const ACCESS_TOKEN_PARAMETER: &str = "access_token";

/// Why a call's arguments were refused; the answer is 400 `invalid_request`.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ArgumentError {
    /// A query parameter appears more than once.
    #[error("query parameter `{name}` is repeated")]
    RepeatedParameter {
        /// The parameter.
        name: String,
    },
    /// The query string carries an access token.
    #[error("access tokens are accepted in the Authorization header only, never in the URL")]
    TokenInQuery,
    /// A POST carries a query string; its arguments belong in the body.
    #[error("arguments of a POST go in the JSON body, not the query string")]
    QueryOnPost,
    /// The body is not a JSON object.
    #[error("the request body must be a JSON object: {reason}")]
    BodyNotObject {
        /// What was found instead, or why it does not parse.
        reason: String,
    },
    /// The arguments violate the capability's schema.
    #[error("{message}")]
    Invalid {
        /// The offending argument, when the violation concerns one.
        field: Option<String>,
        /// What is wrong, without echoing the value.
        message: String,
    },
}

impl ArgumentError {
    /// The offending argument, when one is to blame.
    #[must_use]
    pub fn field(&self) -> Option<&str> {
        match self {
            Self::RepeatedParameter { name } => Some(name),
            Self::Invalid { field, .. } => field.as_deref(),
            Self::TokenInQuery | Self::QueryOnPost | Self::BodyNotObject { .. } => None,
        }
    }

    /// Describes the first violation of a schema, naming the argument it concerns.
    pub(crate) fn from_schema_error(error: &ValidationError<'_>) -> Self {
        let (field, message) = match error.kind() {
            ValidationErrorKind::AdditionalProperties { unexpected } => {
                let field = unexpected.first().cloned();
                let listed: Vec<String> =
                    unexpected.iter().map(|name| format!("`{name}`")).collect();
                (field, format!("unknown argument {}", listed.join(", ")))
            }
            ValidationErrorKind::Required { property } => {
                let name = property.as_str().unwrap_or_default().to_owned();
                let message = format!("argument `{name}` is required");
                (Some(name), message)
            }
            ValidationErrorKind::AnyOf { .. } | ValidationErrorKind::OneOfNotValid { .. } => (
                None,
                "the arguments match none of the accepted combinations".to_owned(),
            ),
            _ => {
                let field = top_level_field(error);
                let detail = error.masked_with("the value").to_string();
                let message = match &field {
                    Some(name) => format!("argument `{name}`: {detail}"),
                    None => detail,
                };
                (field, message)
            }
        };
        Self::Invalid { field, message }
    }
}

/// Reads GET arguments from a raw query string.
///
/// Values of properties the schema types as `integer`, `number` or `boolean` are converted
/// when they parse as such; anything else stays a string, so schema validation names the
/// argument that is wrong.
///
/// # Errors
///
/// [`ArgumentError::RepeatedParameter`] and [`ArgumentError::TokenInQuery`].
pub(crate) fn from_query(
    capability: &Capability,
    query: Option<&str>,
) -> Result<Map<String, Value>, ArgumentError> {
    let mut arguments = Map::new();
    let pairs = form_urlencoded::parse(query.unwrap_or_default().as_bytes());
    for (name, value) in pairs {
        if name == ACCESS_TOKEN_PARAMETER {
            return Err(ArgumentError::TokenInQuery);
        }
        if arguments.contains_key(name.as_ref()) {
            return Err(ArgumentError::RepeatedParameter {
                name: name.into_owned(),
            });
        }
        let coerced = coerce(capability.argument_type(&name), &value);
        arguments.insert(name.into_owned(), coerced);
    }
    Ok(arguments)
}

/// Reads POST arguments from a JSON body; an empty body means no arguments.
///
/// # Errors
///
/// [`ArgumentError::BodyNotObject`] when the body is not one JSON object.
pub(crate) fn from_body(body: &[u8]) -> Result<Map<String, Value>, ArgumentError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Map::new());
    }
    let value: Value =
        serde_json::from_slice(body).map_err(|error| ArgumentError::BodyNotObject {
            reason: error.to_string(),
        })?;
    match value {
        Value::Object(arguments) => Ok(arguments),
        other => Err(ArgumentError::BodyNotObject {
            reason: format!("found {}", kind(&other)),
        }),
    }
}

/// Converts a query value to the declared scalar type when it parses as one.
fn coerce(declared: Option<&str>, text: &str) -> Value {
    let converted = match declared {
        Some("integer") => text.parse::<i64>().ok().map(Value::from),
        Some("number") => text
            .parse::<f64>()
            .ok()
            .and_then(Number::from_f64)
            .map(Value::Number),
        Some("boolean") => match text {
            "true" => Some(Value::Bool(true)),
            "false" => Some(Value::Bool(false)),
            _ => None,
        },
        _ => None,
    };
    converted.unwrap_or_else(|| Value::String(text.to_owned()))
}

/// The top-level property an error's instance path starts with (`/employee_id` → that).
fn top_level_field(error: &ValidationError<'_>) -> Option<String> {
    let path = error.instance_path().to_string();
    let first = path.strip_prefix('/')?.split('/').next()?;
    // RFC 6901 §4: undo the pointer escapes.
    Some(first.replace("~1", "/").replace("~0", "~")).filter(|name| !name.is_empty())
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}
