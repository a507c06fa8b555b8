//! The built-in Workday connector: a realistic HR data set (Northwind Robotics) shipped with the
//! project, answering the Workday capabilities from memory. Contact changes persist for the
//! life of the process.

use std::collections::BTreeMap;
use std::sync::{PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::{Answer, ConnectorCall, ConnectorError};
use crate::org::OrgDirectory;

/// The embedded fixture data set.
pub const DEFAULT_WORKDAY_DATA: &str = include_str!("../../defaults/workday.json");

/// What the fixture can do; a capability bound to the fixture names one of these.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Action {
    /// `workday.hcm.get_employee`: one employee's profile.
    GetEmployee,
    /// `workday.hcm.list_direct_reports`: a manager's direct reports.
    ListDirectReports,
    /// `workday.payroll.get_compensation`: one employee's pay.
    GetCompensation,
    /// `workday.hcm.update_contact_info`: change contact details.
    UpdateContactInfo,
}

impl Action {
    /// The action the fixture performs for a capability name, if it implements it.
    #[must_use]
    pub fn for_capability(name: &str) -> Option<Self> {
        match name {
            "workday.hcm.get_employee" => Some(Self::GetEmployee),
            "workday.hcm.list_direct_reports" => Some(Self::ListDirectReports),
            "workday.payroll.get_compensation" => Some(Self::GetCompensation),
            "workday.hcm.update_contact_info" => Some(Self::UpdateContactInfo),
            _ => None,
        }
    }
}

/// The contact fields `update_contact_info` may change.
const CONTACT_FIELDS: [&str; 3] = ["work_phone", "personal_email", "home_address"];

/// The Workday data set in memory.
#[derive(Debug)]
pub struct WorkdayFixture {
    data: RwLock<Dataset>,
}

impl WorkdayFixture {
    /// The embedded data set ([`DEFAULT_WORKDAY_DATA`]).
    ///
    /// # Errors
    ///
    /// [`FixtureError`] only if the embedded file is broken, which a test rules out.
    pub fn embedded() -> Result<Self, FixtureError> {
        Self::from_json(DEFAULT_WORKDAY_DATA)
    }

    /// Reads a data set in the format of `defaults/workday.json`.
    ///
    /// # Errors
    ///
    /// [`FixtureError`] when the JSON does not have that shape, an id repeats, a manager is
    /// not an employee, or a pay record names no employee.
    pub fn from_json(text: &str) -> Result<Self, FixtureError> {
        let file: DataFile = serde_json::from_str(text).map_err(FixtureError::Json)?;
        let mut employees = BTreeMap::new();
        for employee in file.employees {
            let id = employee.employee_id.clone();
            if employees.insert(id.clone(), employee).is_some() {
                return Err(FixtureError::DuplicateEmployee { employee_id: id });
            }
        }
        for employee in employees.values() {
            let Some(manager) = &employee.manager_id else {
                continue;
            };
            if !employees.contains_key(manager) {
                let employee_id = employee.employee_id.clone();
                return Err(FixtureError::UnknownManager {
                    employee_id,
                    manager: manager.clone(),
                });
            }
        }
        let mut compensation = BTreeMap::new();
        for pay in file.compensation {
            let id = pay.employee_id.clone();
            if !employees.contains_key(&id) {
                return Err(FixtureError::PayWithoutEmployee { employee_id: id });
            }
            if compensation.insert(id.clone(), pay).is_some() {
                return Err(FixtureError::DuplicatePay { employee_id: id });
            }
        }
        let mut data = Dataset {
            organization: file.organization,
            employees,
            compensation,
            profiles: BTreeMap::new(),
            pay: BTreeMap::new(),
        };
        data.encode_answers();
        Ok(Self {
            data: RwLock::new(data),
        })
    }

    /// How many employees the data set holds.
    #[must_use]
    pub fn employee_count(&self) -> usize {
        self.read().employees.len()
    }

    /// Performs `action` for `call`. The employee is the `employee_id` argument, or the
    /// caller when it is absent.
    ///
    /// # Errors
    ///
    /// [`ConnectorError::NotFound`] when the employee or their pay record does not exist.
    pub fn perform(
        &self,
        action: Action,
        call: &ConnectorCall<'_>,
    ) -> Result<Answer, ConnectorError> {
        let employee_id = call.argument("employee_id").unwrap_or(call.subject);
        match action {
            Action::GetEmployee => self.get_employee(employee_id),
            Action::ListDirectReports => self.list_direct_reports(employee_id),
            Action::GetCompensation => self.get_compensation(employee_id),
            Action::UpdateContactInfo => self.update_contact_info(employee_id, call),
        }
    }

    fn get_employee(&self, employee_id: &str) -> Result<Answer, ConnectorError> {
        let data = self.read();
        data.profiles
            .get(employee_id)
            .cloned()
            .ok_or_else(|| not_found(employee_id))
    }

    fn list_direct_reports(&self, employee_id: &str) -> Result<Answer, ConnectorError> {
        let data = self.read();
        let manager = data.employee(employee_id)?;
        let reports: Vec<Value> = data
            .employees
            .values()
            .filter(|e| e.manager_id.as_deref() == Some(employee_id))
            .map(Employee::summary)
            .collect();
        Ok(Answer::from_value(&json!({
            "manager": manager.summary(),
            "count": reports.len(),
            "direct_reports": reports,
        })))
    }

    fn get_compensation(&self, employee_id: &str) -> Result<Answer, ConnectorError> {
        let data = self.read();
        data.employee(employee_id)?;
        data.pay.get(employee_id).cloned().ok_or_else(|| {
            let employee_id = employee_id.to_owned();
            ConnectorError::NotFound {
                what: "compensation record",
                employee_id,
            }
        })
    }

    fn update_contact_info(
        &self,
        employee_id: &str,
        call: &ConnectorCall<'_>,
    ) -> Result<Answer, ConnectorError> {
        let mut data = self.write();
        let employee = data.employee_mut(employee_id)?;

        // Only the fields given change; the schema already checked their form.
        let mut updated = Vec::new();
        for field in CONTACT_FIELDS {
            let Some(value) = call.argument(field) else {
                continue;
            };
            let slot = match field {
                "work_phone" => &mut employee.work_phone,
                "personal_email" => employee.personal_email.get_or_insert_default(),
                _ => employee.home_address.get_or_insert_default(),
            };
            value.clone_into(slot);
            updated.push(field);
        }
        let answer = Answer::from_value(&json!({
            "employee_id": employee.employee_id,
            "updated": updated,
            "contact": {
                "work_email": employee.work_email,
                "work_phone": employee.work_phone,
                "personal_email": employee.personal_email,
                "home_address": employee.home_address,
            },
        }));
        // Contact details appear only in the person's own profile: the summaries other
        // profiles embed (a manager's) do not carry them.
        let employee_id = employee.employee_id.clone();
        data.encode_profile(&employee_id);
        Ok(answer)
    }

    fn read(&self) -> RwLockReadGuard<'_, Dataset> {
        // Every update completes without panicking points in between, so a poisoned lock
        // still guards consistent data.
        self.data.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn write(&self) -> RwLockWriteGuard<'_, Dataset> {
        self.data.write().unwrap_or_else(PoisonError::into_inner)
    }
}

impl OrgDirectory for WorkdayFixture {
    fn manager_of(&self, employee_id: &str) -> Option<String> {
        self.read().employees.get(employee_id)?.manager_id.clone()
    }
}

/// Why a fixture data set cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum FixtureError {
    /// The JSON does not parse or does not have the expected shape.
    #[error("workday data: {0}")]
    Json(#[source] serde_json::Error),
    /// Two employees share an id.
    #[error("workday data: employee `{employee_id}` appears twice")]
    DuplicateEmployee {
        /// The id.
        employee_id: String,
    },
    /// A manager id names nobody.
    #[error("workday data: employee `{employee_id}` has unknown manager `{manager}`")]
    UnknownManager {
        /// The employee.
        employee_id: String,
        /// The manager id.
        manager: String,
    },
    /// A pay record names nobody.
    #[error("workday data: compensation for unknown employee `{employee_id}`")]
    PayWithoutEmployee {
        /// The id.
        employee_id: String,
    },
    /// Two pay records for one employee.
    #[error("workday data: two compensation records for employee `{employee_id}`")]
    DuplicatePay {
        /// The id.
        employee_id: String,
    },
}

#[derive(Debug)]
struct Dataset {
    organization: Organization,
    employees: BTreeMap<String, Employee>,
    compensation: BTreeMap<String, Compensation>,
    /// The `get_employee` answer of every employee, encoded once and again after a change.
    profiles: BTreeMap<String, Answer>,
    /// The `get_compensation` answer of every pay record; pay never changes.
    pay: BTreeMap<String, Answer>,
}

impl Dataset {
    /// Encodes the answers kept ready: every profile and every pay record.
    fn encode_answers(&mut self) {
        let ids: Vec<String> = self.employees.keys().cloned().collect();
        for id in &ids {
            self.encode_profile(id);
        }
        self.pay = self
            .compensation
            .iter()
            .filter_map(|(id, pay)| {
                let employee = self.employees.get(id)?;
                let mut answer = serde_json::to_value(pay).unwrap_or(Value::Null);
                if let Value::Object(fields) = &mut answer {
                    fields.insert("name".to_owned(), employee.full_name().into());
                }
                Some((id.clone(), Answer::from_value(&answer)))
            })
            .collect();
    }

    /// Encodes the profile of `employee_id` again, from the employee's current record.
    fn encode_profile(&mut self, employee_id: &str) {
        let Some(employee) = self.employees.get(employee_id) else {
            return;
        };
        let mut profile = serde_json::to_value(employee).unwrap_or(Value::Null);
        if let Value::Object(fields) = &mut profile {
            fields.insert("name".to_owned(), employee.full_name().into());
            fields.insert(
                "organization".to_owned(),
                self.organization.name.clone().into(),
            );
            let manager = employee
                .manager_id
                .as_ref()
                .and_then(|id| self.employees.get(id));
            fields.insert(
                "manager".to_owned(),
                manager.map_or(Value::Null, Employee::summary),
            );
        }
        let answer = Answer::from_value(&profile);
        self.profiles.insert(employee_id.to_owned(), answer);
    }

    fn employee(&self, employee_id: &str) -> Result<&Employee, ConnectorError> {
        self.employees
            .get(employee_id)
            .ok_or_else(|| not_found(employee_id))
    }

    fn employee_mut(&mut self, employee_id: &str) -> Result<&mut Employee, ConnectorError> {
        self.employees
            .get_mut(employee_id)
            .ok_or_else(|| not_found(employee_id))
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DataFile {
    organization: Organization,
    employees: Vec<Employee>,
    compensation: Vec<Compensation>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Organization {
    name: String,
    #[expect(
        dead_code,
        reason = "part of the data set's shape; no capability reads it yet"
    )]
    fiscal_year_start: String,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct Employee {
    employee_id: String,
    first_name: String,
    last_name: String,
    preferred_name: String,
    title: String,
    department: String,
    cost_center: String,
    manager_id: Option<String>,
    location: Location,
    work_email: String,
    work_phone: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    personal_email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    home_address: Option<String>,
    hire_date: String,
    employment_type: String,
    status: String,
}

impl Employee {
    fn full_name(&self) -> String {
        format!("{} {}", self.preferred_name, self.last_name)
    }

    fn summary(&self) -> Value {
        json!({
            "employee_id": self.employee_id,
            "name": self.full_name(),
            "title": self.title,
            "department": self.department,
            "office": self.location.office,
        })
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct Location {
    office: String,
    code: String,
    time_zone: String,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct Compensation {
    employee_id: String,
    currency: String,
    base_salary: u64,
    pay_frequency: String,
    pay_grade: String,
    bonus_target_percent: u32,
    effective_date: String,
}

fn not_found(employee_id: &str) -> ConnectorError {
    ConnectorError::NotFound {
        what: "employee record",
        employee_id: employee_id.to_owned(),
    }
}

#[cfg(test)]
mod tests;
