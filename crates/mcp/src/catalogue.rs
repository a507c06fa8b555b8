//! The tool catalogue: one MCP tool per capability of the actions API.
//!
//! The capabilities arrive as [`ToolSpec`]s (the command line converts the actions API's
//! registry into them, so this crate does not depend on the API's). Each becomes a tool whose
//! wire name replaces the dots of the capability name with underscores
//! (`workday.hcm.get_employee` → `workday_hcm_get_employee`): the MCP specification allows
//! dots, but the tool-calling APIs of the large model vendors accept only
//! `[A-Za-z0-9_-]{1,64}` and some refuse a whole tool set over one bad name.

use std::collections::HashMap;
use std::sync::Arc;

use rmcp::model::{JsonObject, MetaObject, Tool, ToolAnnotations};
use serde_json::Value;

/// The longest wire name offered: the strictest limit among model vendors' tool APIs.
pub const MAX_TOOL_NAME_LEN: usize = 64;

/// The `_meta` key under which each tool names its capability.
pub const CAPABILITY_META_KEY: &str = "dev.scopegate/capability";

/// One capability of the actions API, as the MCP server offers it.
#[derive(Debug, Clone, PartialEq)]
pub struct ToolSpec {
    /// The capability name, `{system}.{action}`, such as `workday.hcm.get_employee`.
    pub capability: String,
    /// What the capability does, for people and language models.
    pub description: String,
    /// The JSON Schema of its arguments; must be an object schema.
    pub input_schema: Value,
    /// Whether it only reads.
    pub read_only: bool,
    /// Whether it may overwrite or delete (meaningful only when not read-only).
    pub destructive: bool,
    /// The argument that names the person the call is about, such as `employee_id`. When a
    /// call leaves it out, the MCP server fills in the caller's own `sub`.
    pub target_argument: Option<String>,
}

/// Why the tool catalogue cannot be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CatalogueError {
    /// A capability name is not dot-separated lowercase segments with at least one dot.
    #[error(
        "`{capability}` is not a capability name (dot-separated segments of lowercase letters, \
         digits and underscores, such as `workday.hcm.get_employee`)"
    )]
    InvalidCapability {
        /// The name as given.
        capability: String,
    },
    /// A capability's input schema is not a JSON object.
    #[error("the input schema of `{capability}` is not a JSON object")]
    SchemaNotObject {
        /// The capability.
        capability: String,
    },
    /// Two capabilities map to the same wire name.
    #[error("capabilities `{first}` and `{second}` both become tool `{tool}`")]
    DuplicateTool {
        /// The wire name.
        tool: String,
        /// The capability listed first.
        first: String,
        /// The capability listed second.
        second: String,
    },
    /// A wire name is longer than [`MAX_TOOL_NAME_LEN`].
    #[error("tool name `{tool}` is {len} characters long; at most {MAX_TOOL_NAME_LEN} are allowed")]
    NameTooLong {
        /// The wire name.
        tool: String,
        /// Its length.
        len: usize,
    },
}

/// The wire name of a capability's tool: its dots replaced with underscores.
#[must_use]
pub fn tool_name(capability: &str) -> String {
    capability.replace('.', "_")
}

/// One offered tool: its capability, where the API serves it, and its MCP description.
#[derive(Debug)]
pub(crate) struct ToolEntry {
    pub(crate) spec: ToolSpec,
    pub(crate) name: String,
    /// The system part of the capability, such as `workday.payroll`.
    pub(crate) system: String,
    /// The action part, such as `get_compensation`.
    pub(crate) action: String,
    pub(crate) tool: Tool,
}

impl ToolEntry {
    /// A word for the area a capability belongs to, for messages to people: the last segment
    /// of its system, such as `payroll`.
    pub(crate) fn area(&self) -> &str {
        self.system.rsplit('.').next().unwrap_or(&self.system)
    }
}

/// Every offered tool, in the order given, looked up by wire name.
#[derive(Debug)]
pub(crate) struct ToolCatalogue {
    entries: Vec<Arc<ToolEntry>>,
    by_name: HashMap<String, usize>,
}

impl ToolCatalogue {
    /// Checks every spec and builds its tool.
    pub(crate) fn new(specs: Vec<ToolSpec>) -> Result<Self, CatalogueError> {
        let mut entries: Vec<Arc<ToolEntry>> = Vec::with_capacity(specs.len());
        let mut by_name = HashMap::with_capacity(specs.len());
        for spec in specs {
            let entry = entry(spec)?;
            if let Some(&index) = by_name.get(&entry.name) {
                let first: &Arc<ToolEntry> = &entries[index];
                return Err(CatalogueError::DuplicateTool {
                    tool: entry.name.clone(),
                    first: first.spec.capability.clone(),
                    second: entry.spec.capability.clone(),
                });
            }
            by_name.insert(entry.name.clone(), entries.len());
            entries.push(Arc::new(entry));
        }
        Ok(Self { entries, by_name })
    }

    /// The tool with wire name `name`.
    pub(crate) fn get(&self, name: &str) -> Option<&Arc<ToolEntry>> {
        self.by_name.get(name).map(|&index| &self.entries[index])
    }

    /// Every tool, in the order given.
    pub(crate) fn iter(&self) -> impl Iterator<Item = &Arc<ToolEntry>> {
        self.entries.iter()
    }

    /// How many tools there are.
    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }
}

fn entry(spec: ToolSpec) -> Result<ToolEntry, CatalogueError> {
    let Some((system, action)) = split_capability(&spec.capability) else {
        return Err(CatalogueError::InvalidCapability {
            capability: spec.capability,
        });
    };
    let Value::Object(schema) = &spec.input_schema else {
        return Err(CatalogueError::SchemaNotObject {
            capability: spec.capability,
        });
    };
    let name = tool_name(&spec.capability);
    if name.len() > MAX_TOOL_NAME_LEN {
        let len = name.len();
        return Err(CatalogueError::NameTooLong { tool: name, len });
    }

    let tool = describe(&spec, &name, schema.clone());
    Ok(ToolEntry {
        system: system.to_owned(),
        action: action.to_owned(),
        name,
        tool,
        spec,
    })
}

/// `{system}.{action}`: at least two segments, each a lowercase letter followed by lowercase
/// letters, digits and underscores (the actions API's rule for capability names).
fn split_capability(capability: &str) -> Option<(&str, &str)> {
    let segment_ok = |segment: &str| {
        segment.starts_with(|c: char| c.is_ascii_lowercase())
            && segment
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
    };
    if !capability.split('.').all(segment_ok) {
        return None;
    }
    capability.rsplit_once('.')
}

/// The MCP tool: wire name, the capability as title and in `_meta`, description, schema and
/// the behaviour hints (which clients treat as untrusted hints, never as enforcement).
fn describe(spec: &ToolSpec, name: &str, schema: JsonObject) -> Tool {
    let annotations = if spec.read_only {
        ToolAnnotations::new().read_only(true)
    } else {
        // destructiveHint only means something for a tool that writes.
        ToolAnnotations::new()
            .read_only(false)
            .destructive(spec.destructive)
    };
    let mut meta = MetaObject::new();
    meta.0.insert(
        CAPABILITY_META_KEY.to_owned(),
        Value::String(spec.capability.clone()),
    );

    let mut tool = Tool::new(name.to_owned(), spec.description.clone(), schema);
    tool.title = Some(spec.capability.clone());
    tool.annotations = Some(annotations);
    tool.meta = Some(meta);
    tool
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn spec(capability: &str) -> ToolSpec {
        ToolSpec {
            capability: capability.to_owned(),
            description: "Look up one employee.".to_owned(),
            input_schema: json!({"type": "object", "properties": {}}),
            read_only: true,
            destructive: false,
            target_argument: Some("employee_id".to_owned()),
        }
    }

    #[test]
    fn tool_names_replace_dots_with_underscores() {
        assert_eq!(
            tool_name("workday.hcm.get_employee"),
            "workday_hcm_get_employee"
        );
    }

    #[test]
    fn a_read_only_capability_becomes_a_tool_with_its_hints_and_capability() {
        let catalogue = ToolCatalogue::new(vec![spec("workday.hcm.get_employee")]).unwrap();

        let entry = catalogue.get("workday_hcm_get_employee").unwrap();
        let json = serde_json::to_value(&entry.tool).unwrap();

        assert_eq!(entry.system, "workday.hcm");
        assert_eq!(entry.action, "get_employee");
        assert_eq!(entry.area(), "hcm");
        assert_eq!(
            json,
            json!({
                "name": "workday_hcm_get_employee",
                "title": "workday.hcm.get_employee",
                "description": "Look up one employee.",
                "inputSchema": {"type": "object", "properties": {}},
                "annotations": {"readOnlyHint": true},
                "_meta": {"dev.scopegate/capability": "workday.hcm.get_employee"},
            })
        );
    }

    #[test]
    fn a_writing_capability_says_whether_it_is_destructive() {
        let mut update = spec("workday.hcm.update_contact_info");
        update.read_only = false;
        update.destructive = true;

        let catalogue = ToolCatalogue::new(vec![update]).unwrap();

        let tool = &catalogue
            .get("workday_hcm_update_contact_info")
            .unwrap()
            .tool;
        assert_eq!(
            serde_json::to_value(&tool.annotations).unwrap(),
            json!({"readOnlyHint": false, "destructiveHint": true})
        );
    }

    #[test]
    fn capabilities_colliding_on_one_tool_name_are_refused() {
        let error = ToolCatalogue::new(vec![spec("a.b_c"), spec("a_b.c")]).unwrap_err();

        assert_eq!(
            error.to_string(),
            "capabilities `a.b_c` and `a_b.c` both become tool `a_b_c`"
        );
    }

    #[test]
    fn malformed_names_schemas_and_long_names_are_refused() {
        let mut array_schema = spec("workday.hcm.get_employee");
        array_schema.input_schema = json!([]);
        let long = format!("workday.{}", "a".repeat(60));

        let errors = [
            ToolCatalogue::new(vec![spec("nodot")]).unwrap_err(),
            ToolCatalogue::new(vec![spec("Workday.hcm")]).unwrap_err(),
            ToolCatalogue::new(vec![array_schema]).unwrap_err(),
            ToolCatalogue::new(vec![spec(&long)]).unwrap_err(),
        ];

        assert_eq!(
            errors.map(|e| e.to_string()),
            [
                "`nodot` is not a capability name (dot-separated segments of lowercase letters, \
                 digits and underscores, such as `workday.hcm.get_employee`)"
                    .to_owned(),
                "`Workday.hcm` is not a capability name (dot-separated segments of lowercase \
                 letters, digits and underscores, such as `workday.hcm.get_employee`)"
                    .to_owned(),
                "the input schema of `workday.hcm.get_employee` is not a JSON object".to_owned(),
                format!(
                    "tool name `workday_{}` is 68 characters long; at most 64 are allowed",
                    "a".repeat(60)
                ),
            ]
        );
    }
}
