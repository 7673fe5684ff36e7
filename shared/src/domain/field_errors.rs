/// Why one value was rejected; the handler adds the field name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invalid {
    pub code: &'static str,
    pub message: String,
}

impl Invalid {
    pub fn new(code: &'static str, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    pub field: String,
    pub code: &'static str,
    pub message: String,
}

/// Collects every field's error so a 422 lists them all at once.
#[derive(Debug, Default)]
pub struct FieldErrors(Vec<FieldError>);

impl FieldErrors {
    /// Parses a required field, recording why it is missing or invalid.
    pub fn parse<R, T>(
        &mut self,
        field: &str,
        raw: Option<R>,
        parse: impl FnOnce(R) -> Result<T, Invalid>,
    ) -> Option<T> {
        let Some(raw) = raw else {
            self.push(field, Invalid::new("required", "is required"));
            return None;
        };
        self.check(field, parse(raw))
    }

    /// A required field taken as it is.
    pub fn required<T>(&mut self, field: &str, raw: Option<T>) -> Option<T> {
        self.parse(field, raw, Ok)
    }

    /// Parses an optional field: absent stays `None` without an error.
    pub fn parse_optional<R, T>(
        &mut self,
        field: &str,
        raw: Option<R>,
        parse: impl FnOnce(R) -> Result<T, Invalid>,
    ) -> Option<T> {
        raw.and_then(|raw| self.check(field, parse(raw)))
    }

    pub fn check<T>(&mut self, field: &str, result: Result<T, Invalid>) -> Option<T> {
        result.map_err(|invalid| self.push(field, invalid)).ok()
    }

    pub fn push(&mut self, field: &str, invalid: Invalid) {
        self.0.push(FieldError {
            field: field.to_owned(),
            code: invalid.code,
            message: invalid.message,
        });
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn into_vec(self) -> Vec<FieldError> {
        self.0
    }
}
