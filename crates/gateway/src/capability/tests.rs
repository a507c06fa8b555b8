use super::*;

fn no_secrets(_: &str) -> Option<String> {
    None
}

fn parse(text: &str) -> Result<CapabilityRegistry, CapabilityLoadError> {
    CapabilityRegistry::parse(text, "caps.yaml", &no_secrets)
}

const ONE: &str = "
capabilities:
  - name: workday.hcm.get_employee
    description: Look up an employee.
    connector: workday-fixture
    read_only: true
    target_argument: employee_id
    input_schema:
      type: object
      additionalProperties: false
      properties:
        employee_id: { type: string, description: The employee id. }
";

#[test]
fn embedded_file_registers_the_four_workday_capabilities() {
    let registry = CapabilityRegistry::embedded().unwrap();

    assert_eq!(
        registry.names(),
        [
            "workday.hcm.get_employee",
            "workday.hcm.list_direct_reports",
            "workday.payroll.get_compensation",
            "workday.hcm.update_contact_info",
        ]
    );
    let update = registry.get(&CapabilityName::parse("workday.hcm.update_contact_info").unwrap());
    let update = update.unwrap();
    assert!(!update.read_only());
    assert!(update.destructive());
    assert_eq!(update.target_argument(), Some("employee_id"));
}

#[test]
fn capability_name_splits_into_system_and_action() {
    let name = CapabilityName::from_path("workday.hcm", "get_employee").unwrap();

    assert_eq!(name.as_str(), "workday.hcm.get_employee");
    assert_eq!(name.system(), "workday.hcm");
    assert_eq!(name.action(), "get_employee");
}

#[test]
fn capability_name_refuses_odd_text() {
    for text in [
        "workday",
        "Workday.hcm.x",
        "workday..x",
        "workday.hcm.get-employee",
        ".a.b",
    ] {
        assert_eq!(
            CapabilityName::parse(text),
            Err(InvalidCapabilityName {
                text: text.to_owned()
            }),
            "{text}"
        );
    }
}

#[test]
fn action_path_segment_with_a_dot_is_refused() {
    assert!(CapabilityName::from_path("workday", "hcm.get_employee").is_err());
}

#[test]
fn unknown_key_is_refused_with_file_and_line() {
    let text = ONE.replace("read_only: true", "read_only: true\n    owner: hr");

    let error = parse(&text).unwrap_err();

    assert_eq!(error.origin, "caps.yaml");
    assert_eq!(error.line, Some(7));
    assert!(error.to_string().starts_with("caps.yaml:7:"), "{error}");
    assert!(error.to_string().contains("owner"), "{error}");
}

#[test]
fn schema_allowing_additional_properties_is_refused() {
    let text = ONE.replace("additionalProperties: false", "additionalProperties: true");

    let error = parse(&text).unwrap_err();

    assert_eq!(
        *error.problem,
        CapabilityProblem::SchemaShape {
            name: "workday.hcm.get_employee".to_owned(),
            reason: "must declare `additionalProperties: false`".to_owned(),
        }
    );
    assert_eq!(error.line, Some(3));
}

#[test]
fn nested_object_property_is_refused() {
    let text = ONE.replace("{ type: string, description", "{ type: object, description");

    let error = parse(&text).unwrap_err();

    assert_eq!(
        error.problem.to_string(),
        "capability `workday.hcm.get_employee`: input_schema property `employee_id` must declare \
         one scalar type (string, integer, number or boolean)"
    );
}

#[test]
fn schema_that_does_not_compile_is_refused() {
    let text = ONE.replace(
        "description: The employee id.",
        "description: x, minLength: -1",
    );

    let error = parse(&text).unwrap_err();

    assert!(
        matches!(*error.problem, CapabilityProblem::SchemaInvalid { .. }),
        "{error}"
    );
}

#[test]
fn target_argument_must_be_a_declared_string() {
    let text = ONE.replace(
        "target_argument: employee_id",
        "target_argument: manager_id",
    );

    let error = parse(&text).unwrap_err();

    assert_eq!(
        error.problem.to_string(),
        "capability `workday.hcm.get_employee`: target_argument `manager_id` is not a string \
         property"
    );
}

#[test]
fn unknown_connector_is_refused() {
    let text = ONE.replace("connector: workday-fixture", "connector: sap");

    let error = parse(&text).unwrap_err();

    assert_eq!(
        error.problem.to_string(),
        "capability `workday.hcm.get_employee`: connector `sap` is neither `workday-fixture` nor \
         a declared upstream"
    );
}

#[test]
fn fixture_refuses_a_capability_it_does_not_implement() {
    let text = ONE.replace("workday.hcm.get_employee", "workday.hcm.terminate");

    let error = parse(&text).unwrap_err();

    assert_eq!(
        *error.problem,
        CapabilityProblem::FixtureUnsupported {
            name: "workday.hcm.terminate".to_owned()
        }
    );
}

#[test]
fn duplicate_capability_is_refused() {
    let entry = ONE.trim_start().strip_prefix("capabilities:\n").unwrap();
    let text = format!("capabilities:\n{entry}{entry}");

    let error = parse(&text).unwrap_err();

    assert_eq!(
        *error.problem,
        CapabilityProblem::DuplicateName {
            name: "workday.hcm.get_employee".to_owned()
        }
    );
    assert_eq!(error.line, Some(12));
}

#[test]
fn read_only_and_destructive_together_are_refused() {
    let text = ONE.replace("read_only: true", "read_only: true\n    destructive: true");

    let error = parse(&text).unwrap_err();

    assert_eq!(
        error.problem.to_string(),
        "capability `workday.hcm.get_employee` cannot be both read_only and destructive"
    );
}

const UPSTREAM: &str = "
upstreams:
  - name: hr-core
    base_url: BASE
    timeout_ms: 250
    auth: { type: bearer, token_env: HR_TOKEN }
capabilities:
  - name: hr.people.lookup
    description: Look someone up.
    connector: hr-core
    read_only: true
    input_schema: { type: object, additionalProperties: false }
";

#[test]
fn upstream_capability_resolves_to_the_http_connector() {
    let text = UPSTREAM.replace("BASE", "https://hr.example/api/");
    let secrets = |name: &str| (name == "HR_TOKEN").then(|| "s3cret".to_owned());

    let registry = CapabilityRegistry::parse(&text, "caps.yaml", &secrets).unwrap();

    let capability = registry.iter().next().unwrap();
    let Connector::Http(upstream) = capability.connector() else {
        panic!("expected the HTTP connector");
    };
    assert_eq!(upstream.name(), "hr-core");
    assert_eq!(upstream.timeout(), std::time::Duration::from_millis(250));
    assert!(!format!("{upstream:?}").contains("s3cret"));
}

#[test]
fn missing_upstream_secret_is_refused() {
    let text = UPSTREAM.replace("BASE", "https://hr.example/api");

    let error = parse(&text).unwrap_err();

    assert_eq!(
        error.problem.to_string(),
        "upstream `hr-core`: secret `HR_TOKEN` is not set"
    );
    assert_eq!(error.line, Some(3));
}

#[test]
fn plain_http_upstream_is_only_for_loopback() {
    let text = UPSTREAM.replace("BASE", "http://hr.example/api");
    let secrets = |_: &str| Some("s3cret".to_owned());

    let error = CapabilityRegistry::parse(&text, "caps.yaml", &secrets).unwrap_err();

    assert_eq!(
        error.problem.to_string(),
        "upstream `hr-core`: base_url `http://hr.example/api` must use https (plain http only \
         for loopback hosts)"
    );
}

#[test]
fn get_arguments_are_coerced_to_declared_types() {
    let text = "
capabilities:
  - name: workday.hcm.get_employee
    description: Look up.
    connector: workday-fixture
    read_only: true
    input_schema:
      type: object
      additionalProperties: false
      properties:
        limit: { type: integer, description: How many. }
        active: { type: boolean, description: Only active. }
        note: { type: string, description: Free text. }
";
    let registry = parse(text).unwrap();
    let capability = registry.iter().next().unwrap();

    let arguments =
        crate::args::from_query(capability, Some("limit=5&active=true&note=42")).unwrap();
    let wrong = crate::args::from_query(capability, Some("limit=five")).unwrap();

    assert_eq!(
        Value::Object(arguments),
        serde_json::json!({ "limit": 5, "active": true, "note": "42" })
    );
    assert_eq!(
        capability.validate(&wrong),
        Err(ArgumentError::Invalid {
            field: Some("limit".to_owned()),
            message: "argument `limit`: the value is not of type \"integer\"".to_owned(),
        })
    );
}
