use std::fmt;
use std::str::FromStr;

/// Why a release was retired; the numbers are those of the registry's `RetirementReason` enum.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RetirementReason {
    Other = 0,
    Invalid = 1,
    Security = 2,
    Deprecated = 3,
    Renamed = 4,
}

/// The reason given is none of hex.pm's five.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("is invalid")]
pub struct RetirementReasonError;

impl RetirementReason {
    pub const ALL: [RetirementReason; 5] = [
        RetirementReason::Other,
        RetirementReason::Invalid,
        RetirementReason::Security,
        RetirementReason::Deprecated,
        RetirementReason::Renamed,
    ];

    /// The word the API uses (`"security"`).
    pub fn as_str(self) -> &'static str {
        match self {
            RetirementReason::Other => "other",
            RetirementReason::Invalid => "invalid",
            RetirementReason::Security => "security",
            RetirementReason::Deprecated => "deprecated",
            RetirementReason::Renamed => "renamed",
        }
    }

    /// The number in the registry's protobuf enum.
    pub fn proto_value(self) -> i32 {
        self as i32
    }

    pub fn from_proto_value(n: i32) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.proto_value() == n)
    }
}

impl FromStr for RetirementReason {
    type Err = RetirementReasonError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL.into_iter().find(|r| r.as_str() == s).ok_or(RetirementReasonError)
    }
}

impl fmt::Display for RetirementReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

crate::string_serde!(RetirementReason);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_and_numbers_round_trip() {
        for r in RetirementReason::ALL {
            assert_eq!(r.as_str().parse::<RetirementReason>(), Ok(r));
            assert_eq!(RetirementReason::from_proto_value(r.proto_value()), Some(r));
        }
        assert_eq!(RetirementReason::Security.proto_value(), 2);
        assert!("broken".parse::<RetirementReason>().is_err());
        assert_eq!(RetirementReason::from_proto_value(5), None);
    }
}
