//! The `aal` and `amr` claims of an access token, by their wire names (`"aal1"`, `["pwd"]`).

pub mod aal {
    use serde::{Deserialize, Deserializer, Serializer, de};

    use crate::domain::Aal;

    pub fn serialize<S: Serializer>(aal: &Aal, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(aal.as_str())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Aal, D::Error> {
        let name = String::deserialize(deserializer)?;
        Aal::parse(&name).map_err(|invalid| de::Error::custom(invalid.message))
    }
}

pub mod amr {
    use serde::{Deserialize, Deserializer, Serializer, de};

    use crate::domain::AuthMethod;

    pub fn serialize<S: Serializer>(amr: &[AuthMethod], serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(amr.iter().map(|method| method.as_str()))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Vec<AuthMethod>, D::Error> {
        let names = Vec::<String>::deserialize(deserializer)?;
        names
            .iter()
            .map(|name| {
                AuthMethod::parse(name).map_err(|invalid| de::Error::custom(invalid.message))
            })
            .collect()
    }
}
