//! Typed conditions, updates and key conditions as DynamoDB expressions. Every attribute name
//! goes through a `#n` placeholder (so reserved words such as `name` or `status` are safe) and
//! every value through a `:v` placeholder; one `Expressions` collects both for one request.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;

use super::convert::to_attribute;
use crate::store::table::schema::PARTITION_KEY;
use crate::store::table::{Compare, Condition, SortRange, UpdateAction, Value};

/// The placeholders of one request's expressions.
#[derive(Debug, Default)]
pub(super) struct Expressions {
    names: HashMap<String, String>,
    placeholders: HashMap<String, String>,
    values: HashMap<String, AttributeValue>,
}

impl Expressions {
    /// The placeholder of an attribute name (the same one each time the name recurs).
    pub fn name(&mut self, name: &str) -> String {
        if let Some(placeholder) = self.placeholders.get(name) {
            return placeholder.clone();
        }
        let placeholder = format!("#n{}", self.names.len());
        self.names.insert(placeholder.clone(), name.to_owned());
        self.placeholders
            .insert(name.to_owned(), placeholder.clone());
        placeholder
    }

    pub fn value(&mut self, value: &Value) -> String {
        let placeholder = format!(":v{}", self.values.len());
        self.values.insert(placeholder.clone(), to_attribute(value));
        placeholder
    }

    pub fn condition(&mut self, condition: &Condition) -> String {
        match condition {
            Condition::Exists(name) => format!("attribute_exists({})", self.name(name)),
            Condition::Absent(name) => format!("attribute_not_exists({})", self.name(name)),
            Condition::Compare(name, op, value) => {
                let op = match op {
                    Compare::Eq => "=",
                    Compare::Ne => "<>",
                    Compare::Lt => "<",
                    Compare::Le => "<=",
                    Compare::Gt => ">",
                    Compare::Ge => ">=",
                };
                format!("{} {op} {}", self.name(name), self.value(value))
            }
            Condition::Between(name, low, high) => format!(
                "{} BETWEEN {} AND {}",
                self.name(name),
                self.value(low),
                self.value(high)
            ),
            Condition::In(_, values) if values.is_empty() => self.constant(false),
            Condition::In(name, values) => {
                let name = self.name(name);
                let values: Vec<String> = values.iter().map(|v| self.value(v)).collect();
                format!("{name} IN ({})", values.join(", "))
            }
            Condition::BeginsWith(name, prefix) => format!(
                "begins_with({}, {})",
                self.name(name),
                self.value(&Value::S(prefix.clone()))
            ),
            Condition::And(all) => self.junction(all, "AND", true),
            Condition::Or(any) => self.junction(any, "OR", false),
            Condition::Not(inner) => format!("NOT ({})", self.condition(inner)),
        }
    }

    /// `AND`/`OR` of the conditions; with none, the value an empty `all`/`any` has.
    fn junction(&mut self, conditions: &[Condition], op: &str, empty: bool) -> String {
        match conditions {
            [] => self.constant(empty),
            [only] => self.condition(only),
            _ => {
                let parts: Vec<String> = conditions
                    .iter()
                    .map(|c| format!("({})", self.condition(c)))
                    .collect();
                parts.join(&format!(" {op} "))
            }
        }
    }

    /// An expression that is always true or always false (there are no literals for either).
    fn constant(&mut self, value: bool) -> String {
        let key = self.name(PARTITION_KEY);
        let op = if value { "OR" } else { "AND" };
        format!("attribute_exists({key}) {op} attribute_not_exists({key})")
    }

    /// The update expression (`None` for no actions): `SET`, `REMOVE` and `ADD` clauses.
    pub fn update(&mut self, actions: &[UpdateAction]) -> Option<String> {
        let (mut set, mut remove, mut add) = (Vec::new(), Vec::new(), Vec::new());
        for action in actions {
            match action {
                UpdateAction::Set(name, value) => {
                    set.push(format!("{} = {}", self.name(name), self.value(value)));
                }
                UpdateAction::SetIfAbsent(name, value) => {
                    let name = self.name(name);
                    set.push(format!(
                        "{name} = if_not_exists({name}, {})",
                        self.value(value)
                    ));
                }
                UpdateAction::Remove(name) => remove.push(self.name(name)),
                UpdateAction::Add(name, by) => {
                    add.push(format!(
                        "{} {}",
                        self.name(name),
                        self.value(&Value::N(*by))
                    ));
                }
            }
        }
        let clauses: Vec<String> = [("SET", set), ("REMOVE", remove), ("ADD", add)]
            .into_iter()
            .filter(|(_, parts)| !parts.is_empty())
            .map(|(keyword, parts)| format!("{keyword} {}", parts.join(", ")))
            .collect();
        (!clauses.is_empty()).then(|| clauses.join(" "))
    }

    /// The key condition of a query on the partition `partition` of keys (`pk`, `sk`).
    pub fn key_condition(
        &mut self,
        (pk, sk): (&str, &str),
        partition: &str,
        sort: &SortRange,
    ) -> String {
        let partition = format!(
            "{} = {}",
            self.name(pk),
            self.value(&Value::S(partition.to_owned()))
        );
        let mut compare = |op: &str, bound: &str| {
            format!(
                "{} {op} {}",
                self.name(sk),
                self.value(&Value::S(bound.to_owned()))
            )
        };
        let sort = match sort {
            SortRange::All => return partition,
            SortRange::Eq(v) => compare("=", v),
            SortRange::Lt(v) => compare("<", v),
            SortRange::Le(v) => compare("<=", v),
            SortRange::Gt(v) => compare(">", v),
            SortRange::Ge(v) => compare(">=", v),
            SortRange::Between(low, high) => format!(
                "{} BETWEEN {} AND {}",
                self.name(sk),
                self.value(&Value::S(low.clone())),
                self.value(&Value::S(high.clone()))
            ),
            SortRange::Prefix(prefix) => format!(
                "begins_with({}, {})",
                self.name(sk),
                self.value(&Value::S(prefix.clone()))
            ),
        };
        format!("{partition} AND {sort}")
    }

    /// A projection expression of these attributes.
    pub fn projection<S: AsRef<str>>(&mut self, names: &[S]) -> String {
        let names: Vec<String> = names.iter().map(|n| self.name(n.as_ref())).collect();
        names.join(", ")
    }

    /// `ExpressionAttributeNames`, or `None` when no expression named an attribute (DynamoDB
    /// rejects an empty map).
    pub fn names(&self) -> Option<HashMap<String, String>> {
        (!self.names.is_empty()).then(|| self.names.clone())
    }

    /// `ExpressionAttributeValues`, or `None` when no expression holds a value.
    pub fn values(&self) -> Option<HashMap<String, AttributeValue>> {
        (!self.values.is_empty()).then(|| self.values.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(e: &Expressions) -> Vec<(String, String)> {
        let mut names: Vec<_> = e.names().unwrap_or_default().into_iter().collect();
        names.sort();
        names
    }

    fn values(e: &Expressions) -> Vec<(String, AttributeValue)> {
        let mut values: Vec<_> = e.values().unwrap_or_default().into_iter().collect();
        values.sort_by(|a, b| a.0.cmp(&b.0));
        values
    }

    fn pair(placeholder: &str, name: &str) -> (String, String) {
        (placeholder.to_owned(), name.to_owned())
    }

    fn s(placeholder: &str, value: &str) -> (String, AttributeValue) {
        (placeholder.to_owned(), AttributeValue::S(value.to_owned()))
    }

    fn n(placeholder: &str, value: i64) -> (String, AttributeValue) {
        (placeholder.to_owned(), AttributeValue::N(value.to_string()))
    }

    #[test]
    fn conditions_render_with_placeholders_only() {
        let mut e = Expressions::default();
        let condition = Condition::item_exists()
            .and(Condition::eq("status", "active"))
            .and(Condition::ne("version", 3))
            .and(Condition::absent("name").or(Condition::between("version", 1, 9)));
        assert_eq!(
            e.condition(&condition),
            "(attribute_exists(#n0)) AND (#n1 = :v0) AND (#n2 <> :v1) AND \
             ((attribute_not_exists(#n3)) OR (#n2 BETWEEN :v2 AND :v3))"
        );
        assert_eq!(
            names(&e),
            [
                pair("#n0", "PK"),
                pair("#n1", "status"),
                pair("#n2", "version"),
                pair("#n3", "name")
            ]
        );
        assert_eq!(
            values(&e),
            [s(":v0", "active"), n(":v1", 3), n(":v2", 1), n(":v3", 9)]
        );
    }

    #[test]
    fn comparisons_lists_prefixes_and_negations() {
        let mut e = Expressions::default();
        let rendered: Vec<String> = [
            Condition::lt("a", 1),
            Condition::le("a", 2),
            Condition::gt("a", 3),
            Condition::ge("a", 4),
            Condition::one_of("role", [Value::from("admin"), Value::from("user")]),
            Condition::begins_with("SK", "TAG#"),
            Condition::exists("ttl").not(),
            Condition::eq("flag", Value::Null),
        ]
        .iter()
        .map(|c| e.condition(c))
        .collect();
        assert_eq!(
            rendered,
            [
                "#n0 < :v0",
                "#n0 <= :v1",
                "#n0 > :v2",
                "#n0 >= :v3",
                "#n1 IN (:v4, :v5)",
                "begins_with(#n2, :v6)",
                "NOT (attribute_exists(#n3))",
                "#n4 = :v7",
            ]
        );
        assert_eq!(values(&e)[4], s(":v4", "admin"));
        assert_eq!(
            values(&e)[7],
            (":v7".to_owned(), AttributeValue::Null(true))
        );
    }

    #[test]
    fn empty_junctions_and_lists_are_constants() {
        let mut e = Expressions::default();
        assert_eq!(
            e.condition(&Condition::And(vec![])),
            "attribute_exists(#n0) OR attribute_not_exists(#n0)"
        );
        assert_eq!(
            e.condition(&Condition::Or(vec![])),
            "attribute_exists(#n0) AND attribute_not_exists(#n0)"
        );
        assert_eq!(
            e.condition(&Condition::In("a".to_owned(), vec![])),
            "attribute_exists(#n0) AND attribute_not_exists(#n0)"
        );
        assert_eq!(
            e.condition(&Condition::And(vec![Condition::exists("a")])),
            "attribute_exists(#n1)"
        );
        assert_eq!(e.values(), None);
    }

    #[test]
    fn updates_group_set_remove_and_add() {
        let mut e = Expressions::default();
        let actions = [
            UpdateAction::Set("name".to_owned(), Value::from("Ada")),
            UpdateAction::Remove("ttl".to_owned()),
            UpdateAction::Add("count".to_owned(), -2),
            UpdateAction::SetIfAbsent("createdAt".to_owned(), Value::N(7)),
        ];
        assert_eq!(
            e.update(&actions).unwrap(),
            "SET #n0 = :v0, #n3 = if_not_exists(#n3, :v2) REMOVE #n1 ADD #n2 :v1"
        );
        assert_eq!(
            names(&e),
            [
                pair("#n0", "name"),
                pair("#n1", "ttl"),
                pair("#n2", "count"),
                pair("#n3", "createdAt")
            ]
        );
        assert_eq!(values(&e), [s(":v0", "Ada"), n(":v1", -2), n(":v2", 7)]);
        // A condition on the same request reuses the names.
        assert_eq!(
            e.condition(&Condition::absent("ttl")),
            "attribute_not_exists(#n1)"
        );

        let mut e = Expressions::default();
        assert_eq!(e.update(&[]), None);
        assert_eq!(
            e.update(&[UpdateAction::Remove("a".to_owned())]).unwrap(),
            "REMOVE #n0"
        );
        assert_eq!(e.values(), None);
    }

    #[test]
    fn key_conditions() {
        let cases = [
            (SortRange::All, "#n0 = :v0"),
            (SortRange::Eq("x".to_owned()), "#n0 = :v0 AND #n1 = :v1"),
            (SortRange::Lt("x".to_owned()), "#n0 = :v0 AND #n1 < :v1"),
            (SortRange::Le("x".to_owned()), "#n0 = :v0 AND #n1 <= :v1"),
            (SortRange::Gt("x".to_owned()), "#n0 = :v0 AND #n1 > :v1"),
            (SortRange::Ge("x".to_owned()), "#n0 = :v0 AND #n1 >= :v1"),
            (
                SortRange::Between("a".to_owned(), "b".to_owned()),
                "#n0 = :v0 AND #n1 BETWEEN :v1 AND :v2",
            ),
            (
                SortRange::Prefix("TAG#".to_owned()),
                "#n0 = :v0 AND begins_with(#n1, :v1)",
            ),
        ];
        for (sort, expected) in cases {
            let mut e = Expressions::default();
            assert_eq!(
                e.key_condition(("GSI1PK", "GSI1SK"), "USERS", &sort),
                expected
            );
            assert_eq!(values(&e)[0], s(":v0", "USERS"));
        }
        let mut e = Expressions::default();
        e.key_condition(
            ("PK", "SK"),
            "POST#1",
            &SortRange::Prefix("TAG#".to_owned()),
        );
        assert_eq!(names(&e), [pair("#n0", "PK"), pair("#n1", "SK")]);
        assert_eq!(values(&e), [s(":v0", "POST#1"), s(":v1", "TAG#")]);
    }

    #[test]
    fn projections_share_the_request_names() {
        let mut e = Expressions::default();
        let filter = e.condition(&Condition::eq("status", "published"));
        assert_eq!(e.projection(&["id", "status", "PK"]), "#n1, #n0, #n2");
        assert_eq!(filter, "#n0 = :v0");
    }
}
