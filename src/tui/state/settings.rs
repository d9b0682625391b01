//! The auto-sync settings form. Values are edited as text and validated by
//! the very parser `apply` uses (`config::file::parse_auto`), so the console
//! cannot accept what a file would refuse. `update::settings` is the form's handler.

use crate::config::AutoSettings;
use crate::config::spec::format_duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldKind {
    Bool,
    Duration,
    Count,
    List,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Field {
    /// The key in `[sync.auto]`.
    pub key: &'static str,
    pub kind: FieldKind,
    pub value: String,
    pub error: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SettingsForm {
    pub config_id: i64,
    pub config_name: String,
    pub fields: Vec<Field>,
    /// Row under the cursor; `fields.len()` is the Save button.
    pub cursor: usize,
    /// Text being typed into the field under the cursor.
    pub editing: Option<String>,
    /// An error not tied to one field (e.g. TOML syntax).
    pub error: Option<String>,
}

fn list(items: &[String]) -> String {
    items.join(", ")
}

impl SettingsForm {
    pub fn new(config_id: i64, config_name: &str, settings: Option<&AutoSettings>) -> Self {
        let d = settings.cloned().unwrap_or_default();
        let field = |key, kind, value: String| Field {
            key,
            kind,
            value,
            error: None,
        };
        use FieldKind::*;
        SettingsForm {
            config_id,
            config_name: config_name.to_string(),
            fields: vec![
                field("enabled", Bool, d.enabled.to_string()),
                field(
                    "check_interval",
                    Duration,
                    format_duration(d.check_interval),
                ),
                field(
                    "delay_before_sync",
                    Duration,
                    format_duration(d.delay_before_sync),
                ),
                field("immediate_sync", Bool, d.immediate_sync.to_string()),
                field("max_sync_per_hour", Count, d.max_sync_per_hour.to_string()),
                field(
                    "cooldown_after_error",
                    Duration,
                    format_duration(d.cooldown_after_error),
                ),
                field("monitor_metadata", Bool, d.monitor_metadata.to_string()),
                field(
                    "monitor_data_values",
                    Bool,
                    d.monitor_data_values.to_string(),
                ),
                field("metadata_resources", List, list(&d.metadata_resources)),
                field("exclude_resources", List, list(&d.exclude_resources)),
                field("notify_on_change", Bool, d.notify_on_change.to_string()),
                field(
                    "notify_on_sync_complete",
                    Bool,
                    d.notify_on_sync_complete.to_string(),
                ),
            ],
            cursor: 0,
            editing: None,
            error: None,
        }
    }

    pub fn on_save_button(&self) -> bool {
        self.cursor == self.fields.len()
    }

    pub fn move_by(&mut self, delta: isize) {
        let rows = self.fields.len() + 1;
        self.cursor = (self.cursor as isize + delta).clamp(0, rows as isize - 1) as usize;
    }

    /// Enter on a field: toggles a bool, starts editing anything else.
    pub fn activate(&mut self) {
        if let Some(f) = self.fields.get_mut(self.cursor) {
            if f.kind == FieldKind::Bool {
                f.value = if f.value == "true" { "false" } else { "true" }.into();
                f.error = None;
            } else {
                self.editing = Some(f.value.clone());
            }
        }
    }

    pub fn commit_edit(&mut self) {
        if let (Some(text), Some(f)) = (self.editing.take(), self.fields.get_mut(self.cursor)) {
            f.value = text.trim().to_string();
            f.error = None;
        }
    }

    /// The form as a `[sync.auto]` table. Values are always quoted unless
    /// they are exactly what the type needs, so typed text can never add keys.
    pub fn to_toml(&self) -> String {
        let quote = |s: &str| toml::Value::String(s.to_string()).to_string();
        let mut out = String::new();
        for f in &self.fields {
            let value = match f.kind {
                FieldKind::Bool if f.value == "true" || f.value == "false" => f.value.clone(),
                FieldKind::Count
                    if !f.value.is_empty() && f.value.bytes().all(|b| b.is_ascii_digit()) =>
                {
                    f.value.clone()
                }
                FieldKind::List => {
                    let items: Vec<String> = f
                        .value
                        .split(',')
                        .map(str::trim)
                        .filter(|s| !s.is_empty())
                        .map(quote)
                        .collect();
                    format!("[{}]", items.join(", "))
                }
                _ => quote(&f.value),
            };
            out.push_str(&format!("{} = {value}\n", f.key));
        }
        out
    }

    /// Validates with `apply`'s rules; on failure the errors are put on
    /// their fields.
    pub fn validate(&mut self) -> Option<AutoSettings> {
        for f in &mut self.fields {
            f.error = None;
        }
        self.error = None;
        match crate::config::file::parse_auto(&self.to_toml()) {
            Ok(settings) => Some(settings),
            Err(errors) => {
                for e in errors.0 {
                    match self.fields.iter_mut().find(|f| f.key == e.key) {
                        Some(f) => f.error = Some(e.message),
                        None => self.error = Some(e.message),
                    }
                }
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_settings_and_refuses_what_apply_refuses() {
        let settings = AutoSettings {
            check_interval: std::time::Duration::from_secs(600),
            metadata_resources: vec!["dataElements".into(), "indicators".into()],
            ..AutoSettings::default()
        };
        let mut form = SettingsForm::new(1, "x", Some(&settings));
        assert_eq!(form.validate(), Some(settings));

        form.fields[1].value = "30s".into();
        form.fields[4].value = "many".into();
        assert_eq!(form.validate(), None);
        let err = |k: &str| {
            form.fields
                .iter()
                .find(|f| f.key == k)
                .and_then(|f| f.error.clone())
                .unwrap_or_default()
        };
        assert!(err("check_interval").contains("at least 60s"), "{form:?}");
        assert!(
            err("max_sync_per_hour").contains("whole number"),
            "{form:?}"
        );
    }

    #[test]
    fn typed_text_cannot_inject_keys() {
        let mut form = SettingsForm::new(1, "x", None);
        form.fields[1].value = "5m\"\nenabled = false\nx = \"".into();
        assert_eq!(form.validate(), None);
        assert!(form.fields[1].error.is_some());
        assert_eq!(form.fields[0].value, "true");
    }

    #[test]
    fn bools_toggle_and_others_edit() {
        let mut form = SettingsForm::new(1, "x", None);
        form.activate();
        assert_eq!(form.fields[0].value, "false");
        form.move_by(1);
        form.activate();
        assert_eq!(form.editing.as_deref(), Some("5m"));
        form.editing = Some(" 10m ".into());
        form.commit_edit();
        assert_eq!(form.fields[1].value, "10m");
        form.move_by(100);
        assert!(form.on_save_button());
    }
}
